"""Questions that ask for a figure, and whether the evidence holds one.

A common near miss asks for a number on a topic the library covers: "How much does Zolgensma cost?", "What
dose of cetirizine is given once the patient is stable?", "How long after a first seizure may I drive?".
The best article is about the right disease, so similarity scores pass it, and the composer would answer
with the article's general statement. What gives the gap away is the kind of answer: a cost needs a sum of
money, a dose an amount with a unit, a duration a number of minutes to years, a rate a percentage or a
"1 in N". The library answers only when one quotable sentence holds a figure of that kind *and* names the
specific thing the figure is about, i.e. the question's rarest specialist word beyond its topic
("cetirizine", "neonatal"), not an everyday word ("watched", "feel") that the evidence is free to phrase
differently.

Measured on eval/gold.jsonl and eval/heldout.jsonl before eval/heldout2.jsonl was written (README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lexicon import also, expand
from rag.questions import is_yes_no
from rag.text import QUESTION_WORDS, STOPWORDS, split_terms, split_words
from rag.vocabulary import Vocabulary

_N = (r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
      r"fifty|sixty|hundred|a few|several)")

# What the question asks for; the first kind that matches wins.
ASKS: dict[str, re.Pattern] = {
    "cost": re.compile(r"\b(costs?|price[sd]?|expensive|cheap|afford\w*)\b", re.I),
    "dose": re.compile(r"\b(doses?|dosage|dosing)\b|\bhow (?:much|many) (?:mg|milligrams?|micrograms?|units?|"
                       r"tablets?|pills?)\b", re.I),
    "duration": re.compile(r"\bhow (?:long|soon|quickly)\b|\bhow many (?:minutes|hours|days|weeks|months|years)\b|"
                           r"\b(?:at )?what age\b|\bhow old\b", re.I),
    "rate": re.compile(r"\bhow (?:often|common|frequent\w*|rare|likely)\b|\bhow many (?:people|patients|cases|"
                       r"children|adults|men|women)\b|\b(?:what|which) (?:percentage|proportion|fraction)\b|"
                       r"\b(incidence|prevalence|success rate|recurrence rate|per (?:million|100,?000|1,?000))\b",
                       re.I),
    "value": re.compile(r"\bwhat (?:\w+ ){0,2}(?:level|target|threshold|cut-?off|range|inr|value|reading)s?\b",
                        re.I),
}

# What a sentence must hold to give that kind of figure.
GIVES: dict[str, re.Pattern] = {
    "cost": re.compile(r"[£$€]\s?\d|\b\d[\d,.]*\s?(?:dollars|pounds|euros)\b|\b(?:costs?|price[sd]?)\b", re.I),
    "dose": re.compile(_N + r"\s?(?:(?:-|to|–)\s?" + _N + r"\s?)?(?:mg|g|mcg|µg|micrograms?|milligrams?|grams?|"
                       r"ml|mL|units?|iu|mmol)\b", re.I),
    "duration": re.compile(_N + r"\s?(?:(?:-|to|–|or)\s?" + _N + r"\s?)?(?:minutes?|mins?|hours?|hrs?|h|days?|"
                           r"weeks?|months?|years?)\b", re.I),
    "rate": re.compile(r"\d\s?%|\bper ?cent\b|\b(?:\d[\d,]*|one) (?:in|of|per) (?:\d[\d,]*|every|ten|five|four|"
                       r"three|two)\b|\bper (?:\d[\d,]*|million|thousand)\b|\b(?:half|a third|two.thirds|a quarter|"
                       r"three quarters|a fifth|most|majority|minority|rarely|uncommon)\b", re.I),
    "value": re.compile(r"\d"),
}

LABELS = {"cost": "cost", "dose": "dose", "duration": "time or duration", "rate": "rate or proportion",
          "value": "figure"}

# Words of the measure itself: the evidence says "4.5 hours" or "1 in 3,500", not "how long" or "incidence".
MEASURE = split_terms("""much many often long soon quickly common frequent frequently likely rare percentage
    proportion fraction age old chance chances odds rate rates per cost costs price dose doses dosage dosing
    incidence prevalence success recurrence annual annually daily year years month months week weeks day days
    hour hours minute minutes standard typical usual usually level levels target threshold value range""")


@dataclass
class MissingFigure:
    kind: str        # cost | dose | duration | rate | value
    about: str       # the question's word the figure should be about ("" when none is needed)
    stems: frozenset[str] = frozenset()  # the stems that stand for `about` (also for a cost's subject)

    def notice(self) -> str:
        about = f" for {self.about}" if self.about else ""
        return f"No passage in the library gives a {LABELS[self.kind]}{about}."


_CLAUSE = re.compile(r"[?;,]|\s-\s|\band\b", re.I)
_WH_START = re.compile(r"^\s*(?:how|what|which|at what)\b", re.I)


def asks_for(question: str) -> str | None:
    """The kind of figure a question asks for. A yes/no question asks for a verdict, even when it names a
    dose ("can high-dose prednisone make it worse?"), unless a later clause asks for a figure ("can a baby
    get it, and how long does it last?")."""
    if is_yes_no(question):
        parts = [c for c in _CLAUSE.split(question)[1:] if _WH_START.search(c)]
    else:
        parts = [question]
    return next((kind for part in parts for kind, rx in ASKS.items() if rx.search(part)), None)


def _spellings(stems: set[str]) -> set[str]:
    """British and American spellings meet ("ischaemic", "ischemic"; "oesophagus", "esophagus")."""
    return stems | {s.replace("ae", "e").replace("oe", "e") for s in stems}


def subject(question: str, topic: str, vocabulary: Vocabulary) -> tuple[str, set[str]]:
    """The rarest specialist word of the question beyond its topic, with the stems that stand for it; a
    specialist word is one the model's tokenizer splits (everyday words are single pieces)."""
    skip = expand(split_terms(topic)) | MEASURE
    best: tuple[int, str, set[str]] | None = None
    for w in dict.fromkeys(split_words(question)):
        if w in STOPWORDS or w in QUESTION_WORDS or any(c.isdigit() for c in w) or not vocabulary.specialist(w):
            continue
        stems = split_terms(w)
        group = set().union(*(also(s) for s in stems)) if stems else set()
        if not group or group & skip:
            continue
        count = vocabulary.frequency(group)
        if count and (best is None or count < best[0]):
            best = (count, w, group)
    return (best[1], _spellings(best[2])) if best else ("", set())


def missing_figure(question: str, topic: str, texts: list[str], vocabulary: Vocabulary) -> MissingFigure | None:
    """What the evidence lacks when the question asks for a figure and no sentence gives one about its
    subject; None when the question asks for no figure or the evidence has it."""
    kind = asks_for(question)
    return None if kind is None else figure_gap(kind, question, topic, texts, vocabulary)


def figure_gap(kind: str, question: str, topic: str, texts: list[str], vocabulary: Vocabulary) -> MissingFigure | None:
    """For a question already known to ask for a figure of `kind` (rag.answer.question.Question.figure):
    what the evidence lacks, or None when a sentence gives that kind of figure about its subject."""
    about, group = subject(question, topic, vocabulary)
    if kind == "cost":  # any cost in the evidence will do; its subject still decides coverage
        for text in texts:
            if GIVES[kind].search(text):
                return None
        return MissingFigure(kind, "", frozenset(group))
    for text in texts:
        if GIVES[kind].search(text) and (not group or group & _spellings(split_terms(text))):
            return None
    return MissingFigure(kind, about, frozenset(group))


__all__ = ["ASKS", "GIVES", "MissingFigure", "asks_for", "figure_gap", "missing_figure", "subject"]
