"""Load on the chat server: N concurrent sessions of T turns each against a real `rag serve` on loopback,
through the chat endpoint (conversation state and all). Prints errors, per-turn p50/p95 and throughput;
asserts nothing (a person reads the figures).

Usage: python bench/bench_chat_load.py [--sessions 10] [--turns 20] [--index DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.evaluate import percentile  # noqa: E402
from rag.ingest.jsonl import jsonl_text_lines  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def conversations() -> list[list[str]]:
    rows = [json.loads(line) for line in jsonl_text_lines((ROOT / "eval" / "conversations.jsonl").read_text(encoding="utf-8")) if line.strip()]
    return [[t["question"] for t in row["turns"]] for row in rows]



def session(url: str, turns: list[str], out: list, errors: list) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)  # one client = one browser session, with its own conversation
    history: list = []
    for question in turns:
        started = time.perf_counter()
        try:
            history, *_ = client.predict(question, history, "clinician", api_name="/chat")
            if not history or "[1]" not in str(history[-1]) and "does not cover" not in str(history[-1]):
                raise RuntimeError(f"unexpected reply to {question!r}")
            out.append((time.perf_counter() - started) * 1000)
        except Exception as exc:  # counted, reported
            errors.append(f"{type(exc).__name__}: {exc}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--index", type=Path, default=None, help="a built index; default: build one in a temp folder")
    args = ap.parse_args()

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    tmp = tempfile.TemporaryDirectory()
    index = args.index or Path(tmp.name) / "index"
    if args.index is None:
        subprocess.run([sys.executable, "-m", "rag.cli", "index", "build", "--index", str(index)], check=True,
                       env=env, cwd=ROOT, capture_output=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--index", str(index), "--port", str(port)],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.5)
        convs = conversations()
        plans = []
        for i in range(args.sessions):
            turns: list[str] = []
            j = i
            while len(turns) < args.turns:  # whole conversations, one after another
                turns += convs[j % len(convs)]
                j += args.sessions
            plans.append(turns[: args.turns])
        latencies: list[float] = []
        errors: list[str] = []
        threads = [threading.Thread(target=session, args=(url, plan, latencies, errors)) for plan in plans]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        tmp.cleanup()
    total = args.sessions * args.turns
    print(json.dumps({
        "sessions": args.sessions, "turns_each": args.turns, "turns_done": len(latencies), "errors": len(errors),
        "p50_ms": round(percentile(latencies, 0.5), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "wall_s": round(wall, 1), "turns_per_s": round(len(latencies) / wall, 2),
    }))
    for e in errors[:5]:
        print("error:", e)
    if not latencies:
        raise SystemExit("no turn was answered")
    print(f"{len(latencies)}/{total} turns answered, {len(errors)} errors; per turn p50 "
          f"{percentile(latencies, 0.5):.0f} ms, p95 {percentile(latencies, 0.95):.0f} ms ({args.sessions} sessions share the cores and a queue "
          f"of concurrency 2, so a turn's latency includes its wait)")


if __name__ == "__main__":
    main()
