"""The learned emergency detector (rag/emergency.py): the shipped weights, their record of the training data
and cross-validation, what they flag, the crisis head, and reproducible training. Real model, no mocks.

The sentences below are not in the training file (checked by the first test); they are written in the
styles the detector has to read: lay, indirect, misspelt, clinical shorthand, third person."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from rag.emergency import CRISIS_LINE, DEFAULT_PATH, Emergency, EmergencyModel, hashed_ngrams, normalise

ROOT = Path(__file__).resolve().parents[1]
TRAIN_FILE = ROOT / "eval" / "train" / "emergency_train.jsonl"

EMERGENCIES = [
    ("my uncle's face has slumped on the left and he can't say his words properly", "stroke"),
    ("i swallowed a whole sheet of my nan's heart tablets an hour ago", "overdose"),
    ("my 9 month old drank some oven cleaner", "poisoning"),
    ("i can't stop shaking and my sugar reads 1.7", "diabetic"),
    ("my 8 week old's temprature is 38.6 and hes not feeding", "infant"),
    ("crushing pain behind my breastbone for the last half hour and I'm drenched in sweat", "chest_pain"),
    ("she's been fitting for over ten minutes and isn't coming round", "seizure"),
    ("my husband ate a satay and now his throat is swelling shut", "anaphylaxis"),
    ("62M, haematemesis x3 this morning, HR 125, BP 88/50", "gi_bleed"),
    ("my grandson is floppy with a fever and has dark spots on his legs that don't fade", "meningitis_sepsis"),
]
SUICIDAL = [
    "there's no point in me being here any more, I've said goodbye to my sister",
    "i'm going to take every pill i have tonight so i don't have to wake up",
    "I don't think I can keep living, I've written a note for my parents",
]
ORDINARY = [
    "What is the treatment for chronic chest wall pain?",
    "How many paracetamol can I take in a day?",
    "What does a meningitis rash look like?",
    "How is myasthenia gravis diagnosed?",
    "Is ALS a muscular dystrophy?",
    "What is the recommended adrenaline dose for anaphylaxis in a teenager?",
    "My father had a stroke four years ago, is it safe for him to drive now?",
    "How do doctors assess suicide risk in someone with depression?",
]


@pytest.fixture(scope="module")
def model() -> EmergencyModel:
    return EmergencyModel.load()


def _assess(model, embedder, text: str) -> Emergency:
    return model.assess(text, embedder.encode_query(text))


def test_test_sentences_are_not_in_the_training_file():
    trained = {json.loads(line)["text"].strip().lower() for line in TRAIN_FILE.read_text().splitlines() if line}
    ours = [t for t, _ in EMERGENCIES] + SUICIDAL + ORDINARY
    assert not [t for t in ours if t.strip().lower() in trained]


def test_weights_load_and_record_their_training_data(model, embedder):
    meta = model.meta
    assert DEFAULT_PATH.stat().st_size < 1_000_000
    assert meta["training_file"] == "eval/train/emergency_train.jsonl"
    # The weights were trained on the training file as it is now: retrain after editing it.
    assert meta["training_sha256"] == hashlib.sha256(TRAIN_FILE.read_bytes()).hexdigest()
    rows = [json.loads(line) for line in TRAIN_FILE.read_text().splitlines() if line]
    assert meta["counts"]["messages"] == len(rows) >= 600
    assert meta["counts"]["emergencies"] == sum(r["emergency"] for r in rows)
    assert len(meta["counts"]["per_category"]) >= 15
    assert meta["embedding_model"] == embedder.model_id and meta["embedding_dimension"] == embedder.dimension
    assert 0 < model.threshold < 1 and "recall" in meta["threshold_rule"]
    assert meta["features"]["hash"] == "zlib.crc32"
    assert meta["trained"] and meta["sklearn"]


def test_cross_validation_figures_meet_the_targets(model):
    cv = model.meta["cv"]
    assert cv["model"]["recall"] >= 0.97
    assert cv["model"]["false_alarm_rate"] <= 0.06
    # suicidal statements get the crisis line; a few self-harm injuries told as injuries may get only the
    # urgent line
    assert cv["crisis"]["suicide_recall"] >= 0.97
    assert cv["crisis"]["recall"] >= 0.95
    # every emergency category is recalled in cross-validation, none far behind
    per = {c: d for c, d in cv["per_category"].items() if d["n"]}
    assert len(per) >= 15 and min(d["recall"] for d in per.values()) >= 0.9
    # the old regex OR-ed with the model was measured, and the decision recorded
    assert "regex_safety_net" in model.meta and "used" in model.meta["regex_safety_net"]


@pytest.mark.parametrize("text, category", EMERGENCIES)
def test_flags_emergencies(model, embedder, text, category):
    verdict = _assess(model, embedder, text)
    assert verdict.urgent, (text, verdict)
    assert verdict.category == category


@pytest.mark.parametrize("text", ORDINARY)
def test_passes_ordinary_questions(model, embedder, text):
    verdict = _assess(model, embedder, text)
    assert not verdict.urgent and not verdict.crisis, (text, verdict)
    assert verdict.category == "none"


@pytest.mark.parametrize("text", SUICIDAL)
def test_suicidal_statements_get_the_crisis_line(model, embedder, text):
    verdict = _assess(model, embedder, text)
    assert verdict.crisis and verdict.urgent, (text, verdict)
    assert verdict.category in ("suicide", "self_harm")
    assert "988" in CRISIS_LINE and "116 123" in CRISIS_LINE


def test_a_chest_pain_emergency_is_not_a_crisis(model, embedder):
    verdict = _assess(model, embedder, "my dad has a crushing pain in his chest and he's grey and sweating")
    assert verdict.urgent and not verdict.crisis


def test_vector_shape_and_dimension_are_checked(model, embedder):
    text = "How is myasthenia gravis diagnosed?"
    v = embedder.encode_query(text)
    assert model.assess(text, v) == model.assess(text, v[0])
    with pytest.raises(ValueError):
        model.assess(text, np.ones(10, dtype=np.float32))


def test_hashed_ngrams_are_fixed_across_processes():
    """crc32, not Python's salted hash(): the same text lands in the same buckets in every process."""
    assert normalise("I can't breathe!! took 30 tablets?") == "i cant breathe took 00 tablets ?"
    v = hashed_ngrams("took 30 tablets")
    assert v.shape == (4096,) and abs(np.linalg.norm(v) - 1) < 1e-5
    assert np.flatnonzero(v)[:8].tolist() == EXPECTED_BUCKETS


EXPECTED_BUCKETS = [31, 298, 343, 408, 473, 497, 590, 688]


def _trainer():
    spec = importlib.util.spec_from_file_location("train_emergency", ROOT / "eval" / "train_emergency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_is_reproducible(embedder):
    """Training twice on a small slice of the file gives the very same weights (fixed folds, lbfgs)."""
    trainer = _trainer()
    rows = trainer.load_examples(TRAIN_FILE)
    picked = rows[::25]
    assert {r["emergency"] for r in picked} == {True, False}
    assert any(r["category"] in ("suicide", "self_harm") and r["emergency"] for r in picked)
    vectors = embedder.encode([r["text"] for r in picked])
    first = trainer.train(picked, vectors)
    second = trainer.train(picked, embedder.encode([r["text"] for r in picked]))
    assert first.keys() == second.keys()
    for key in first:
        assert np.array_equal(first[key], second[key]), key
