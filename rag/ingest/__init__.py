"""Reading articles from disk: one parser a format, one loader that picks by extension and turns every
failure into a named, skippable error so a bad file never stops a build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.documents import Article
from rag.ingest.builder import ArticleBuilder, ArticleError
from rag.ingest.html import parse_html
from rag.ingest.jsonl import check_article_id, jsonl_lines, parse_jsonl_line
from rag.ingest.markdown import parse_markdown
from rag.ingest.textformat import parse_text

PARSERS = {
    ".txt": ("text", parse_text),
    ".md": ("markdown", parse_markdown),
    ".markdown": ("markdown", parse_markdown),
    ".html": ("html", parse_html),
    ".htm": ("html", parse_html),
    ".jsonl": ("jsonl", None),  # many articles a file: see load_articles
}
MAX_BYTES = Settings.max_article_bytes  # the default; the build passes the configured limit
JSONL_SKIPS_SHOWN = 20  # bad lines named one by one in a JSONL file; the rest are counted


@dataclass
class Skipped:
    path: str
    reason: str


def article_id(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


def decode(raw: bytes, max_bytes: int = MAX_BYTES, what: str = "file") -> str:
    if not raw.strip():
        raise ArticleError(f"empty {what}")
    if len(raw) > max_bytes:
        raise ArticleError(f"{what} is {len(raw):,} bytes, over the {max_bytes:,}-byte limit for one article")
    if b"\x00" in raw[:8192]:
        raise ArticleError(f"binary {what} (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > 8:
        raise ArticleError(f"binary {what} (control characters)")
    return text


def parse_article(raw: bytes, article_id: str, fmt: str = "text", path: str = "",
                  max_bytes: int = MAX_BYTES) -> Article:
    text = decode(raw, max_bytes)
    builder = ArticleBuilder()
    parser = dict(PARSERS.values()).get(fmt) or parse_text
    parser(text, builder)
    return builder.build(article_id, path, fmt, raw)


def load_article(path: Path, root: Path, max_bytes: int = MAX_BYTES) -> Article:
    fmt, _ = PARSERS.get(path.suffix.lower(), ("text", parse_text))
    try:
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)  # never more than the limit in memory
    except OSError as exc:
        raise ArticleError(f"cannot read: {exc.strerror}") from None
    if len(raw) > max_bytes:
        raise ArticleError(f"file is {path.stat().st_size:,} bytes, over the {max_bytes:,}-byte limit for one article")
    return parse_article(raw, article_id(path, root), fmt, str(path), max_bytes)


def load_articles(path: Path, root: Path, max_bytes: int = MAX_BYTES) -> tuple[list[Article], list[Skipped]]:
    """Every article in one file: one for most formats, one a line for JSONL (limits apply per line; a
    bad line is skipped and named, the rest of the file still loads)."""
    if path.suffix.lower() != ".jsonl":
        try:
            return [load_article(path, root, max_bytes)], []
        except ArticleError as exc:
            return [], [Skipped(str(path), str(exc))]
    articles, skipped = [], []
    prefix = article_id(path, root)
    bad = 0
    try:
        with path.open("rb") as fh:
            for n, raw, size in jsonl_lines(fh, max_bytes):
                if raw is not None and not raw.strip():
                    continue
                try:
                    if raw is None:
                        raise ArticleError(f"line is {size:,} bytes, over the {max_bytes:,}-byte limit for one article")
                    text = decode(raw, max_bytes, "line")
                    if b"\x00" in raw:
                        raise ArticleError("binary line (contains NUL bytes)")
                    articles.append(parse_jsonl_line(text.lstrip("\ufeff"), prefix, n, str(path)))
                except ArticleError as exc:
                    bad += 1
                    if bad <= JSONL_SKIPS_SHOWN:
                        skipped.append(Skipped(f"{path}:{n}", str(exc)))
    except OSError as exc:
        return [], [Skipped(str(path), f"cannot read: {exc.strerror}")]
    if bad > JSONL_SKIPS_SHOWN:
        skipped.append(Skipped(str(path), f"{bad - JSONL_SKIPS_SHOWN:,} more bad lines skipped"))
    if not articles and not skipped:
        skipped.append(Skipped(str(path), "empty file"))
    return articles, skipped


__all__ = ["ArticleError", "Skipped", "load_article", "load_articles", "parse_article", "article_id",
           "check_article_id", "PARSERS"]
