"""A question, read once: everything the composer needs to know about what is asked.

The composer used to re-read the question in several places (its type, whether it is yes/no, whether it
is an emergency, what figure it asks for). Reading it once into a `Question` keeps those readings
consistent and makes the composer a function of two data objects: the question and the evidence.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.answer.figures import asks_for
from rag.answer.verdict import asks_what_is_happening
from rag.questions import comparison_parts, is_emergency, question_type
from rag.text import split_terms, stem_sequence, terms

QUALIFIERS_FILE = Path(__file__).resolve().parent.parent / "data" / "qualifiers.toml"


@dataclass(frozen=True)
class Qualifier:
    """A restriction of the question to a population or context ("in pregnancy", "with alcohol")."""

    name: str
    label: str
    addressed: frozenset[str]
    asks: frozenset[str] = frozenset()  # the stems that name it in a question


@lru_cache(maxsize=1)
def _qualifier_table() -> list[tuple[Qualifier, list[tuple[str, ...]]]]:
    data = tomllib.loads(QUALIFIERS_FILE.read_text(encoding="utf-8"))
    table = []
    for name, entry in data.items():
        addressed = frozenset().union(*(split_terms(w) for w in entry["addressed"]))
        asks = frozenset().union(*(split_terms(w) for w in entry["asks"]))
        phrases = [stem_sequence(w) for w in entry["asks"]]
        table.append((Qualifier(name, entry["label"], addressed, asks), [p for p in phrases if p]))
    return table


def _contains(seq: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(seq[i:i + n] == phrase for i in range(len(seq) - n + 1))


def qualifiers_in(text: str) -> list[Qualifier]:
    """The qualifiers a question names: one of a qualifier's phrases, word for word (stemmed), in the
    question. "over 65" must be those two words: the 65 of "CURB-65" is not an age."""
    seq = stem_sequence(text)
    return [q for q, phrases in _qualifier_table() if any(_contains(seq, p) for p in phrases)]


def names_subject(qualifier: Qualifier, title: str) -> bool:
    """Is the qualifier part of what the article is about rather than a restriction of it? "kidney
    disease" in "How many people are affected by medullary cystic kidney disease?" is the subject when the
    article answering is titled by it; so is "nursing home" for a study of nursing homes."""
    seq = stem_sequence(title)
    return any(_contains(seq, p) for q, phrases in _qualifier_table() if q.name == qualifier.name for p in phrases)


@dataclass
class Question:
    text: str  # the user's own words
    query: str  # the question standing on its own (a follow-up rewritten with the dialogue's topic)
    qtype: str
    yes_no: bool
    terms: set[str]
    parts: tuple[str, str] | None = None  # the two sides of a comparison
    figure: str | None = None  # the kind of figure asked for: cost, dose, duration, rate, value
    qualifiers: list[Qualifier] = field(default_factory=list)
    urgent: bool = False  # describes an emergency: the answer opens with "seek care now"
    crisis: bool = False  # speaks of suicide or self-harm: the answer also gives a crisis line
    self_diagnosis: bool = False  # "is this a heart attack?": never answered yes or no
    unknown: list[str] = field(default_factory=list)  # words of the user's the library never uses


def read_question(text: str, query: str | None = None, emergency=None, unknown: list[str] | None = None) -> Question:
    """`emergency`: the `rag.emergency.Emergency` assessment of the user's own words (None: the rule in
    rag.questions decides alone)."""
    query = query or text
    qtype = question_type(query)
    urgent = bool(emergency.urgent) if emergency is not None else is_emergency(text)
    question = Question(
        text=text.strip(),
        query=query,
        qtype=qtype,
        yes_no=qtype == "yes_no",
        terms=set(terms(query)),
        parts=comparison_parts(query) if qtype == "comparison" else None,
        figure=asks_for(query),
        qualifiers=qualifiers_in(text),
        urgent=urgent,
        crisis=bool(getattr(emergency, "crisis", False)),
        self_diagnosis=asks_what_is_happening(text),
        unknown=list(unknown or []),
    )
    if question.urgent and question.yes_no and question.self_diagnosis:
        question.qtype, question.yes_no = "other", False  # the urgent line comes first, never "Yes"/"No"
    return question


__all__ = ["Question", "Qualifier", "read_question", "qualifiers_in"]
