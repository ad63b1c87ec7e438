"""Turns the line events every format produces (heading, bullet, paragraph) into an Article.

Formats differ in how they spell structure, not in what the structure is, so each parser only recognises
its own syntax and hands events to one builder; folding sub-bullets into their parent and attaching
markers happens here once.
"""

from __future__ import annotations

import hashlib
import re

from rag.documents import Article, Reference, Section, Unit
from rag.ingest.markers import split_markers
from rag.text import split_sentences


_REF_LINE = re.compile(
    r"^(?:(?P<type>Guideline|Research|Review)\s*[:\-–]\s*)?(?P<title>.+?)[.?]\s+(?P<journal>[^.]+?),?\s*(?P<year>(?:18|19|20)\d{2})\.?$",
    re.I,
)


class ArticleError(ValueError):
    """An article that cannot be indexed; the message names the reason, the loader adds the file."""


class ArticleBuilder:
    def __init__(self) -> None:
        self.title = ""
        self.date: str | None = None
        self.answer_parts: list[str] = []
        self.sections: list[Section] = []
        self.references: list[Reference] = []
        self._top = ""  # current top-level heading
        self._bullet: list[str] | None = None  # raw parent line, then raw sub-bullet lines

    # -- events ---------------------------------------------------------------------------------------
    def heading(self, text: str, level: int) -> None:
        self._flush_bullet()
        text = text.strip().rstrip(":").strip()
        if level <= 1 or not self._top:
            self._top = text
            name = text
        else:
            name = f"{self._top} › {text}"
        self.sections.append(Section(heading=name))

    def bullet(self, text: str, depth: int) -> None:
        if depth > 0 and self._bullet is not None:
            self._bullet.append(text)
            return
        self._flush_bullet()
        self._bullet = [text]

    def bullet_continue(self, text: str) -> None:
        """A wrapped line that continues the last bullet or sub-bullet."""
        if self._bullet is None:
            self.paragraph(text)
        else:
            self._bullet[-1] = f"{self._bullet[-1]} {text}"

    def paragraph(self, text: str) -> None:
        self._flush_bullet()
        body, markers = split_markers(text)
        if not self.sections and not self.answer_parts:
            self.answer_parts.append(body)
            return
        if not self.sections:
            # More than one paragraph before the first heading: still the direct answer.
            self.answer_parts.append(body)
            return
        sentences = split_sentences(body)
        for i, sentence in enumerate(sentences):
            kind = "leadin" if sentence.endswith(":") else "sentence"
            # Trailing markers belong to the paragraph's last sentence, as the author placed them.
            self._section().units.append(Unit(sentence, markers if i == len(sentences) - 1 else [], kind))

    def outline_heading(self, text: str, level: int) -> bool:
        """A heading from a format with levels (`#`, `<h1>`): the first level-1 heading is the title, a
        "References" heading opens the reference list (returns True), any other is a section."""
        if level == 1 and not self.title:
            self.title = text
            return False
        if text.lower().rstrip(":") in {"references", "sources", "bibliography"}:
            return True
        self.heading(text, 1 if level <= 2 else 2)
        return False

    def reference_line(self, text: str) -> None:
        """One entry of a reference list written on one line: "Guideline: Title. Journal, 2020"."""
        m = _REF_LINE.match(text)
        number = len(self.references) + 1
        if not m:
            self.references.append(Reference(number=number, type="Research", title=text.rstrip(".")))
            return
        self.references.append(Reference(
            number=number, type=(m.group("type") or "Research").capitalize(), title=m.group("title").strip(),
            journal=m.group("journal").strip(), year=int(m.group("year"))))

    @property
    def in_bullet(self) -> bool:
        return self._bullet is not None

    # -- internals ------------------------------------------------------------------------------------
    def _section(self) -> Section:
        if not self.sections:
            self.sections.append(Section(heading="Overview"))
        return self.sections[-1]

    def _flush_bullet(self) -> None:
        if self._bullet is None:
            return
        parts = [split_markers(raw) for raw in self._bullet]
        parent, markers = parts[0]
        children = [body for body, _ in parts[1:] if body]
        if children:
            lead = parent if parent.endswith(":") else parent + ":"
            text = f"{lead} " + "; ".join(c.rstrip(".;") for c in children) + "."
        else:
            text = parent
        merged = list(dict.fromkeys(m for _, ms in parts for m in ms))
        self._section().units.append(Unit(text, merged, "bullet"))
        self._bullet = None

    # -- result ---------------------------------------------------------------------------------------
    def build(self, article_id: str, path: str, fmt: str, raw: bytes) -> Article:
        self._flush_bullet()
        if not self.title:
            raise ArticleError("no title line found")
        sections = [s for s in self.sections if s.units]
        answer = " ".join(self.answer_parts).strip()
        if not answer and sections:
            # No direct-answer paragraph: the first unit of the article stands in for it.
            answer = sections[0].units[0].text
        if not answer and not sections:
            raise ArticleError("no body text found after the title")
        return Article(
            id=article_id,
            title=self.title.strip(),
            answer=answer,
            sections=sections,
            references=self.references,
            date=self.date,
            path=path,
            format=fmt,
            content_hash=hashlib.sha256(raw).hexdigest(),
        )
