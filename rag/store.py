"""The index on disk: FAISS vectors, SQLite metadata, a BM25 index and a manifest, one generation a build.

Layout of an index folder:

    index/CURRENT                 the name of the generation in use (replaced atomically)
    index/gen-<time>-<pid>/       vectors.faiss, meta.sqlite, bm25/, manifest.json

A build writes a whole generation under a temporary name and renames it into place, then swaps CURRENT,
so a reader never sees half an index. The manifest records the model, dimension and chunker settings
(opening with another model is refused with the command to rebuild) and a SHA-256 of every file (a
damaged generation is refused, not half-read).

CURRENT is data read from disk, so it is trusted only as far as naming one of this folder's own `gen-*`
folders: anything else (a path such as `../../etc`, a deleted generation) makes the reader fall back to the
newest whole generation, as a damaged one does. A generation can also be damaged after it was opened; an
open store remembers each file's inode, size and modification time so a server can notice and switch.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import bm25s
import faiss
import numpy as np

from rag.config import Settings
from rag.documents import Article, Chunk, Reference
from rag.text import terms

FORMAT_VERSION = 2  # 2: per-unit vectors (unit_vectors.npy)
CURRENT = "CURRENT"
# The only names CURRENT may hold: a generation folder directly inside the index folder.
GENERATION_NAME = re.compile(r"gen-[0-9A-Za-z_-]{1,64}")

SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT NOT NULL, answer TEXT NOT NULL, date TEXT,
                       path TEXT, format TEXT, content_hash TEXT NOT NULL);
CREATE TABLE refs (article_id TEXT NOT NULL, number INTEGER NOT NULL, type TEXT, title TEXT,
                   journal TEXT, year INTEGER, PRIMARY KEY (article_id, number));
CREATE TABLE chunks (id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
                     kind TEXT NOT NULL, section TEXT, text TEXT NOT NULL, units TEXT NOT NULL);
CREATE TABLE chunk_refs (chunk_id INTEGER NOT NULL, ref_number INTEGER NOT NULL);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE INDEX chunk_refs_chunk ON chunk_refs(chunk_id);
"""


class IndexProblem(RuntimeError):
    """Base of the errors a user sees when an index cannot be used; each says what to do."""


