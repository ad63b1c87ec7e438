"""The shipped gold set and conversations, and the validator's handling of bad gold files."""

from collections import Counter
from pathlib import Path

import pytest

from rag.gold import GoldError, load_conversations, load_gold, validate
from rag.corpus import load_corpus
from rag.text import terms

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold.jsonl"
CONVERSATIONS = ROOT / "eval" / "conversations.jsonl"


@pytest.fixture(scope="module")
def report():
    return validate(ROOT / "corpus", GOLD, CONVERSATIONS, strict=True)


def test_shipped_gold_and_conversations_validate_strictly(report):
    assert report.problems == []


def test_shipped_gold_meets_its_size_and_mix(report):
    c = report.counts
    assert c["questions"] >= 300 and c["unanswerable"] >= 40 and c["yes_no"] >= 60
    assert c["multi_article"] >= 10
    assert all(c["by_type"].get(t, 0) >= 10 for t in ("diagnosis", "treatment", "comparison", "cause", "symptoms"))
    assert c["conversations"] >= 60


def test_yes_no_decisions_are_balanced_enough():
    decisions = Counter(q.decision for q in load_gold(GOLD) if q.type == "yes_no")
    assert decisions["yes"] >= 20 and decisions["no"] >= 20


def test_conversations_have_three_to_five_turns_and_topic_switches():
    convs = load_conversations(CONVERSATIONS)
    assert all(3 <= len(c.turns) <= 5 for c in convs)
    switches = sum(
        any(set(t.gold_article_ids).isdisjoint(prev.gold_article_ids) and t.gold_article_ids and prev.gold_article_ids
            and t.gold_article_ids[0].split("/")[0] != prev.gold_article_ids[0].split("/")[0]
            for prev, t in zip(c.turns, c.turns[1:]))
        for c in convs
    )
    assert switches >= 12, "conversations must include topic switches to another field"


def test_at_most_a_third_of_questions_repeat_a_title():
    titles = [set(terms(a.title)) for a in load_corpus(ROOT / "corpus")[0]]
    gold = load_gold(GOLD)

    def close(q: str) -> bool:
        t = set(terms(q))
        return any(t and len(t & s) / len(t | s) >= 0.75 for s in titles)

    assert sum(close(q.question) for q in gold) <= len(gold) / 3


def test_ids_are_unique_across_files():
    ids = [q.id for q in load_gold(GOLD)] + [c.id for c in load_conversations(CONVERSATIONS)]
    assert len(ids) == len(set(ids))


def test_malformed_line_is_an_error_naming_the_line(tmp_path):
    f = tmp_path / "g.jsonl"
    f.write_text('{"id": "a", "question": "q?", "gold_article_ids": []}\n{"id": "b", "question": \n')
    with pytest.raises(GoldError, match=r"g.jsonl:2: not valid JSON"):
        load_gold(f)


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ('{"id": "a", "gold_article_ids": []}\n', "missing required field 'question'"),
    ('[1, 2]\n', "must be a JSON object"),
    ('{"id": "a", "question": "q", "gold_article_ids": [], "decision": "perhaps"}\n', "'decision' must be one of"),
    ('{"id": "a", "question": "q", "gold_article_ids": "x"}\n', "must be a list of strings"),
])
def test_bad_gold_files_are_clear_errors(tmp_path, content, message):
    f = tmp_path / "g.jsonl"
    f.write_text(content)
    with pytest.raises(GoldError, match=message):
        load_gold(f)


def test_unknown_article_and_missing_fact_are_reported_not_raised(tmp_path):
    f = tmp_path / "g.jsonl"
    f.write_text(
        '{"id": "a", "question": "q?", "gold_article_ids": ["no/such-article"]}\n'
        '{"id": "b", "question": "q?", "gold_article_ids": ["neuro/als-overview"], "key_facts": ["TDP-43", "unicorn horn"]}\n'
    )
    r = validate(ROOT / "tests" / "fixtures" / "corpus", f)
    assert r.problems == [
        f"{f}:1 (a): gold article 'no/such-article' is not in the corpus",
        f"{f}:2 (b): key fact 'unicorn horn' is not found in neuro/als-overview",
    ]
