"""Train the emergency detector (rag/emergency.py) and write rag/data/emergency_model.npz.

    python eval/train_emergency.py                 # train, cross-validate, write the weight file
    python eval/train_emergency.py --grid          # also print the CV grid the default settings came from
    python eval/train_emergency.py --out /tmp/x.npz --data other.jsonl

Steps: read the training file (JSON Lines: id, text, emergency, category), embed every text with the
project's embedder (normalised all-MiniLM-L6-v2, as the pipeline embeds a question), add the hashed n-gram
features, then stratified 5-fold cross-validation (folds stratified on emergency x category, fixed seed):
out-of-fold scores give recall, false-alarm rate, precision, per-category recall, the crisis (suicide /
self-harm) recall, and the thresholds:

- urgent threshold: the lower of the highest threshold whose out-of-fold recall on emergencies is >= 0.99
  and the lowest whose out-of-fold false-alarm rate is <= 0.05 (safety first; the whole
  recall / false-alarm curve is stored too, to move the threshold without retraining);
- crisis threshold: the highest threshold (at most 0.5) at which, among the out-of-fold suicide / self-harm
  emergencies that are urgent, every suicide one is a crisis under the rule EmergencyModel.assess applies
  and the crisis recall is >= 0.98.

The final heads are then fitted on the whole file. Also measured and recorded: the old regex
(rag.questions.is_emergency) alone and OR-ed with the model, and the false alarms of the final model on the
project's ordinary question sets (eval/gold.jsonl, heldout.jsonl, heldout2.jsonl, conversations.jsonl:
real questions none of which is in the training file), less the few that describe an emergency.

scikit-learn is needed here only (pip install -e ".[train]"); the runtime reads the weights with numpy.
Deterministic: fixed folds and lbfgs fits, so the same file and settings give the same weights.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.emergency import (  # noqa: E402
    CRISIS_CATEGORIES,
    DEFAULT_FEATURES,
    DEFAULT_PATH,
    NONE,
    feature_matrix,
)

DATA = ROOT / "eval" / "train" / "emergency_train.jsonl"
RECALL_TARGET = 0.99
CRISIS_RECALL_TARGET = 0.98
# The urgent line's false-alarm budget (issue 12: at most 0.05): the threshold is lowered to spend it,
# because a missed emergency costs more than a needless "seek care now" line.
FALSE_ALARM_BUDGET = 0.05
CRISIS_CONFIDENT = 0.5
SEED = 0
FOLDS = 5
# Chosen with --grid (stratified 5-fold CV on the training file): about the lowest false-alarm rate at the
# urgent threshold that keeps CV recall >= 0.99 (the differences between neighbouring settings are a few
# messages); embedding alone or n-grams alone were clearly worse than both together.
C = 10.0
FEATURES = dict(DEFAULT_FEATURES)

# Ordinary question sets of the project, for an out-of-sample check: none of their questions is in the
# training file. Read by hand (2026-12-07), these few describe an emergency happening now; they are scored
# as emergencies. The ambiguous ones (a patient already in hospital care, a same-day rather than emergency
# problem) are left out.
EXTERNAL = ["eval/gold.jsonl", "eval/heldout.jsonl", "eval/heldout2.jsonl", "eval/conversations.jsonl"]
EXTERNAL_EMERGENCIES = {
    "My mate collapsed after using fentanyl and is barely breathing. What do I do while waiting?",
    "Our newborn is floppy and struggling to feed and breathe, and my wife has myotonic dystrophy. What is the "
    "congenital form?",
    "On simvastatin plus gemfibrozil my CK came back at 15x normal and my pee is dark. What should be done?",
    "Someone collapsed after an overdose and has no pulse - should I give naloxone before starting CPR?",
    "my grandad's face went droopy for 10 mins then went back to normal. does he still need to get checked urgently?",
    "someone has been fitting for 6 minutes, what drug do we give?",
    "status epilepticus still going after lorazepam and a levetiracetam load - next step?",
    "my dad's mouth suddenly drooped on one side but he can still wrinkle his forehead normally - does that fit "
    "with Bell's palsy?",
}
EXTERNAL_AMBIGUOUS = {
    "Patient turns up 12 hours after a large paracetamol overdose - should acetylcysteine be started before the "
    "paracetamol level comes back?",
    "MG patient getting short of breath - what's the 20/30/40 rule?",
    "Burning when I pee, but now also a fever and pain in my side. Is nitrofurantoin still the right antibiotic?",
}


def load_examples(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"id", "text", "emergency", "category"} - set(row)
        if missing:
            raise ValueError(f"{path}:{n}: missing {', '.join(sorted(missing))}")
        rows.append(row)
    ids = Counter(r["id"] for r in rows)
    dup = [i for i, c in ids.items() if c > 1]
    if dup:
        raise ValueError(f"{path}: duplicate ids {dup[:5]}")
    return rows


def external_questions(exclude: set[str] = frozenset()) -> list[tuple[str, bool]]:
    """(question, describes an emergency) for every question of the EXTERNAL files, ambiguous ones and
    those in `exclude` (lower case: the training texts) left out."""
    out: dict[str, bool] = {}
    for rel in EXTERNAL:
        path = ROOT / rel
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            qs = [row["question"]] if "question" in row else [t["question"] for t in row.get("turns", [])]
            for q in qs:
                if q not in EXTERNAL_AMBIGUOUS and q.strip().lower() not in exclude:
                    out[q] = q in EXTERNAL_EMERGENCIES
    return list(out.items())


def embedder(threads: int = 1):
    from rag.config import load_settings
    from rag.embedding import embedder_for, set_threads

    embedder = embedder_for(load_settings())
    set_threads(threads, embedder)
    return embedder


def crisis_target(rows: list[dict]) -> np.ndarray:
    return np.array([bool(r["emergency"]) and r["category"] in CRISIS_CATEGORIES for r in rows])


def category_target(rows: list[dict]) -> np.ndarray:
    return np.array([r["category"] if r["emergency"] else NONE for r in rows])


def fit(X: np.ndarray, rows: list[dict], c: float = C) -> dict[str, np.ndarray]:
    """The three heads on feature matrix X; plain arrays, as stored in the weight file."""
    from sklearn.linear_model import LogisticRegression

    y = np.array([bool(r["emergency"]) for r in rows])
    heads = {}
    for name, target in (("urgent", y), ("crisis", crisis_target(rows))):
        lr = LogisticRegression(C=c, solver="lbfgs", max_iter=5000, random_state=SEED)
        lr.fit(X, target)
        heads[f"w_{name}"] = lr.coef_[0].astype(np.float32)
        heads[f"b_{name}"] = np.float32(lr.intercept_[0])
    lr = LogisticRegression(C=c, solver="lbfgs", max_iter=5000, random_state=SEED)
    lr.fit(X, category_target(rows))
    heads["w_category"] = lr.coef_.astype(np.float32)
    heads["b_category"] = lr.intercept_.astype(np.float32)
    heads["categories"] = np.array([str(c) for c in lr.classes_])
    return heads


def predict(heads: dict[str, np.ndarray], X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def sig(z):
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    p_u = sig(X @ heads["w_urgent"] + heads["b_urgent"])
    p_c = sig(X @ heads["w_crisis"] + heads["b_crisis"])
    z = X @ heads["w_category"].T + heads["b_category"]
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return p_u, p_c, z / z.sum(axis=1, keepdims=True)


def best_category(p_cat: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The most likely category of each row, "none" included (as EmergencyModel.assess decides the crisis
    line): a false alarm whose likeliest category is "none" does not get the crisis line because
    "suicide" is the likeliest of the emergency categories."""
    return classes[p_cat.argmax(axis=1)]


