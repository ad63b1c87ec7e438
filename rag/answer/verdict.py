"""Yes, no or nothing, read from the evidence without a language model.

A yes/no question proposes something on a topic ("Are beta-blockers first-choice drugs for high blood
pressure?"). Rules choose the sentence that speaks to what the question adds to its topic, its *focus*
(`decide`: relevance joined to the share of the focus a sentence holds). Whether that sentence says yes,
no or neither is judged by a small logistic model over what can be computed about it and its article
(`verdict_features`: the focus found, negated or hedged as negspacy reads it; the article's own yes/no and
whether its title asks the same thing; the sign of harm for safety questions; contrasts for "is X a type
of Y?"), trained and cross-validated by eval/train_verdict.py. The answer opens with "Yes"/"No" only when
the model is confident *and* the quoted sentence itself says the same (`grounded`), or when the article's
title asks the very question and its own answer opens with yes or no; otherwise it quotes the evidence.

The cue patterns and numbers are in rag/data/verdict_cues.toml with what they were fitted on: written
against eval/gold.jsonl and checked on eval/heldout.jsonl, they are now inputs the model weighs.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.answer.logistic import probability
from rag.lexicon import also, expand
from rag.text import split_terms

# The cue patterns and numbers live in a data file, with what they were fitted on.
CUES_FILE = Path(__file__).resolve().parent.parent / "data" / "verdict_cues.toml"
_CUES = tomllib.loads(CUES_FILE.read_text(encoding="utf-8"))
_P = {name: re.compile(pattern, re.I) for name, pattern in _CUES["patterns"].items()}
DENY, NOT_DENIAL = _P["deny"], _P["not_denial"]
_Q_SAFE, _Q_HARM, _E_SAFE, _E_HARM = _P["question_safe"], _P["question_harm"], _P["evidence_safe"], _P["evidence_harm"]
_IDENTITY, _CONTRAST = _P["identity"], _P["contrast"]
_N = _CUES["numbers"]
FOCUS_WEIGHT, DEPTH, NEAR, SCOPE = _N["focus_weight"], _N["depth"], _N["near"], _N["scope"]


@dataclass
class Verdict:
    word: str          # "Yes", "No" or "It depends"
    index: int         # which candidate (in the list given) it rests on


# Words of asking, not of the thing asked about ("can I just take…", "does it usually affect…").
ASKING = split_terms("""take taking took give giving given get getting got start starting starts
    use using used need needs needed still just usual usually really actually ok okay fine go going affect
    affects plain tablet tablets pill pills thing things someone somebody people person patient
    patients kid kids child my mum dad worth like""")


def focus_terms(question: str, topic: str) -> list[frozenset[str]]:
    """What the question asks beyond its topic (the best article's title): one group per word, holding
    the word and the classes, generic names or clinical words it stands for ("heart": "cardiac"). Without
    anything beyond the topic, the whole question is the focus."""
    q = split_terms(question) - ASKING
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


def _side(q: str) -> int:
    """+1 for a question about safety, -1 for one about harm, 0 for neither."""
    return 1 if _Q_SAFE.search(q) else -1 if _Q_HARM.search(q) else 0


def reconcile(article_verdict: str, article_question: str, question: str) -> str:
    """An article's own "Yes"/"No" answers its title question; when that title asks about harm and the
    user asks about safety (or the other way round), the same answer means the opposite."""
    mine, theirs = _side(question), _side(article_question)
    if mine and theirs and mine != theirs:
        return "No" if article_verdict == "Yes" else "Yes"
    return article_verdict


def rank_by_focus(focus: list[frozenset[str]], texts: list[str],
                  scores: list[float]) -> tuple[list[int], list[float], list[float]]:
    """The first DEPTH evidence sentences (ranked by `scores`) re-ranked by relevance joined to the share
    of the question's focus each holds: (indices best first, each one's weight, each one's focus share)."""
    depth = min(DEPTH, len(texts))
    found = [split_terms(t) for t in texts[:depth]]
    weights = focus_weights(focus, found)
    shares = [focus_share(focus, f, weights) for f in found]
    weight = [scores[i] + FOCUS_WEIGHT * shares[i] for i in range(depth)]
    return sorted(range(depth), key=lambda i: -weight[i]), weight, shares


def decide(question: str, topic: str, texts: list[str], scores: list[float], articles: list[str]) -> Verdict:
    """The verdict from ranked evidence sentences (best first): the sentence that best joins relevance to
    the question's focus decides; an equally strong sentence from another article that points the other
    way makes it "It depends"."""
    focus = focus_terms(question, topic)
    if not texts:
        raise ValueError("no evidence to decide from")
    ranked, weight, _ = rank_by_focus(focus, texts, scores)
    best = ranked[0]
    word = polarity(texts[best], question, focus)
    if len(ranked) > 1:
        runner_up = ranked[1]
        if weight[runner_up] >= weight[best] - 0.01 and articles[runner_up] != articles[best] \
                and polarity(texts[runner_up], question, focus) != word:
            return Verdict("It depends", best)
    return Verdict(word, best)


_SELF_DIAGNOSIS = _P["self_diagnosis"]


def asks_what_is_happening(question: str) -> bool:
    """"Is this a heart attack?": never answered yes or no; an emergency question about what to do is."""
    return bool(_SELF_DIAGNOSIS.search(question))


# -- the learned verdict ------------------------------------------------------------------------------
# Rules decide *which* sentence speaks to the question (decide() above: relevance joined to the focus);
# whether that sentence says yes, no or neither to the very thing asked is judged by a small logistic
# model over what we can compute about it (focus found, negated or hedged as negspacy reads it, the
# article's own yes/no and whether its title asks the same thing, the safety sign), trained and
# cross-validated by eval/train_verdict.py. Its weights and thresholds, with the data they were fitted
# on, are rag/data/verdict_model.json.

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "verdict_model.json"
TOP_READ = _N["top_read"]  # how many of the focus-ranked sentences the negation shares are read over


@dataclass
class VerdictDecision:
    word: str | None  # "Yes", "No", "It depends" or None (no sentence settles the very thing asked)
    lead: str  # without a verdict: what introduces the quoted evidence
    candidate: object | None  # the Candidate the first line quotes; None: the article's own answer
    p_yes: float = 0.5
    features: dict[str, float] = field(default_factory=dict)


@lru_cache(maxsize=1)
def verdict_model() -> dict | None:
    if not MODEL_FILE.exists():
        return None
    return json.loads(MODEL_FILE.read_text(encoding="utf-8"))


def verdict_features(question, topic: str, whole: list, direct,
                     sourced: bool = False) -> tuple[dict[str, float], int | None]:
    """The features of one yes/no question against its evidence, and the index in `whole` of the
    sentence the first line would quote (None when the evidence is empty)."""
    from rag.answer.negation import Reading, read

    q = question.query
    focus = focus_terms(q, topic)
    f: dict[str, float] = {k: 0.0 for k in FEATURES}
    f["focus_groups"] = math.log1p(len(focus))
    f["safety_q"] = float(_side(q))
    f["identity_q"] = 1.0 if _IDENTITY.search(q) else 0.0
    f["sourced"] = 1.0 if sourced else 0.0
    if direct is not None:
        opening = direct.chunk.units[0]["text"].split(",")[0].strip().lower()
        if opening in ("yes", "no"):
            said = reconcile(opening.capitalize(), direct.chunk.title, q)
            title_terms = split_terms(direct.chunk.title + " " + direct.chunk.units[0]["text"])
            f["article_answer"] = 1.0
            f["article_yes"] = 1.0 if said == "Yes" else -1.0
            f["article_cos"] = direct.dense
            f["article_focus"] = (sum(1 for g in focus if g & title_terms) / len(focus)) if focus else 1.0
    if not whole:
        _interactions(f)
        return f, None
    texts = [c.text for c in whole]
    ranked, _, shares = rank_by_focus(focus, texts, [c.score for c in whole])
    best = ranked[0]
    readings: dict[str, Reading] = {}

    def reading_of(text: str) -> Reading:  # each sentence is read once, whichever feature asks first
        if text not in readings:
            readings[text] = read(text, focus)
        return readings[text]

    reading = reading_of(texts[best])
    f["focus_share"] = shares[best]
    f["cos"] = whole[best].cosine
    f["neg_focus"] = float(reading.negated)
    f["neg_any"] = float(reading.any_negation)
    f["hedged"] = float(reading.hedged)
    sign = _safety_sign(texts[best], q) if f["safety_q"] else 0
    f["safety_agrees"] = float(sign * f["safety_q"])
    f["contrast"] = 1.0 if f["identity_q"] and _CONTRAST.search(texts[best]) else 0.0
    f["cue_rule"] = 1.0 if polarity(texts[best], q, focus) == "Yes" else -1.0
    _whole_article(f, whole, whole[best].chunk.article_id, reading_of)
    top = [reading_of(texts[i]) for i in ranked[:TOP_READ]]
    f["neg_share"] = sum(r.negated for r in top) / len(top)
    f["hedge_share"] = sum(r.hedged for r in top) / len(top)
    _interactions(f)
    return f, best


def _whole_article(f: dict[str, float], whole: list, article_id: str, reading_of) -> None:
    """Cues over every sentence of the deciding article, weighted by closeness to the question: research
    abstracts answer with their results as a whole ("no significant difference in …") more than with one
    sentence."""
    from rag.answer.negation import OUTCOME, read

    units = [c for c in whole if c.chunk.article_id == article_id]
    if not units:
        return
    weights = [max(c.cosine, 0.0) + 1e-3 for c in units]
    total = sum(weights)
    pos = neg = 0.0
    neg_any = focus_neg = 0.0
    for c, w in zip(units, weights):
        outcome = read(c.text, OUTCOME)
        pos += w * (outcome.focus_found - outcome.negated_n)
        neg += w * outcome.negated_n
        r = reading_of(c.text)
        neg_any += w * r.any_negation
        focus_neg += w * r.negated
    f["outcome_pos"] = math.log1p(pos / total * len(units))
    f["outcome_neg"] = math.log1p(neg / total * len(units))
    f["neg_all"] = neg_any / total
    f["focus_neg_all"] = focus_neg / total


def _interactions(f: dict[str, float]) -> None:
    """Products a linear model cannot form itself: the article's own answer counts as much as its title
    asks what the user asks; a sentence asserts when it holds the focus without negating or hedging it."""
    f["article_match"] = f["article_yes"] * f["article_focus"] * f["article_cos"]
    f["asserts"] = f["focus_share"] * (1 - f["neg_focus"]) * (1 - f["hedged"])
    f["denies"] = f["focus_share"] * f["neg_focus"]


FEATURES = ("article_answer", "article_yes", "article_cos", "article_focus", "focus_groups", "focus_share", "cos",
            "neg_focus", "neg_any", "hedged", "safety_q", "safety_agrees", "identity_q", "contrast", "neg_share",
            "hedge_share", "article_match", "asserts", "denies", "cue_rule", "sourced", "outcome_pos", "outcome_neg", "neg_all",
            "focus_neg_all")


def kind_of(features: dict[str, float]) -> str:
    """Evidence kinds get their own thresholds: the library's sourced articles (a reference list behind
    their statements) and texts without references (research abstracts, web pages) are calibrated apart."""
    return "article" if features.get("sourced") else "text"


def p_yes(features: dict[str, float], model: dict) -> float:
    """P(yes) from the logistic model (one model for every evidence kind: separate models per kind were
    tried and covered less at the same precision, 0.093 against 0.22 of all questions in CV)."""
    return probability(model, features)


SAME_QUESTION_COSINE = _N["same_question_cosine"]  # on gold, heldout and heldout2: 3 of 3 right


def answers_same_question(features: dict[str, float]) -> bool:
    """The best article's title asks the user's very question: every word of the question's focus is in
    its title or answer line, its one-line answer is close to the question, and it opens with yes or no."""
    return bool(features["article_answer"]) and features["article_focus"] >= 1.0 and \
        features["article_cos"] >= SAME_QUESTION_COSINE


def evidence_lead(candidate, sourced: bool) -> str:
    """How a yes/no answer without a verdict introduces the sentence it quotes: a research abstract's
    results as what the study found, anything else as what the article says."""
    section = candidate.chunk.section.lower()
    if not sourced and section.startswith(("result", "conclusion", "finding")):
        return "The study found:"
    return f"From the article \"{candidate.chunk.title}\":"


MIN_FOCUS = _N["min_focus"]  # share of the question's focus (weighted by rarity) the deciding sentence must hold


def sentence_says(features: dict[str, float]) -> str | None:
    """What the deciding sentence itself says about the question's focus, read from its cues: "No" when it
    negates the focus, sets the two apart ("is X a type of Y?") or describes the harm asked about the
    other way; "Yes" when it holds the focus and asserts it unhedged; None when it holds too little of
    the focus or hedges it."""
    if features["focus_share"] < MIN_FOCUS:
        return None
    if features["safety_agrees"]:
        return "Yes" if features["safety_agrees"] > 0 else "No"
    if features["neg_focus"] or features["contrast"]:
        return "No"
    if features["hedged"]:
        return None
    return "Yes" if features["asserts"] > 0 else None


def model_word(p: float, features: dict[str, float], model: dict) -> str | None:
    t = model["thresholds"][kind_of(features)]
    return "Yes" if p >= t["t_yes"] else "No" if p <= t["t_no"] else None


def grounded(word: str | None, features: dict[str, float]) -> str | None:
    """The model's word stands only when the quoted sentence itself says the same: the model weighs the
    evidence, the sentence is what the first line quotes, and the two must agree."""
    return word if word is not None and word == sentence_says(features) else None


def decide_verdict(question, topic: str, whole: list, direct, sourced: bool = False) -> VerdictDecision:
    """Open with "Yes"/"No" only when the model is confident that the quoted sentence (or the article's
    own answer to the same question) asserts or denies what is asked; otherwise quote the evidence."""
    features, best = verdict_features(question, topic, whole, direct, sourced)
    model = verdict_model()
    if model is None:
        raise FileNotFoundError(f"{MODEL_FILE} is missing: run `python eval/train_verdict.py`")
    p = p_yes(features, model)
    if answers_same_question(features) and direct is not None:
        # The article's title asks what the user asks and its own answer opens with yes or no.
        return VerdictDecision("Yes" if features["article_yes"] > 0 else "No", "", None, p, features)
    word = grounded(model_word(p, features, model), features)
    use_article = features["article_answer"] and direct is not None and \
        features["article_focus"] >= model.get("article_focus_min", 1.0)
    if use_article and word is not None and (word == "Yes") == (features["article_yes"] > 0):
        return VerdictDecision(word, "", None, p, features)
    if best is None:
        return VerdictDecision(None, "", None, p, features)
    cand = whole[best]
    if word is None:
        return VerdictDecision(None, evidence_lead(cand, sourced), cand, p, features)
    return VerdictDecision(word, "", cand, p, features)


__all__ = ["Verdict", "decide", "topic_of", "polarity", "reconcile", "denies", "focus_terms",
           "asks_what_is_happening", "DENY", "decide_verdict", "verdict_features", "VerdictDecision", "FEATURES",
           "sentence_says", "grounded"]
