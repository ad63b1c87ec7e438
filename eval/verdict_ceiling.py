"""How far a learned reader of the evidence could take the yes/no verdict on PubMedQA dev: the measurement
behind leaving issue 12's PubMedQA accuracy target open.

    python eval/verdict_ceiling.py [--repeats 3]

PubMedQA withholds each abstract's conclusion: the answer has to be inferred from the results. This
script gives the verdict the best chance a small model has: it reads the gold abstract's Results
section directly (no retrieval error), as a bag of words and word pairs with words after a negation
marked (NegEx-style scope to the end of the clause), and a logistic regression learns yes against no
under stratified 5-fold cross-validation, repeated with different splits. It prints the accuracy when
every question gets a verdict, and the largest coverage whose out-of-fold precision is at least 0.85
(thresholds chosen on the same out-of-fold predictions, so this is an optimistic bound).

Issue 12 asks for yes/no accuracy >= 0.72 with precision >= 0.85 and wrong verdicts <= 0.10, which needs
precision >= 0.88 on >= 82% of the questions. For comparison, the PubMedQA paper (Jin et al., EMNLP
2019) reports 78.0% accuracy for a single human expert and 68.1% for its best model (fine-tuned BioBERT)
in this reasoning-required setting.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "eval" / "external" / "pubmedqa_dev"
NEGATION = re.compile(r"^(no|not|without|neither|nor|none|cannot|unable|never)$")


def sections(article_id: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = None
    for line in (DEV / "articles" / f"{article_id}.md").read_text(encoding="utf-8").split("\n"):
        if line.startswith("## "):
            current = line[3:].strip().lower()
            out[current] = ""
        elif current:
            out[current] += line + " "
    return out


def marked(text: str) -> str:
    """Words after a negation, to the end of its clause, carry a NEG_ prefix."""
    out = []
    for clause in re.split(r"[.;:,]", text.lower()):
        negated = False
        for word in re.findall(r"[a-z]+", clause):
            if NEGATION.match(word) or word.endswith("n't"):
                negated = True
                out.append(word)
            else:
                out.append("NEG_" + word if negated else word)
    return " ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--precision", type=float, default=0.85)
    args = ap.parse_args()
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    rows = [json.loads(line) for line in (DEV / "gold.jsonl").read_text(encoding="utf-8").split("\n") if line.strip()]
    rows = [r for r in rows if r["decision"] in ("yes", "no")]
    texts, y = [], []
    for r in rows:
        parts = sections(r["gold_article_ids"][0])
        results = " ".join(v for k, v in parts.items() if k.startswith("result")) or " ".join(parts.values())
        texts.append(marked(results))
        y.append(1 if r["decision"] == "yes" else 0)
    y_arr = np.array(y)
    print(f"{len(y_arr)} yes/no questions; always 'yes' would be right on {y_arr.mean():.3f}")
    for c in (0.3, 1.0, 3.0):
        oof = np.zeros(len(y_arr))
        for seed in range(args.repeats):
            for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, y_arr):
                vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
                model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
                model.fit(vec.fit_transform([texts[i] for i in train]), y_arr[train])
                oof[test] += model.predict_proba(vec.transform([texts[i] for i in test]))[:, 1] / args.repeats
        full = float(((oof >= 0.5) == y_arr).mean())
        best = (0.0, None, 0.0)
        for t_yes in np.arange(0.5, 0.99, 0.01):
            for t_no in np.arange(0.5, 0.01, -0.01):
                say_yes, say_no = oof >= t_yes, oof <= t_no
                covered = say_yes | say_no
                if covered.sum() < 10:
                    continue
                right = int((say_yes & (y_arr == 1)).sum() + (say_no & (y_arr == 0)).sum())
                if right / covered.sum() >= args.precision and covered.mean() > best[0]:
                    best = (float(covered.mean()), right / covered.sum(), right / len(y_arr))
        print(f"C={c}: accuracy with a verdict on every question {full:.3f}; at precision >= {args.precision}: "
              f"coverage {best[0]:.3f}, precision {best[1] or 0:.3f}, accuracy {best[2]:.3f}")


if __name__ == "__main__":
    main()
