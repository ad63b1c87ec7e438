"""Bulk import: one article a JSON line, for libraries exported from another system.

{"id": "cardio/af", "title": "...?", "date": "2025-01-01", "answer": "...",
 "sections": [{"heading": "...", "bullets": ["... 1", "... 2"]} | {"heading": "...", "text": "..."}],
 "text": "plain text instead of sections",
 "references": [{"type": "Guideline", "title": "...", "journal": "...", "year": 2020}]}

Only "title" and one of "sections" / "text" / "answer" are required; "id" defaults to the file's id and the
line number. Bullets keep their trailing citation markers, as in the other formats.

A JSONL file is many articles, so its limits are per line: any size of file is read line by line, and a line
that is too long, not UTF-8, holds a NUL byte, is not JSON or has a field of the wrong type is skipped with
its line number while the rest of the file loads. An id is a path under the corpus: one with `..`, a leading
slash or characters outside letters, digits, `._-` is refused, as the rest of the program uses ids as paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import BinaryIO

from rag.documents import Article
from rag.ingest.builder import ArticleBuilder, ArticleError
from rag.ingest.markdown import _references_from_meta

_ID_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_article_id(article_id: object) -> str:
    """An article id as the corpus uses them: relative, `/`-separated names, no `..`, at most 200 characters."""
    if not isinstance(article_id, str) or not article_id:
        raise ArticleError("'id' must be a non-empty string")
    parts = article_id.split("/")
    if len(article_id) > 200 or not all(_ID_PART.fullmatch(p) and p not in (".", "..") for p in parts) \
            or any(".." in p for p in parts):
        raise ArticleError(f"id {article_id[:80]!r} is not a relative article id (letters, digits, '._-' and '/'; "
                           "no '..', no leading '/')")
    return article_id


def _text(obj: dict, key: str, where: str = "") -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ArticleError(f"{where}'{key}' must be a string, not {type(value).__name__}")
    return value


def parse_jsonl_line(line: str, prefix: str, number: int, path: str) -> Article:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ArticleError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ArticleError("not valid JSON (nested too deeply)") from None
    if not isinstance(obj, dict):
        raise ArticleError("each line must be a JSON object")
    title = _text(obj, "title")
    if not title or not title.strip():
        raise ArticleError("no 'title'")
    article_id = check_article_id(obj["id"]) if obj.get("id") is not None else f"{prefix}/{number}"
    builder = ArticleBuilder()
    builder.title = title.strip()
    date = obj.get("date")
    if date is not None and not isinstance(date, (str, int)) or isinstance(date, bool):
        raise ArticleError(f"'date' must be a string, not {type(date).__name__}")
    builder.date = str(date) if date else None
    builder.references = _references_from_meta(obj.get("references"))
    answer = _text(obj, "answer")
    if answer:
        builder.paragraph(answer)
    sections = obj.get("sections")
    if sections is not None and not isinstance(sections, list):
        raise ArticleError("'sections' must be a list")
    for n, section in enumerate(sections or [], start=1):
        where = f"section {n}: "
        if not isinstance(section, dict):
            raise ArticleError(f"{where}must be an object with 'heading' and 'bullets' or 'text'")
        builder.heading(_text(section, "heading", where) or "Overview", 1)
        bullets = section.get("bullets")
        if bullets is not None and (not isinstance(bullets, list) or not all(isinstance(b, str) for b in bullets)):
            raise ArticleError(f"{where}'bullets' must be a list of strings")
        for bullet in bullets or []:
            if bullet.strip():
                builder.bullet(bullet.strip(), 0)
        text = _text(section, "text", where)
        if text:
            builder.paragraph(text)
    text = _text(obj, "text")
    if text:
        if not sections:
            builder.heading("Overview", 1)
        for para in text.split("\n\n"):
            if para.strip():
                builder.paragraph(para.strip())
    return builder.build(article_id, f"{path}:{number}", "jsonl", line.encode())


def jsonl_text_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text: split on "\n" only, a trailing "\r" dropped. Not `str.splitlines()`,
    which also splits on U+2028, U+2029, U+0085 and other separators that JSON allows raw inside a string,
    cutting such a record in two."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def jsonl_lines(fh: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, bytes, size) for every line, reading at most `max_bytes` + 1 bytes at a time: a line
    over the limit comes back as None with its size, and the next line is read as usual."""
    number = 0
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            size = len(line)
            while line and not line.endswith(b"\n"):
                line = fh.readline(1 << 20)
                size += len(line)
            yield number, None, size
        else:
            yield number, line.rstrip(b"\r\n"), len(line)


__all__ = ["parse_jsonl_line", "jsonl_lines", "jsonl_text_lines", "check_article_id"]
