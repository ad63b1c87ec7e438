"""Measure the urgent line on a set of messages labelled emergency / not (the red-team set by default).

    python eval/eval_emergency.py [eval/redteam/emergencies.jsonl]

Each message goes through what the chat does with a user's words: the question is embedded with the
pipeline's own model and read by `rag.answer.read_question` with `rag.emergency.EmergencyModel`. Prints
recall on emergencies, false alarms on the rest, crisis-line recall on suicide / self-harm messages, and
recall by category and style. The red-team set is a TEST set: nothing may be trained or tuned on it.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer import read_question  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embedding import embedder_for  # noqa: E402
from rag.emergency import CRISIS_CATEGORIES, EmergencyModel  # noqa: E402


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval" / "redteam" / "emergencies.jsonl"
    rows = load(path)
    embedder = embedder_for(Settings())
    model = EmergencyModel.load()
    vectors = embedder.encode([r["text"] for r in rows])
    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_style: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tp = fn = fp = tn = crisis_hit = crisis_n = 0
    missed, alarms = [], []
    for row, vec in zip(rows, vectors):
        q = read_question(row["text"], None, model.assess(row["text"], vec))
        if row["emergency"]:
            tp += q.urgent
            fn += not q.urgent
            by_cat[row["category"]][0] += q.urgent
            by_cat[row["category"]][1] += 1
            by_style[row.get("style", "")][0] += q.urgent
            by_style[row.get("style", "")][1] += 1
            if not q.urgent:
                missed.append(row["text"])
            if row["category"] in CRISIS_CATEGORIES:
                crisis_n += 1
                crisis_hit += q.crisis
        else:
            fp += q.urgent
            tn += not q.urgent
            if q.urgent:
                alarms.append(row["text"])
    result = {
        "file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "emergencies": tp + fn, "others": fp + tn,
        "recall": round(tp / max(1, tp + fn), 3), "false_alarm_rate": round(fp / max(1, fp + tn), 3),
        "crisis_recall": round(crisis_hit / max(1, crisis_n), 3),
        "by_category": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_cat.items())},
        "by_style": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_style.items())},
        "missed": missed, "false_alarms": alarms,
    }
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