def decide(p_u, p_c, best, threshold, crisis_threshold, crisis_confident=CRISIS_CONFIDENT):
    """EmergencyModel.assess's rule over arrays: (urgent, crisis)."""
    urgent = (p_u >= threshold) | (p_c >= crisis_confident)
    crisis = urgent & ((p_c >= crisis_threshold) | np.isin(best, CRISIS_CATEGORIES))
    return urgent, crisis


def highest_threshold(scores: np.ndarray, positive: np.ndarray, target: float) -> float:
    """The highest threshold t such that the share of positives with score >= t is >= target."""
    pos = np.sort(scores[positive])
    misses = int(np.floor(len(pos) * (1 - target) + 1e-9))
    return float(pos[misses])


def within_budget(scores: np.ndarray, negative: np.ndarray, budget: float,
                  flagged: np.ndarray | None = None) -> float:
    """The lowest threshold t at which the share of negatives that are flagged (score >= t, or already by
    `flagged`, the crisis head's own path) stays <= budget."""
    flagged = np.zeros_like(negative) if flagged is None else flagged
    allowed = int(np.floor(negative.sum() * budget + 1e-9)) - int((flagged & negative).sum())
    neg = np.sort(scores[negative & ~flagged])[::-1]
    if allowed < 0:
        return 1.0
    return float(neg[allowed]) + 1e-6 if allowed < len(neg) else 0.0


