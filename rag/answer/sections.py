"""Which section of the evidence answers the question: a small learned model.

Pages without references (NIH consumer pages, web pages) are written one section a question type:
"Symptoms", "Frequency", "Genetic changes", "Treatment". There the best answer to "How many people are
affected by X?" is the "Frequency" section of X's page, quoted in order, and the single best chunk is
often from another section (the summary that also mentions how common X is). Which heading answers which
kind of question is learned, not listed: a logistic model over what we compute about each section (its
best and mean sentence cosine, its chunks' cosine and hit rank, whether its article is the best one, the
share of the question's words in its heading, its position) plus hashed pairs of (question word, heading
word), trained and cross-validated by eval/train_sections.py on the MedQuAD dev set and the team's gold
set; weights in rag/data/section_model.npz.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.answer.evidence import Candidate, EvidenceSet, overlap
from rag.chunking import count_tokens
from rag.text import split_terms

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "section_model.npz"
DENSE = ("max_cos", "mean_cos", "max_dense", "hit_rank", "top_article", "heading_words", "first_section",
         "units", "answer_chunk")
PAIR_BUCKETS = 4096


@dataclass
class SectionCandidate:
    article_id: str
    heading: str
    units: list[Candidate]  # in document order
    dense: dict[str, float] = field(default_factory=dict)
    pairs: list[int] = field(default_factory=list)  # hashed (question stem, heading stem) buckets

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.units)

    def within(self, budget: int) -> list[Candidate]:
        """The section's units from the start, as many as fit in `budget` tokens."""
        out = []
        for cand in self.units:
            cost = count_tokens(cand.text)
            if cost > budget:
                break
            budget -= cost
            out.append(cand)
        return out


def _bucket(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) % PAIR_BUCKETS


def sections(evidence: EvidenceSet, qterms: set[str], pool: list[Candidate]) -> list[SectionCandidate]:
    """Every (article, section) that holds quotable candidates, with its features."""
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for c in pool:
        groups.setdefault((c.chunk.article_id, c.chunk.section), []).append(c)
    hit_rank: dict[tuple[str, str], int] = {}
    for rank, h in enumerate(evidence.hits):
        hit_rank.setdefault((h.chunk.article_id, h.chunk.section), rank)
    first: dict[str, str] = {}
    for p in sorted(evidence.passages, key=lambda p: p.chunk.ordinal):
        if p.chunk.kind == "body":
            first.setdefault(p.chunk.article_id, p.chunk.section)
    out = []
    for (article_id, heading), units in groups.items():
        units = sorted(units, key=lambda c: (c.chunk.ordinal, c.start))
        cos = sorted((c.cosine for c in units), reverse=True)
        head = split_terms(heading.split("›")[-1])
        rank = hit_rank.get((article_id, heading))
        dense = {
            "max_cos": cos[0],
            "mean_cos": float(np.mean(cos[:3])),
            "max_dense": max(c.dense for c in units),
            "hit_rank": 1.0 / (1 + rank) if rank is not None else 0.0,
            "top_article": 1.0 if article_id == evidence.top else 0.0,
            "heading_words": overlap(head, qterms),
            "first_section": 1.0 if first.get(article_id) == heading else 0.0,
            "units": float(np.log1p(len(units))),
            "answer_chunk": 1.0 if any(c.chunk.kind == "answer" for c in units) else 0.0,
        }
        pairs = [_bucket(f"{q}|") for q in sorted(qterms)] + \
            [_bucket(f"{q}|{h}") for q in sorted(qterms) for h in sorted(head)]
        out.append(SectionCandidate(article_id, heading, units, dense, pairs))
    return out


def feature_row(section: SectionCandidate) -> np.ndarray:
    x = np.zeros(len(DENSE) + PAIR_BUCKETS, dtype=np.float32)
    x[:len(DENSE)] = [section.dense[k] for k in DENSE]
    for b in section.pairs:
        x[len(DENSE) + b] += 1.0
    return x


@lru_cache(maxsize=1)
def section_model() -> dict | None:
    if not MODEL_FILE.exists():
        return None
    with np.load(MODEL_FILE, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays.pop("meta")))
    return {**arrays, "meta": meta}


def score(section: SectionCandidate, model: dict) -> float:
    x = feature_row(section)
    x[:len(DENSE)] = (x[:len(DENSE)] - model["mean"]) / model["scale"]
    return float(x @ model["coef"] + model["intercept"])


def best_section(evidence: EvidenceSet, qterms: set[str], pool: list[Candidate]) -> SectionCandidate | None:
    """The section the model ranks first, or None without a model or candidates."""
    model = section_model()
    found = sections(evidence, qterms, pool)
    if model is None or not found:
        return None
    return max(found, key=lambda s: score(s, model))


__all__ = ["SectionCandidate", "sections", "feature_row", "best_section", "section_model", "DENSE", "PAIR_BUCKETS"]
