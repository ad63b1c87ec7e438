"""A learned emergency detector: does a message describe an emergency happening now (or a stated intent to
die or to self-harm), and is it a suicide / self-harm crisis that needs a crisis line?

Features, both computed here with numpy and the standard library only:

- the message's sentence embedding: the same normalised all-MiniLM-L6-v2 vector the pipeline computes for
  retrieval (`Embedder.encode_query(text)`), so when the user's words are what was retrieved with, the
  detector costs no extra model pass (a follow-up rewritten for retrieval needs the user's own words
  embedded once more);
- a hashed n-gram vector of the message: character 2- to 5-grams across word boundaries and word 1- and
  2-grams, after lower-casing, dropping apostrophes and folding every digit to 0, so "paracetomol", "cant
  breth" and "30 tablets" still land near what the model was trained on. Hashing uses zlib.crc32, fixed
  across processes and machines (Python's hash() is salted per process).

Three logistic-regression heads over the concatenated features, trained by `eval/train_emergency.py` on
`eval/train/emergency_train.jsonl` and stored with their thresholds in `rag/data/emergency_model.npz`:

- `urgent`: emergency or not; its threshold was chosen by stratified 5-fold cross-validation (the rule and
  the CV figures are in the file's metadata, `EmergencyModel.meta`);
- `crisis`: suicide / self-harm emergency or not; a crisis is always urgent;
- `category`: which kind of emergency (a multinomial head), for display and logs.

    model = EmergencyModel.load()
    verdict = model.assess(question, embedder.encode_query(question))
    if verdict.urgent: ... URGENT_LINE ...
    if verdict.crisis: ... CRISIS_LINE ...

Runtime needs numpy only; scikit-learn is used at training time.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "emergency_model.npz"

CRISIS_LINE = (
    "If you are thinking about ending your life or hurting yourself, please reach out now: contact a local "
    "crisis line or your emergency number. In the US, call or text 988 (Suicide & Crisis Lifeline); in the "
    "UK and Ireland, call Samaritans on 116 123, free at any time. If you might act on these thoughts or "
    "have already hurt yourself, call your emergency number (such as 911, 999 or 112) or go to the nearest "
    "emergency department now. You do not have to go through this alone."
)

CRISIS_CATEGORIES = ("suicide", "self_harm")
NONE = "none"

# Feature settings used when none are given; the weight file records the ones it was trained with, and
# those are what `EmergencyModel` uses.
DEFAULT_FEATURES = {
    "hash": "zlib.crc32",
    "hash_dim": 4096,
    "char_ngrams": [2, 5],
    "word_ngrams": [1, 2],
    "digits": "folded to 0",
    "hash_weight": 1.0,
    "embedding_weight": 1.0,
}


@dataclass
class Emergency:
    """The detector's reading of one message.

    urgent: the message describes an emergency (or a stated intent to die / self-harm): open with the
        urgent "seek care now" line.
    crisis: a suicide or self-harm crisis: add CRISIS_LINE as well (a crisis is always urgent).
    score: the urgent head's probability (0 to 1); compare with `EmergencyModel.threshold`.
    category: the most likely kind of emergency ("chest_pain", "stroke", "suicide", ...) when urgent,
        else "none".
    """

    urgent: bool
    crisis: bool
    score: float
    category: str


def normalise(text: str) -> str:
    """Lower case, accents folded, apostrophes dropped ("can't" -> "cant"), every digit 0, a question mark
    its own word "?", and anything else that is not a letter or digit one space."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"['\u2019`]", "", text)
    text = re.sub(r"[0-9]", "0", text)
    text = re.sub(r"\?+", " ? ", text)
    text = re.sub(r"[^a-z0?]+", " ", text)
    return " ".join(text.split())


def _grams(norm: str, char_ngrams: tuple[int, int], word_ngrams: tuple[int, int]) -> list[str]:
    grams: list[str] = []
    padded = f" {norm} "
    lo, hi = char_ngrams
    for n in range(lo, hi + 1):
        grams.extend("c" + padded[i : i + n] for i in range(max(0, len(padded) - n + 1)))
    words = norm.split()
    lo, hi = word_ngrams
    for n in range(lo, hi + 1):
        grams.extend("w" + " ".join(words[i : i + n]) for i in range(max(0, len(words) - n + 1)))
    return grams


@lru_cache(maxsize=200_000)
def _bucket(gram: str, dim: int) -> tuple[int, float]:
    h = zlib.crc32(gram.encode("utf-8"))
    return h % dim, (1.0 if (h >> 31) & 1 == 0 else -1.0)


def hashed_ngrams(text: str, features: dict | None = None) -> np.ndarray:
    """The hashed n-gram vector of one message: signed crc32 buckets of its character n-grams (across
    word boundaries, so word pairs count too) and word n-grams, log-scaled counts, L2-normalised."""
    f = features or DEFAULT_FEATURES
    dim = int(f["hash_dim"])
    vec = np.zeros(dim, dtype=np.float64)
    for gram in _grams(normalise(text), tuple(f["char_ngrams"]), tuple(f["word_ngrams"])):
        i, sign = _bucket(gram, dim)
        vec[i] += sign
    vec = np.sign(vec) * np.log1p(np.abs(vec))
    norm = np.linalg.norm(vec)
    return (vec / norm if norm > 0 else vec).astype(np.float32)


def feature_vector(text: str, vector: np.ndarray, features: dict | None = None) -> np.ndarray:
    """The detector's input for one message: [embedding_weight x unit sentence vector, hash_weight x hashed
    n-grams]."""
    f = features or DEFAULT_FEATURES
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    n = np.linalg.norm(v)
    if n > 0:
        v = v / n
    return np.concatenate([v * float(f["embedding_weight"]), hashed_ngrams(text, f) * float(f["hash_weight"])])


def feature_matrix(texts, vectors: np.ndarray, features: dict | None = None) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return np.stack([feature_vector(t, v, features) for t, v in zip(texts, vectors)])


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


class EmergencyModel:
    """The trained detector. `load()` reads `rag/data/emergency_model.npz` (or the file given); `assess()`
    reads one message."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict):
        self.meta = meta
        self.features: dict = meta["features"]
        self.threshold: float = float(meta["threshold"])
        self.crisis_threshold: float = float(meta["crisis_threshold"])
        self.crisis_confident: float = float(meta["crisis_confident"])
        self.model_id: str = meta["embedding_model"]
        self.dimension: int = int(meta["embedding_dimension"])
        self.w_urgent = arrays["w_urgent"].astype(np.float32)
        self.b_urgent = float(arrays["b_urgent"])
        self.w_crisis = arrays["w_crisis"].astype(np.float32)
        self.b_crisis = float(arrays["b_crisis"])
        self.w_category = arrays["w_category"].astype(np.float32)
        self.b_category = arrays["b_category"].astype(np.float32)
        self.categories = [str(c) for c in arrays["categories"]]

    @classmethod
    def load(cls, path: str | Path | None = None) -> "EmergencyModel":
        path = Path(path) if path else DEFAULT_PATH
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
        return cls(arrays, meta)

    def scores(self, text: str, vector: np.ndarray) -> tuple[float, float, np.ndarray]:
        """(urgent probability, crisis probability, category probabilities in `self.categories` order)."""
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if v.shape[0] != self.dimension:
            raise ValueError(f"expected a {self.dimension}-dimensional vector from {self.model_id}, got {v.shape[0]}")
        x = feature_vector(text, v, self.features)
        p_urgent = _sigmoid(float(x @ self.w_urgent) + self.b_urgent)
        p_crisis = _sigmoid(float(x @ self.w_crisis) + self.b_crisis)
        z = self.w_category @ x + self.b_category
        z = np.exp(z - z.max())
        return p_urgent, p_crisis, z / z.sum()

    def assess(self, text: str, vector: np.ndarray) -> Emergency:
        """Read one message. `vector` is its sentence embedding from the model named in `self.model_id`
        (`Embedder.encode_query(text)`; shape (dim,) or (1, dim); it is normalised here anyway).

        urgent: the urgent head is at or above `threshold`, or the crisis head is at or above
        `crisis_confident`. crisis: urgent, and the crisis head is at or above `crisis_threshold` or the
        category head's likeliest category, "none" included, is suicide or self-harm (with "none" left
        out, "suicide", the commonest category, was the best guess for false alarms and gave clinicians'
        questions the crisis line). So a crisis is always urgent."""
        p_urgent, p_crisis, p_cat = self.scores(text, vector)
        urgent = p_urgent >= self.threshold or p_crisis >= self.crisis_confident
        order = [self.categories[i] for i in np.argsort(-p_cat)]
        best = next((c for c in order if c != NONE), NONE)
        crisis = urgent and (p_crisis >= self.crisis_threshold or order[0] in CRISIS_CATEGORIES)
        if crisis and best not in CRISIS_CATEGORIES:
            best = next(c for c in order if c in CRISIS_CATEGORIES)
        return Emergency(urgent=bool(urgent), crisis=bool(crisis), score=round(p_urgent, 4),
                         category=best if urgent else NONE)