def cross_validate(X: np.ndarray, rows: list[dict], c: float = C, folds: int = FOLDS):
    """Out-of-fold urgent and crisis probabilities and category predictions."""
    from sklearn.model_selection import StratifiedKFold

    strata = np.array([f"{r['emergency']}:{r['category']}" for r in rows])
    p_u = np.zeros(len(rows))
    p_c = np.zeros(len(rows))
    best = np.empty(len(rows), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(X, strata):
        heads = fit(X[train], [rows[i] for i in train], c)
        u, cr, cat = predict(heads, X[test])
        p_u[test], p_c[test] = u, cr
        best[test] = best_category(cat, heads["categories"])
    return p_u, p_c, best.astype(str)


def rates(pred: np.ndarray, y: np.ndarray) -> dict:
    tp = int((pred & y).sum())
    fp = int((pred & ~y).sum())
    return {
        "recall": round(tp / max(1, y.sum()), 4),
        "false_alarm_rate": round(fp / max(1, (~y).sum()), 4),
        "precision": round(tp / max(1, tp + fp), 4),
        "missed": int((~pred & y).sum()),
        "false_alarms": fp,
    }


def evaluate(rows: list[dict], p_u, p_c, best) -> dict:
    """Thresholds from the out-of-fold scores, and every CV figure at them."""
    from rag.questions import is_emergency

    y = np.array([bool(r["emergency"]) for r in rows])
    crisis_y = crisis_target(rows)
    # Safety first: as low as the false-alarm budget allows, and never above the recall target's threshold.
    threshold = min(highest_threshold(p_u, y, RECALL_TARGET),
                    within_budget(p_u, ~y, FALSE_ALARM_BUDGET, p_c >= CRISIS_CONFIDENT))
    # Crisis threshold: the highest one (at most CRISIS_CONFIDENT) at which, among the out-of-fold crisis
    # rows that are urgent, every suicide row is a crisis and the share of crisis rows (suicide and
    # self-harm) that are is >= CRISIS_RECALL_TARGET. The few self-harm rows it may leave are injuries
    # described as injuries ("a blade to my legs, lots of blood"): they are still urgent.
    cat_arr = np.array([r["category"] for r in rows])
    urgent_any = (p_u >= threshold) | (p_c >= CRISIS_CONFIDENT)
    by_rule = urgent_any & np.isin(best, CRISIS_CATEGORIES)
    need = crisis_y & urgent_any & ~by_rule
    allowed = int(np.floor((crisis_y & urgent_any).sum() * (1 - CRISIS_RECALL_TARGET) + 1e-9))
    needed = np.sort(p_c[need])
    crisis_threshold = float(needed[allowed]) if allowed < len(needed) else CRISIS_CONFIDENT
    suicide_need = need & (cat_arr == "suicide")
    if suicide_need.any():
        crisis_threshold = min(crisis_threshold, float(p_c[suicide_need].min()))
    crisis_threshold = min(crisis_threshold, CRISIS_CONFIDENT)
    urgent, crisis = decide(p_u, p_c, best, threshold, crisis_threshold)
    regex = np.array([is_emergency(r["text"]) for r in rows])
    cats = sorted({r["category"] for r in rows if r["emergency"]})
    per_category = {}
    for cat in cats:
        pos = y & (cat_arr == cat)
        neg = ~y & (cat_arr == cat)
        per_category[cat] = {
            "n": int(pos.sum()),
            "recall": round(float(urgent[pos].mean()), 4),
            "negatives": int(neg.sum()),
            "false_alarm_rate": round(float(urgent[neg].mean()), 4) if neg.any() else None,
            "category_accuracy": round(float((best[pos] == cat).mean()), 4),
        }
    for cat in sorted(set(cat_arr[~y]) - set(cats)):
        neg = ~y & (cat_arr == cat)
        per_category[cat] = {"n": 0, "recall": None, "negatives": int(neg.sum()),
                             "false_alarm_rate": round(float(urgent[neg].mean()), 4)}
    model = rates(urgent, y)
    curve = [{"threshold": t, **{k: v for k, v in rates(p_u >= t, y).items() if k in ("recall", "false_alarm_rate")}}
             for t in (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)]
    return {
        "threshold": round(threshold, 6),
        "crisis_threshold": round(crisis_threshold, 6),
        "model": model,
        "model_at_0.5": rates(p_u >= 0.5, y),
        "curve": curve,
        "regex_alone": rates(regex, y),
        "model_or_regex": rates(urgent | regex, y),
        "crisis": {
            "recall": round(float(crisis[crisis_y].mean()), 4),
            "n": int(crisis_y.sum()),
            "suicide_recall": round(float(crisis[crisis_y & (cat_arr == "suicide")].mean()), 4),
            "self_harm_recall": round(float(crisis[crisis_y & (cat_arr == "self_harm")].mean()), 4),
            "urgent_but_not_crisis": [rows[i]["text"] for i in np.where(crisis_y & urgent & ~crisis)[0]],
            "false_crisis_on_other_emergencies": int((crisis & y & ~crisis_y).sum()),
            "false_crisis_on_non_emergencies": int((crisis & ~y).sum()),
            "crisis_missed": [rows[i]["text"] for i in np.where(crisis_y & ~crisis)[0]],
        },
        "per_category": per_category,
        "missed": [rows[i]["text"] for i in np.where(y & ~urgent)[0]],
        "false_alarms": [rows[i]["text"] for i in np.where(~y & urgent)[0]],
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def print_report(cv: dict, external: dict | None) -> None:
    m = cv["model"]
    print(f"\nCross-validation ({FOLDS}-fold, stratified on emergency x category, seed {SEED})")
    print(f"  urgent threshold {cv['threshold']:.4f} (recall >= {RECALL_TARGET}, false alarms <= {FALSE_ALARM_BUDGET})")
    print(f"  recall {m['recall']:.3f}  false alarms {m['false_alarm_rate']:.3f}  precision {m['precision']:.3f}"
          f"  (missed {m['missed']}, false alarms {m['false_alarms']})")
    a = cv["model_at_0.5"]
    print(f"  at 0.5: recall {a['recall']:.3f}  false alarms {a['false_alarm_rate']:.3f}")
    for name in ("regex_alone", "model_or_regex"):
        r = cv[name]
        print(f"  {name}: recall {r['recall']:.3f}  false alarms {r['false_alarm_rate']:.3f}")
    c = cv["crisis"]
    print(f"  crisis (suicide/self-harm) recall {c['recall']:.3f} of {c['n']} (suicide {c['suicide_recall']:.3f}, "
          f"self-harm {c['self_harm_recall']:.3f}), threshold {cv['crisis_threshold']:.4f};"
          f" crisis on other emergencies {c['false_crisis_on_other_emergencies']},"
          f" on non-emergencies {c['false_crisis_on_non_emergencies']}")
    print("  per category: n, recall | negatives, false-alarm rate | category accuracy")
    for cat, d in cv["per_category"].items():
        rec = f"{d['recall']:.3f}" if d["recall"] is not None else "  -  "
        fa = f"{d['false_alarm_rate']:.3f}" if d["false_alarm_rate"] is not None else "  -  "
        acc = f"{d['category_accuracy']:.2f}" if "category_accuracy" in d else ""
        print(f"    {cat:18s} {d['n']:3d} {rec} | {d['negatives']:3d} {fa} | {acc}")
    if c["urgent_but_not_crisis"]:
        print("  urgent but no crisis line:", *[f"    {t}" for t in c["urgent_but_not_crisis"]], sep="\n")
    if cv["missed"]:
        print("  missed:", *[f"    {t}" for t in cv["missed"]], sep="\n")
    if cv["false_alarms"]:
        print("  false alarms:", *[f"    {t}" for t in cv["false_alarms"]], sep="\n")
    if external:
        print(f"\nProject question sets (none in training): {external['flagged']} of {external['n']} ordinary "
              f"questions flagged ({external['false_alarm_rate']:.3f}); {external['emergencies_flagged']} of "
              f"{external['emergencies']} emergencies among them flagged")
        for t in external["examples"]:
            print(f"    false alarm: {t}")
        for t in external["emergencies_missed"]:
            print(f"    missed: {t}")


def grid(vectors: np.ndarray, texts: list[str], rows: list[dict]) -> None:
    """The settings search behind C and FEATURES: the urgent head's CV false-alarm rate at the threshold
    that keeps recall >= RECALL_TARGET, over a small grid."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    print(f"\nGrid (urgent head): CV false-alarm rate at recall >= {RECALL_TARGET}, and recall / false alarms at 0.5")
    y = np.array([bool(r["emergency"]) for r in rows])
    strata = np.array([f"{r['emergency']}:{r['category']}" for r in rows])
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(vectors, strata))
    settings = [dict(FEATURES, embedding_weight=1.0, hash_weight=0.0), dict(FEATURES, embedding_weight=0.0)]
    settings += [dict(FEATURES, char_ngrams=cn) for cn in ([2, 5], [3, 5], [3, 4])]
    settings += [dict(FEATURES, hash_dim=d) for d in (2048, 8192)]
    settings += [dict(FEATURES, embedding_weight=w) for w in (0.5, 1.5)]
    for feats in settings:
        X = feature_matrix(texts, vectors, feats)
        for c in (3.0, 10.0, 30.0):
            p = np.zeros(len(rows))
            for train, test in folds:
                lr = LogisticRegression(C=c, solver="lbfgs", max_iter=5000, random_state=SEED)
                p[test] = lr.fit(X[train], y[train]).predict_proba(X[test])[:, 1]
            t = highest_threshold(p, y, RECALL_TARGET)
            fa = ((p >= t) & ~y).sum() / (~y).sum()
            print(f"  emb {feats['embedding_weight']:.1f} hash {feats['hash_weight']:.1f} dim {feats['hash_dim']:5d} "
                  f"char {feats['char_ngrams']} C {c:4.0f}: FA {fa:.3f} at t {t:.3f} | at 0.5 recall "
                  f"{((p >= .5) & y).sum() / y.sum():.3f} FA {((p >= .5) & ~y).sum() / (~y).sum():.3f}", flush=True)


def train(rows: list[dict], vectors: np.ndarray, features: dict | None = None, c: float = C) -> dict:
    """Fit the three heads on all rows (no CV): the arrays stored in the weight file."""
    X = feature_matrix([r["text"] for r in rows], vectors, features or FEATURES)
    return fit(X, rows, c)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--threads", type=int, default=1, help="threads for embedding (default 1)")
    ap.add_argument("--grid", action="store_true", help="print the CV grid the default settings came from")
    ap.add_argument("--json", type=Path, help="also write the full CV report (with missed texts) here")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    rows = load_examples(args.data)
    texts = [r["text"] for r in rows]
    y = np.array([bool(r["emergency"]) for r in rows])
    print(f"{args.data.name}: {len(rows)} messages, {int(y.sum())} emergencies, "
          f"{len({r['category'] for r in rows if r['emergency']})} emergency categories")
    emb = embedder(args.threads)
    vectors = emb.encode(texts)
    print(f"embedded with {emb.model_id} (dim {emb.dimension}) in {time.perf_counter() - started:.1f} s")

    if args.grid:
        grid(vectors, texts, rows)

    X = feature_matrix(texts, vectors, FEATURES)
    p_u, p_c, best = cross_validate(X, rows, C)
    cv = evaluate(rows, p_u, p_c, best)
    heads = fit(X, rows, C)

    ext = external_questions({t.strip().lower() for t in texts})
    external = None
    if ext:
        ext_q = [q for q, _ in ext]
        ext_y = np.array([e for _, e in ext])
        e_u, e_c, e_cat = predict(heads, feature_matrix(ext_q, emb.encode(ext_q), FEATURES))
        urgent, _ = decide(e_u, e_c, best_category(e_cat, heads["categories"]), cv["threshold"],
                           cv["crisis_threshold"])
        external = {"files": [p for p in EXTERNAL if (ROOT / p).exists()],
                    "n": int((~ext_y).sum()), "flagged": int((urgent & ~ext_y).sum()),
                    "false_alarm_rate": round(float(urgent[~ext_y].mean()), 4),
                    "examples": [q for q, u, e in zip(ext_q, urgent, ext_y) if u and not e],
                    "emergencies": int(ext_y.sum()), "emergencies_flagged": int(urgent[ext_y].sum()),
                    "emergencies_missed": [q for q, u, e in zip(ext_q, urgent, ext_y) if e and not u],
                    "ambiguous_left_out": len(EXTERNAL_AMBIGUOUS)}
    print_report(cv, external)

    regex_helps = (cv["model_or_regex"]["recall"] > cv["model"]["recall"]
                   and cv["model_or_regex"]["false_alarm_rate"] <= cv["model"]["false_alarm_rate"] + 0.005)
    counts = Counter(r["category"] for r in rows if r["emergency"])
    meta = {
        "what": "emergency detector for rag/emergency.py: logistic-regression heads (urgent, crisis, category)",
        "training_file": str(args.data.relative_to(ROOT)) if args.data.is_relative_to(ROOT) else str(args.data),
        "training_sha256": sha256(args.data),
        "counts": {"messages": len(rows), "emergencies": int(y.sum()), "non_emergencies": int((~y).sum()),
                   "crisis": int(crisis_target(rows).sum()), "per_category": dict(sorted(counts.items()))},
        "embedding_model": emb.model_id,
        "embedding_dimension": emb.dimension,
        "features": FEATURES,
        "classifier": {"type": "sklearn LogisticRegression (lbfgs, L2)", "C": C, "seed": SEED},
        "threshold": cv["threshold"],
        "threshold_rule": f"the lower of: the highest threshold with out-of-fold recall >= {RECALL_TARGET} on "
                          f"emergencies, and the lowest with out-of-fold false alarms <= {FALSE_ALARM_BUDGET} "
                          f"({FOLDS}-fold stratified CV, seed {SEED})",
        "crisis_threshold": cv["crisis_threshold"],
        "crisis_threshold_rule": f"highest threshold (at most {CRISIS_CONFIDENT}) at which, among out-of-fold "
                                 "urgent suicide/self-harm emergencies, every suicide one is a crisis and the "
                                 f"crisis recall is >= {CRISIS_RECALL_TARGET}",
        "crisis_confident": CRISIS_CONFIDENT,
        "decision_rule": "urgent = urgent head >= threshold, or crisis head >= crisis_confident; crisis = urgent "
                         "and (crisis head >= crisis_threshold, or the best non-none category is suicide or "
                         "self_harm)",
        "cv": {k: v for k, v in cv.items() if k not in ("missed", "false_alarms")},
        "cv_missed": cv["missed"],
        "regex_safety_net": {"used": bool(regex_helps),
                             "why": "OR-ing rag.questions.is_emergency adds recall without false alarms"
                             if regex_helps else "OR-ing rag.questions.is_emergency adds no CV recall, or adds "
                             "false alarms; the model alone is the decision"},
        "external_false_alarms": external and {k: v for k, v in external.items()},
        "trained": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sklearn": __import__("sklearn").__version__,
        "numpy": np.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, meta=np.array(json.dumps(meta)), **heads)
    if args.json:
        args.json.write_text(json.dumps({"cv": cv, "external": external}, indent=1))
    size = args.out.stat().st_size
    print(f"\nwrote {args.out} ({size / 1024:.0f} KiB) in {time.perf_counter() - started:.0f} s; "
          f"regex safety net {'used' if regex_helps else 'not used'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
