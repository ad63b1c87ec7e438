"""Small text helpers shared by the parser, the lexical retriever and the composer.

One tokenizer for BM25 and for the composer's overlap scores, so "diagnosed" matches "diagnosis" the same
way everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not of off on once only or other our ours ourselves out over own same she should so some
    such than that the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your yours
    yourself yourselves also may might must shall there's what's it's""".split()
)
# Question words carry no topic; dropping them keeps "what is the treatment" from matching every article.
QUESTION_WORDS = frozenset("what which who whom how why when where whether does do is are can should".split())

_ABBREV = re.compile(r"\b(?:e\.g|i\.e|vs|etc|Dr|Mr|Mrs|Ms|approx|Fig|No|St|al)\.$", re.IGNORECASE)
_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def normalise(text: str) -> str:
    """Lower-case, strip accents and fold punctuation to spaces: the form key facts are compared in."""
    if text.isascii():  # nothing to decompose or fold: the same result without a pass over every character
        return " ".join(_WORD.findall(text.lower()))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-")
    return " ".join(_WORD.findall(text))


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


# Forms the stemmer leaves apart that a clinical question uses interchangeably ("treated" / "treatment").
_SAME_STEM = {"treatment": "treat", "diagnosi": "diagnos", "diagnost": "diagnos", "therapi": "therapi",
              "prognosi": "prognos", "prognost": "prognos", "symptomat": "symptom", "medicin": "medic"}


def terms(text: str, drop_question_words: bool = True) -> list[str]:
    """Stemmed content words: the unit of lexical matching."""
    return list(_terms(text, drop_question_words))


@lru_cache(maxsize=65536)
def _terms(text: str, drop_question_words: bool) -> tuple[str, ...]:
    """terms(), remembered: the composer reads the same sentences and words of an article many times over
    one answer and across questions (a third of `ask` went to re-stemming them before)."""
    out = []
    for w in words(text):
        if w in STOPWORDS or (drop_question_words and w in QUESTION_WORDS):
            continue
        if len(w) < 2 and not w.isdigit():
            continue
        out.append(w)
    return tuple(_SAME_STEM.get(t, t) for t in _stemmer().stemWords(out))


def _unjoin(text: str) -> str:
    return text.replace("-", " ").replace("/", " ")


def split_words(text: str) -> list[str]:
    """Words with hyphenated and slashed compounds taken apart ("beta-blockers", "mg/dL")."""
    return words(_unjoin(text))


def split_terms(text: str) -> set[str]:
    """Stems with compounds taken apart, so "beta blockers" meets "beta-blockers"."""
    return set(_split_terms(text))


@lru_cache(maxsize=65536)
def _split_terms(text: str) -> frozenset[str]:
    return frozenset(_terms(_unjoin(text), True))


def stem_sequence(text: str) -> tuple[str, ...]:
    """Every word in order, stemmed, stop words kept and compounds taken apart: the sequence a phrase
    ("over 65") is looked for in, word for word."""
    return tuple(_stemmer().stemWords(split_words(text)))


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences without breaking on "e.g." or "vs." or decimals."""
    parts: list[str] = []
    buf = ""
    for piece in _SENT_END.split(text.strip()):
        buf = f"{buf} {piece}".strip() if buf else piece
        if _ABBREV.search(buf):
            continue
        parts.append(buf)
        buf = ""
    if buf:
        parts.append(buf)
    return [p for p in (s.strip() for s in parts) if p]
