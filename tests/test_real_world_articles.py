"""Articles from the real world: pages without reference lists, references with impossible fields, JSONL
bulk files with bad lines, and corpus folders with links out of them and files no parser knows."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from rag.build import build_index
from rag.corpus import changes, corpus_files, load_corpus, parse_corpus
from rag.ingest import ArticleError, load_article, load_articles, parse_article
from rag.pipeline import Pipeline, marker_warnings
from rag.store import current_generation

FIXTURES = Path(__file__).parent / "fixtures"
NIH = FIXTURES / "nih"


class Ran:
    def __init__(self, result):
        self.returncode, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr


def rag(*args):
    """The real `rag` command in this process (typer's runner): the same code and exit codes as a
    subprocess, without paying for a new interpreter and torch import each time (tests/test_cli.py runs
    the command as a subprocess)."""
    from typer.testing import CliRunner

    from rag.cli import app

    return Ran(CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"}))


def units(article):
    return [(u.text, u.markers) for s in article.sections for u in s.units]


# -- numbers are data, not markers, unless the article has a reference list ------------------------------

def test_pages_without_references_keep_their_trailing_numbers():
    a = load_article(NIH / "hodgkin-lymphoma.md", NIH)
    assert a.references == [] and a.markers == set() and marker_warnings(a) == []
    got = units(a)
    assert ("It is most common in two age groups: early adulthood, between the ages of 20 and 29", []) in got
    assert ("Being in young adulthood, between the ages of 20 and 29", []) in got
    assert ("Having had infectious mononucleosis before age 15", []) in got
    assert ("Being older than 70", []) in got
    assert [t for t, _ in got if t.startswith("Stage")] == ["Stage 1", "Stage 2", "Stage 3", "Stage 4"]
    assert got[-1] == ("Most people with early disease are cured, and about 8 in 10 people are alive 5 years after "
                       "diagnosis", [])
    crd = load_article(NIH / "cone-rod-dystrophy.md", NIH)
    assert crd.title == "Cone-rod dystrophy 6"
    assert ("Loss of sharp central vision, often noticed between the ages of 10 and 12", []) in units(crd)
    assert units(crd)[-1] == ("It is thought to affect about 1 in 30", [])


def test_the_same_bullets_with_a_reference_list_are_cited():
    raw = (NIH / "hodgkin-lymphoma.md").read_bytes() + (
        b"\n## References\n\n1. Guideline: Hodgkin lymphoma treatment. Some Journal, 2020\n")
    a = parse_article(raw, "x/with-refs", "markdown")
    # 15 and 29 are not entries of a one-entry list: still text; a "1" would be a marker.
    assert ("Being in young adulthood, between the ages of 20 and 29", []) in units(a)
    assert ("Stage 1", []) in units(a), "'stage' takes its number even with references"
    cited = parse_article(raw.replace(b"Being older than 70", b"Being older than 70 1"), "x/cited", "markdown")
    assert ("Being older than 70", [1]) in units(cited)


def test_numbers_survive_into_the_index_and_the_answer(tmp_path, settings, embedder):
    report = build_index(NIH, tmp_path / "index", settings, embedder=embedder)
    assert report.articles == 2 and report.warnings == [] and report.skipped == []
    db = sqlite3.connect(current_generation(tmp_path / "index") / "meta.sqlite")
    texts = [r[0] for r in db.execute("SELECT text FROM chunks")]
    assert any("between the ages of 20 and 29" in t for t in texts)
    answer = Pipeline.open(settings, tmp_path / "index", embedder=embedder).ask(
        "At what age is adult Hodgkin lymphoma most common?")
    assert not answer.abstained and "20 and 29" in answer.text


# -- references are validated --------------------------------------------------------------------------

def jsonl_line(**fields):
    base = {"title": "What is a test article?", "answer": "A test article is one written for a test.",
            "sections": [{"heading": "Body", "bullets": ["A claim about the test 1"]}]}
    base.update(fields)
    return json.dumps(base)


@pytest.mark.parametrize("ref, reason", [
    ({"title": "T", "year": 10**30}, "year '10000000000000000000' is not a year from 1800"),
    ({"title": "T", "year": 1066}, "year '1066' is not a year from 1800"),
    ({"title": "T", "year": 9999}, "year '9999'"),
    ({"title": ["a", "list"]}, "'title' must be text, not list"),
    ({"title": "T", "journal": {"an": "object"}}, "'journal' must be text, not dict"),
    ({"title": "T", "type": 7}, "'type' must be text, not int"),
    ("just a string", "reference 1: must be an object"),
])
def test_impossible_reference_fields_are_refused(ref, reason):
    from rag.ingest.jsonl import parse_jsonl_line

    with pytest.raises(ArticleError, match="reference 1") as err:
        parse_jsonl_line(jsonl_line(references=[ref]), "bulk", 1, "bulk.jsonl")
    assert reason in str(err.value)


def test_a_huge_reference_year_skips_that_article_and_builds_the_rest(tmp_path, settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    (corpus / "bulk.jsonl").write_text(
        jsonl_line(id="bulk/good", references=[{"title": "Fine", "journal": "J", "year": 2020}]) + "\n"
        + jsonl_line(id="bulk/huge-year", references=[{"title": "Bad", "year": 99999999999999999999999}]) + "\n")
    (corpus / "front.md").write_text("---\nreferences:\n  - {title: Bad, journal: J, year: 123456789012345678901234}\n"
                                     "---\n# What is front matter?\n\nFront matter is data at the top.\n\n## Body\n\n"
                                     "- A claim 1\n")
    report = build_index(corpus, tmp_path / "index", settings, embedder=embedder)
    assert report.articles == 4
    why = {Path(s.path).name: s.reason for s in report.skipped}
    assert why["bulk.jsonl:2"].startswith("reference 1: year '99999999999999999999' is not a year")
    assert why["front.md"].startswith("reference 1: year '12345678901234567890' is not a year")


# -- JSONL: limits per line, bad lines skipped with their number ---------------------------------------

def test_jsonl_limits_apply_per_line_not_per_file(tmp_path):
    line = jsonl_line(references=[{"title": "R", "journal": "J", "year": 2020}], text="Padding sentence here. " * 150)
    n = 3_200_000 // len(line) + 50  # over the 2 MB limit of one article, made of small articles
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(jsonl_line(id=f"big/a{i}", text=f"Article {i}. " + "Padding sentence here. " * 150)
                              for i in range(n)) + "\n")
    assert path.stat().st_size > 3_000_000
    articles, skipped = load_articles(path, tmp_path)
    assert skipped == [] and len(articles) == n


def test_jsonl_bad_lines_are_skipped_one_by_one_with_their_numbers(tmp_path):
    lines = [
        jsonl_line(id="ok/first"),
        jsonl_line(id="ok/nul").replace("test article", "test\\u0000article").encode().replace(b"\\u0000", b"\x00"),
        jsonl_line(sections=[{"heading": "H", "bullets": "abc"}]),
        jsonl_line(sections=[{"heading": {"an": "object"}, "bullets": ["x"]}]),
        jsonl_line(sections=[{"heading": "H", "bullets": [{"not": "a string"}]}]),
        jsonl_line(answer=["a", "list"]),
        jsonl_line(id="../../etc/passwd"),
        jsonl_line(id="/etc/passwd"),
        jsonl_line(id="a/../../b"),
        jsonl_line(title=42),
        b"\xff\xfe not utf-8",
        json.dumps({"title": "Too long?", "text": "x" * 500}),
        jsonl_line(id="ok/last"),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n")
    articles, skipped = load_articles(path, tmp_path, max_bytes=400)
    assert [a.id for a in articles] == ["ok/first", "ok/last"]
    why = {int(s.path.rsplit(":", 1)[1]): s.reason for s in skipped}
    assert why[2] == "binary line (contains NUL bytes)"
    assert why[3] == "section 1: 'bullets' must be a list of strings"
    assert why[4] == "section 1: 'heading' must be a string, not dict"
    assert why[5] == "section 1: 'bullets' must be a list of strings"
    assert why[6] == "'answer' must be a string, not list"
    for n in (7, 8, 9):
        assert why[n].startswith("id ") and "no '..', no leading '/'" in why[n]
    assert why[10] == "'title' must be a string, not int"
    assert why[11].startswith("not UTF-8")
    assert why[12].startswith("line is ") and "over the 400-byte limit" in why[12]
    assert sorted(why) == list(range(2, 13))


# -- the corpus folder: links out, unknown files, status that agrees with the build ---------------------

def test_links_out_of_the_corpus_and_unknown_files_are_refused_by_name(tmp_path, settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("What is the secret?\n\nThe secret word is xylophonic-walrus.\n\nBody\n\n• It is secret\n")
    (corpus / "leak.txt").symlink_to(secret)
    (corpus / "leakdir").symlink_to(secret.parent)
    (corpus / "inside-link.txt").symlink_to(corpus / "cardio" / "hypertension.txt")
    (corpus / "notes.pdf").write_bytes(b"%PDF-1.4")
    (corpus / "Makefile").write_text("all:\n")
    files, skipped = corpus_files(corpus)
    why = {Path(s.path).name: s.reason for s in skipped}
    assert why["leak.txt"] == "symbolic link to a file outside the corpus: refused"
    assert why["leakdir"] == "symbolic link to a folder outside the corpus: refused"
    assert why["notes.pdf"].startswith("not an article file: unknown extension '.pdf'")
    assert why["Makefile"].startswith("not an article file: unknown extension '(none)'")
    assert corpus / "inside-link.txt" in files, "a link that stays inside the corpus is an ordinary file"
    report = build_index(corpus, tmp_path / "index", settings, embedder=embedder)
    assert report.articles == 3 and any("the same article as" in w for w in report.warnings)
    db = sqlite3.connect(current_generation(tmp_path / "index") / "meta.sqlite")
    assert not [r for r in db.execute("SELECT text FROM chunks") if "xylophonic" in r[0]]


def test_status_agrees_with_the_build_for_jsonl_and_skipped_files(tmp_path, settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    shutil.copy(FIXTURES / "formats" / "bulk.jsonl", corpus / "bulk.jsonl")  # 2 good lines, 2 bad
    (corpus / "empty.txt").write_bytes(b"")
    build_index(corpus, tmp_path / "index", settings, embedder=embedder)
    articles, skipped, _ = parse_corpus(corpus)
    manifest = json.loads((current_generation(tmp_path / "index") / "manifest.json").read_text())
    assert not changes(articles, manifest["articles"]) and len(skipped) == 3
    status = rag("index", "status", "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert status.returncode == 0, status.stderr
    assert "0 new, 0 changed, 0 removed since the build; 3 skipped" in status.stdout
    assert "new:" not in status.stdout and "removed:" not in status.stdout
    assert "skipped: " in status.stdout and "empty.txt: empty file" in status.stdout


def test_remove_takes_jsonl_articles_and_refuses_ids_outside_the_corpus(tmp_path, settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    (corpus / "bulk.jsonl").write_text("\n".join([jsonl_line(id="bulk/one"), jsonl_line(title="What is two?"),
                                                  jsonl_line(title="What is three?")]) + "\n")
    outside = tmp_path / "outside.txt"
    outside.write_bytes((FIXTURES / "corpus" / "cardio" / "hypertension.txt").read_bytes())
    index = tmp_path / "index"
    build_index(corpus, index, settings, embedder=embedder)

    refused = rag("index", "remove", "../outside", "--corpus", str(corpus), "--index", str(index))
    assert refused.returncode == 2 and "only articles inside" in refused.stderr
    assert outside.is_file() and not (corpus / ".removed").exists()
    assert rag("index", "remove", "/etc/passwd", "--corpus", str(corpus), "--index", str(index)).returncode == 2

    removed = rag("index", "remove", "bulk/2", "--corpus", str(corpus), "--index", str(index))
    assert removed.returncode == 0, removed.stderr
    assert "Moved 0 file(s) and 1 JSONL line(s) to" in removed.stdout and "Removed: bulk/2" in removed.stdout
    trash = next((corpus / ".removed").iterdir())
    assert str(trash) in removed.stdout
    assert json.loads((trash / "bulk.jsonl").read_text())["title"] == "What is two?"
    articles, _ = load_corpus(corpus)
    assert {"bulk/one", "bulk/3"} <= {a.id for a in articles} and "bulk/2" not in {a.id for a in articles}


def test_index_add_refuses_links_out_of_the_folder(tmp_path):
    corpus, incoming = tmp_path / "corpus", tmp_path / "incoming"
    shutil.copytree(FIXTURES / "corpus", corpus)
    incoming.mkdir()
    (incoming / "passwd.txt").symlink_to("/etc/passwd")
    (incoming / "link.txt").symlink_to(FIXTURES / "nih" / "hodgkin-lymphoma.md")
    direct = rag("index", "add", str(incoming / "link.txt"), "--corpus", str(corpus), "--index", str(tmp_path / "i"))
    assert direct.returncode == 2 and "is a symbolic link" in direct.stderr
    shutil.copy(NIH / "cone-rod-dystrophy.md", incoming / "crd.md")
    folder = rag("index", "add", str(incoming), "--corpus", str(corpus), "--index", str(tmp_path / "i"))
    assert folder.returncode == 0, folder.stderr
    assert "passwd.txt: symbolic link to a file outside the corpus: refused" in folder.stderr
    assert (corpus / "crd.md").is_file() and not (corpus / "passwd.txt").exists()
    assert not (corpus / "link.txt").exists()
