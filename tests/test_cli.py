"""The `rag` command as a user runs it: real subprocesses, real exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "corpus"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def rag(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout)


@pytest.mark.parametrize("args", [[], ["index"], ["index", "build"], ["index", "add"], ["index", "remove"],
                                  ["index", "status"], ["index", "verify"], ["ask"], ["serve"], ["eval"],
                                  ["eval", "run"], ["eval", "validate"], ["eval", "compare"]])
def test_help_on_every_command(args):
    result = rag(*args, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_build_prints_a_summary_and_lists_skipped_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in FIXTURE.rglob("*.*"):
        (corpus / f.name).write_bytes(f.read_bytes())
    (corpus / "zero.txt").write_bytes(b"")
    (corpus / "blob.md").write_bytes(b"\x00\xff" * 100)
    result = rag("index", "build", "--corpus", str(corpus), "--index", str(tmp_path / "idx"))
    assert result.returncode == 0, result.stderr
    assert "3 articles" in result.stdout and "2 files skipped" in result.stdout
    assert "zero.txt: empty file" in result.stdout and "blob.md: binary file" in result.stdout
    assert "skipped:" in result.stderr  # warnings name the file as it happens
    assert "embedding chunks" in result.stderr  # the progress bar


def test_missing_corpus_and_missing_index_are_named(tmp_path):
    result = rag("index", "build", "--corpus", str(tmp_path / "absent"), "--index", str(tmp_path / "i"))
    assert result.returncode == 1 and "corpus folder not found" in result.stderr and "absent" in result.stderr
    result = rag("ask", "What is ALS?", "--index", str(tmp_path / "no-index"))
    assert result.returncode == 1 and "no-index" in result.stderr


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_exits_2(question, fixture_index):
    result = rag("ask", question, "--index", str(fixture_index))
    assert result.returncode == 2
    assert "question is empty" in result.stderr


def test_ask_json(fixture_index):
    result = rag("ask", "How is myasthenia gravis diagnosed?", "--index", str(fixture_index), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["abstained"] is False
    assert data["sources"][0]["article_id"] == "neuro/myasthenia-gravis"
    assert data["sources"][0]["kind"] == "article"
    assert any(s["kind"] == "reference" and s["year"] == 2016 for s in data["sources"])
    assert {c["source"] for c in data["citations"]} == {s["number"] for s in data["sources"]}
    assert data["hits"] and data["timings_ms"]["total"] > 0


def test_ask_text_and_huge_question_notice(fixture_index):
    result = rag("ask", "What is the first-line treatment for hypertension? " * 300, "--index", str(fixture_index))
    assert result.returncode == 0, result.stderr
    assert "notice:" in result.stderr and "first 2,000 tokens" in result.stderr
    assert "Sources:" in result.stdout and "[1]" in result.stdout


def test_bad_option_values_exit_2(fixture_index):
    assert rag("ask", "x?", "--index", str(fixture_index), "--audience", "robot").returncode == 2
    assert rag("ask", "x?", "--index", str(fixture_index), "--retriever", "magic").returncode == 2


def test_add_status_remove_verify(tmp_path):
    import shutil

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(FIXTURE, corpus)
    assert rag("index", "build", "--corpus", str(corpus), "--index", str(index)).returncode == 0
    new = tmp_path / "incoming" / "gbs.txt"
    new.parent.mkdir()
    new.write_bytes((FIXTURE.parents[2] / "corpus" / "neuromuscular" / "guillain-barre-syndrome.txt").read_bytes())
    added = rag("index", "add", str(new), "--corpus", str(corpus), "--index", str(index))
    assert added.returncode == 0, added.stderr
    assert "1 added, 0 changed, 0 removed" in added.stdout and "Added: gbs" in added.stdout
    assert (corpus / "gbs.txt").is_file()

    (corpus / "cardio" / "hypertension.txt").write_text("What changed?\n\nEverything changed here today.\n")
    status = rag("index", "status", "--corpus", str(corpus), "--index", str(index))
    assert status.returncode == 0 and "4 articles" in status.stdout
    assert "changed: cardio/hypertension" in status.stdout and "0 new, 1 changed, 0 removed" in status.stdout

    removed = rag("index", "remove", "gbs", "--corpus", str(corpus), "--index", str(index))
    assert removed.returncode == 0 and "Removed: gbs" in removed.stdout
    assert list((corpus / ".removed").rglob("gbs.txt")), "a removed article's file is kept, not deleted"
    assert rag("index", "remove", "no/such", "--corpus", str(corpus), "--index", str(index)).returncode == 1

    verify = rag("index", "verify", "--index", str(index))
    assert verify.returncode == 0 and "OK" in verify.stdout
    from rag.store import current_generation

    (current_generation(index) / "meta.sqlite").write_bytes(b"\0" * 4096)
    damaged = rag("index", "verify", "--index", str(index))
    assert damaged.returncode == 1 and "checksum differs" in damaged.stdout
