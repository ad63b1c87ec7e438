"""Benchmarks for the core pipeline; prints its figures, asserts nothing (machines here are shared and
noisy, so targets are ratios measured inside one run, read by a person).

1. Build throughput (chunks/s) of `build_index` against the configured backend's bare `encode` on the same
   chunk texts, in the same process with the same model and threads: the pipeline around the model should
   keep >= 0.85. (bench/bench_embed.py compares the backends with each other and with sentence-transformers.)
2. In-process `ask` latency over >= 100 questions after warm-up: p50, p95 and the share spent embedding
   the query (target p50 <= 30 ms on 2 cores).
3. Cold start: a fresh `rag ask` process, start to first answer, with the index already built.

Usage: python bench/bench_pipeline.py [--corpus corpus] [--questions eval/gold.jsonl] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.embedding import Embedder, default_threads, embedder_for, set_threads  # noqa: E402
from rag.evaluate import percentile  # noqa: E402
from rag.ingest.jsonl import jsonl_text_lines  # noqa: E402



def questions_for(path: Path, store_titles: list[str], n: int) -> list[str]:
    qs: list[str] = []
    if path.is_file():
        for line in jsonl_text_lines(path.read_text(encoding="utf-8")):
            if line.strip():
                qs.append(json.loads(line)["question"])
    if not qs:  # no gold file yet: article titles and a reworded form of each
        for t in store_titles:
            qs += [t, f"Tell me about {t.rstrip('?').lower()}"]
    while len(qs) < n:
        qs += qs[: n - len(qs)]
    return qs


def bench_build(corpus: Path, settings: Settings, embedder: Embedder, rounds: int) -> dict:
    from rag.chunking import Chunker, ChunkerSettings
    from rag.corpus import load_corpus
    from rag.pipeline import build_index

    articles, _ = load_corpus(corpus)
    chunker = Chunker(ChunkerSettings(max_tokens=settings.chunk_tokens))
    texts = [c.embed_text for a in articles for c in chunker.chunk(a)]
    set_threads(default_threads(), embedder)
    embedder.encode(texts[:32])  # warm-up
    bare, build = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        embedder.encode(texts)
        bare.append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            report = build_index(corpus, Path(tmp) / "index", settings, embedder=embedder)
            build.append(time.perf_counter() - t)
    n = len(texts)
    best_bare, best_build = min(bare), min(build)
    return {
        "articles": report.articles,
        "chunks": n,
        "bare_encode_chunks_per_s": round(n / best_bare, 1),
        "build_chunks_per_s": round(n / best_build, 1),
        "ratio_build_over_bare": round(best_bare / best_build, 3),
        "bare_seconds": [round(x, 2) for x in bare],
        "build_seconds": [round(x, 2) for x in build],
        "threads": default_threads(),
    }


def bench_ask(index_dir: Path, settings: Settings, embedder: Embedder, questions_file: Path, n: int) -> dict:
    from rag.pipeline import Pipeline

    pipeline = Pipeline.open(settings, index_dir, embedder=embedder)  # sets 1 thread for serving
    qs = questions_for(questions_file, list(pipeline.store.titles.values()), n)
    return ask_latency(pipeline, qs, warmup=10)


def ask_latency(pipeline, questions: list[str], warmup: int) -> dict:
    """In-process `ask` over `questions` after `warmup` of them: p50/p95 and the share spent embedding."""
    for q in questions[:warmup]:
        pipeline.ask(q)
    totals, embeds = [], []
    for q in questions:
        t = pipeline.ask(q).timings_ms
        totals.append(t["total"])
        embeds.append(t["embed"])
    return {
        "questions": len(questions),
        "p50_ms": round(percentile(totals, 0.5), 2),
        "p95_ms": round(percentile(totals, 0.95), 2),
        "mean_ms": round(statistics.fmean(totals), 2),
        "embed_p50_ms": round(percentile(embeds, 0.5), 2),
        "embed_share": round(sum(embeds) / sum(totals), 3),
    }


def bench_cold_start(index_dir: Path, runs: int = 3) -> dict:
    times = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "How is myasthenia gravis diagnosed?",
                              "--index", str(index_dir), "--json"], capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - t)
        if out.returncode != 0:
            raise SystemExit(f"cold start run failed: {out.stderr}")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import onnxruntime, tokenizers, faiss, bm25s"], env=env, check=True)
    imports = time.perf_counter() - t
    return {"runs_s": [round(x, 2) for x in times], "median_s": round(statistics.median(times), 2),
            "of_which_imports_s": round(imports, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "gold.jsonl")
    ap.add_argument("--n", type=int, default=150, help="questions timed for ask latency (>= 100)")
    ap.add_argument("--rounds", type=int, default=2, help="build/bare alternations; the best of each counts")
    args = ap.parse_args()

    settings = Settings()
    t = time.perf_counter()
    embedder = embedder_for(settings)
    print(f"model loaded in {time.perf_counter() - t:.2f} s ({embedder.model_id}, dim {embedder.dimension}, "
          f"backend {embedder.backend})")

    build = bench_build(args.corpus, settings, embedder, args.rounds)
    print("build:", json.dumps(build))
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        from rag.pipeline import build_index

        build_index(args.corpus, index_dir, settings, embedder=embedder)
        ask = bench_ask(index_dir, settings, embedder, args.questions, args.n)
        print("ask:", json.dumps(ask))
        cold = bench_cold_start(index_dir)
        print("cold start:", json.dumps(cold))
    print()
    print(f"Build {build['build_chunks_per_s']} chunks/s vs bare encode {build['bare_encode_chunks_per_s']} "
          f"chunks/s: ratio {build['ratio_build_over_bare']} (target >= 0.85)")
    print(f"Ask p50 {ask['p50_ms']} ms, p95 {ask['p95_ms']} ms over {ask['questions']} questions; "
          f"query embedding {ask['embed_share']:.0%} of the time (target p50 <= 30 ms)")
    print(f"Cold start (process start to first answer) median {cold['median_s']} s; "
          f"importing onnxruntime/tokenizers/faiss/bm25s alone {cold['of_which_imports_s']} s")


if __name__ == "__main__":
    main()
