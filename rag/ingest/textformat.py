"""Parser for the article text format (docs/article-format.md): the layout of a saved page of the
clinical Q&A site our library is modelled on, with its site chrome still in it.

The text has no markup, so structure is read from shape: bullets by their glyph and indent, headings as
short lines without a final period, references as type/title/source triples after "References".
"""

from __future__ import annotations

import re

from rag.documents import Reference
from rag.ingest.builder import ArticleBuilder

_BULLET = re.compile(r"^(?P<indent>[ \t]*)(?:[•●▪◦‣∙·]|[-*+](?=\s))\s*(?P<text>.*)$")
_DATE = re.compile(r"^(?:Last updated|Updated|Published)\s*:\s*(?P<date>.+?)\s*(?:View editorial policy.*)?$", re.I)
_PREAMBLE = [
    re.compile(p, re.I)
    for p in (
        r"^Medical Advisory Board",
        r"^Educational purpose only",
        r"^Article Review Status$",
        r"^(Submitted|Under Review|Approved|Pending)$",
        r"^Personali[sz]e$",
        r"^Help us tailor your experience",
        r"^Which best describes you\?",
        r"^View editorial policy",
    )
]
_END = re.compile(r"^(Professional )?Medical Disclaimer$|^Have a follow-up question\?$|^Disclaimer$", re.I)
_REFERENCES = re.compile(r"^(References|Sources|Bibliography)\s*:?$", re.I)
_REF_TYPE = re.compile(r"^(Guideline|Research|Review|Systematic review|Trial|Consensus|Other)$", re.I)
_SOURCE = re.compile(r"^(?P<journal>.*?)[,.]?\s*(?P<year>(?:18|19|20)\d{2})\.?$")


def is_heading(line: str) -> bool:
    """Short, no closing period, starts like a title: how this format marks a heading."""
    words = line.split()
    n_words = len(words)
    if line.endswith(":"):
        # "ALS Diagnosis:" is a sub-heading; "Motor neurons are lost at two levels:" is a lead-in sentence.
        long_words = [w for w in words if len(w.strip("(),:")) >= 4]
        title_case = sum(w[:1].isupper() for w in long_words) / max(len(long_words), 1)
        return n_words <= 3 or (n_words <= 6 and title_case >= 0.6)
    if line.endswith((".", "!", ";", ",")):
        return False
    return n_words <= 12 and (line[:1].isupper() or line[:1].isdigit())


def parse_source(line: str) -> tuple[str, int | None]:
    m = _SOURCE.match(line.strip())
    if not m:
        return line.strip(), None
    return m.group("journal").strip().rstrip(","), int(m.group("year"))


def parse_references(lines: list[str]) -> list[Reference]:
    refs: list[Reference] = []
    i = 0
    while i < len(lines):
        kind = "Research"
        if _REF_TYPE.match(lines[i]):
            kind = lines[i].strip().capitalize()
            i += 1
            if i >= len(lines):
                break
        title = lines[i].strip().rstrip(".") if not lines[i].strip().endswith("?") else lines[i].strip()
        journal, year = "", None
        if i + 1 < len(lines) and not _REF_TYPE.match(lines[i + 1]):
            j, y = parse_source(lines[i + 1])
            if y is not None or i + 2 >= len(lines) or _REF_TYPE.match(lines[i + 2]):
                journal, year = j, y
                i += 1
        refs.append(Reference(number=len(refs) + 1, type=kind, title=title, journal=journal, year=year))
        i += 1
    return refs


def parse_text(text: str, builder: ArticleBuilder) -> None:
    lines = text.expandtabs(4).splitlines()
    ref_lines: list[str] | None = None
    top_indent: int | None = None
    block: list[str] = []  # consecutive non-bullet lines: one paragraph or heading
    in_bullet = False  # the previous line was a bullet: an indented line may continue it
    in_list = False  # a list is open: blank lines inside it do not end it

    def flush_block() -> None:
        nonlocal block
        if not block:
            return
        line = " ".join(s.strip() for s in block)
        block = []
        started = bool(builder.answer_parts or builder.sections)
        if not started:
            if any(p.search(line) for p in _PREAMBLE):
                return
            if line.endswith("?"):
                return  # the page repeats a short form of the title above the answer, which is a statement
        if len(line.split()) < 1:
            return
        nonlocal in_list
        in_list = False
        if is_heading(line) and (started or len(line.split()) < 6):
            level = 2 if line.endswith(":") and builder.sections else 1
            builder.heading(line, level)
        else:
            builder.paragraph(line)

    for raw in lines:
        stripped = raw.strip()
        if not builder.title:
            if stripped:
                builder.title = stripped.lstrip("#").strip()
            continue
        if _END.match(stripped):
            break
        if ref_lines is not None:
            if stripped:
                ref_lines.append(stripped)
            continue
        if not stripped:
            flush_block()
            in_bullet = False
            continue
        m_date = _DATE.match(stripped)
        if m_date and not builder.sections:
            builder.date = m_date.group("date").strip()
            continue
        if _REFERENCES.match(stripped):
            flush_block()
            ref_lines = []
            continue
        m = _BULLET.match(raw)
        if m and m.group("text").strip():
            flush_block()
            indent = len(m.group("indent"))
            if top_indent is None or not in_list or indent <= top_indent:
                top_indent = indent
            builder.bullet(m.group("text").strip(), 1 if indent > top_indent else 0)
            in_bullet = in_list = True
            continue
        if in_bullet and raw[:1].isspace():
            # A wrapped continuation of the previous bullet.
            builder.bullet_continue(stripped)
            continue
        in_bullet = False
        if any(p.search(stripped) for p in _PREAMBLE) and not builder.sections:
            continue
        block.append(stripped)
    flush_block()
    if ref_lines:
        builder.references = parse_references(ref_lines)
