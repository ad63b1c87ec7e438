"""Train the section chooser (rag/data/section_model.npz) and report its cross-validated figures.

    python eval/train_sections.py [--out rag/data/section_model.npz]

For every answerable question of the training sets, the pipeline retrieves and gathers its evidence, and
`rag.answer.sections.sections` lists the candidate sections with their features (the same function the
composer calls). The section that answers is the one whose text has the highest token F1 with the gold
answer (MedQuAD: the gold answer is one section of the gold page) or holds the most key facts (the
team's gold set). A logistic regression scores sections; the composer quotes the best-scored one.
Cross-validation is 5-fold over questions (a question's sections stay in one fold), and reports how often
the chosen section is the answering one and the token F1 of the chosen section against the gold answer,
beside the section of the top retrieved chunk.

Training sets (development data; the benchmarks' test splits are never read):
  eval/external/medquad_dev/gold.jsonl   over .dev/idx-medquad (built if missing)
  eval/gold.jsonl                        over the shipped index (index/)
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

from rag.answer.evidence import candidates  # noqa: E402
from rag.answer.question import read_question  # noqa: E402
from rag.answer.sections import DENSE, MODEL_FILE, PAIR_BUCKETS, feature_row, sections  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.evaluate import token_f1  # noqa: E402
from rag.gold import fact_in, load_gold  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.text import normalise  # noqa: E402

SETS = [
    ("medquad_dev", "eval/external/medquad_dev/gold.jsonl", ".dev/idx-medquad", "eval/external/medquad_dev/articles"),
    ("gold", "eval/gold.jsonl", "index", "corpus"),
]


def rows_for(pipeline: Pipeline, gold_path: Path, budget: int) -> list[dict]:
    settings = pipeline.settings
    out = []
    for g in load_gold(gold_path):
        if not g.answerable or not (g.gold_answer or g.key_facts):
            continue
        retrieval = pipeline.retriever.search(g.question, settings.top_k, settings.per_article, "hybrid")
        if not retrieval.hits:
            continue
        evidence = pipeline.retriever.evidence(retrieval)
        q = read_question(g.question)
        whole = candidates(evidence, q.terms, settings.min_similarity, whole_top=True)
        found = sections(evidence, q.terms, whole)
        if len(found) < 2:
            continue
        texts = [" ".join(c.text for c in s.within(budget)) for s in found]
        if g.key_facts:
            norm = [normalise(t) for t in texts]
            quality = [sum(fact_in(f, n) for f in g.key_facts) / len(g.key_facts) for n in norm]
            reference = " ".join(g.key_facts)
        else:
            quality = [token_f1(t, g.gold_answer) for t in texts]
            reference = g.gold_answer
        best = int(np.argmax(quality))
        if quality[best] <= 0:
            continue
        top_key = (evidence.hits[0].chunk.article_id, evidence.hits[0].chunk.section)
        top_index = next((i for i, s in enumerate(found) if (s.article_id, s.heading) == top_key), 0)
        out.append({"id": g.id, "X": np.stack([feature_row(s) for s in found]), "best": best,
                    "quality": quality, "top": top_index, "f1": [token_f1(t, reference) for t in texts]})
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(MODEL_FILE))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--C", type=float, default=0.3)
    args = ap.parse_args()
    from sklearn.linear_model import LogisticRegression

    budget = Settings().answer_tokens
    groups, trained_on = [], []
    for name, gold, index, corpus in SETS:
        gold_path, index_dir = ROOT / gold, ROOT / index
        if not (index_dir / "CURRENT").exists():
            subprocess.run([sys.executable, "-m", "rag.cli", "index", "build", "--corpus", str(ROOT / corpus),
                            "--index", str(index_dir)], check=True, cwd=ROOT)
        rows = rows_for(Pipeline.open(Settings(), index_dir), gold_path, budget)
        print(f"{name}: {len(rows)} questions with at least two candidate sections", flush=True)
        groups.append((name, rows))
        trained_on.append({"set": name, "file": gold, "sha256": sha256(gold_path), "questions": len(rows)})
    rows = [r for _, rows in groups for r in rows]
    names = [name for name, rs in groups for _ in rs]

    def fit(items: list[dict]):
        X = np.concatenate([r["X"] for r in items])
        y = np.concatenate([np.eye(len(r["X"]))[r["best"]] for r in items])
        mean = X[:, :len(DENSE)].mean(axis=0)
        scale = X[:, :len(DENSE)].std(axis=0)
        scale[scale == 0] = 1.0
        Xs = X.copy()
        Xs[:, :len(DENSE)] = (Xs[:, :len(DENSE)] - mean) / scale
        clf = LogisticRegression(C=args.C, max_iter=3000).fit(Xs, y)
        return mean, scale, clf.coef_[0].astype(np.float32), float(clf.intercept_[0])

    def choose(r: dict, mean, scale, coef, intercept) -> int:
        X = r["X"].copy()
        X[:, :len(DENSE)] = (X[:, :len(DENSE)] - mean) / scale
        return int(np.argmax(X @ coef + intercept))

    rng = np.random.default_rng(12)
    order = rng.permutation(len(rows))
    folds = np.array_split(order, args.folds)
    picked = np.zeros(len(rows), dtype=int)
    for k in range(args.folds):
        test = set(folds[k].tolist())
        model = fit([rows[i] for i in range(len(rows)) if i not in test])
        for i in test:
            picked[i] = choose(rows[i], *model)
    cv = {}
    for name in dict.fromkeys(names):
        idx = [i for i, n in enumerate(names) if n == name]
        cv[name] = {
            "questions": len(idx),
            "chosen_is_best": round(float(np.mean([picked[i] == rows[i]["best"] for i in idx])), 3),
            "top_hit_section_is_best": round(float(np.mean([rows[i]["top"] == rows[i]["best"] for i in idx])), 3),
            "f1_chosen": round(float(np.mean([rows[i]["f1"][picked[i]] for i in idx])), 3),
            "f1_top_hit_section": round(float(np.mean([rows[i]["f1"][rows[i]["top"]] for i in idx])), 3),
            "f1_best_section": round(float(np.mean([rows[i]["f1"][rows[i]["best"]] for i in idx])), 3),
        }
    mean, scale, coef, intercept = fit(rows)
    meta = {
        "about": "Section chooser of rag/answer/sections.py: logistic scores over DENSE features (standardised) "
                 "and hashed (question stem, heading stem) pairs; the best-scored section is quoted. "
                 "Trained by eval/train_sections.py.",
        "dense": list(DENSE), "pair_buckets": PAIR_BUCKETS, "C": args.C,
        "cv": cv, "cv_rule": f"{args.folds}-fold over questions, seed 12",
        "trained_on": trained_on, "trained": dt.date.today().isoformat(),
    }
    np.savez_compressed(args.out, mean=mean.astype(np.float32), scale=scale.astype(np.float32), coef=coef,
                        intercept=np.float32(intercept), meta=np.array(json.dumps(meta)))
    print(json.dumps(cv, indent=1))


if __name__ == "__main__":
    main()
