"""Bulk import: one article a JSON line, for libraries exported from another system.

{"id": "cardio/af", "title": "...?", "date": "2025-01-01", "answer": "...",
 "sections": [{"heading": "...", "bullets": ["... 1", "... 2"]} | {"heading": "...", "text": "..."}],
 "text": "plain text instead of sections",
 "references": [{"type": "Guideline", "title": "...", "journal": "...", "year": 2020}]}

Only "title" and one of "sections" / "text" / "answer" are required; "id" defaults to the file's id and the
line number. Bullets keep their trailing citation markers, as in the other formats.
"""

from __future__ import annotations

import json

from rag.documents import Article
from rag.ingest.builder import ArticleBuilder, ArticleError
from rag.ingest.markdown import _references_from_meta


def jsonl_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text: split on "\\n" only, a trailing "\\r" dropped. Not `str.splitlines()`,
    which also splits on U+2028, U+2029, U+0085 and other separators that JSON allows raw inside a string,
    cutting such a record in two."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def parse_jsonl_line(line: str, prefix: str, number: int, path: str) -> Article:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ArticleError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ArticleError("each line must be a JSON object")
    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ArticleError("no 'title'")
    builder = ArticleBuilder()
    builder.title = title.strip()
    builder.date = str(obj["date"]) if obj.get("date") else None
    builder.references = _references_from_meta(obj.get("references"))
    if isinstance(obj.get("answer"), str):
        builder.paragraph(obj["answer"])
    sections = obj.get("sections") or []
    if not isinstance(sections, list):
        raise ArticleError("'sections' must be a list")
    for section in sections:
        if not isinstance(section, dict):
            raise ArticleError("each section must be an object with 'heading' and 'bullets' or 'text'")
        builder.heading(str(section.get("heading") or "Overview"), 1)
        for bullet in section.get("bullets") or []:
            builder.bullet(str(bullet), 0)
        if isinstance(section.get("text"), str):
            builder.paragraph(section["text"])
    if isinstance(obj.get("text"), str):
        if not sections:
            builder.heading("Overview", 1)
        for para in obj["text"].split("\n\n"):
            if para.strip():
                builder.paragraph(para.strip())
    article_id = str(obj.get("id") or f"{prefix}/{number}")
    return builder.build(article_id, f"{path}:{number}", "jsonl", line.encode())


__all__ = ["jsonl_lines", "parse_jsonl_line"]
