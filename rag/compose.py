"""The templated answer composer: no language model, only retrieved sentences, each with its citations.

Every sentence of an answer is a unit quoted verbatim from a retrieved chunk, so a citation can always be
checked against the exact characters it points to. Sources are the article a unit comes from and the
original references the author attached to that unit with markers; a marker with no matching entry in
the article's reference list cites the article only, never a guessed reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.chunking import chunk_id, count_tokens
from rag.config import DISCLAIMER, PATIENT_ADVICE, Settings
from rag.documents import Answer, Chunk, Citation, Hit, KeyPoint, Source
from rag.retrieval import Retrieval
from rag.store import IndexStore
from rag.text import terms

AUDIENCES = ("clinician", "patient")

_AUX = frozenset("""is are was were can could does do did should will would has have had may might must shall
    isn't aren't doesn't don't can't won't shouldn't""".split())
_WH = frozenset("what which who whom whose how why when where".split())
_NEGATION = re.compile(r"\b(not|no|never|cannot|none|neither|nor|without)\b|n't\b", re.I)


def is_yes_no(question: str) -> bool:
    """A question a clinician expects to be answered "yes" or "no": it opens with an auxiliary verb, or a
    clause after a comma or dash does ("my sister is a carrier - does she need…"), or it ends in "right?"."""
    q = question.strip().lower()
    words = re.findall(r"[a-z']+", q)
    if not words or words[0] in _WH:
        return False
    if words[0] in _AUX or re.search(r"\b(right|correct|true)\s*\?\s*$", q):
        return True
    for clause in re.split(r"[,;:\u2013\u2014]|\s-\s|\bso\b", q)[1:]:
        w = re.findall(r"[a-z']+", clause)
        if w and w[0] in _AUX:
            return True
    return False


def polarity_of(text: str) -> str:
    return "No" if _NEGATION.search(text) else "Yes"


def _with_verdict(verdict: str, text: str) -> str:
    if verdict == "It depends":
        return f"It depends: {text}"
    lead = text[:1].lower() + text[1:] if text[1:2].islower() else text
    return f"{verdict}, {lead}"


@dataclass
class Candidate:
    text: str
    markers: list[int]
    chunk: Chunk
    start: int
    end: int
    score: float
    terms: set[str]


def _overlap(q: set[str], u: set[str]) -> float:
    return len(q & u) / len(q) if q else 0.0


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


class SourceList:
    """Numbers sources in order of first use; the same article or reference is one source."""

    def __init__(self, store: IndexStore):
        self.store = store
        self.sources: list[Source] = []
        self._keys: dict[tuple, int] = {}

    def article(self, article_id: str) -> int:
        key = ("article", article_id)
        if key not in self._keys:
            self._add(key, Source(0, "article", self.store.titles.get(article_id, article_id), article_id))
        return self._keys[key]

    def reference(self, article_id: str, number: int) -> int | None:
        ref = self.store.references(article_id).get(number)
        if ref is None:
            return None
        key = ("reference", article_id, number)
        if key not in self._keys:
            self._add(key, Source(0, "reference", ref.title, article_id, ref.type, ref.journal, ref.year, number))
        return self._keys[key]

    def _add(self, key: tuple, source: Source) -> None:
        source.number = len(self.sources) + 1
        self.sources.append(source)
        self._keys[key] = source.number


def abstention(question: str, query: str, audience: str, retrieval: Retrieval, store: IndexStore) -> Answer:
    nearest = [store.titles[a] for a in retrieval.articles()[:3] if a in store.titles]
    lines = ["The library does not cover this question, so no answer is given from it."]
    if nearest:
        lines += ["", "Nearest topics in the library:"] + [f"- {t}" for t in nearest]
    lines += ["", DISCLAIMER]
    return Answer(question, query, audience, "\n".join(lines), lines[0], [], [], [], retrieval.hits, True, nearest)


