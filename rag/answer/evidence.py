"""The evidence an answer may quote, and choosing what to quote from it.

Retrieval hands the composer an `EvidenceSet`: the hits, every chunk of the best article, their vectors and the sentence (unit) vectors, the titles and the reference lists. The composer
works on this data alone and never reads the index, so what an answer rests on is exactly what was
retrieved, and the composer can be tested on hand-made evidence.

Every sentence or bullet (unit) of those chunks is a candidate, scored against the question, and picked
with maximal marginal relevance within a token budget. Units carry their own vectors (computed from the
chunk's forward pass at build time, see `Embedder.encode_with_spans`), so scoring costs no model time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from rag.chunking import count_tokens
from rag.documents import Chunk, Hit, Reference
from rag.answer.text import as_sentence
from rag.text import terms

# How a unit's score is made, tuned on eval/gold.jsonl for key-fact recall (2026-11-24): the unit's own
# cosine to the question, its chunk's cosine, the share of the question's words it contains, and a bonus
# for the best article. MMR_LAMBDA trades relevance against saying something new.
W_UNIT, W_CHUNK, W_WORDS, TOP_BONUS = 0.5, 0.25, 0.25, 0.1
MMR_LAMBDA = 0.9
SAME_FACT_COSINE = 0.93
SAME_FACT_WORDS = 0.5


@dataclass
class Passage:
    """A chunk as evidence: its cosine to the question, its vector and one vector per unit."""

    chunk: Chunk
    dense: float
    vector: np.ndarray
    unit_vectors: list[np.ndarray | None]


@dataclass
class EvidenceSet:
    """Everything the composer may use, gathered once by retrieval (`Retriever.evidence`)."""

    hits: list[Hit]
    query_vector: np.ndarray  # 1-D, normalised
    passages: list[Passage]
    titles: dict[str, str]  # article id -> title, for every article of the library (suggestions too)
    references: dict[str, dict[int, Reference]] = field(default_factory=dict)

    @property
    def best_dense(self) -> float:
        return max((h.dense for h in self.hits), default=0.0)

    @property
    def top(self) -> str:
        return self.hits[0].chunk.article_id if self.hits else ""

    def articles(self) -> list[str]:
        return list(dict.fromkeys(h.chunk.article_id for h in self.hits))

    def answer_passage(self, article_id: str) -> Passage | None:
        """The article's own one-line answer (its first chunk), when the article has one."""
        return next((p for p in self.passages if p.chunk.article_id == article_id and p.chunk.kind == "answer"
                     and p.chunk.ordinal == 0 and p.chunk.units), None)

    def answer_line(self, article_id: str) -> str:
        """The first sentence of the article's own answer, or "" when it has none."""
        passage = self.answer_passage(article_id)
        return passage.chunk.units[0]["text"] if passage is not None else ""

    def reference(self, article_id: str, number: int) -> Reference | None:
        return self.references.get(article_id, {}).get(number)


@dataclass
class Candidate:
    text: str
    markers: list[int]
    chunk: Chunk
    start: int
    end: int
    score: float
    terms: set[str]
    vec: np.ndarray
    unit: int = 0  # index of the unit in its chunk
    dense: float = 0.0  # the chunk's cosine to the question
    cosine: float = 0.0  # the unit's own cosine to the question
    section_match: bool = False  # its section heading names the question's type


# A sentence that opens with a pronoun standing for something named before it ("They drop the possible,
# probable and definite categories" after "The Gold Coast criteria of 2020 require ...") says nothing on
# its own. Grammar, not vocabulary: the personal pronouns and their possessives, and "this/these/those"
# used as a subject (followed by a verb form of be, have, do or a modal), which English keeps closed.
_ANAPHORIC = re.compile(r"^(?:they|it|he|she|its|their|them|(?:this|these|those)\s+(?:is|are|was|were|has|have|"
                        r"had|does|do|did|can|could|may|might|will|would|should|must)\b)\b", re.I)


def with_antecedent(c: Candidate) -> Candidate:
    """`c`, or `c` quoted together with the sentence before it in its chunk when it opens with a pronoun
    that stands for something named there: a key point must make sense alone. The citation then covers
    both sentences (one span of the chunk), with the markers of both."""
    if c.unit == 0 or not _ANAPHORIC.match(c.text):
        return c
    prev = c.chunk.units[c.unit - 1]
    before = prev["text"].strip()
    if not before or before.endswith(":"):
        return c
    markers = list(dict.fromkeys(list(prev["markers"]) + list(c.markers)))
    # Its words stay the sentence's own: what it adds is what Selection weighs against what was said.
    return replace(c, text=f"{as_sentence(before)} {c.text}", markers=markers, start=prev["start"])


