"""Building an index generation from a corpus folder, incrementally.

The corpus folder is the truth. Each build parses every file (cheap), then re-uses the chunks and vectors
of every article whose content hash is unchanged since the previous generation, embeds only new and
changed articles, and drops articles whose files are gone. `full=True` re-embeds everything. One build
at a time: a lock file in the index folder makes a second build wait, then fail with a clear message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from rag.chunking import Chunker, ChunkerSettings
from rag.config import Settings
from rag.documents import Article, Chunk
from rag.embedding import Embedder, default_threads, embedder_for, resolve_model, set_threads
from rag.corpus import changes, marker_warnings, parse_corpus  # noqa: F401  (marker_warnings: re-exported)
from rag.ingest import Skipped
from rag.store import IndexProblem, IndexStore, embedded_with, write_generation

LOCK_NAME = ".build.lock"


class BuildLocked(RuntimeError):
    pass


@dataclass
class BuildReport:
    corpus: str
    index: str
    generation: str
    articles: int
    chunks: int
    references: int
    skipped: list[Skipped]
    warnings: list[str]
    seconds: float
    embed_seconds: float
    model: str
    backend: str = ""  # the embedding backend of this build's vectors (or the previous generation's)
    embedded_chunks: int = 0  # chunks that went through the model in this build
    reused_chunks: int = 0  # chunks whose vectors came from the previous generation
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    full: bool = True


@dataclass
class BuildProgress:
    """Callbacks a front end can hook a progress bar to; all optional."""

    on_parse_start: Callable[[int], None] = lambda total: None
    on_parsed: Callable[[str], None] = lambda path: None
    on_embed_start: Callable[[int], None] = lambda total: None
    on_embedded: Callable[[int], None] = lambda n: None
    on_note: Callable[[str], None] = lambda message: None  # e.g. the one-time export of the model


def _previous(index_dir: Path, model_id: str, chunker: dict, warnings: list[str]) -> IndexStore | None:
    """The generation to re-use vectors from: only one built with this very model and chunker."""
    try:
        store = IndexStore.open(index_dir, model_id=model_id)
    except IndexProblem as exc:
        if (index_dir / "CURRENT").exists():
            warnings.append(f"previous index not re-used ({exc}); embedding every article")
        return None
    if store.manifest.get("chunker") != chunker:
        warnings.append("chunker settings changed since the last build; embedding every article")
        return None
    if store.fallback:
        warnings.append(store.fallback)
    return store


def build_index(corpus_dir: Path, index_dir: Path, settings: Settings, embedder: Embedder | None = None,
                progress: BuildProgress | None = None, full: bool = False, wait: float = 60.0,
                ray: str | None = None, ray_workers: int | None = None) -> BuildReport:
    """Build a new generation of `index_dir` from `corpus_dir`. With `ray` (an address, "auto" or "local"),
    the new and changed chunks are embedded on a Ray cluster (rag.distributed); the generation written is
    the same as a local build's."""
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK_NAME))
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise BuildLocked(f"another build of {index_dir} is running (lock {index_dir / LOCK_NAME} held for "
                          f"{wait:.0f} s); try again when it has finished") from None
    try:
        return _build(corpus_dir, index_dir, settings, embedder, progress or BuildProgress(), full, ray, ray_workers)
    finally:
        lock.release()


