"""The small logistic models the composer reads (rag/data/verdict_model.json, abstain_model.json): one
format, written by the training scripts in eval/ and read here with plain Python, so answering needs no
scikit-learn. A model is {"features": names, "mean", "scale" (the standardisation), "coef", "intercept"}."""

from __future__ import annotations

import math


def fit(X, y, C: float):
    """(scaler, classifier): a StandardScaler and an L2 LogisticRegression fitted on X, y. For the training
    scripts only; scikit-learn is imported here, not at answer time."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    return scaler, LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(X), y)


def out_of_fold(X, y, folds, C: float):
    """P(positive) of every row from models fitted without its fold: `folds` yields (train, test) indices."""
    import numpy as np

    p = np.zeros(len(y))
    for train, test in folds:
        scaler, clf = fit(X[train], y[train], C)
        p[test] = clf.predict_proba(scaler.transform(X[test]))[:, 1]
    return p


def fitted(features: list[str] | tuple[str, ...], scaler, clf) -> dict:
    """A fitted scikit-learn StandardScaler and binary LogisticRegression, as the model format."""
    return {
        "features": list(features),
        "mean": [round(float(v), 6) for v in scaler.mean_],
        "scale": [round(float(v) if v > 0 else 1.0, 6) for v in scaler.scale_],
        "coef": [round(float(v), 6) for v in clf.coef_[0]],
        "intercept": round(float(clf.intercept_[0]), 6),
    }


def probability(model: dict, values: dict[str, float]) -> float:
    """P(positive class) of a model for the feature `values` (by name)."""
    z = model["intercept"] + sum(w * (values[name] - mu) / s for name, w, mu, s in
                                 zip(model["features"], model["coef"], model["mean"], model["scale"]))
    return 1.0 / (1.0 + math.exp(-z))


__all__ = ["fit", "fitted", "out_of_fold", "probability"]
