"""Parser for Markdown articles: `# Title`, `##`/`###` sections, `-` bullets with the same trailing
markers, the first paragraph as the direct answer, and references either in YAML front matter
(`references: [{type, title, journal, year}]`) or as a `## References` list ("Guideline: Title. Journal, 2020").
"""

from __future__ import annotations

import re

import yaml

from rag.documents import Reference
from rag.ingest.builder import ArticleBuilder, ArticleError, check_reference

_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
_BULLET = re.compile(r"^(?P<indent>\s*)(?:[-*+•]|\d+[.)])\s+(?P<text>.*)$")
_INLINE = re.compile(r"(\*\*|__|`)")


def _plain(text: str) -> str:
    """Drop inline emphasis and turn [label](url) links into their label."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    return _INLINE.sub("", text).strip()


def _front_matter(text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    parts = text.split("\n---", 1)
    if len(parts) < 2:
        raise ArticleError("YAML front matter is not closed by a '---' line")
    try:
        meta = yaml.safe_load(parts[0][3:]) or {}
    except yaml.YAMLError as exc:
        raise ArticleError(f"YAML front matter does not parse: {exc}") from None
    if not isinstance(meta, dict):
        raise ArticleError("YAML front matter must be a mapping")
    return meta, parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""


def _references_from_meta(items: object) -> list[Reference]:
    """References given as data (front matter, JSONL): a list of {type, title, journal, year} objects.
    Wrong shapes are refused with the entry's number (the loader skips the article and says why)."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise ArticleError("'references' must be a list of objects")
    refs = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ArticleError(f"reference {number}: must be an object with 'title' (and 'type', 'journal', 'year')")
        year = item.get("year")
        if isinstance(year, str) and year.strip().isdigit() and len(year.strip()) <= 6:
            year = int(year)
        elif year == "":
            year = None
        refs.append(check_reference(Reference(
            number=number,
            type=item["type"].capitalize() if isinstance(item.get("type"), str) else item.get("type", "Research"),
            title=item["title"].strip() if isinstance(item.get("title"), str) else item.get("title"),
            journal=item["journal"].strip() if isinstance(item.get("journal"), str) else item.get("journal", "") or "",
            year=year,
        )))
    return refs


def parse_markdown(text: str, builder: ArticleBuilder) -> None:
    meta, body = _front_matter(text)
    if meta.get("date") is not None:
        builder.date = str(meta["date"])
    if meta.get("title"):
        builder.title = str(meta["title"])
    builder.references = _references_from_meta(meta.get("references"))

    in_refs = False
    para: list[str] = []
    top_indent: int | None = None

    def flush() -> None:
        nonlocal para
        if para:
            builder.paragraph(_plain(" ".join(para)))
            para = []

    for raw in body.expandtabs(4).splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        h = _HEADING.match(line)
        if h:
            flush()
            in_refs = builder.outline_heading(_plain(h.group("text")), len(h.group("hashes")))
            continue
        if not builder.title:
            builder.title = _plain(line)  # no '# ' heading: the first line is the title
            continue
        b = _BULLET.match(raw)
        if in_refs:
            builder.reference_line(_plain(b.group("text") if b else line))
            continue
        if b:
            flush()
            indent = len(b.group("indent"))
            if top_indent is None or indent <= top_indent:
                top_indent = indent
            builder.bullet(_plain(b.group("text")), 1 if indent > top_indent else 0)
            continue
        if raw[:1].isspace() and builder.in_bullet and not para:
            builder.bullet_continue(_plain(line))
            continue
        para.append(line)
    flush()