def compose(question: str, query: str, retrieval: Retrieval, store: IndexStore, settings: Settings,
            audience: str = "clinician") -> Answer:
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
    hits = retrieval.hits
    qterms = set(terms(query))
    if not hits or evidence_score(retrieval, qterms, settings.coverage_weight) < settings.min_evidence:
        return abstention(question, query, audience, retrieval, store)

    qvec = retrieval.query_vector[0]
    top = hits[0].chunk.article_id
    sources = SourceList(store)
    citations: list[Citation] = []
    lines: list[str] = []

    def cite(chunk: Chunk, markers: list[int], start: int, end: int, sentence: int) -> list[int]:
        """Cite the article and the references the author attached; the quote is the chunk's own text."""
        quote = chunk.text[start:end]
        numbers = [sources.article(chunk.article_id)]
        for m in markers:
            n = sources.reference(chunk.article_id, m)
            if n is not None and n not in numbers:
                numbers.append(n)
        for n in numbers:
            citations.append(Citation(len(citations) + 1, n, chunk.id, chunk.article_id, quote, start, end,
                                      sentence))
        return numbers

    # Direct answer: the top article's own one-line answer when that article matches the question well,
    # otherwise the single best-matching unit (chosen below).
    direct_chunk = _direct_answer_chunk(store, top, qvec, retrieval.best_dense, settings.min_similarity)
    candidates = _candidates(hits, qterms, settings.min_similarity, top)
    yes_no = is_yes_no(query)
    verdict: str | None = None
    if yes_no and direct_chunk is not None:
        opening = direct_chunk.units[0]["text"].split(",")[0].strip().lower()
        if opening in ("yes", "no"):
            verdict = opening.capitalize()  # the article answers this very question
        elif candidates:
            direct_chunk = None  # the article answers a different question: lead with the best evidence
    direct_text = ""
    direct_sources: list[int] = []
    used_terms: list[set[str]] = []
    if direct_chunk is not None:
        first = direct_chunk.units[0]
        direct_text = " ".join(u["text"] for u in direct_chunk.units[:2])
        end = direct_chunk.units[:2][-1]["end"]
        direct_sources = cite(direct_chunk, [], first["start"], end, 0)
        used_terms.append(set(terms(direct_text)))
    elif candidates:
        best = candidates.pop(0)
        direct_text = best.text
        direct_sources = cite(best.chunk, best.markers, best.start, best.end, 0)
        used_terms.append(best.terms)
        if yes_no:
            verdict = polarity_of(best.text)
            runner_up = candidates[0] if candidates else None
            if runner_up and runner_up.score >= best.score - 0.01 and polarity_of(runner_up.text) != verdict \
                    and runner_up.chunk.article_id != best.chunk.article_id:
                verdict = "It depends"  # equally strong evidence points both ways
    shown = as_sentence(direct_text)
    if verdict and not direct_text.lower().startswith(verdict.lower()):
        shown = _with_verdict(verdict, shown)
    lines.append(f"{shown} {_brackets(direct_sources)}")

    points: list[KeyPoint] = []
    budget = settings.answer_tokens
    for cand in candidates:
        if len(points) >= settings.max_points:
            break
        if any(_jaccard(cand.terms, seen) > 0.5 for seen in used_terms):
            continue  # never the same fact twice
        cost = count_tokens(cand.text)
        if cost > budget:
            continue
        budget -= cost
        used_terms.append(cand.terms)
        numbers = cite(cand.chunk, cand.markers, cand.start, cand.end, len(points) + 1)
        points.append(KeyPoint(cand.text, numbers, cand.chunk.id, cand.chunk.article_id))

    if points:
        lines += ["", "Key points:"] + [f"- {as_sentence(p.text)} {_brackets(p.sources)}" for p in points]
    lines += ["", "Sources:"] + [_format_source(s, sources.sources) for s in sources.sources]
    if audience == "patient":
        lines += ["", PATIENT_ADVICE]
    lines += ["", DISCLAIMER]
    answer = Answer(question, query, audience, "\n".join(lines), direct_text, points, citations,
                    sources.sources, hits, False)
    answer.verdict = verdict
    return answer


def as_sentence(text: str) -> str:
    """Bullets are written without a final period; an answer reads as sentences."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def evidence_score(retrieval: Retrieval, qterms: set[str], coverage_weight: float) -> float:
    """How well the library covers the question: the best chunk's cosine, plus a bonus for the share of
    the question's words that the top chunk contains (a near-miss question shares the topic but not the
    specific words, e.g. a drug the library never mentions)."""
    if not retrieval.hits:
        return 0.0
    top_terms = set(terms(retrieval.hits[0].chunk.embed_text))
    coverage = len(qterms & top_terms) / len(qterms) if qterms else 0.0
    return retrieval.best_dense + coverage_weight * coverage


def _brackets(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _format_source(s: Source, all_sources: list[Source]) -> str:
    if s.kind == "article":
        return f"[{s.number}] Library article: {s.title} ({s.article_id})"
    parent = next((o.number for o in all_sources if o.kind == "article" and o.article_id == s.article_id), None)
    where = ", ".join(str(p) for p in (s.journal, s.year) if p)
    tail = f" Cited by [{parent}] as its reference {s.ref_number}." if parent else ""
    return f"[{s.number}] {s.type}: {s.title}. {where}.{tail}"


def _direct_answer_chunk(store: IndexStore, article_id: str, qvec: np.ndarray, best: float,
                         floor: float) -> Chunk | None:
    cid = chunk_id(article_id, 0)
    chunk = store.chunks([cid]).get(cid)
    if chunk is None or chunk.kind != "answer" or not chunk.units:
        return None
    score = float(store.vector(cid) @ qvec)
    return chunk if score >= max(floor, best - 0.12) else None


def _candidates(hits: list[Hit], qterms: set[str], floor: float, top: str) -> list[Candidate]:
    """Quotable units of the retrieved body chunks, best first. A unit's score mixes how well its chunk
    matched (dense cosine) with how many of the question's words it contains."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for hit in hits:
        chunk = hit.chunk
        if chunk.kind != "body" or hit.dense < floor:
            continue
        for u in chunk.units:
            text = u["text"].strip()
            if u["kind"] == "leadin" or text.endswith(":") or text in seen or len(text.split()) < 4:
                continue
            seen.add(text)
            uterms = set(terms(text))
            score = 0.6 * hit.dense + 0.4 * _overlap(qterms, uterms) + (0.05 if chunk.article_id == top else 0.0)
            out.append(Candidate(text, list(u["markers"]), chunk, u["start"], u["end"], score, uterms))
    out.sort(key=lambda c: -c.score)
    return out


__all__ = ["compose", "abstention", "AUDIENCES"]
