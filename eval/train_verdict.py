"""Train the yes/no verdict model (rag/data/verdict_model.json) and report its cross-validated figures.

    python eval/train_verdict.py [--out rag/data/verdict_model.json] [--precision 0.85]

Every yes/no question with a gold decision (yes or no) of the training sets below is run through the
pipeline up to the verdict; `rag.answer.verdict.verdict_features` gives its features (the same function
the composer calls). A logistic regression predicts P(yes). Two thresholds turn it into an opening:
"Yes" at or above `t_yes`, "No" at or below `t_no`, no verdict in between. They are chosen, for each
evidence kind (sourced articles with a reference list; texts without one), on the out-of-fold predictions of stratified 5-fold cross-validation (grouped by set, so every set is in every
fold) as the loosest pair whose pooled out-of-fold precision is at least --precision on each side; then
the model is refitted on everything. The file records the training sets with their sha256, counts, the
cross-validated figures per set and the thresholds.

Training sets (all development data; the benchmarks' test splits are never read):
  eval/gold.jsonl, eval/heldout.jsonl, eval/heldout2.jsonl   over the shipped index (index/)
  eval/external/pubmedqa_dev/gold.jsonl                       over .dev/idx-pubmedqa (built if missing)
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer import read_question  # noqa: E402
from rag.answer.evidence import candidates, direct_answer  # noqa: E402
from rag.answer.verdict import FEATURES, MODEL_FILE, answers_same_question, kind_of, sentence_says, topic_of, verdict_features  # noqa: E402
from rag.answer.logistic import fit, fitted, out_of_fold  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.gold import load_gold  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

SETS = [
    ("gold", "eval/gold.jsonl", "index", None),
    ("heldout", "eval/heldout.jsonl", "index", None),
    ("heldout2", "eval/heldout2.jsonl", "index", None),
    ("pubmedqa_dev", "eval/external/pubmedqa_dev/gold.jsonl", ".dev/idx-pubmedqa",
     "eval/external/pubmedqa_dev/articles"),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows_for(pipeline: Pipeline, gold_path: Path) -> list[tuple[dict, int, str]]:
    """(features, label 1 yes / 0 no, question id) for every answerable yes/no question with a decision."""
    settings = pipeline.settings
    out = []
    for g in load_gold(gold_path):
        if g.type != "yes_no" or g.decision not in ("yes", "no") or not g.answerable:
            continue
        retriever = pipeline.retriever
        retrieval = retriever.search(g.question, settings.top_k, settings.per_article, "hybrid")
        evidence = retriever.evidence(retrieval)
        q = read_question(g.question, g.question, None, [])
        if not q.yes_no:
            q.qtype, q.yes_no = "yes_no", True  # the gold says it is one; its features are still wanted
        if not evidence.hits:
            continue
        whole = candidates(evidence, q.terms, settings.min_similarity, whole_top=True)
        topic = topic_of(evidence.hits[0].chunk.title, evidence.answer_line(evidence.top))
        direct = direct_answer(evidence, evidence.top, settings.min_similarity)
        feats, _ = verdict_features(q, topic, whole, direct, bool(evidence.references.get(evidence.top)))
        out.append((feats, 1 if g.decision == "yes" else 0, g.id))
    return out


def matrix(rows: list[tuple[dict, int, str]]) -> tuple[np.ndarray, np.ndarray]:
    X = np.array([[f[name] for name in FEATURES] for f, _, _ in rows], dtype=np.float64)
    y = np.array([label for _, label, _ in rows], dtype=np.int64)
    return X, y


def thresholds(p: np.ndarray, y: np.ndarray, precision: float, says: np.ndarray) -> tuple[float, float]:
    """The loosest t_yes (lowest) and t_no (highest) with out-of-fold precision >= `precision`, counting
    only the verdicts the deciding sentence itself agrees with (`says`, rag.answer.verdict.grounded)."""
    t_yes, t_no = 1.01, -0.01
    for t in np.arange(0.50, 1.0, 0.005):
        sel = (p >= t) & (says == "Yes")
        if sel.sum() >= 5 and y[sel].mean() >= precision:
            t_yes = float(t)
            break
    for t in np.arange(0.50, 0.0, -0.005):
        sel = (p <= t) & (says == "No")
        if sel.sum() >= 5 and (1 - y[sel]).mean() >= precision:
            t_no = float(t)
            break
    return round(t_yes, 3), round(t_no, 3)


def figures(p: np.ndarray, y: np.ndarray, t_yes, t_no, says: np.ndarray, same: np.ndarray) -> dict:
    """Coverage, precision, accuracy and wrong-verdict rate of the openings the composer would give: the
    article's own yes/no when it answers the very question (`same`), else the grounded model word."""
    said_yes = ((p >= t_yes) & (says == "Yes")) | (same == "Yes")
    said_no = ((p <= t_no) & (says == "No") & (same != "Yes")) | (same == "No")
    said_yes &= same != "No"
    covered = said_yes | said_no
    right = (said_yes & (y == 1)) | (said_no & (y == 0))
    wrong = (said_yes & (y == 0)) | (said_no & (y == 1))
    n = len(y)
    return {"n": int(n), "coverage": round(float(covered.mean()), 3) if n else None,
            "precision": round(float(right.sum() / covered.sum()), 3) if covered.any() else None,
            "accuracy": round(float(right.mean()), 3) if n else None,
            "wrong_rate": round(float(wrong.mean()), 3) if n else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(MODEL_FILE))
    ap.add_argument("--precision", type=float, default=0.85)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--sets", default=",".join(s[0] for s in SETS), help="comma-separated subset of the sets")
    args = ap.parse_args()
    from sklearn.model_selection import StratifiedKFold

    rows, groups, trained_on = [], [], []
    pipelines: dict[str, Pipeline] = {}
    chosen = [s for s in SETS if s[0] in args.sets.split(",")]
    for name, gold, index, corpus in chosen:
        gold_path, index_dir = ROOT / gold, ROOT / index
        if not (index_dir / "CURRENT").exists():
            subprocess.run([sys.executable, "-m", "rag.cli", "index", "build", "--corpus", str(ROOT / (corpus or "corpus")),
                            "--index", str(index_dir)], check=True, cwd=ROOT)
        if index not in pipelines:
            pipelines[index] = Pipeline.open(Settings(), index_dir)
        got = rows_for(pipelines[index], gold_path)
        print(f"{name}: {len(got)} yes/no questions with a decision", flush=True)
        rows += got
        groups += [name] * len(got)
        trained_on.append({"set": name, "file": gold, "sha256": sha256(gold_path), "questions": len(got),
                           "yes": sum(r[1] for r in got)})
    X, y = matrix(rows)
    groups_arr = np.array(groups)
    strata = np.array([f"{g}:{label}" for g, label in zip(groups, y)])

    oof = out_of_fold(X, y, StratifiedKFold(args.folds, shuffle=True, random_state=12).split(X, strata), 0.5)
    kinds = np.array([kind_of(f) for f, _, _ in rows])
    says = np.array([sentence_says(f) or "" for f, _, _ in rows])
    same = np.array([("Yes" if f["article_yes"] > 0 else "No") if answers_same_question(f) else "" for f, _, _ in rows])
    cuts = {}
    for kind in ("article", "text"):
        sel = (kinds == kind) & (same == "")
        t_yes, t_no = thresholds(oof[sel], y[sel], args.precision, says[sel]) if sel.any() else (1.01, -0.01)
        cuts[kind] = {"t_yes": t_yes, "t_no": t_no, "questions": int(sel.sum())}
    t_yes_q = np.array([cuts[k]["t_yes"] for k in kinds])
    t_no_q = np.array([cuts[k]["t_no"] for k in kinds])
    cv = {"all": figures(oof, y, t_yes_q, t_no_q, says, same)}
    for name, *_ in chosen:
        sel = groups_arr == name
        cv[name] = figures(oof[sel], y[sel], t_yes_q[sel], t_no_q[sel], says[sel], same[sel])
    always_yes = {name: round(float(y[groups_arr == name].mean()), 3) for name, *_ in chosen}

    scaler, clf = fit(X, y, 0.5)
    model = {
        "about": "Yes/no verdict model of rag/answer/verdict.py: logistic regression P(yes) over verdict_features; "
                 "'Yes' at p >= t_yes, 'No' at p <= t_no, else no verdict. Trained by eval/train_verdict.py.",
        **fitted(FEATURES, scaler, clf),
        "thresholds": cuts,
        "threshold_rule": f"per evidence kind (rag.answer.verdict.kind_of), the loosest thresholds with out-of-fold "
                          f"precision >= {args.precision} on each side ({args.folds}-fold stratified CV, seed 12)",
        "cv": cv,
        "always_yes_accuracy": always_yes,
        "trained_on": trained_on,
        "trained": dt.date.today().isoformat(),
    }
    Path(args.out).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"thresholds": cuts, "cv": cv, "always_yes": always_yes,
                      "coef": dict(zip(FEATURES, model["coef"]))}, indent=1))


if __name__ == "__main__":
    main()
