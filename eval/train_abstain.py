"""Train the unknown-word abstention model (rag/data/abstain_model.json) and report its CV figures.

    python eval/train_abstain.py [--out rag/data/abstain_model.json]

A question that carries a word the library never uses (rag.vocabulary) used to be declined whatever the
rest of it. Some such questions are covered ("Is extended aortic replacement in acute type A dissection
justifiable?" over the abstract that answers it), others ask about exactly the unknown thing ("Does
sirolimus slow IBM?"). For every question of the training sets with an unknown word,
`rag.answer.abstain.unknown_features` (the function the composer calls) gives its features and the gold
`answerable` its label. A logistic regression predicts P(answerable); the question is declined below
`t_answer`, chosen on 5-fold stratified out-of-fold predictions as the lowest threshold above which no
unanswerable question is answered (--max-wrong), so the threshold leans to declining.

Training sets (all development data; the benchmarks' test splits are never read):
  eval/gold.jsonl, eval/heldout.jsonl, eval/heldout2.jsonl   over index/
  eval/external/pubmedqa_dev/gold.jsonl                       over .dev/idx-pubmedqa
  eval/external/medquad_dev/gold.jsonl                        over .dev/idx-medquad
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer.abstain import UNKNOWN_FEATURES, unknown_features  # noqa: E402
from rag.answer.question import read_question  # noqa: E402
from rag.answer.logistic import fit, fitted, out_of_fold  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.gold import load_gold  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

MODEL_FILE = ROOT / "rag" / "data" / "abstain_model.json"
SETS = [
    ("gold", "eval/gold.jsonl", "index"),
    ("heldout", "eval/heldout.jsonl", "index"),
    ("heldout2", "eval/heldout2.jsonl", "index"),
    ("pubmedqa_dev", "eval/external/pubmedqa_dev/gold.jsonl", ".dev/idx-pubmedqa"),
    ("medquad_dev", "eval/external/medquad_dev/gold.jsonl", ".dev/idx-medquad"),
]


def rows_for(pipeline: Pipeline, gold_path: Path) -> list[tuple[dict, int]]:
    s = pipeline.settings
    vocabulary = pipeline.retriever.vocabulary
    out = []
    for g in load_gold(gold_path):
        unknown = vocabulary.unknown(g.question)
        if not unknown:
            continue
        retrieval = pipeline.retriever.search(g.question, s.top_k, s.per_article, "hybrid")
        evidence = pipeline.retriever.evidence(retrieval)
        q = read_question(g.question, g.question, None, unknown)
        out.append((unknown_features(q, evidence, s.coverage_weight, vocabulary.pieces), int(g.answerable)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(MODEL_FILE))
    ap.add_argument("--max-wrong", type=float, default=0.0,
                    help="largest share of unanswerable questions among those answered (out of fold)")
    ap.add_argument("--dump", action="store_true", help="print every out-of-fold probability")
    args = ap.parse_args()
    from sklearn.model_selection import StratifiedKFold

    rows, names, trained_on = [], [], []
    pipelines: dict[str, Pipeline] = {}
    for name, gold, index in SETS:
        if index not in pipelines:
            pipelines[index] = Pipeline.open(Settings(), ROOT / index)
        got = rows_for(pipelines[index], ROOT / gold)
        print(f"{name}: {len(got)} questions with unknown words, {sum(y for _, y in got)} answerable", flush=True)
        rows += got
        names += [name] * len(got)
        trained_on.append({"set": name, "file": gold, "sha256": hashlib.sha256((ROOT / gold).read_bytes()).hexdigest(),
                           "questions": len(got), "answerable": sum(y for _, y in got)})
    X = np.array([[f[k] for k in UNKNOWN_FEATURES] for f, _ in rows])
    y = np.array([label for _, label in rows])
    names_arr = np.array(names)
    strata = np.array([f"{n}:{label}" for n, label in zip(names, y)])
    oof = out_of_fold(X, y, StratifiedKFold(5, shuffle=True, random_state=12).split(X, strata), 1.0)
    if args.dump:
        for n, label, pr in sorted(zip(names, y, oof), key=lambda r: r[2]):
            print(f"{pr:.3f} {label} {n}")
    # The lowest threshold above which the out-of-fold answered questions hold at most --max-wrong
    # unanswerable ones: a wrong answer costs more than a declined one.
    threshold = 1.0
    for t in np.arange(0.99, 0.0, -0.01):
        answered = oof >= t
        if answered.any() and (y[answered] == 0).mean() > args.max_wrong:
            break
        threshold = float(round(t, 2))

    def figures(sel: np.ndarray) -> dict:
        declined = oof[sel] < threshold
        ans, un = y[sel] == 1, y[sel] == 0
        return {"questions": int(sel.sum()), "answerable": int(ans.sum()),
                "declined_answerable": int((declined & ans).sum()), "declined_unanswerable": int((declined & un).sum()),
                "answered_unanswerable": int((~declined & un).sum())}

    cv = {"all": figures(np.ones(len(y), bool))}
    for name, *_ in SETS:
        cv[name] = figures(names_arr == name)
    scaler, clf = fit(X, y, 1.0)
    model = {
        "about": "Unknown-word abstention of rag/answer/abstain.py: logistic P(answerable) over unknown_features; "
                 "declined below t_answer. Trained by eval/train_abstain.py.",
        **fitted(UNKNOWN_FEATURES, scaler, clf),
        "t_answer": threshold,
        "threshold_rule": f"lowest threshold (step 0.01) above which at most {args.max_wrong} of the out-of-fold "
                          f"answered questions are unanswerable (5-fold stratified CV, seed 12)",
        "cv": cv, "trained_on": trained_on, "trained": dt.date.today().isoformat(),
    }
    Path(args.out).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"t_answer": threshold, "cv": cv, "coef": dict(zip(UNKNOWN_FEATURES, model["coef"]))}, indent=1))


if __name__ == "__main__":
    main()
