"""Choosing what to quote: every sentence or bullet (unit) of the retrieved chunks is a candidate, scored
against the question, and picked with maximal marginal relevance within a token budget.

Units carry their own vectors (computed from the chunk's forward pass at build time, see
`Embedder.encode_with_spans`), so scoring every unit of the best article costs no model time at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.chunking import chunk_id, count_tokens
from rag.documents import Chunk, Hit
from rag.retrieval import Retrieval
from rag.store import IndexStore
from rag.text import terms

# How a unit's score is made, tuned on eval/gold.jsonl for key-fact recall (2026-11-24): the unit's own
# cosine to the question, its chunk's cosine, the share of the question's words it contains, and a bonus
# for the best article. MMR_LAMBDA trades relevance against saying something new.
W_UNIT, W_CHUNK, W_WORDS, TOP_BONUS = 0.5, 0.25, 0.25, 0.1
MMR_LAMBDA = 0.9
SAME_FACT_COSINE = 0.93
SAME_FACT_WORDS = 0.5


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


def overlap(q: set[str], u: set[str]) -> float:
    return len(q & u) / len(q) if q else 0.0


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def evidence_score(retrieval: Retrieval, qterms: set[str], coverage_weight: float) -> float:
    """How well the library covers the question: the best chunk's cosine, plus a bonus for the share of
    the question's words found in the best article's retrieved chunks (a near-miss question shares the
    topic but not the specific words, e.g. a drug the library never mentions)."""
    if not retrieval.hits:
        return 0.0
    top = retrieval.hits[0].chunk.article_id
    found: set[str] = set()
    for h in retrieval.hits:
        if h.chunk.article_id == top:
            found |= set(terms(h.chunk.embed_text))
    return retrieval.best_dense + coverage_weight * overlap(qterms, found)


def unit_vector(store: IndexStore, unit: dict, fallback: np.ndarray | None) -> np.ndarray | None:
    if "vec" not in unit:
        return fallback
    return np.asarray(store.unit_vectors[unit["vec"]], dtype=np.float32)


def direct_answer_chunk(store: IndexStore, article_id: str, qvec: np.ndarray, best: float,
                        floor: float) -> Chunk | None:
    """The article's own one-line answer, when the article matches the question about as well as the
    best chunk does (it answers this question, not a neighbouring one)."""
    cid = chunk_id(article_id, 0)
    chunk = store.chunks([cid]).get(cid)
    if chunk is None or chunk.kind != "answer" or not chunk.units:
        return None
    score = float(store.vector(cid) @ qvec)
    return chunk if score >= max(floor, best - 0.12) else None


def evidence_chunks(hits: list[Hit], store: IndexStore, top: str, qvec: np.ndarray) -> list[tuple[Chunk, float]]:
    """The retrieved chunks, plus every other chunk of the best article, so a fact in a chunk that ranked
    just below the per-article cap can still be quoted."""
    pairs = [(h.chunk, h.dense) for h in hits]
    have = {h.chunk.id for h in hits}
    for chunk in store.article_chunks(top):
        if chunk.id not in have and chunk.kind in ("body", "answer"):
            pairs.append((chunk, float(store.vector(chunk.id) @ qvec)))
    return pairs


def candidates(chunks: list[tuple[Chunk, float]], qterms: set[str], qvec: np.ndarray, store: IndexStore,
               floor: float, top: str, whole_top: bool = False) -> list[Candidate]:
    """Quotable units, best first. Lead-in lines ("…include:") and fragments are not claims. With
    `whole_top`, every unit of the best article counts, its direct answer included and whatever its
    chunk's similarity: a yes/no question is often settled by one clause the chunk around it hides."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for chunk, dense in chunks:
        mine = whole_top and chunk.article_id == top
        if chunk.kind not in (("body", "answer") if mine else ("body",)) or (dense < floor and not mine):
            continue
        chunk_vec = store.vector(chunk.id)
        for u in chunk.units:
            text = u["text"].strip()
            if u["kind"] == "leadin" or text.endswith(":") or text in seen or len(text.split()) < 4:
                continue
            seen.add(text)
            uterms = set(terms(text))
            vec = unit_vector(store, u, chunk_vec)
            score = (W_UNIT * float(vec @ qvec) + W_CHUNK * dense + W_WORDS * overlap(qterms, uterms)
                     + (TOP_BONUS if chunk.article_id == top else 0.0))
            out.append(Candidate(text, list(u["markers"]), chunk, u["start"], u["end"], score, uterms, vec))
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
