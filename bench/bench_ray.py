"""Embedding throughput of a build on Ray against one process, on the same chunk texts in the same run.

    python bench/bench_ray.py [--corpus corpus/] [--workers 1,2] [--repeat 2]

Prints chunks/s for: one process with one thread, one process with every core (what a local
`rag index build` does), and a local Ray instance with 1, 2, ... workers (one model and one thread each,
what `rag index build --ray` does). Models are loaded before the clock starts, so the figures compare
embedding work, not start-up; Ray's start-up and model loading are printed apart. Each figure is the best
of --repeat runs (the machine may be shared); compare ratios inside one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.chunking import Chunker, ChunkerSettings  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.corpus import parse_corpus  # noqa: E402
from rag.embedding import embedder_for, set_threads  # noqa: E402


def chunk_inputs(corpus: Path, settings: Settings) -> tuple[list[str], list[list[tuple[int, int]]]]:
    articles, _, _ = parse_corpus(corpus, settings.max_article_bytes)
    chunker = Chunker(ChunkerSettings(max_tokens=settings.chunk_tokens))
    texts, spans = [], []
    for a in articles:
        for c in chunker.chunk(a):
            offset = len(c.embed_text) - len(c.text)
            texts.append(c.embed_text)
            spans.append([(offset + u["start"], offset + u["end"]) for u in c.units])
    return texts, spans


def best_rate(run, n: int, repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    import ray

    from rag.distributed import RayEmbedder

    settings = Settings()
    texts, spans = chunk_inputs(Path(args.corpus), settings)
    n = len(texts)
    cores = os.cpu_count() or 1
    print(f"{n} chunks of {args.corpus}; {cores} cores")
    local = embedder_for(settings)  # the configured backend, as the Ray workers use
    print(f"backend: {local.backend}")
    rates = {}
    for threads in sorted({1, cores}):
        set_threads(threads, local)
        rates[f"one process, {threads} thread(s)"] = best_rate(lambda: local.encode_with_spans(texts, spans), n, args.repeat)
    t0 = time.perf_counter()
    ray.init(num_cpus=max(int(w) for w in args.workers.split(",")), include_dashboard=False, log_to_driver=False)
    print(f"ray start: {time.perf_counter() - t0:.1f} s")
    for workers in [int(w) for w in args.workers.split(",")]:
        t0 = time.perf_counter()
        remote = RayEmbedder(settings, "auto", workers=workers)
        ray.get([w.describe.remote() for w in remote.workers])  # every model loaded
        print(f"{workers} worker(s) ready in {time.perf_counter() - t0:.1f} s")
        rates[f"ray, {workers} worker(s)"] = best_rate(lambda: remote.encode_with_spans(texts, spans), n, args.repeat)
        remote.close()
    ray.shutdown()
    base = rates[f"one process, {cores} thread(s)"]
    single = rates["one process, 1 thread(s)"]
    for name, rate in rates.items():
        print(f"{name:<28} {rate:7.1f} chunks/s   x{rate / base:.2f} of a local build   x{rate / single:.2f} of one thread")


if __name__ == "__main__":
    main()
