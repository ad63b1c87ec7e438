"""Reading articles from disk: one parser a format, one loader that picks by extension and turns every
failure into a named, skippable error so a bad file never stops a build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.documents import Article
from rag.ingest.builder import ArticleBuilder, ArticleError
from rag.ingest.html import parse_html
from rag.ingest.jsonl import jsonl_lines, parse_jsonl_line
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
MAX_BYTES = 2_000_000  # an article is a few KB; anything this large is not one


@dataclass
class Skipped:
    path: str
    reason: str


def article_id(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


def decode(raw: bytes) -> str:
    if not raw.strip():
        raise ArticleError("empty file")
    if len(raw) > MAX_BYTES:
        raise ArticleError(f"file is {len(raw):,} bytes, over the {MAX_BYTES:,}-byte limit for one article")
    if b"\x00" in raw[:8192]:
        raise ArticleError("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > 8:
        raise ArticleError("binary file (control characters)")
    return text


def parse_article(raw: bytes, article_id: str, fmt: str = "text", path: str = "") -> Article:
    text = decode(raw)
    builder = ArticleBuilder()
    parser = dict(PARSERS.values()).get(fmt) or parse_text
    parser(text, builder)
    return builder.build(article_id, path, fmt, raw)


def load_article(path: Path, root: Path) -> Article:
    fmt, _ = PARSERS.get(path.suffix.lower(), ("text", parse_text))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"cannot read: {exc.strerror}") from None
    return parse_article(raw, article_id(path, root), fmt, str(path))


def load_articles(path: Path, root: Path) -> tuple[list[Article], list[Skipped]]:
    """Every article in one file: one for most formats, one a line for JSONL (a bad line is skipped and
    named, the rest of the file still loads)."""
    if path.suffix.lower() != ".jsonl":
        try:
            return [load_article(path, root)], []
        except ArticleError as exc:
            return [], [Skipped(str(path), str(exc))]
    try:
        raw = path.read_bytes()
        text = decode(raw)
    except (OSError, ArticleError) as exc:
        return [], [Skipped(str(path), str(getattr(exc, "strerror", None) or exc))]
    articles, skipped = [], []
    prefix = path.relative_to(root).with_suffix("").as_posix()
    for n, line in enumerate(jsonl_lines(text), start=1):
        if not line.strip():
            continue
        try:
            articles.append(parse_jsonl_line(line, prefix, n, str(path)))
        except ArticleError as exc:
            skipped.append(Skipped(f"{path}:{n}", str(exc)))
    return articles, skipped


def corpus_files(root: Path) -> list[Path]:
    """Every file a parser is registered for, in a stable order; hidden files and folders are ignored."""
    files = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel) or not p.is_file():
            continue
        if p.suffix.lower() in PARSERS and p.name.lower() not in {"readme.md", "format.md"}:
            files.append(p)
    return files


def load_corpus(root: Path) -> tuple[list[Article], list[Skipped]]:
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    articles, skipped = [], []
    for path in corpus_files(root):
        found, bad = load_articles(path, root)
        articles += found
        skipped += bad
    return articles, skipped


__all__ = ["ArticleError", "Skipped", "load_article", "load_articles", "load_corpus", "parse_article", "corpus_files",
           "article_id"]
