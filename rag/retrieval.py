"""Finding the chunks that answer a question: dense (FAISS) and lexical (BM25) candidates, fused by
reciprocal rank, then limited per article so one long article cannot crowd out the rest.

Fusion orders the hits; the dense cosine of each hit is kept beside it because rank scores say nothing
about *how well* the best chunk matches, and that is what the abstention decision needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rag.answer.evidence import EvidenceSet, Passage
from rag.documents import Chunk, Hit
from rag.embedding import Embedder
from rag.store import IndexStore
from rag.text import terms

MODES = ("hybrid", "dense", "bm25")


@dataclass
class Retrieval:
    hits: list[Hit]
    query_vector: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Every candidate's article in fused order, de-duplicated: the article ranking evaluation scores
    # (deeper than the hits, which are capped per article).
    ranked_articles: list[str] = field(default_factory=list)

    @property
    def best_dense(self) -> float:
        return max((h.dense for h in self.hits), default=0.0)

    def articles(self) -> list[str]:
        return list(dict.fromkeys(h.chunk.article_id for h in self.hits))


class Retriever:
    def __init__(self, store: IndexStore, embedder: Embedder, candidates: int = 50, rrf_k: int = 60,
                 bm25_weight: float = 1.0):
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight

    def dense(self, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(k, self.store.index.ntotal)
        if k <= 0:
            return []
        scores, ids = self.store.index.search(qvec, k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        tokens = [t for t in terms(query) if t in self.store.vocab]
        if not tokens:
            return []
        k = min(k, len(self.store.bm25_ids))
        docs, scores = self.store.bm25.retrieve([tokens], k=k, show_progress=False, n_threads=0)
        return [(int(self.store.bm25_ids[d]), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def search(self, query: str, top_k: int = 8, per_article: int = 3, mode: str = "hybrid",
               qvec: np.ndarray | None = None) -> Retrieval:
        """`qvec`: the query's vector when the caller has already embedded it."""
        if mode not in MODES:
            raise ValueError(f"retriever must be one of {', '.join(MODES)}")
        t0 = time.perf_counter()
        qvec = self.embedder.encode_query(query) if qvec is None else qvec
        t1 = time.perf_counter()
        depth = self.candidates + min(len(self.store.reference_ids), self.candidates)
        dense = self.dense(qvec, depth) if mode != "bm25" else []
        t2 = time.perf_counter()
        lexical = self.lexical(query, depth) if mode != "dense" else []
        t3 = time.perf_counter()

        # Reference-list entries are indexed, but they are not evidence: a short "Research: <title>" entry
        # matches title-like questions better than the passages that answer them, so they never rank.
        refs = self.store.reference_ids
        dense = [x for x in dense if x[0] not in refs]
        lexical = [x for x in lexical if x[0] not in refs]
        fused: dict[int, float] = {}
        for ranking, weight in ((dense, 1.0), (lexical, self.bm25_weight)):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (self.rrf_k + rank + 1)
        cosine = dict(dense)
        bm25 = dict(lexical)
        order = sorted(fused, key=lambda c: (-fused[c], -cosine.get(c, 0.0)))

        # Per-article cap while walking down the first candidates of the fused ranking; only the chunks
        # kept are read whole (their text and units), the rest by their article alone.
        owners = self.store.article_of(order)
        kept: list[int] = []
        per: dict[str, int] = {}
        for cid in order[: max(top_k * 4, 40)]:
            article = owners.get(cid)
            if article is None:
                continue
            if per.get(article, 0) >= per_article:
                continue
            per[article] = per.get(article, 0) + 1
            kept.append(cid)
            if len(kept) >= top_k:
                break
        chunks = self.store.chunks(kept)
        kept = [cid for cid in kept if cid in chunks]
        ranked_articles = list(dict.fromkeys(owners[c] for c in order if c in owners))
        hits = []
        for rank, cid in enumerate(kept):
            if cid not in cosine:  # found by BM25 only: still measure how close it is to the question
                cosine[cid] = float(self.store.vector(cid) @ qvec[0])
            hits.append(Hit(chunks[cid], fused[cid], cosine[cid], bm25.get(cid, 0.0), rank + 1))
        t4 = time.perf_counter()
        return Retrieval(
            hits,
            qvec,
            {"embed": (t1 - t0) * 1e3, "dense": (t2 - t1) * 1e3, "bm25": (t3 - t2) * 1e3, "fuse": (t4 - t3) * 1e3},
            ranked_articles,
        )

    def evidence(self, retrieval: Retrieval) -> EvidenceSet:
        """Hand the composer everything it may quote, read from the store once: the hits, plus every
        body and answer chunk of the best article (a fact in a chunk that ranked just below the
        per-article cap can still be quoted), with their vectors, sentence vectors and references."""
        store = self.store
        qvec = np.asarray(retrieval.query_vector[0], dtype=np.float32)
        passages = [self._passage(h.chunk, h.dense) for h in retrieval.hits]
        have = {h.chunk.id for h in retrieval.hits}
        for article_id in retrieval.articles()[:1]:
            for chunk in store.article_chunks(article_id):
                if chunk.id not in have and chunk.kind in ("body", "answer"):
                    vec = store.vector(chunk.id)
                    passages.append(self._passage(chunk, float(vec @ qvec), vec))
        articles = {p.chunk.article_id for p in passages}
        return EvidenceSet(retrieval.hits, qvec, passages, store.titles, {a: store.references(a) for a in articles})

    def _passage(self, chunk: Chunk, dense: float, vec: np.ndarray | None = None) -> Passage:
        store = self.store
        vec = store.vector(chunk.id) if vec is None else vec
        units = [np.asarray(store.unit_vectors[u["vec"]], dtype=np.float32) if "vec" in u else None
                 for u in chunk.units]
        return Passage(chunk, dense, vec, units)
