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


# -- JSON Lines are split on "\n" only ---------------------------------------------------------------------
# JSON allows U+2028, U+2029 and U+0085 raw inside a string; str.splitlines() splits on them (and a real
# PubMedQA conclusion holds a U+2029), which cut a record in two. A trailing "\r" (Windows line ends) is dropped.
SEPARATORS = ["\u2029", "\u2028", "\u0085"]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_gold_line_with_a_unicode_separator_inside_a_string_loads(tmp_path, sep):
    import json

    f = tmp_path / "g.jsonl"
    rows = [{"id": "a", "question": "q?", "gold_article_ids": [], "gold_answer": f"first{sep}second"},
            {"id": "b", "question": f"two{sep}parts?", "gold_article_ids": []}]
    f.write_text("\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\r\n", encoding="utf-8")
    gold = load_gold(f)
    assert [(q.id, q.line) for q in gold] == [("a", 1), ("b", 2)]
    assert gold[0].gold_answer == f"first{sep}second" and gold[1].question == f"two{sep}parts?"


@pytest.mark.parametrize("sep", SEPARATORS)
def test_conversation_line_with_a_unicode_separator_loads(tmp_path, sep):
    import json

    f = tmp_path / "c.jsonl"
    conv = {"id": "c1", "turns": [{"question": f"what is it?{sep}", "gold_article_ids": ["x"]},
                                  {"question": "and then?", "gold_article_ids": ["x"]}]}
    f.write_text(json.dumps(conv, ensure_ascii=False) + "\n", encoding="utf-8")
    (c,) = load_conversations(f)
    assert c.turns[0].question == f"what is it?{sep}" and len(c.turns) == 2


@pytest.mark.parametrize("sep", SEPARATORS)
def test_jsonl_articles_with_a_unicode_separator_load(tmp_path, sep):
    import json

    from rag.ingest import load_articles
    from rag.ingest.jsonl import jsonl_text_lines

    assert jsonl_text_lines(f'{{"a": "x{sep}y"}}\r\n{{"b": 1}}\n') == [f'{{"a": "x{sep}y"}}', '{"b": 1}', ""]
    f = tmp_path / "bulk.jsonl"
    rows = [{"id": "one", "title": "What is one?", "answer": f"One is the first.{sep}It comes before two."},
            {"id": "two", "title": "What is two?", "text": "Two follows one."}]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    articles, skipped = load_articles(f, tmp_path)
    assert skipped == [] and [a.id for a in articles] == ["one", "two"]
    assert articles[1].path.endswith("bulk.jsonl:2")


EXTERNAL = ROOT / "eval" / "external"


@pytest.mark.parametrize("name, questions, articles", [("pubmedqa_dev", 500, 500), ("medquad_dev", 600, 987)])
def test_external_dev_sets_validate(name, questions, articles):
    """The copied external dev sets (development data, see eval/external/README.md) load whole, the
    PubMedQA line with a U+2029 in its gold answer included, and every gold article exists."""
    r = validate(EXTERNAL / name / "articles", EXTERNAL / name / "gold.jsonl")
    assert r.problems == []
    assert (r.counts["questions"], r.counts["articles"]) == (questions, articles)


def test_external_gold_files_match_the_checksums_in_their_readme():
    import hashlib
    import re

    readme = (EXTERNAL / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\| `(\w+/gold\.jsonl)` \| `([0-9a-f]{64})` \|", readme))
    assert set(listed) == {"pubmedqa_dev/gold.jsonl", "medquad_dev/gold.jsonl"}
    for rel, digest in listed.items():
        assert hashlib.sha256((EXTERNAL / rel).read_bytes()).hexdigest() == digest, rel
