"""Reading questions: types, comparison parts, emergencies."""

from pathlib import Path

import pytest

from rag.gold import load_gold
from rag.questions import comparison_parts, is_emergency, is_yes_no, question_type

GOLD = Path(__file__).resolve().parents[1] / "eval" / "gold.jsonl"


@pytest.mark.parametrize("question, qtype", [
    ("Is ALS a form of muscular dystrophy?", "yes_no"),
    ("What is the difference between GBS and CIDP?", "comparison"),
    ("PLS vs PMA?", "comparison"),
    ("How is myasthenia gravis diagnosed?", "diagnosis"),
    ("What is the first-line treatment for migraine?", "treatment"),
    ("What causes Duchenne muscular dystrophy?", "cause"),
    ("What is the prognosis of ALS?", "prognosis"),
    ("How common is essential tremor?", "epidemiology"),
    ("What are the symptoms of Kawasaki disease?", "symptoms"),
    ("What is inclusion body myositis?", "definition"),
])
def test_question_types(question, qtype):
    assert question_type(question) == qtype


def test_type_detection_on_the_gold_set():
    """Measured 2026-11-24: 0.71 of gold types matched (many treatment questions are asked as yes/no);
    every yes/no question is recognised as one."""
    gold = load_gold(GOLD)
    assert sum(question_type(q.question) == q.type for q in gold) / len(gold) >= 0.66
    yes_no = [q for q in gold if q.type == "yes_no"]
    assert all(question_type(q.question) == "yes_no" for q in yes_no)


@pytest.mark.parametrize("question, parts", [
    ("What is the difference between Duchenne and Becker muscular dystrophy?", ("Duchenne", "Becker muscular dystrophy")),
    ("MG vs LEMS?", ("MG", "LEMS")),
    ("warfarin versus DOACs for AF - which is better?", ("warfarin", "DOACs for AF")),
    ("Is PLS the same as ALS?", ("PLS", "ALS")),
    ("How is myasthenia gravis diagnosed?", None),
])
def test_comparison_parts(question, parts):
    assert comparison_parts(question) == parts


@pytest.mark.parametrize("question, urgent", [
    ("my dad has crushing chest pain right now", True),
    ("her face is drooping and her speech is slurred", True),
    ("I think my friend took an overdose of paracetamol", True),
    ("I keep having suicidal thoughts", True),
    ("He collapsed after using fentanyl and is barely breathing", True),
    ("How is myasthenia gravis diagnosed?", False),
    ("What is the first-line treatment for hypertension?", False),
])
def test_emergencies(question, urgent):
    assert is_emergency(question) is urgent


@pytest.mark.parametrize("question, expected", [
    ("Is ALS a form of muscular dystrophy?", True),
    ("does leuprorelin work for kennedys disease?", True),
    ("if me and my husband are both SMA carriers, could our kid get it?", True),
    ("Dad scored normal on the memory test, so he can't have dementia right?", True),
    ("My sister is a carrier - does she need her heart checked?", True),
    ("What is the first-line treatment for hypertension?", False),
    ("How is myasthenia gravis diagnosed?", False),
    ("ALS survival?", False),
])
def test_yes_no_questions_are_recognised(question, expected):
    assert is_yes_no(question) is expected