def overlap(q: set[str], u: set[str]) -> float:
    return len(q & u) / len(q) if q else 0.0


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def evidence_score(evidence: EvidenceSet, qterms: set[str], coverage_weight: float) -> float:
    """How well the library covers the question: the best chunk's cosine, plus a bonus for the share of
    the question's words found in the best article's retrieved chunks (a near-miss question shares the
    topic but not the specific words, e.g. a drug the library never mentions)."""
    if not evidence.hits:
        return 0.0
    top = evidence.top
    found: set[str] = set()
    for h in evidence.hits:
        if h.chunk.article_id == top:
            found |= set(terms(h.chunk.embed_text))
    return evidence.best_dense + coverage_weight * overlap(qterms, found)


def direct_answer(evidence: EvidenceSet, article_id: str, floor: float) -> Passage | None:
    """The article's own one-line answer, when the article matches the question about as well as the
    best chunk does (it answers this question, not a neighbouring one)."""
    passage = evidence.answer_passage(article_id)
    if passage is None:
        return None
    return passage if passage.dense >= max(floor, evidence.best_dense - 0.12) else None


def section_matches(heading: str, qtype: str) -> bool:
    """A section whose heading names the question's type ("Symptoms and signs" for "What are the early
    symptoms of ALS?"), read with the same rules that type questions (rag.questions)."""
    from rag.questions import question_type
    return qtype in TYPED and question_type(heading.split("›")[-1]) == qtype


TYPED = ("diagnosis", "treatment", "cause", "prognosis", "epidemiology", "symptoms")


def candidates(evidence: EvidenceSet, qterms: set[str], floor: float, whole_top: bool = False,
               qtype: str = "", section_bonus: float = 0.0) -> list[Candidate]:
    """Quotable units, best first. Lead-in lines ("…include:") and fragments are not claims. With
    `whole_top`, every unit of the best article counts, its direct answer included and whatever its
    chunk's similarity: a yes/no question is often settled by one clause the chunk around it hides."""
    out: list[Candidate] = []
    seen: set[str] = set()
    top = evidence.top
    qvec = evidence.query_vector
    matches: dict[str, bool] = {}
    for p in evidence.passages:
        chunk, dense = p.chunk, p.dense
        if chunk.section not in matches:
            matches[chunk.section] = section_matches(chunk.section, qtype)
        mine = whole_top and chunk.article_id == top
        if chunk.kind not in (("body", "answer") if mine else ("body",)) or (dense < floor and not mine):
            continue
        for i, u in enumerate(chunk.units):
            text = u["text"].strip()
            if u["kind"] == "leadin" or text.endswith(":") or text in seen or len(text.split()) < 4:
                continue
            seen.add(text)
            uterms = set(terms(text))
            vec = p.unit_vectors[i] if p.unit_vectors[i] is not None else p.vector
            cos = float(vec @ qvec)
            score = (W_UNIT * cos + W_CHUNK * dense + W_WORDS * overlap(qterms, uterms)
                     + (TOP_BONUS if chunk.article_id == top else 0.0)
                     + (section_bonus if matches[chunk.section] else 0.0))
            out.append(Candidate(text, list(u["markers"]), chunk, u["start"], u["end"], score, uterms, vec, i,
                                 dense, cos, matches[chunk.section]))
    out.sort(key=lambda c: -c.score)
    return out


class Selection:
    """What the answer has said so far, so that nothing is said twice."""

    def __init__(self, budget: int):
        self.budget = budget
        self.vecs: list[np.ndarray] = []
        self.term_sets: list[set[str]] = []

    def note(self, vec: np.ndarray | None, term_set: set[str]) -> None:
        if vec is not None:
            self.vecs.append(vec)
        self.term_sets.append(term_set)

    def repeats(self, c: Candidate) -> bool:
        return any(jaccard(c.terms, seen) > SAME_FACT_WORDS for seen in self.term_sets) or \
            any(float(c.vec @ v) > SAME_FACT_COSINE for v in self.vecs)

    def mmr(self, c: Candidate) -> float:
        redundancy = max((float(c.vec @ v) for v in self.vecs), default=0.0)
        return MMR_LAMBDA * c.score - (1 - MMR_LAMBDA) * redundancy

    def take(self, pool: list[Candidate], limit: int, accept=lambda c: True) -> list[Candidate]:
        """Pick up to `limit` candidates from `pool` (removing them) by maximal marginal relevance."""
        picked: list[Candidate] = []
        remaining = [c for c in pool if accept(c)]
        while remaining and len(picked) < limit:
            cand = max(remaining, key=self.mmr)
            remaining.remove(cand)
            pool.remove(cand)
            if self.repeats(cand):
                continue
            cost = count_tokens(cand.text)
            if cost > self.budget:
                continue
            self.budget -= cost
            self.note(cand.vec, cand.terms)
            picked.append(cand)
        return picked
