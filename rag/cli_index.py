"""The `rag index ...` commands: build (incremental), add, remove, status, verify. Thin shells over
rag.build and rag.store; heavy imports happen inside the commands."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from rag.cli_common import err, fail, out
from rag.config import load_settings

index_app = typer.Typer(help="Build, update and check the search index.", no_args_is_help=True)


def run_build(settings, full: bool = False, wait: float = 60.0, ray: str | None = None, ray_workers: int | None = None):
    """Build with a progress bar and print the summary; shared by build, add and remove."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rag.build import BuildLocked
    from rag.distributed import RayUnavailable
    from rag.embedding import ModelError
    from rag.pipeline import BuildProgress, build_index

    if not settings.corpus_dir.is_dir():
        fail(f"corpus folder not found: {settings.corpus_dir}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        tasks: dict[str, int] = {}

        def start(name: str, total: int) -> None:
            tasks[name] = bar.add_task(name, total=total)

        hooks = BuildProgress(
            on_parse_start=lambda n: start("parsing articles", n),
            on_parsed=lambda _p: bar.advance(tasks["parsing articles"]),
            on_embed_start=lambda n: start("embedding chunks", n),
            on_embedded=lambda n: bar.advance(tasks["embedding chunks"], n),
            on_note=lambda message: err.print(message, highlight=False, soft_wrap=True),
        )
        try:
            report = build_index(settings.corpus_dir, settings.index_dir, settings, progress=hooks, full=full,
                                 wait=wait, ray=ray, ray_workers=ray_workers)
        except (FileNotFoundError, ModelError, BuildLocked, RayUnavailable) as exc:
            fail(str(exc))
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for s in report.skipped:
        err.print(f"[yellow]skipped:[/] {s.path}: {s.reason}", highlight=False)
    how = "full build" if report.full else (
        f"incremental: {len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed")
    out.print(
        f"Built {report.generation} in {report.index} ({how}): {report.articles} articles, {report.chunks} chunks "
        f"({report.embedded_chunks} embedded, {report.reused_chunks} re-used), {report.references} references; "
        f"{len(report.skipped)} files skipped; {report.seconds:.1f} s, of which embedding {report.embed_seconds:.1f} s "
        f"(model {report.model}, backend {report.backend})",
        highlight=False, soft_wrap=True,
    )
    for label, ids in (("Added", report.added), ("Changed", report.changed), ("Removed", report.removed)):
        if ids:
            out.print(f"{label}: {', '.join(ids)}", highlight=False, soft_wrap=True)
    if report.skipped:
        out.print("Skipped files:", highlight=False)
        for s in report.skipped:
            out.print(f"  {s.path}: {s.reason}", highlight=False)
    return report


CORPUS_OPT = typer.Option(None, help="Folder of articles (.txt article format or .md). Default: corpus/")
INDEX_OPT = typer.Option(None, help="Index folder. Default: index/")
CONFIG_OPT = typer.Option(None, help="A rag.toml settings file.")
WAIT_OPT = typer.Option(60.0, help="Seconds to wait for another build to finish before giving up.")


@index_app.command("build")
def index_build(
    corpus: Optional[Path] = CORPUS_OPT,
    index: Optional[Path] = INDEX_OPT,
    model: Optional[str] = typer.Option(None, help="Embedding model: a folder path, or the bundled 'all-MiniLM-L6-v2'."),
    chunk_tokens: Optional[int] = typer.Option(None, help="Token budget of a chunk (tiktoken cl100k_base). Default 200."),
    backend: Optional[str] = typer.Option(None, help="Embedding backend: onnx (default), torch or openvino."),
    full: bool = typer.Option(False, "--full", help="Re-embed every article, not only new and changed ones."),
    wait: float = WAIT_OPT,
    ray: Optional[str] = typer.Option(
        None, help="Embed on a Ray cluster: 'auto' (the cluster `ray start` runs here), 'local' (a private "
                   "instance on this machine's cores) or HEAD:6379. Needs medcite-rag[cluster]."),
    ray_workers: Optional[int] = typer.Option(None, help="Ray workers (one model each). Default: one a cluster CPU."),
    config: Optional[Path] = CONFIG_OPT,
) -> None:
    """Index CORPUS into a new generation in INDEX: new and changed articles are embedded, unchanged ones
    re-used, removed ones dropped."""
    settings = load_settings(config).with_overrides(corpus_dir=corpus, index_dir=index, model=model,
                                                    chunk_tokens=chunk_tokens, embedding_backend=backend)
    run_build(settings, full=full, wait=wait, ray=ray, ray_workers=ray_workers)


@index_app.command("add")
def index_add(
    paths: list[Path] = typer.Argument(..., help="Article files, or folders of them."),
    corpus: Optional[Path] = CORPUS_OPT,
    index: Optional[Path] = INDEX_OPT,
    force: bool = typer.Option(False, help="Replace a different file already in the corpus under the same name."),
    wait: float = WAIT_OPT,
    config: Optional[Path] = CONFIG_OPT,
) -> None:
    """Copy articles into the corpus and index them; only they are embedded. Symbolic links are refused."""
    import shutil

    from rag.corpus import corpus_files
    from rag.ingest import PARSERS

    settings = load_settings(config).with_overrides(corpus_dir=corpus, index_dir=index)
    if not settings.corpus_dir.is_dir():
        fail(f"corpus folder not found: {settings.corpus_dir}")
    copies: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_symlink():
            fail(f"{path} is a symbolic link; give the file or folder itself", 2)
        if path.is_dir():
            files, refused = corpus_files(path)
            for s in refused:
                err.print(f"[yellow]skipped:[/] {s.path}: {s.reason}", highlight=False)
            # Links inside the folder are copied only when they stay inside it; a link out is refused above.
            copies += [(f, settings.corpus_dir / f.relative_to(path)) for f in files]
        elif path.is_file():
            if path.suffix.lower() not in PARSERS:
                fail(f"{path}: not an article file (expected {', '.join(sorted(PARSERS))})", 2)
            copies.append((path, settings.corpus_dir / path.name))
        else:
            fail(f"no such file or folder: {path}", 2)
    for src, dest in copies:
        if dest.is_symlink():
            fail(f"{dest} is a symbolic link in the corpus; remove it first")
        if dest.exists() and dest.read_bytes() != src.read_bytes() and not force:
            fail(f"{dest} already exists with other content; use --force to replace it")
    for src, dest in copies:
        if dest.resolve() != src.resolve():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    out.print(f"Copied {len(copies)} file(s) into {settings.corpus_dir}", highlight=False)
    run_build(settings, wait=wait)


def _remove_jsonl_lines(path: Path, numbers: set[int], dest: Path) -> None:
    """Move lines of a JSONL file: appended to `dest`, left blank in place (so the ids of later lines,
    which default to their line numbers, do not shift); the file is replaced atomically."""
    import os

    lines = path.read_bytes().split(b"\n")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("ab") as fh:
        for n in sorted(numbers):
            fh.write(lines[n - 1].rstrip(b"\r") + b"\n")
            lines[n - 1] = b""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(b"\n".join(lines))
    os.replace(tmp, path)


@index_app.command("remove")
def index_remove(
    article_ids: list[str] = typer.Argument(..., help="Article ids (paths under the corpus without extension)."),
    corpus: Optional[Path] = CORPUS_OPT,
    index: Optional[Path] = INDEX_OPT,
    wait: float = WAIT_OPT,
    config: Optional[Path] = CONFIG_OPT,
) -> None:
    """Remove articles from the index. Their files (or JSONL lines) move to CORPUS/.removed/<time>/: nothing
    is lost. Only ids of articles inside the corpus are accepted."""
    from collections import defaultdict

    from rag.corpus import parse_corpus
    from rag.ingest import ArticleError, check_article_id

    settings = load_settings(config).with_overrides(corpus_dir=corpus, index_dir=index)
    corpus_dir = settings.corpus_dir
    if not corpus_dir.is_dir():
        fail(f"corpus folder not found: {corpus_dir}")
    for aid in article_ids:
        try:
            check_article_id(aid)
        except ArticleError as exc:
            fail(f"{exc}: only articles inside {corpus_dir} can be removed", 2)
    articles, _, _ = parse_corpus(corpus_dir, settings.max_article_bytes)
    by_id = {a.id: a for a in articles}
    unknown = [aid for aid in article_ids if aid not in by_id]
    if unknown:
        fail(f"not in {corpus_dir}: {', '.join(unknown)}")
    trash = corpus_dir / ".removed" / time.strftime("%Y%m%d-%H%M%S")
    files: list[Path] = []
    lines: dict[Path, set[int]] = defaultdict(set)
    for aid in dict.fromkeys(article_ids):
        article = by_id[aid]
        if article.format == "jsonl":
            name, number = article.path.rsplit(":", 1)
            lines[Path(name)].add(int(number))
        else:
            files.append(Path(article.path))
    for path in files:
        dest = trash / path.relative_to(corpus_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        path.rename(dest)
    for path, numbers in lines.items():
        _remove_jsonl_lines(path, numbers, trash / path.relative_to(corpus_dir))
    moved = f"{len(files)} file(s)" + (f" and {sum(map(len, lines.values()))} JSONL line(s)" if lines else "")
    out.print(f"Moved {moved} to {trash}", highlight=False, soft_wrap=True)
    run_build(settings, wait=wait)


@index_app.command("status")
def index_status(
    corpus: Optional[Path] = CORPUS_OPT,
    index: Optional[Path] = INDEX_OPT,
    config: Optional[Path] = CONFIG_OPT,
) -> None:
    """Counts, model and generation of the index, and the articles changed on disk since it was built."""
    from rag.corpus import changes, parse_corpus
    from rag.store import IndexProblem, IndexStore, embedded_with, generations

    settings = load_settings(config).with_overrides(corpus_dir=corpus, index_dir=index)
    try:
        store = IndexStore.open(settings.index_dir)
    except IndexProblem as exc:
        fail(str(exc))
    m = store.manifest
    c = m["counts"]
    if store.fallback:
        err.print(f"[yellow]warning:[/] {store.fallback}", highlight=False)
    out.print(f"Index {settings.index_dir}: generation {m['generation']} built {m['built_at']} in {m['build_seconds']} s",
              highlight=False, soft_wrap=True)
    out.print(f"  {c['articles']} articles, {c['chunks']} chunks, {c['references']} references; model {m['model']['id']} "
              f"({m['model']['dimension']} dimensions, embedded with {', '.join(embedded_with(m['model']))}); chunks of {m['chunker']['max_tokens']} tokens", highlight=False,
              soft_wrap=True)
    kind = m.get("index", {"kind": "flat"})
    out.print("  vector index: " + ("exact (flat inner product)" if kind["kind"] == "flat" else
                                    f"{kind['kind']} (approximate; M={kind['hnsw_m']}, efConstruction="
                                    f"{kind['hnsw_ef_construction']}, efSearch={settings.hnsw_ef_search})"),
              highlight=False, soft_wrap=True)
    out.print(f"  generations on disk: {', '.join(g.name for g in generations(settings.index_dir))}", highlight=False,
              soft_wrap=True)
    if settings.corpus_dir.is_dir():
        articles, skipped, _ = parse_corpus(settings.corpus_dir, settings.max_article_bytes)
        diff = changes(articles, m["articles"])  # the very comparison the build makes
        out.print(f"Corpus {settings.corpus_dir}: {len(diff.added)} new, {len(diff.changed)} changed, "
                  f"{len(diff.removed)} removed since the build; {len(skipped)} skipped",
                  highlight=False, soft_wrap=True)
        for label, ids in (("new", diff.added), ("changed", diff.changed), ("removed", diff.removed)):
            for aid in ids:
                out.print(f"  {label}: {aid}", highlight=False)
        for s in skipped:
            out.print(f"  skipped: {s.path}: {s.reason}", highlight=False, soft_wrap=True)
        if diff:
            out.print("Run: rag index build (only these are re-embedded)", highlight=False)


@index_app.command("verify")
def index_verify(
    index: Optional[Path] = INDEX_OPT,
    config: Optional[Path] = CONFIG_OPT,
) -> None:
    """Check every file of the current generation against its checksum, and that FAISS, SQLite, BM25 and
    the unit vectors agree on every chunk."""
    from rag.store import IndexProblem, IndexStore, checksum_problems, current_generation, read_manifest

    settings = load_settings(config).with_overrides(index_dir=index)
    problems: list[str] = []
    try:
        gen = current_generation(settings.index_dir)
        problems = checksum_problems(gen, read_manifest(gen))
    except IndexProblem as exc:
        problems.append(str(exc))
    try:
        store = IndexStore.open(settings.index_dir)
    except IndexProblem as exc:
        for p in problems:
            out.print(f"problem: {p}", highlight=False, soft_wrap=True)
        fail(str(exc))
    if store.fallback:  # it names the reason, which is then not listed twice
        problems = [p for p in problems if p not in store.fallback] + [store.fallback]
    problems += [f"{store.path.name}: {p}" for p in store.consistency_problems()]
    for p in problems:
        out.print(f"problem: {p}", highlight=False, soft_wrap=True)
    if problems:
        fail(f"{len(problems)} problem(s) in {settings.index_dir}")
    info = store.info()
    out.print(f"{store.path.name}: OK ({info['articles']} articles, {info['chunks']} chunks; checksums match; "
              f"FAISS, SQLite, BM25 and unit vectors agree)", highlight=False, soft_wrap=True)
