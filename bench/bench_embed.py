"""The embedding backends against each other and against bare sentence-transformers, in one run; prints its
figures and asserts nothing (machines here are shared and noisy, so every target is a ratio or a
percentile measured inside this one run, read by a person). Issue 14's targets:

1. Cold start, process start to first answer (`rag ask --json` in a new process, index built): onnx
   <= 1.5 s and >= 4x faster than the torch backend. Runs alternate between the backends; medians count.
2. In-process `Pipeline.ask` over every eval/gold.jsonl question (>= 300) after warm-up, one query thread:
   p50 <= 10 ms, p95 <= 20 ms (onnx; torch alongside for reference).
3. Build throughput: `build_index` (all cores, batch 16) with each fast backend against bare
   sentence-transformers `encode` of the same chunk texts with the same threads and batch size:
   onnx >= 1.8x, openvino >= 3x. Rounds alternate; the best of each counts.
4. `rag serve` start to the page answering a question (what a second `make run` waits for): <= 3 s.
5. Same answers: the retrieval metrics of `rag eval`'s code path on the gold set (hybrid and dense) with
   an onnx-built index served by onnx, and a torch-built index served by torch: identical.

Usage: python bench/bench_embed.py [--rounds 2] [--cold-runs 5] [--skip-eval]
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
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.embedding import default_threads, open_embedder, set_threads  # noqa: E402

QUESTION = "How is myasthenia gravis diagnosed?"


def chunk_texts(corpus: Path, settings: Settings) -> list[str]:
    from rag.chunking import Chunker, ChunkerSettings
    from rag.corpus import load_corpus

    articles, _ = load_corpus(corpus)
    chunker = Chunker(ChunkerSettings(max_tokens=settings.chunk_tokens))
    return [c.embed_text for a in articles for c in chunker.chunk(a)]


def bench_build(corpus: Path, settings: Settings, backends: list[str], rounds: int) -> dict:
    """Bare sentence-transformers encode vs build_index with each fast backend, alternating."""
    from rag.pipeline import build_index

    texts = chunk_texts(corpus, settings)
    reference = open_embedder(settings.model, settings.batch_size, "torch")
    # an arm "openvino-bf16" is OpenVINO at its own default precision on CPUs with bf16 units
    fast = {b: open_embedder(settings.model, settings.batch_size, b.split("-")[0], settings.model_cache,
                             openvino_precision=b.split("-")[1] if "-" in b else "f32") for b in backends}
    set_threads(default_threads(), reference)
    reference.model.encode(texts[:32], batch_size=settings.batch_size)  # warm-up
    for e in fast.values():
        set_threads(default_threads(), e)
        e.encode(texts[:32])
    times: dict[str, list[float]] = {"bare": [], **{b: [] for b in backends}}
    embed_stage: dict[str, list[float]] = {b: [] for b in backends}
    for _ in range(rounds):
        t = time.perf_counter()
        ref_vectors = reference.model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)
        times["bare"].append(time.perf_counter() - t)
        for b, e in fast.items():
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                report = build_index(corpus, Path(tmp) / "index", replace(settings, embedding_backend=e.backend),
                                     embedder=e)
                times[b].append(time.perf_counter() - t)
                embed_stage[b].append(report.embed_seconds)
    best = {k: min(v) for k, v in times.items()}
    sample = slice(0, len(texts), 5)  # every fifth chunk: the lowest cosine of each arm to bare encode
    cosine = {b: round(float((e.encode(texts[sample]) * ref_vectors[sample]).sum(axis=1).min()), 6)
              for b, e in fast.items()}
    return {
        "chunks": len(texts), "threads": default_threads(), "batch_size": settings.batch_size,
        "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "chunks_per_s": {k: round(len(texts) / v, 1) for k, v in best.items()},
        "ratio_over_bare": {b: round(best["bare"] / best[b], 2) for b in backends},
        "min_cosine_to_bare": cosine,
        # the build's embedding stage alone (chunk and sentence vectors in one pass), same texts
        "embed_stage_seconds": {b: [round(x, 2) for x in v] for b, v in embed_stage.items()},
        "embed_stage_ratio_over_bare": {b: round(best["bare"] / min(v), 2) for b, v in embed_stage.items()},
    }


def gold_questions(path: Path) -> list:
    from rag.gold import load_gold

    return load_gold(path)


def bench_ask(index_dir: Path, settings: Settings, questions: list[str], backend: str) -> dict:
    from bench_pipeline import ask_latency  # bench/ is the script's folder on sys.path

    from rag.pipeline import Pipeline

    pipeline = Pipeline.open(replace(settings, embedding_backend=backend), index_dir)  # one query thread
    return {"backend": backend, **ask_latency(pipeline, questions, warmup=20)}


def bench_cold(index_dir: Path, settings: Settings, runs: int) -> dict:
    """A new `rag ask` process per run, alternating backends; also whether torch was imported."""
    times: dict[str, list[float]] = {"onnx": [], "torch": []}
    for _ in range(runs):
        for backend in times:
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_EMBEDDING_BACKEND": backend,
                   "RAG_MODEL_CACHE": str(settings.model_cache)}
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "rag.cli", "ask", QUESTION, "--index", str(index_dir),
                                  "--json"], capture_output=True, text=True, env=env, cwd=ROOT)
            times[backend].append(time.perf_counter() - t)
            if out.returncode != 0 or not json.loads(out.stdout).get("answer"):
                raise SystemExit(f"cold start run ({backend}) failed: {out.stderr}")
    medians = {b: statistics.median(v) for b, v in times.items()}
    return {"runs_s": {b: [round(x, 2) for x in v] for b, v in times.items()},
            "median_s": {b: round(m, 2) for b, m in medians.items()},
            "torch_over_onnx": round(medians["torch"] / medians["onnx"], 2)}


def bench_serve(index_dir: Path, settings: Settings, runs: int) -> dict:
    """A new `rag serve` process per run, alternating backends: seconds until its page is served and
    until the chat endpoint has answered a question."""
    import socket
    import urllib.request

    from gradio_client import Client

    times: dict[str, list[list[float]]] = {"onnx": [], "torch": []}
    for _ in range(runs):
        for backend in times:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_EMBEDDING_BACKEND": backend,
                   "RAG_MODEL_CACHE": str(settings.model_cache)}
            t = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--index", str(index_dir), "--port",
                                     str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                url = f"http://127.0.0.1:{port}/"
                deadline = t + 120
                while True:
                    try:
                        with urllib.request.urlopen(url, timeout=5) as page:
                            if page.status == 200:
                                break
                    except OSError:
                        if proc.poll() is not None or time.perf_counter() > deadline:
                            raise SystemExit(f"rag serve ({backend}) did not start")
                        time.sleep(0.05)
                page_s = time.perf_counter() - t
                reply = Client(url, verbose=False).predict(QUESTION, "clinician", api_name="/ask")
                answered_s = time.perf_counter() - t
                if "[1]" not in reply:
                    raise SystemExit(f"rag serve ({backend}) gave no cited answer: {reply[:200]}")
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            times[backend].append([page_s, answered_s])
    med = {b: [statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)] for b, v in times.items()}
    return {"runs_s": {b: [[round(x, 2) for x in r] for r in v] for b, v in times.items()},
            "median_page_s": {b: round(m[0], 2) for b, m in med.items()},
            "median_answered_s": {b: round(m[1], 2) for b, m in med.items()}}


def bench_same_answers(corpus: Path, settings: Settings, gold_path: Path) -> dict:
    """rag eval's code path (run_gold + metrics) with an index built and served by each backend."""
    from rag.evaluate import metrics, run_gold
    from rag.pipeline import Pipeline, build_index

    gold = gold_questions(gold_path)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("onnx", "torch"):
            s = replace(settings, embedding_backend=backend)
            index_dir = Path(tmp) / backend
            build_index(corpus, index_dir, s)
            pipeline = Pipeline.open(s, index_dir)
            hybrid, dense = run_gold(pipeline, gold, "hybrid"), run_gold(pipeline, gold, "dense")
            out[backend] = {"hybrid": metrics(hybrid)["retrieval"], "dense": metrics(dense)["retrieval"],
                            "abstained": sum(r.abstained for r in hybrid)}
    return {"identical": out["onnx"] == out["torch"], **out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "gold.jsonl")
    ap.add_argument("--rounds", type=int, default=2, help="build/bare alternations; the best of each counts")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--skip-eval", action="store_true", help="leave out the same-answers check (~2 min)")
    args = ap.parse_args()

    settings = Settings()
    backends = ["onnx"]
    try:
        import openvino  # noqa: F401

        backends += ["openvino", "openvino-bf16"]
    except ImportError:
        print("openvino is not installed (pip install -e '.[openvino]'): its build figure is left out")
    questions = [q.question for q in gold_questions(args.questions)]

    build = bench_build(args.corpus, settings, backends, args.rounds)
    print("build:", json.dumps(build), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        from rag.pipeline import build_index

        index_dir = Path(tmp) / "index"
        build_index(args.corpus, index_dir, settings)
        asks = [bench_ask(index_dir, settings, questions, b) for b in ("onnx", "torch")]
        for a in asks:
            print("ask:", json.dumps(a), flush=True)
        cold = bench_cold(index_dir, settings, args.cold_runs)
        print("cold start:", json.dumps(cold), flush=True)
        serve = bench_serve(index_dir, settings, max(2, args.cold_runs // 2))
        print("serve:", json.dumps(serve), flush=True)
    same = None if args.skip_eval else bench_same_answers(args.corpus, settings, args.questions)
    if same is not None:
        print("same answers:", json.dumps(same), flush=True)

    print()
    ratios = ", ".join(f"{b} {build['ratio_over_bare'][b]}x ({build['chunks_per_s'][b]} chunks/s; embedding stage "
                       f"{build['embed_stage_ratio_over_bare'][b]}x; min cosine {build['min_cosine_to_bare'][b]})"
                       for b in backends)
    print(f"Build throughput over bare sentence-transformers encode ({build['chunks_per_s']['bare']} chunks/s, "
          f"{build['chunks']} chunks, {build['threads']} threads, batch {build['batch_size']}): {ratios} "
          f"(targets: onnx >= 1.8x, openvino >= 3x; openvino-bf16 is not the default)")
    onnx_ask, torch_ask = asks
    print(f"Ask over {onnx_ask['questions']} gold questions, onnx: p50 {onnx_ask['p50_ms']} ms, p95 "
          f"{onnx_ask['p95_ms']} ms, embedding {onnx_ask['embed_share']:.0%} (targets p50 <= 10, p95 <= 20); "
          f"torch: p50 {torch_ask['p50_ms']} ms, p95 {torch_ask['p95_ms']} ms")
    print(f"Cold start median, onnx {cold['median_s']['onnx']} s vs torch {cold['median_s']['torch']} s: "
          f"{cold['torch_over_onnx']}x faster (targets <= 1.5 s and >= 4x)")
    print(f"rag serve start to the page answering, median: onnx {serve['median_answered_s']['onnx']} s "
          f"(page up {serve['median_page_s']['onnx']} s) vs torch {serve['median_answered_s']['torch']} s (target <= 3 s)")
    if same is not None:
        print(f"Retrieval metrics on the gold set, onnx vs torch: {'identical' if same['identical'] else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
