"""In-process `ask` latency of this tree against another checkout of the project, in one run.

    git worktree add /tmp/rag-baseline <commit>
    python bench/bench_compare.py --baseline /tmp/rag-baseline [--questions eval/gold.jsonl] [--n 320]

Each side builds its own index of the shipped corpus with its own code (into a temporary folder), then
answers the same questions after a warm-up, in its own process, with one thread; the sides alternate
for --rounds rounds and the best p50 / p95 of each side is kept. Prints both and their ratio, overall and
by question type. Asserts nothing: these machines are shared, so only the ratio inside one run is read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIMER = r"""
import json, statistics, sys, time
from pathlib import Path
from rag.config import Settings
from rag.pipeline import Pipeline
index, questions, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in Path(questions).read_text(encoding="utf-8").split("\n") if l.strip()][:n]
p = Pipeline.open(Settings(), Path(index))
for r in rows[:20]:
    p.ask(r["question"])
times = {}
for r in rows:
    t = time.perf_counter()
    p.ask(r["question"])
    times.setdefault(r.get("type") or "other", []).append((time.perf_counter() - t) * 1e3)
every = [x for v in times.values() for x in v]
def pct(v, q):
    v = sorted(v); return v[min(len(v) - 1, int(q * len(v)))]
print(json.dumps({"p50": statistics.median(every), "p95": pct(every, 0.95), "n": len(every),
                  "by_type": {k: statistics.median(v) for k, v in times.items()}}))
"""


def run(tree: Path, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, check=True, capture_output=True,
                          text=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True, help="another checkout of the project")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "gold.jsonl")
    ap.add_argument("--n", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    sides = {"this tree": ROOT, "baseline": args.baseline.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        indexes = {}
        for name, tree in sides.items():
            indexes[name] = Path(tmp) / name.replace(" ", "-")
            run(tree, ["-m", "rag.cli", "index", "build", "--corpus", str(tree / "corpus"), "--index",
                       str(indexes[name])])
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for name, tree in sides.items():
                got = json.loads(run(tree, ["-c", TIMER, str(indexes[name]), str(args.questions), str(args.n)]))
                if name not in best or got["p50"] < best[name]["p50"]:
                    best[name] = got
    a, b = best["this tree"], best["baseline"]
    print(f"{'':12} {'p50 ms':>8} {'p95 ms':>8}  questions")
    for name, r in best.items():
        print(f"{name:12} {r['p50']:8.1f} {r['p95']:8.1f}  {r['n']}")
    print(f"ratio p50 {a['p50'] / b['p50']:.2f}, p95 {a['p95'] / b['p95']:.2f} (this tree / baseline)")
    for t in sorted(set(a["by_type"]) | set(b["by_type"])):
        if t in a["by_type"] and t in b["by_type"]:
            print(f"  {t:14} {a['by_type'][t]:7.1f} ms vs {b['by_type'][t]:7.1f} ms  ({a['by_type'][t] / b['by_type'][t]:.2f}x)")


if __name__ == "__main__":
    main()