class IndexNotFound(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    pass


class IndexCorrupt(IndexProblem):
    pass


def rebuild_hint(index_dir: Path) -> str:
    return f"rebuild it with: rag index build --corpus CORPUS_DIR --index {index_dir}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


INDEX_KINDS = ("flat", "hnsw", "hnsw_sq8")
TRAIN_SAMPLE = 100_000  # vectors a scalar quantiser learns its ranges from


def index_kind(n: int, settings: Settings) -> str:
    """Exact search while it is fast enough (Settings.exact_search_max, measured by bench/bench_scale.py);
    the configured approximate index above it."""
    if settings.approx_index not in INDEX_KINDS[1:]:
        raise ValueError(f"approx_index must be one of {', '.join(INDEX_KINDS[1:])}, not {settings.approx_index!r}")
    return "flat" if n <= settings.exact_search_max else settings.approx_index


def make_faiss_index(dimension: int, n: int, settings: Settings | None = None, kind: str | None = None,
                     train: np.ndarray | None = None) -> faiss.Index:
    """The index for n vectors, wrapped in an id map so chunk ids are our stable 63-bit ids. Exact inner
    product (= cosine on normalised vectors) up to Settings.exact_search_max; above it an HNSW graph, over
    8-bit scalar-quantised vectors by default (a quarter of the memory of float vectors; the quantiser
    learns each dimension's range from `train`)."""
    settings = settings or Settings()
    kind = kind or index_kind(n, settings)
    if kind == "flat":
        base = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        base = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    elif kind == "hnsw_sq8":
        base = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_8bit, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(f"unknown index kind {kind!r}; one of {', '.join(INDEX_KINDS)}")
    if kind != "flat":
        base.hnsw.efConstruction = settings.hnsw_ef_construction
        if not base.is_trained:
            if train is None or not len(train):
                raise ValueError(f"a {kind} index learns from the vectors it will hold: pass them as `train`")
            pick = np.random.default_rng(0).permutation(len(train))[:TRAIN_SAMPLE]
            base.train(np.ascontiguousarray(train[np.sort(pick)], dtype=np.float32))
    return faiss.IndexIDMap2(base)


def set_search_params(index: faiss.Index, settings: Settings) -> None:
    """Search-time parameters are not stored in the index file: set them on every open."""
    base = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    if hasattr(base, "hnsw"):
        base.hnsw.efSearch = settings.hnsw_ef_search


def index_description(index: faiss.Index, settings: Settings) -> dict:
    """What the manifest records of the vector index: its kind and the parameters it was built with."""
    base = faiss.downcast_index(index.index)
    if isinstance(base, faiss.IndexFlat):
        return {"kind": "flat"}
    kind = "hnsw_sq8" if isinstance(base, faiss.IndexHNSWSQ) else "hnsw"
    return {"kind": kind, "hnsw_m": settings.hnsw_m, "hnsw_ef_construction": settings.hnsw_ef_construction}


def write_generation(
    index_dir: Path,
    articles: list[Article],
    chunks: list[Chunk],
    vectors: np.ndarray,
    unit_vectors: np.ndarray,
    model: dict,
    chunker: dict,
    build_seconds: float,
    settings: Settings | None = None,
) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    seq = 1 + max((int(p.name.split("-")[1]) for p in generations(index_dir) if p.name.split("-")[1].isdigit()),
                  default=0)
    name = f"gen-{seq:06d}-{time.strftime('%Y%m%dT%H%M%S')}"
    tmp = index_dir / f".tmp-{name}"
    # Builds run one at a time (the build lock), so a folder already under this name is what a build
    # killed within the same second left behind; it would make mkdir fail and this build with it.
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        ids = np.array([c.id for c in chunks], dtype=np.int64)
        settings = settings or Settings()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = make_faiss_index(int(model["dimension"]), len(chunks), settings, train=vectors)
        if len(chunks):
            index.add_with_ids(vectors, ids)
        faiss.write_index(index, str(tmp / "vectors.faiss"))
        described = index_description(index, settings)
        if described["kind"] != "flat":
            # An approximate index holds its vectors only approximately; the next build re-uses the exact
            # ones from here, so adding one article never degrades the vectors of all the others.
            np.save(tmp / "chunk_vectors.npy", vectors)

        db = sqlite3.connect(tmp / "meta.sqlite")
        with db:
            db.executescript(SCHEMA)
            db.executemany(
                "INSERT INTO articles VALUES (?,?,?,?,?,?,?)",
                [(a.id, a.title, a.answer, a.date, a.path, a.format, a.content_hash) for a in articles],
            )
            db.executemany(
                "INSERT INTO refs VALUES (?,?,?,?,?,?)",
                [(a.id, r.number, r.type, r.title, r.journal, r.year) for a in articles for r in a.references],
            )
            db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?)",
                [(c.id, c.article_id, c.ordinal, c.kind, c.section, c.text, json.dumps(c.units)) for c in chunks],
            )
            db.executemany("INSERT INTO chunk_refs VALUES (?,?)", [(c.id, r) for c in chunks for r in c.refs])
        db.close()

        np.save(tmp / "bm25_ids.npy", ids)
        np.save(tmp / "unit_vectors.npy", np.asarray(unit_vectors, dtype=np.float16))
        bm25 = bm25s.BM25()
        bm25.index([terms(c.embed_text) or ["_"] for c in chunks] or [["_"]], show_progress=False)
        bm25.save(str(tmp / "bm25"))

        files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {
            "format_version": FORMAT_VERSION,
            "generation": name,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(build_seconds, 3),
            "model": model,
            "chunker": chunker,
            "index": described,
            "counts": {
                "articles": len(articles),
                "chunks": len(chunks),
                "references": sum(len(a.references) for a in articles),
            },
            "articles": {
                a.id: {"content_hash": a.content_hash, "path": a.path,
                       "chunks": sum(1 for c in chunks if c.article_id == a.id)}
                for a in articles
            },
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        _fsync_tree(tmp)
        final = index_dir / name
        os.rename(tmp, final)
        pointer = index_dir / f".{CURRENT}.tmp"
        pointer.write_text(name + "\n")
        with pointer.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(pointer, index_dir / CURRENT)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(index_dir, keep={name})
    return index_dir / name


def _prune(index_dir: Path, keep: set[str], keep_previous: int = 2) -> None:
    """Keep the new generation and the two before it (fallbacks, even if one of them was damaged);
    remove older ones and the temporary folders of builds that died."""
    gens = [p for p in generations(index_dir) if p.name not in keep]
    for old in gens[keep_previous:]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in index_dir.glob(".tmp-gen-*"):
        if stale.name[5:] not in keep:
            shutil.rmtree(stale, ignore_errors=True)


def current_generation(index_dir: Path) -> Path:
    """The generation CURRENT names. Only the name of one of this folder's own generation folders is
    followed; a path, a symbolic link or a missing folder is refused as damage (IndexCorrupt)."""
    if not index_dir.is_dir():
        raise IndexNotFound(f"index folder not found: {index_dir} ({rebuild_hint(index_dir)})")
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexNotFound(f"no index has been built in {index_dir} ({rebuild_hint(index_dir)})")
    try:
        name = pointer.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        raise IndexCorrupt(f"{pointer} cannot be read ({exc.strerror})") from None
    if not GENERATION_NAME.fullmatch(name):
        raise IndexCorrupt(f"{pointer} holds {name[:80]!r}, which is not the name of a generation of this index")
    gen = index_dir / name
    if gen.is_symlink() or not gen.is_dir():
        raise IndexCorrupt(f"{pointer} names {name}, which does not exist ({rebuild_hint(index_dir)})")
    return gen


def generations(index_dir: Path) -> list[Path]:
    """Every finished generation, newest first (real folders only: a symbolic link is never one)."""
    return sorted((p for p in Path(index_dir).glob("gen-*")
                   if GENERATION_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink()),
                  key=lambda p: p.name, reverse=True)


def file_stamps(gen: Path, manifest: dict) -> dict[str, tuple[int, int, int] | None]:
    """Inode, size and modification time of every file of a generation: cheap to take twice a second,
    and any write, truncation, replacement or deletion changes it."""
    stamps: dict[str, tuple[int, int, int] | None] = {}
    for rel in [*manifest.get("files", {}), "manifest.json"]:
        try:
            st = os.stat(gen / rel)
            stamps[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            stamps[rel] = None
    return stamps


def checksum_problems(gen: Path, manifest: dict) -> list[str]:
    problems = []
    for rel, digest in manifest.get("files", {}).items():
        path = gen / rel
        if not path.is_file():
            problems.append(f"index file missing: {path}")
        elif sha256_file(path) != digest:
            problems.append(f"index file damaged (checksum differs): {path}")
    return problems


def read_manifest(gen: Path) -> dict:
    try:
        manifest = json.loads((gen / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"manifest of {gen} is missing or unreadable ({exc})") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(
            f"index {gen} has format version {manifest.get('format_version')}, this program reads "
            f"version {FORMAT_VERSION}; {rebuild_hint(gen.parent)}"
        )
    return manifest


class IndexStore:
    """A read-only view of one generation, safe to share between the threads of the chat server."""

    def __init__(self, gen: Path, manifest: dict, index: faiss.Index, db: sqlite3.Connection,
                 bm25: bm25s.BM25, bm25_ids: np.ndarray, unit_vectors: np.ndarray):
        self.path = gen
        self.manifest = manifest
        self.index = index
        self._db = db
        self._lock = threading.Lock()
        self.bm25 = bm25
        self.bm25_ids = bm25_ids
        self.unit_vectors = unit_vectors  # float16, in memory (a mapped file would crash on truncation); row = a unit's "vec"
        self._exact: tuple[np.ndarray, dict[int, int]] | None = None  # exact_vector()'s rows, once read
        self.fallback: str | None = None  # set when the current generation was damaged and this is older
        self.stamps: dict = {}  # file_stamps() when opened: what changed_on_disk() compares against
        self.vocab = set(bm25.vocab_dict) if getattr(bm25, "vocab_dict", None) else set()
        with self._lock:
            rows = db.execute("SELECT id, title, answer FROM articles ORDER BY id").fetchall()
        self.titles = {r[0]: r[1] for r in rows}
        self.answers = {r[0]: r[2] for r in rows}
        with self._lock:
            self.reference_ids = {r[0] for r in db.execute("SELECT id FROM chunks WHERE kind = 'reference'")}

    @classmethod
    def open(cls, index_dir: Path, model_id: str | None = None, dimension: int | None = None,
             verify: bool = True, settings: Settings | None = None) -> "IndexStore":
        """Open the current generation; if it is damaged or CURRENT does not name a generation of this
        index, fall back to the newest older generation that is whole (the build keeps the previous two
        for this), and say so in `fallback`."""
        index_dir = Path(index_dir)
        current = None
        try:
            current = current_generation(index_dir)
            return cls.open_generation(current, index_dir, model_id, dimension, verify, settings)
        except IndexCorrupt as exc:
            damage = exc
        what = f"{current.name} is damaged" if current is not None else "CURRENT is not usable"
        for gen in generations(index_dir):
            if gen == current:
                continue
            try:
                store = cls.open_generation(gen, index_dir, model_id, dimension, verify, settings)
            except IndexProblem:
                continue
            store.fallback = f"{what} ({damage}); serving the previous generation {gen.name}"
            return store
        raise damage

    @classmethod
    def open_generation(cls, gen: Path, index_dir: Path, model_id: str | None = None,
                        dimension: int | None = None, verify: bool = True,
                        settings: Settings | None = None) -> "IndexStore":
        manifest = read_manifest(gen)
        check_compatible(manifest, index_dir, model_id, dimension)
        stamps = file_stamps(gen, manifest)  # before the checks: a change after them is seen later
        if verify:
            problems = checksum_problems(gen, manifest)
            if problems:
                raise IndexCorrupt(f"{problems[0]} ({rebuild_hint(index_dir)})")
        try:
            index = faiss.read_index(str(gen / "vectors.faiss"))
            db = sqlite3.connect(f"file:{gen / 'meta.sqlite'}?mode=ro", uri=True, check_same_thread=False)
            db.execute("SELECT count(*) FROM chunks").fetchone()
            bm25 = bm25s.BM25.load(str(gen / "bm25"))
            bm25_ids = np.load(gen / "bm25_ids.npy")
            unit_vectors = np.load(gen / "unit_vectors.npy")
        except Exception as exc:
            raise IndexCorrupt(f"index in {gen} cannot be read ({type(exc).__name__}: {exc}); {rebuild_hint(index_dir)}") from None
        if index.d != manifest["model"]["dimension"]:
            raise IndexCorrupt(f"vectors in {gen} have dimension {index.d}, manifest says {manifest['model']['dimension']}")
        if index.ntotal != manifest["counts"]["chunks"]:
            raise IndexCorrupt(f"{gen} holds {index.ntotal} vectors for {manifest['counts']['chunks']} chunks")
        set_search_params(index, settings or Settings())
        store = cls(gen, manifest, index, db, bm25, bm25_ids, unit_vectors)
        store.stamps = stamps
        return store

    def changed_on_disk(self) -> bool:
        """Has any file of this generation been written, replaced or deleted since it was opened?"""
        return file_stamps(self.path, self.manifest) != self.stamps

    def damage(self) -> list[str]:
        """What is wrong with this generation on disk now (checksums, the manifest); empty when it is whole,
        in which case the current stamps are taken as the new normal (a `touch` is not damage)."""
        stamps = file_stamps(self.path, self.manifest)
        try:
            problems = [] if read_manifest(self.path) == self.manifest else [f"manifest of {self.path} was changed"]
        except IndexProblem as exc:
            problems = [str(exc)]
        problems += checksum_problems(self.path, self.manifest)
        if not problems:
            self.stamps = stamps
        return problems

    def consistency_problems(self) -> list[str]:
        """FAISS, SQLite, BM25 and the unit vectors must describe exactly the same chunks."""
        problems = []
        faiss_ids = set(faiss.vector_to_array(self.index.id_map).tolist())
        db_ids = {r[0] for r in self._rows("SELECT id FROM chunks")}
        if faiss_ids != db_ids:
            problems.append(f"FAISS holds {len(faiss_ids - db_ids)} chunk ids SQLite lacks and misses "
                            f"{len(db_ids - faiss_ids)} it has")
        if set(self.bm25_ids.tolist()) != db_ids:
            problems.append("the BM25 index and SQLite hold different chunks")
        vecs = [u["vec"] for (units,) in self._rows("SELECT units FROM chunks") for u in json.loads(units)]
        if sorted(vecs) != list(range(len(self.unit_vectors))):
            problems.append(f"{len(vecs)} units point at {len(self.unit_vectors)} unit vectors")
        return problems

    # -- metadata -------------------------------------------------------------------------------------
    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def chunks(self, ids: list[int]) -> dict[int, Chunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._rows(
            f"SELECT id, article_id, ordinal, kind, section, text, units FROM chunks WHERE id IN ({marks})",
            tuple(int(i) for i in ids),
        )
        out = {}
        for cid, aid, ordinal, kind, section, text, units in rows:
            units = json.loads(units)
            refs = sorted({m for u in units for m in u["markers"]})
            out[cid] = Chunk(cid, aid, ordinal, kind, self.titles.get(aid, aid), section, text, units, refs)
        return out

    def article_of(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._rows(f"SELECT id, article_id FROM chunks WHERE id IN ({marks})", tuple(int(i) for i in ids))
        return dict(rows)

    def texts(self) -> list[str]:
        """Every title and every passage an answer can quote (not the reference lists): what the library
        can be said to know about."""
        return list(self.titles.values()) + [r[0] for r in self._rows(
            "SELECT text FROM chunks WHERE kind IN ('answer', 'body')")]

    def article_chunks(self, article_id: str) -> list[Chunk]:
        ids = [r[0] for r in self._rows("SELECT id FROM chunks WHERE article_id=? ORDER BY ordinal", (article_id,))]
        found = self.chunks(ids)
        return [found[i] for i in ids]

    def references(self, article_id: str) -> dict[int, Reference]:
        rows = self._rows("SELECT number, type, title, journal, year FROM refs WHERE article_id=?", (article_id,))
        return {r[0]: Reference(*r) for r in rows}

    def vector(self, chunk_id: int) -> np.ndarray:
        """A chunk's vector as the index holds it: exact for the flat index, 8-bit approximate for
        hnsw_sq8 (what search scores with, so retrieval stays consistent)."""
        return self.index.reconstruct(int(chunk_id))

    def exact_vector(self, chunk_id: int) -> np.ndarray:
        """A chunk's exact vector, for a build that re-uses it: from chunk_vectors.npy when the index is
        approximate (read on first use; only builds ask), else from the index itself."""
        if not (self.path / "chunk_vectors.npy").exists():
            return self.vector(chunk_id)
        if self._exact is None:
            rows = np.load(self.path / "chunk_vectors.npy")
            self._exact = (rows, {int(i): n for n, i in enumerate(self.bm25_ids)})
        rows, at = self._exact
        return rows[at[int(chunk_id)]]

    def info(self) -> dict:
        m = self.manifest
        return {"generation": m["generation"], "built_at": m["built_at"], "model": m["model"]["id"],
                "backend": m["model"].get("backend", "torch"), "dimension": m["model"]["dimension"],
                "index": m.get("index", {"kind": "flat"})["kind"], **m["counts"], "fallback": self.fallback}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def embedded_with(model: dict) -> list[str]:
    """The backends whose vectors a generation holds, from its manifest's `model` (a manifest from before
    backends were recorded: torch)."""
    return sorted(set(model.get("backends") or [model.get("backend", "torch")]))


def check_compatible(manifest: dict, index_dir: Path, model_id: str | None, dimension: int | None) -> None:
    """The model must be the configured one and give vectors of the index's dimension. The backend that
    ran it is recorded (manifest model.backend, .backends) but not compared: torch, onnx and openvino
    give the same vectors (cosine >= 0.99999, tests/test_backends.py), so any of them serves any index."""
    built = manifest["model"]
    if model_id is not None and built["id"] != model_id:
        raise IndexMismatch(
            f"index in {index_dir} was built with model {built['id']!r} but the configured model is "
            f"{model_id!r}; {rebuild_hint(index_dir)} (or set RAG_MODEL back to {built['spec']!r})"
        )
    if dimension is not None and built["dimension"] != dimension:
        raise IndexMismatch(
            f"index in {index_dir} has {built['dimension']}-dimensional vectors but the model gives "
            f"{dimension}; {rebuild_hint(index_dir)}"
        )


__all__ = [
    "IndexStore", "IndexProblem", "IndexNotFound", "IndexMismatch", "IndexCorrupt", "write_generation",
    "make_faiss_index", "index_kind", "set_search_params", "INDEX_KINDS",
    "current_generation", "read_manifest", "generations", "file_stamps",
]