def _build(corpus_dir: Path, index_dir: Path, settings: Settings, embedder: Embedder | None,
           progress: BuildProgress, full: bool, ray: str | None = None, ray_workers: int | None = None) -> BuildReport:
    started = time.perf_counter()
    articles, skipped, warnings = parse_corpus(corpus_dir, settings.max_article_bytes, progress.on_parse_start,
                                               progress.on_parsed)
    if not articles:
        raise FileNotFoundError(
            f"no readable articles in {corpus_dir} ({len(skipped)} skipped); expected .txt, .md, .html or .jsonl files")
    chunker_settings = ChunkerSettings(max_tokens=settings.chunk_tokens)
    chunker = Chunker(chunker_settings)
    _, model_id = resolve_model(settings.model)
    previous = None if full else _previous(index_dir, model_id, chunker_settings.as_dict(), warnings)
    before = previous.manifest["articles"] if previous else {}

    # Re-use what is unchanged; chunk what is new or changed.
    plan: list[tuple[Article, list[Chunk], bool]] = []  # (article, chunks, reused)
    for a in articles:
        if previous and before.get(a.id, {}).get("content_hash") == a.content_hash:
            plan.append((a, previous.article_chunks(a.id), True))
        else:
            plan.append((a, chunker.chunk(a), False))
    fresh = [c for _, chunks, reused in plan if not reused for c in chunks]

    progress.on_embed_start(len(fresh))
    t_embed = time.perf_counter()
    if fresh or previous is None:
        remote = None
        if embedder is None and ray:
            from rag.distributed import RayEmbedder

            embedder = remote = RayEmbedder(settings, ray, ray_workers)
        embedder = embedder or embedder_for(settings, log=progress.on_note)
        set_threads(default_threads(), embedder)
        model = embedder.describe()
        model["spec"] = settings.model
        # Vectors re-used from the previous generation may come from another backend (they agree to a
        # cosine of 0.99999); the manifest lists every backend whose vectors the generation holds.
        reused_backends = set(embedded_with(previous.manifest["model"])) if any(reused for *_, reused in plan) else set()
        model["backends"] = sorted(reused_backends | {embedder.backend})
        spans = []
        for c in fresh:
            offset = len(c.embed_text) - len(c.text)  # the title and heading lines come first
            spans.append([(offset + u["start"], offset + u["end"]) for u in c.units])
        try:
            fresh_vecs, fresh_units = embedder.encode_with_spans([c.embed_text for c in fresh], spans,
                                                                 progress=progress.on_embedded)
        finally:
            if remote is not None:
                remote.close()
    else:  # nothing to embed: the model need not even be loaded
        model = dict(previous.manifest["model"])
        fresh_vecs = fresh_units = np.zeros((0, model["dimension"]), dtype=np.float32)
    embed_seconds = time.perf_counter() - t_embed

    # Assemble the generation: every chunk with its vector and its units' vectors, renumbered.
    dim = model["dimension"]
    chunks: list[Chunk] = []
    vectors, unit_rows = [], []
    fresh_at, unit_at = 0, 0
    for _, article_chunks, reused in plan:
        for c in article_chunks:
            if reused:
                vectors.append(previous.exact_vector(c.id))
                rows = [np.asarray(previous.unit_vectors[u["vec"]], dtype=np.float32) for u in c.units]
            else:
                vectors.append(fresh_vecs[fresh_at])
                fresh_at += 1
                rows = list(fresh_units[unit_at : unit_at + len(c.units)])
                unit_at += len(c.units)
            for u, row in zip(c.units, rows):
                u["vec"] = len(unit_rows)
                unit_rows.append(row)
            chunks.append(c)
    gen = write_generation(
        index_dir, articles, chunks,
        np.array(vectors, dtype=np.float32).reshape(-1, dim),
        np.array(unit_rows, dtype=np.float32).reshape(-1, dim),
        model=model,
        chunker=chunker_settings.as_dict(),
        build_seconds=time.perf_counter() - started,
        settings=settings,
    )
    if previous:
        previous.close()
    diff = changes(articles, before)
    return BuildReport(
        str(corpus_dir), str(index_dir), gen.name, len(articles), len(chunks),
        sum(len(a.references) for a in articles), skipped, warnings, time.perf_counter() - started,
        embed_seconds, model["id"], backend=model.get("backend", "torch"),
        embedded_chunks=len(fresh), reused_chunks=len(chunks) - len(fresh),
        added=diff.added if previous else [],
        changed=diff.changed,
        removed=diff.removed,
        full=previous is None,
    )
