"""Batch evaluation: metric definitions, the `rag eval` command on a user's own Markdown corpus, report
comparison, bad gold files, and a regression gate on a fixed subset of the shipped gold set."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.documents import Answer, Chunk, Hit
from rag.evaluate import (Result, abstention_metrics, answer_metrics, chunk_token_f1, metrics, retrieval_metrics,
                          rouge_l, run_conversations, run_gold, token_f1, verdict_metrics, verdict_of)
from rag.gold import load_conversations, load_gold

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
ANSWER_KEYS = {"key_fact_recall", "token_f1", "top_chunk_token_f1", "best_chunk_token_f1", "rouge_l",
               "yes_no_accuracy", "verdict_coverage", "verdict_precision", "wrong_verdict_rate"}
METRIC_KEYS = {"retrieval", "answer", "citations", "abstention", "followups", "latency_ms", "n_questions",
               "n_conversations", "by_type"}


def rag(*args):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=ENV,
                          timeout=600)


def result(ranked, gold, answerable=True, abstained=False, **kw):
    base = dict(id="x", question="q", type=None, answerable=answerable, gold_article_ids=gold, key_facts=None,
                gold_answer=None, decision=None, ranked_articles=ranked, cited_articles=[], abstained=abstained,
                answer_text="", answer_body="", latency_ms=1.0)
    return Result(**(base | kw))


def test_text_overlap_scores():
    assert token_f1("the cat sat", "the cat sat") == 1.0
    assert token_f1("cat", "dog") == 0.0
    assert token_f1("a b c d", "a b") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert rouge_l("a b c d", "a c d") == pytest.approx(2 * 0.75 * 1.0 / 1.75)
    assert rouge_l("", "a") == 0.0


def test_retrieval_metrics_are_article_level():
    rs = [result(["a", "b", "c"], ["a"]), result(["b", "a"], ["a"]), result(["c", "d"], ["a"]),
          result(["b", "x"], ["x", "b"]), result([], [], answerable=False)]
    m = retrieval_metrics(rs)
    assert m["recall@1"] == 0.5 and m["recall@3"] == 0.75 and m["recall@10"] == 0.75
    assert m["mrr@10"] == pytest.approx((1 + 0.5 + 0 + 1) / 4, abs=1e-4)
    assert m["ndcg@10"] == pytest.approx((1 + 0.6309 + 0 + 1) / 4, abs=1e-3)


def test_absent_fields_give_null_metrics_not_guesses():
    rs = [result(["a"], ["a"])]
    assert answer_metrics(rs) == dict.fromkeys(ANSWER_KEYS)
    assert abstention_metrics(rs)["precision"] is None and abstention_metrics(rs)["recall"] is None
    assert abstention_metrics(rs)["false_abstention_rate"] == 0.0
    assert retrieval_metrics([result([], [], answerable=False)])["recall@1"] is None


def hand_answer(chunk_texts=(), verdict=None, abstained=False):
    """An Answer as the pipeline returns it, made by hand: its hits carry the given chunk texts, best first."""
    hits = [Hit(Chunk(i, f"a{i}", 0, "body", "T", "S", text), score=1.0 / (i + 1), dense=0.5)
            for i, text in enumerate(chunk_texts)]
    return Answer("q?", "q?", "clinician", "text", "direct", [], [], [], hits, abstained, verdict=verdict)


def test_verdict_of_reads_the_answer_verdict_and_nothing_when_abstaining():
    assert verdict_of(hand_answer(verdict="Yes")) == "Yes"
    assert verdict_of(hand_answer(verdict="It depends")) == "It depends"
    assert verdict_of(hand_answer()) is None
    assert verdict_of(hand_answer(verdict="No", abstained=True)) is None


def test_verdict_metrics():
    rs = [result([], [], decision="yes", verdict="Yes", polarity="yes"),   # right
          result([], [], decision="yes", verdict="No", polarity="no"),     # opposite of gold
          result([], [], decision="no", verdict="No", polarity="no"),      # right
          result([], [], decision="no", verdict="It depends"),             # no side taken: not covered
          result([], [], decision="yes", verdict=None, polarity="yes"),    # "Yes" only in the direct line
          result([], [], decision="maybe", verdict="Yes"),                 # maybe: not scored
          result([], [], decision=None, verdict="No")]                     # not a yes/no question
    m = verdict_metrics(rs)
    assert m["verdict_coverage"] == 0.6  # 3 of the 5 yes/no questions open with Yes or No
    assert m["verdict_precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["wrong_verdict_rate"] == 0.2  # over all 5, not only the covered ones
    assert answer_metrics(rs)["yes_no_accuracy"] == 0.6  # unchanged definition: polarity, direct line included
    none_covered = verdict_metrics([result([], [], decision="no", verdict=None)])
    assert none_covered == {"verdict_coverage": 0.0, "verdict_precision": None, "wrong_verdict_rate": 0.0}
    assert verdict_metrics([result([], [])]) == dict.fromkeys(("verdict_coverage", "verdict_precision",
                                                               "wrong_verdict_rate"))


def test_chunk_token_f1_scores_the_top_and_the_best_retrieved_chunk():
    gold = "colchicine treats gout"
    top, best = chunk_token_f1(hand_answer(["allopurinol prevents gout", "colchicine treats gout", "shingles"]), gold)
    assert top == pytest.approx(token_f1("allopurinol prevents gout", gold)) == pytest.approx(1 / 3)
    assert best == 1.0
    assert chunk_token_f1(hand_answer(["colchicine treats gout"], abstained=True), gold) == (1.0, 1.0)
    assert chunk_token_f1(hand_answer([]), gold) == (0.0, 0.0)


def test_chunk_f1_metrics_average_over_the_questions_token_f1_uses():
    rs = [result(["a"], ["a"], gold_answer="x y", answer_body="x y", top_chunk_f1=0.5, best_chunk_f1=1.0),
          result(["a"], ["a"], gold_answer="x y", answer_body="", abstained=True, top_chunk_f1=0.0, best_chunk_f1=0.5),
          result(["a"], ["a"], top_chunk_f1=None, best_chunk_f1=None),            # no gold answer: left out
          result([], [], answerable=False, gold_answer="x", top_chunk_f1=1.0, best_chunk_f1=1.0)]  # unanswerable
    m = answer_metrics(rs)
    assert (m["token_f1"], m["top_chunk_token_f1"], m["best_chunk_token_f1"]) == (0.5, 0.25, 0.75)


def test_abstention_metrics():
    rs = [result([], [], answerable=False, abstained=True), result([], [], answerable=False, abstained=False),
          result(["a"], ["a"], abstained=True), result(["a"], ["a"]), result(["a"], ["a"])]
    m = abstention_metrics(rs)
    assert (m["precision"], m["recall"], m["f1"]) == (0.5, 0.5, 0.5)
    assert m["false_abstention_rate"] == pytest.approx(1 / 3, abs=1e-4)


@pytest.fixture(scope="module")
def user_corpus(tmp_path_factory):
    """A user's own library: Markdown articles without reference lists, and a gold file with only the
    required fields (plus one unknown article id)."""
    root = tmp_path_factory.mktemp("user")
    corpus = root / "notes"
    corpus.mkdir()
    (corpus / "gout.md").write_text(
        "# How is an acute gout flare treated?\n\nAn acute gout flare is treated with an NSAID, colchicine or a "
        "corticosteroid, started as early as possible.\n\n## Options\n\n- Low-dose colchicine works best when "
        "started within 36 hours of the flare\n- Oral prednisolone suits people who cannot take NSAIDs\n\n"
        "## Later\n\n- Urate-lowering therapy such as allopurinol prevents further flares\n")
    (corpus / "shingles.md").write_text(
        "# What is shingles?\n\nShingles is a painful rash caused by reactivation of the varicella-zoster virus.\n\n"
        "## Features\n\n- The rash follows a single dermatome on one side of the body\n- Antiviral treatment within "
        "72 hours shortens the illness\n")
    gold = root / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(o) for o in [
        {"id": "g1", "question": "what do you give for a gout attack?", "gold_article_ids": ["gout"]},
        {"id": "g2", "question": "which virus causes shingles", "gold_article_ids": ["shingles"]},
        {"id": "g3", "question": "allopurinol for gout?", "gold_article_ids": ["gout", "missing/article"]},
    ]) + "\n")
    index = root / "index"
    assert rag("index", "build", "--corpus", str(corpus), "--index", str(index)).returncode == 0
    return root, gold, index


def test_rag_eval_on_a_markdown_corpus_with_minimal_gold(user_corpus):
    root, gold, index = user_corpus
    out = root / "report"
    run = rag("eval", str(gold), "--index", str(index), "--out", str(out))
    assert run.returncode == 0, run.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == METRIC_KEYS
    assert set(m["retrieval"]) == {"recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
    assert set(m["answer"]) == ANSWER_KEYS
    assert set(m["citations"]) == {"precision", "source_recall"}
    assert set(m["abstention"]) == {"precision", "recall", "f1", "false_abstention_rate"}
    assert set(m["followups"]) == {"recall@5_first_turn", "recall@5_followup", "key_fact_recall_followup"}
    assert m["retrieval"]["recall@1"] == 1.0 and m["n_questions"] == 3 and m["n_conversations"] == 0
    assert m["answer"] == dict.fromkeys(ANSWER_KEYS)
    assert m["abstention"]["recall"] is None and m["followups"]["recall@5_followup"] is None
    assert m["citations"]["precision"] == 1.0
    assert set(m["by_type"]) == {"unknown"}
    report = (out / "report.md").read_text()
    assert "`missing/article`" in report and "## Retrievers side by side" in report
    assert "| hybrid | dense | bm25 |" in report
    for png in ("recall_at_k.png", "latency_hist.png", "by_type.png"):
        assert (out / png).stat().st_size > 1000
    page = (out / "report.html").read_text()
    assert page.count("src='data:image/png;base64,") == 3 and "<table>" in page and "<h2>Headline</h2>" in page
    assert "<code>missing/article</code>" in page and "report.html" in run.stdout
    assert "gold article id not in the index: missing/article" in run.stderr


def test_rag_eval_compare_prints_deltas(user_corpus, tmp_path):
    root, gold, index = user_corpus
    a = json.loads((root / "report" / "metrics.json").read_text())
    b = json.loads(json.dumps(a))
    b["retrieval"]["recall@1"] = 0.5
    (tmp_path / "b.json").write_text(json.dumps(b))
    run = rag("eval", "compare", str(root / "report"), str(tmp_path / "b.json"))
    assert run.returncode == 0, run.stderr
    line = next(l for l in run.stdout.splitlines() if l.startswith("retrieval.recall@1 "))
    assert line.split()[1:] == ["1.000", "0.500", "-0.500"]


@pytest.mark.parametrize("content, message", [
    ('{"id": "a", "question": "q", "gold_article_ids": []}\nnot json\n', "gold.jsonl:2: not valid JSON"),
    ("", "is empty"),
])
def test_rag_eval_bad_gold_files(user_corpus, tmp_path, content, message):
    _, _, index = user_corpus
    bad = tmp_path / "gold.jsonl"
    bad.write_text(content)
    run = rag("eval", str(bad), "--index", str(index), "--out", str(tmp_path / "r"))
    assert run.returncode == 1 and message in run.stderr


# Regression gate on a fixed subset of the shipped gold set: every 4th question (80, of which 8
# unanswerable and 23 yes/no) and every 4th conversation (16), hybrid retriever, real index of the shipped
# corpus. Measured on 2026-11-24 (focus-based yes/no verdicts, abstention on words the library never uses):
# recall@1 0.903, recall@5 0.972, mrr@10 0.940, key_fact_recall 0.803, yes_no_accuracy 0.870, citation
# precision 1.000, source_recall 0.931, abstention f1 0.842, false_abstention_rate 0.042,
# recall@5_followup 1.000 (0.519 when follow-ups are asked alone), key_fact_recall_followup 0.619.
# Thresholds are those values minus a margin of about 0.05 (0.01 for citation precision, which must stay
# exact; 0.10 for abstention f1, which rests on 8 questions; +0.06 for the false abstention rate).
# Retrieval is deterministic, so a drop past a threshold is a real regression, not noise. Raise them when
# a change raises the measured values.
# 2026-12-07 (issue 12: a verdict only when the learned model is confident and the quoted sentence says
# the same): yes_no_accuracy 0.391 with verdict_coverage 0.348, verdict_precision 0.875 and
# wrong_verdict_rate 0.043 on this subset; key facts 0.803, abstention f1 0.889. The yes/no gate moved from accuracy alone to accuracy, precision and the
# share of wrong first lines (a wrong "Yes"/"No" is the failure that matters).
THRESHOLDS = {
    ("retrieval", "recall@1"): 0.85,
    ("retrieval", "recall@5"): 0.93,
    ("retrieval", "mrr@10"): 0.89,
    ("answer", "key_fact_recall"): 0.75,
    ("answer", "yes_no_accuracy"): 0.34,
    ("answer", "verdict_precision"): 0.80,
    ("citations", "precision"): 0.99,
    ("citations", "source_recall"): 0.88,
    ("abstention", "f1"): 0.74,
    ("followups", "recall@5_followup"): 0.95,
    ("followups", "key_fact_recall_followup"): 0.57,
}
MAX_FALSE_ABSTENTION = 0.10
MAX_WRONG_VERDICT = 0.10


@pytest.fixture(scope="module")
def subset_metrics(shipped):
    gold = load_gold(ROOT / "eval" / "gold.jsonl")[::4]
    convs = load_conversations(ROOT / "eval" / "conversations.jsonl")[::4]
    return metrics(run_gold(shipped, gold), run_conversations(shipped, convs))


@pytest.mark.parametrize("group, name", list(THRESHOLDS))
def test_no_regression_on_the_gold_subset(subset_metrics, group, name):
    value = subset_metrics[group][name]
    assert value is not None and value >= THRESHOLDS[(group, name)], f"{group}.{name} = {value}"


def test_wrong_first_lines_stay_rare(subset_metrics):
    assert subset_metrics["answer"]["wrong_verdict_rate"] <= MAX_WRONG_VERDICT


def test_no_regression_in_false_abstention(subset_metrics):
    assert subset_metrics["abstention"]["false_abstention_rate"] <= MAX_FALSE_ABSTENTION
    assert subset_metrics["n_questions"] == 80 and subset_metrics["n_conversations"] == 16


def test_html_report_is_one_escaped_file_with_the_worst_answers_and_their_passages(tmp_path):
    """Gold questions and articles are user data: whatever markup they hold is shown, never run."""
    from rag.report import html_report

    bad = result(["a"], ["b"], id="q<1>", question="is <script>alert(1)</script> safe?",
                 answer_text="No, it is not [1].\nFor information only.", key_facts=["x & y"],
                 cited=[{"source": 1, "article_id": "neuro/<b>", "quote": "A <img src=x onerror=alert(1)> quote"}])
    page = html_report(["# Evaluation report", "", "Gold file `<gold>.jsonl`", "", "| metric | value |", "|---|---|",
                        "| a<b | 1 |"], tmp_path, [], [bad])
    assert "<script>" not in page and "<img src=x" not in page and "neuro/<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "A &lt;img src=x onerror=alert(1)&gt; quote" in page
    assert "No, it is not [1]." in page and "neuro/&lt;b&gt;" in page and "<td>a&lt;b</td>" in page
    assert "<code>&lt;gold&gt;.jsonl</code>" in page and "x &amp; y" in page
