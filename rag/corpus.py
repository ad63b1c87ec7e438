"""The corpus folder as the index sees it: which files are articles, which are refused and why, and what
changed since a build.

One function, `changes`, decides what is added, changed and removed, and both `rag index build` and
`rag index status` call it on the same parse of the folder: when status and build each had their own idea
(status hashed files, the build hashed articles), every JSONL article showed as removed and its file as
new, forever, and skipped files showed as new.

The folder is read as it is on disk, but nothing outside it is: a symbolic link that leads out of the corpus
(`passwd.txt -> /etc/passwd`) is refused with its name, symbolic links to folders are not followed, and a
file whose extension no parser knows is listed as skipped with the reason, not silently ignored.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Settings
from rag.documents import Article
from rag.ingest import PARSERS, Skipped, load_articles

IGNORED_NAMES = {"readme.md", "format.md"}  # notes about a corpus, not articles


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def corpus_files(root: Path) -> tuple[list[Path], list[Skipped]]:
    """Every article file under `root` in a stable order, and the files refused (a link out of the folder,
    an unknown extension) with why. Hidden files and folders (`.removed/`) and README.md are passed over."""
    root = Path(root)
    files: list[Path] = []
    skipped: list[Skipped] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        for d in sorted(dirs):
            if not d.startswith(".") and (here / d).is_symlink():
                reason = ("symbolic link to a folder outside the corpus: refused" if not _inside(here / d, root)
                          else "symbolic link to a folder: not followed")
                skipped.append(Skipped(str(here / d), reason))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = here / name
            if name.startswith(".") or name.lower() in IGNORED_NAMES:
                continue
            if path.is_symlink() and not _inside(path, root):
                skipped.append(Skipped(str(path), "symbolic link to a file outside the corpus: refused"))
            elif path.suffix.lower() not in PARSERS:
                skipped.append(Skipped(str(path), f"not an article file: unknown extension "
                                                  f"{path.suffix or '(none)'!r}; articles are {', '.join(sorted(PARSERS))}"))
            elif not path.is_file():
                skipped.append(Skipped(str(path), "not a regular file"))
            else:
                files.append(path)
    return sorted(files), skipped


def marker_warnings(article: Article) -> list[str]:
    """Numbers an author may have meant as markers but the reference list does not have: kept as text."""
    if article.unresolved:
        return [f"{article.id}: trailing numbers {article.unresolved} are not entries of its reference list; "
                "kept as text, not citations"]
    return []


def parse_corpus(corpus_dir: Path, max_bytes: int = Settings.max_article_bytes,
                 on_start: Callable[[int], None] = lambda n: None,
                 on_parsed: Callable[[str], None] = lambda p: None) -> tuple[list[Article], list[Skipped], list[str]]:
    """Every article of the corpus, the files and lines skipped with why, and warnings (duplicates)."""
    files, skipped = corpus_files(corpus_dir)
    on_start(len(files))
    articles: list[Article] = []
    warnings: list[str] = []
    by_hash: dict[str, str] = {}
    seen_ids: set[str] = set()
    for path in files:
        found, bad = load_articles(path, corpus_dir, max_bytes)
        skipped += bad
        for article in found:
            if article.content_hash in by_hash:
                warnings.append(f"{article.path}: the same article as {by_hash[article.content_hash]}; indexed once")
            elif article.id in seen_ids:
                skipped.append(Skipped(article.path, f"article id {article.id!r} is already used by another file"))
            else:
                by_hash[article.content_hash] = article.path
                seen_ids.add(article.id)
                articles.append(article)
                warnings += marker_warnings(article)
        on_parsed(str(path))
    return articles, skipped, warnings


def load_corpus(root: Path, max_bytes: int = Settings.max_article_bytes) -> tuple[list[Article], list[Skipped]]:
    if not Path(root).is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    articles, skipped, _ = parse_corpus(Path(root), max_bytes)
    return articles, skipped


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def changes(articles: list[Article], built: dict[str, dict]) -> Changes:
    """Compare the articles on disk with a generation's manifest (`articles`: id -> {"content_hash"}).
    An article's hash is that of its own bytes (the file, or its JSONL line), so it is the same for both."""
    on_disk = {a.id: a.content_hash for a in articles}
    return Changes(
        added=sorted(set(on_disk) - set(built)),
        changed=sorted(i for i, h in on_disk.items() if i in built and built[i].get("content_hash") != h),
        removed=sorted(set(built) - set(on_disk)),
        unchanged=sorted(i for i, h in on_disk.items() if i in built and built[i].get("content_hash") == h),
    )


__all__ = ["marker_warnings", "corpus_files", "parse_corpus", "load_corpus", "changes", "Changes"]
