"""Turns the line events every format produces (heading, bullet, paragraph) into an Article.

Formats differ in how they spell structure, not in what the structure is, so each parser only recognises
its own syntax and hands events to one builder; folding sub-bullets into their parent and attaching
markers happens here once.

Markers are attached only when the whole article has been read: a trailing number is a citation marker
only if the article has a reference list and the number is one of its entries. Pages without references
(NIH-style pages: "between the ages of 20 and 29") keep their numbers as text, and the reference list of
the text format comes last, so the decision cannot be made line by line.
"""

from __future__ import annotations

import datetime
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


FIRST_YEAR = 1800


def check_reference(ref: Reference) -> Reference:
    """Refuse a reference whose fields cannot be what they claim (a 30-digit year overflowed SQLite and
    stopped the whole build); the article is skipped with this reason, the build goes on."""
    last = datetime.date.today().year + 1
    for name in ("type", "title", "journal"):
        if not isinstance(getattr(ref, name), str):
            raise ArticleError(f"reference {ref.number}: '{name}' must be text, not {type(getattr(ref, name)).__name__}")
    if not ref.title.strip():
        raise ArticleError(f"reference {ref.number}: no title")
    if ref.year is not None and (isinstance(ref.year, bool) or not isinstance(ref.year, int)
                                 or not FIRST_YEAR <= ref.year <= last):
        raise ArticleError(f"reference {ref.number}: year {str(ref.year)[:20]!r} is not a year from {FIRST_YEAR} to {last}")
    return ref


class ArticleBuilder:
    def __init__(self) -> None:
        self.title = ""
        self.date: str | None = None
        self.answer_parts: list[str] = []
        self.sections: list[Section] = []
        self.references: list[Reference] = []
        self._top = ""  # current top-level heading
        self._bullet: list[str] | None = None  # raw parent line, then raw sub-bullet lines
        # (section, "bullet" | "paragraph", raw lines): turned into units by build(), once the reference
        # list is known.
        self._pending: list[tuple[Section, str, list[str]]] = []

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
        if not self.sections:
            # Every paragraph before the first heading is the direct answer.
            self.answer_parts.append(text)
            return
        self._pending.append((self._section(), "paragraph", [text]))

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
        self._pending.append((self._section(), "bullet", self._bullet))
        self._bullet = None

    def _units(self, kind: str, raws: list[str], split) -> list[Unit]:
        if kind == "paragraph":
            body, markers = split(raws[0])
            sentences = split_sentences(body)
            # Trailing markers belong to the paragraph's last sentence, as the author placed them.
            return [Unit(sentence, markers if i == len(sentences) - 1 else [],
                         "leadin" if sentence.endswith(":") else "sentence") for i, sentence in enumerate(sentences)]
        parts = [split(raw) for raw in raws]
        parent, _ = parts[0]
        children = [body for body, _ in parts[1:] if body]
        if children:
            lead = parent if parent.endswith(":") else parent + ":"
            text = f"{lead} " + "; ".join(c.rstrip(".;") for c in children) + "."
        else:
            text = parent
        merged = list(dict.fromkeys(m for _, ms in parts for m in ms))
        return [Unit(text, merged, "bullet")]

    # -- result ---------------------------------------------------------------------------------------
    def build(self, article_id: str, path: str, fmt: str, raw: bytes) -> Article:
        self._flush_bullet()
        if not self.title:
            raise ArticleError("no title line found")
        references = [check_reference(r) for r in self.references]
        entries = {r.number for r in references}
        unresolved: list[int] = []

        def split(raw: str) -> tuple[str, list[int]]:
            body, markers = split_markers(raw)
            if markers and not set(markers) <= entries:
                # No reference list, or a number that is not one of its entries: data, not a marker.
                if entries:
                    unresolved.extend(m for m in markers if m not in entries)
                return raw.strip(), []
            return body, markers

        for section, kind, raws in self._pending:
            section.units.extend(self._units(kind, raws, split))
        self._pending = []
        sections = [s for s in self.sections if s.units]
        answer = " ".join(split(part)[0] for part in self.answer_parts).strip()
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
            references=references,
            date=self.date,
            path=path,
            format=fmt,
            content_hash=hashlib.sha256(raw).hexdigest(),
            unresolved=sorted(set(unresolved)),
        )
