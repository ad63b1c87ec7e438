"""Yes, no or "it depends", read from the evidence without a language model.

A yes/no question proposes something on a topic ("Are beta-blockers first-choice drugs for high blood
pressure?"). The verdict rests on the quoted sentence that speaks to what the question adds to its topic,
its *focus* ("beta-blockers", "first-choice": "…, while beta-blockers are reserved for specific
indications"). That sentence answers "No" when it denies or limits the proposal and "Yes" otherwise. Two
kinds of question need more than denial words:

* Safety questions ask about harm from one side or the other ("Is it safe to…?" against "Can a febrile
  fit cause brain damage?"). Evidence that describes harm, or denies it, answers by its sign: "does not
  cause autism" answers "is it safe?" with yes and "does it cause autism?" with no.
* Identity questions ("Is NMO just a type of MS?") are answered no by evidence that sets the two apart
  ("…, whereas MS…").

The rules were written against the yes/no questions of eval/gold.jsonl and checked on eval/heldout.jsonl,
written afterwards by someone who had not seen them; they score much lower there (see the README), and
that set has since informed the choice between two versions of the denial rule.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.lexicon import also, expand
from rag.text import split_terms

# Words by which evidence denies or limits what a question proposes.
DENY = re.compile(
    r"\b(not|no|never|cannot|none|neither|nor|without|rather than|instead|poorly|against|avoid|avoided|"
    r"contraindicated|unlikely|uncommon|rarely|unsafe|ineffective|little or no|no longer|little (?:effect|"
    r"benefit|value|role|evidence)|reserved for|postponed?|delayed|withheld|held back|not useful|"
    r"unnecessary|discouraged|fails? to|failed to)\b|n't\b", re.I)
# Phrases that carry a denial word without denying anything, and conditions ("repeated if breathing does
# not improve"), which set when something holds rather than deny it.
NOT_DENIAL = re.compile(r"\b(not only|with or without|whether or not|or not|no matter|no later than|"
                        r"(?:if|unless)\b[^,;:.]*?(?:\bnot|\bno|n't))\b", re.I)

_Q_SAFE = re.compile(r"\b(safe|safely|safer|ok|okay|fine|alright|all right)\b", re.I)
_Q_HARM = re.compile(r"\b(worse|worsen\w*|harm\w*|damag\w*|danger\w*|unsafe|risk\w*|hurt\w*|cause[sd]?|causing|"
                     r"side[- ]effects?|toxic\w*|fatal|kill)\b", re.I)
_E_SAFE = re.compile(r"\b(safe|safely|benign|harmless|well[- ]tolerated|reassur\w*|no (?:increased |excess |"
                     r"added )?risk|no link|no association|no evidence of harm)\b", re.I)
# "cause" makes a question about harm ("can a febrile fit cause brain damage?") but not a sentence about
# harm ("causing spasticity without the muscle wasting"): only words that are harm themselves count here.
_E_HARM = re.compile(r"\b(harm\w*|damag\w*|danger\w*|unsafe|toxic\w*|fatal|deaths?|mortality|kill\w*|worsen\w*|"
                     r"adverse|side[- ]effects?|complications?|injur\w*|sensitivity reactions?|contraindicated|"
                     r"avoid\w*)\b", re.I)
_IDENTITY = re.compile(r"\b(type|form|kind|variant|subtype|version|sort) of\b|\bjust (?:a |an )?\w+|"
                       r"\bthe same (?:as|thing|disease|condition)\b|\ba (?:muscle|nerve) disease like\b", re.I)
_CONTRAST = re.compile(r"\b(whereas|unlike|distinct|separate|different|differs?|distinguish\w*|not a|not an)\b",
                       re.I)

# How much a candidate's share of the question's focus counts against its general relevance score, and
# how deep into the ranked evidence the verdict may look for the sentence that speaks to the focus.
FOCUS_WEIGHT = 0.3
DEPTH = 24
NEAR = 4  # words before a harm word in which a denial negates it
SCOPE = 10  # words either side of a focus word in which a denial speaks to it


@dataclass
class Verdict:
    word: str          # "Yes", "No" or "It depends"
    index: int         # which candidate (in the list given) it rests on


# Words of asking, not of the thing asked about ("can I just take…", "does it usually affect…").
_ASKING = split_terms("""take taking took give giving given get getting got start starting starts
    use using used need needs needed still just usual usually really actually ok okay fine go going affect
    affects plain tablet tablets pill pills thing things someone somebody people person patient
    patients kid kids child my mum dad worth like""")


def focus_terms(question: str, topic: str) -> list[frozenset[str]]:
    """What the question asks beyond its topic (the best article's title): one group per word, holding
    the word and the classes, generic names or clinical words it stands for ("heart": "cardiac"). Without
    anything beyond the topic, the whole question is the focus."""
    q = split_terms(question) - _ASKING
    return [also(t) for t in sorted((q - expand(split_terms(topic))) or q)]


_ACRONYM = re.compile(r"\(([A-Z][A-Za-z0-9-]{1,9})\)")


def topic_of(title: str, answer_line: str = "") -> str:
    """The words an article uses for its own topic: its title and the short names it introduces in its
    direct answer ("Facioscapulohumeral muscular dystrophy (FSHD) is…")."""
    return " ".join([title] + _ACRONYM.findall(answer_line))


def focus_share(focus: list[frozenset[str]], found: set[str], weights: list[float]) -> float:
    total = sum(weights)
    return sum(w for g, w in zip(focus, weights) if g & found) / total if total else 0.0


def focus_weights(focus: list[frozenset[str]], texts: list[set[str]]) -> list[float]:
    """Inverse frequency of each focus group among the evidence sentences: a word every sentence shares
    ("FSHD" in the FSHD article) says nothing about which sentence answers; a rare one ("heart") does."""
    n = len(texts)
    return [math.log((n + 1) / (0.5 + sum(1 for t in texts if g & t))) for g in focus]


def _word_spans(text: str) -> list[tuple[int, int, frozenset[str]]]:
    return [(m.start(), m.end(), frozenset(split_terms(m.group(0)))) for m in re.finditer(r"[\w'-]+", text)]


def denies(text: str, question: str, focus: list[frozenset[str]] | None = None) -> bool:
    """A denying word the question itself does not use ("diagnosed without a biopsy?" answered by
    "classified without biopsy" is a yes). With a focus, and when the text speaks to it, only a denial
    within SCOPE words of a focus word counts: "started without waiting" denies "should we wait?" but not
    "is it still worth giving antivirals?"."""
    asked = {m.group(0).lower() for m in DENY.finditer(question)}
    ignored = [m.span() for m in NOT_DENIAL.finditer(text)]
    spans = _word_spans(text)
    near = [i for i, (_, _, stems) in enumerate(spans) if focus and any(g & stems for g in focus)]
    for m in DENY.finditer(text):
        if m.group(0).lower() in asked or any(a <= m.start() < b for a, b in ignored):
            continue
        if near:
            at = next((i for i, (a, b, _) in enumerate(spans) if a <= m.start() < b or m.start() < a), len(spans))
            if not any(abs(at - i) <= SCOPE for i in near):
                continue
        return True
    return False


def _safety_sign(text: str, question: str) -> int:
    """+1 when the text says the thing is safe, -1 when it says it does harm, 0 when it says neither. A
    denial just before the harm word turns harm into safety ("does not cause autism", "no increased risk
    of harm"); one elsewhere ("should not be used because of the harms") does not."""
    if _E_SAFE.search(text):
        return 1
    harm = _E_HARM.search(text)
    if not harm:
        return 0
    before = " ".join(text[:harm.start()].split()[-NEAR:])
    return 1 if denies(before, question) else -1


def polarity(sentence: str, question: str, focus: list[frozenset[str]] | None = None) -> str:
    """"Yes" or "No" for one evidence sentence."""
    if _IDENTITY.search(question) and _CONTRAST.search(sentence):
        return "No"
    asks_safe = bool(_Q_SAFE.search(question))
    if asks_safe or _Q_HARM.search(question):
        sign = _safety_sign(sentence, question)
        if sign:
            return "Yes" if (sign > 0) == asks_safe else "No"
    return "No" if denies(sentence, question, focus) else "Yes"


def reconcile(article_verdict: str, article_question: str, question: str) -> str:
    """An article's own "Yes"/"No" answers its title question; when that title asks about harm and the
    user asks about safety (or the other way round), the same answer means the opposite."""
    def side(q: str) -> int:
        return 1 if _Q_SAFE.search(q) else -1 if _Q_HARM.search(q) else 0
    mine, theirs = side(question), side(article_question)
    if mine and theirs and mine != theirs:
        return "No" if article_verdict == "Yes" else "Yes"
    return article_verdict


def decide(question: str, topic: str, texts: list[str], scores: list[float], articles: list[str]) -> Verdict:
    """The verdict from ranked evidence sentences (best first): the sentence that best joins relevance to
    the question's focus decides; an equally strong sentence from another article that points the other
    way makes it "It depends"."""
    focus = focus_terms(question, topic)
    depth = min(DEPTH, len(texts))
    if not depth:
        raise ValueError("no evidence to decide from")
    found = [split_terms(t) for t in texts[:depth]]
    weights = focus_weights(focus, found)

    def weight(i: int) -> float:
        return scores[i] + FOCUS_WEIGHT * focus_share(focus, found[i], weights)

    ranked = sorted(range(depth), key=lambda i: -weight(i))
    best = ranked[0]
    word = polarity(texts[best], question, focus)
    if len(ranked) > 1:
        runner_up = ranked[1]
        if weight(runner_up) >= weight(best) - 0.01 and articles[runner_up] != articles[best] \
                and polarity(texts[runner_up], question, focus) != word:
            return Verdict("It depends", best)
    return Verdict(word, best)


_SELF_DIAGNOSIS = re.compile(r"\b(is (?:this|that|it) (?:a|an)|am i having|could (?:this|it|that) be|(?:is|are) "
                             r"(?:he|she|they|my \w+) having|do i have|does (?:he|she|my \w+) have)\b", re.I)


def asks_what_is_happening(question: str) -> bool:
    """"Is this a heart attack?": never answered yes or no; an emergency question about what to do is."""
    return bool(_SELF_DIAGNOSIS.search(question))


__all__ = ["Verdict", "decide", "topic_of", "polarity", "reconcile", "denies", "focus_terms",
           "asks_what_is_happening", "DENY"]
