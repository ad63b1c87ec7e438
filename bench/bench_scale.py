"""How the vector index scales: build time, bytes a vector, recall@10 against exact search and one-thread
query latency at 100k, 1M (and 5M when memory allows) vectors.

    python bench/bench_scale.py [--index index/] [--sizes 100000,1000000] [--queries 500] [--kinds flat,hnsw_sq8]

Isotropic random vectors are the wrong test: every point is about equally far from every other, so graph
indexes such as HNSW lose their way and the figures say nothing about a real library. The vectors here
have the distribution of real embeddings: each is a real chunk vector of the given index plus Gaussian
noise drawn with the covariance of those real vectors (scaled by --noise), normalised. The script prints
how close each vector's nearest neighbour is, for the real vectors and for the synthetic ones, so the
likeness can be checked rather than assumed. Queries are fresh noisy copies of real vectors (not in the
indexed set), like a question that is near, but not the same as, passages in the library.

Index kinds are built by the same function the store uses (rag.store.make_faiss_index), with the search
parameters of Settings, so the figures describe what a build would write. Each figure comes from one run;
compare kinds inside the run (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import faiss  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.store import IndexStore, make_faiss_index, set_search_params  # noqa: E402


def real_vectors(index_dirs: list[Path]) -> np.ndarray:
    """Every chunk vector of the given built indexes (the more real vectors, the more real the spread)."""
    out = []
    for index_dir in index_dirs:
        store = IndexStore.open(index_dir, verify=False)
        out += [store.vector(int(i)) for i in store.bm25_ids]
        store.close()
    return np.stack(out).astype(np.float32)


class Synthetic:
    """Real vectors plus noise in their own covariance, normalised; generated in blocks so 5M vectors
    never need more than one block of noise in memory."""

    def __init__(self, real: np.ndarray, noise: float, seed: int):
        self.real = real
        self.rng = np.random.default_rng(seed)
        centred = real - real.mean(axis=0)
        cov = centred.T @ centred / max(1, len(real) - 1)
        vals, vecs = np.linalg.eigh(cov)
        self.transform = (vecs * np.sqrt(np.clip(vals, 0, None))).T.astype(np.float32) * noise

    def block(self, n: int) -> np.ndarray:
        base = self.real[self.rng.integers(0, len(self.real), n)]
        x = base + self.rng.standard_normal((n, self.real.shape[1]), dtype=np.float32) @ self.transform
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    def make(self, n: int, step: int = 200_000) -> np.ndarray:
        out = np.empty((n, self.real.shape[1]), dtype=np.float32)
        for at in range(0, n, step):
            out[at:at + step] = self.block(min(step, n - at))
        return out


def nearest_cosines(x: np.ndarray, sample: int = 500) -> tuple[float, float]:
    """Median and 90th percentile of each sampled vector's best cosine to another vector of the set."""
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    pick = np.random.default_rng(0).choice(len(x), min(sample, len(x)), replace=False)
    sims, _ = flat.search(x[pick], 2)
    best = sims[:, 1]
    return float(np.median(best)), float(np.percentile(best, 90))


def index_bytes(index) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v.faiss")
        faiss.write_index(index, path)
        return os.path.getsize(path)


def measure(kind: str, x: np.ndarray, queries: np.ndarray, truth: np.ndarray, settings: Settings) -> dict:
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # builds use every core, as `rag index build` does
    started = time.perf_counter()
    index = make_faiss_index(x.shape[1], len(x), settings, kind=kind, train=x)
    index.add_with_ids(x, np.arange(len(x), dtype=np.int64))
    build = time.perf_counter() - started
    size = index_bytes(index)
    set_search_params(index, settings)
    faiss.omp_set_num_threads(1)  # queries are served with one thread
    times, found = [], []
    for q, t in zip(queries, truth):
        t0 = time.perf_counter()
        _, ids = index.search(q[None, :], 10)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(len(set(ids[0].tolist()) & set(t.tolist())) / 10)
    return {"kind": kind, "n": len(x), "build_s": round(build, 1), "bytes_per_vector": round(size / len(x), 1),
            "recall_at_10": round(float(np.mean(found)), 4),
            "p50_ms": round(float(np.percentile(times, 50)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", default=str(ROOT / "index"),
                    help="built indexes (comma-separated) whose vectors seed the synthetic ones")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--kinds", default="flat,hnsw_sq8")
    ap.add_argument("--noise", type=float, default=0.6, help="noise scale, in units of the real covariance")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    settings = Settings()
    real = real_vectors([Path(p) for p in args.index.split(",")])
    gen = Synthetic(real, args.noise, seed=16)
    print(f"seed vectors: {len(real)} real chunk vectors of {args.index}, dimension {real.shape[1]}")
    med, p90 = nearest_cosines(real)
    print(f"nearest-neighbour cosine, real vectors:      median {med:.3f}, p90 {p90:.3f}")
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        need = n * real.shape[1] * 4 * 3  # vectors, exact index, approximate index
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        if need > avail:
            print(f"{n:>9,}: skipped, needs about {need / 2**30:.1f} GiB and {avail / 2**30:.1f} GiB is free")
            continue
        x = gen.make(n)
        queries = gen.block(args.queries)
        med, p90 = nearest_cosines(x)
        print(f"nearest-neighbour cosine, {n:>9,} synthetic: median {med:.3f}, p90 {p90:.3f}")
        exact = faiss.IndexFlatIP(x.shape[1])
        exact.add(x)
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        _, truth = exact.search(queries, 10)
        del exact
        for kind in args.kinds.split(","):
            row = measure(kind, x, queries, truth, settings)
            rows.append(row)
            print(f"{n:>9,} {kind:<9} build {row['build_s']:>7.1f} s  {row['bytes_per_vector']:>7.1f} B/vector  "
                  f"recall@10 {row['recall_at_10']:.4f}  p50 {row['p50_ms']:.3f} ms  p95 {row['p95_ms']:.3f} ms",
                  flush=True)
        del x
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
