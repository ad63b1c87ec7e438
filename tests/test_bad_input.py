"""Bad input gets a clear error and loses nothing."""

import shutil
from pathlib import Path

import pytest

from rag.chunking import count_tokens
from rag.corpus import load_corpus
from rag.ingest import ArticleError, parse_article
from rag.pipeline import QuestionError, build_index, clean_question

FIXTURE = Path(__file__).parent / "fixtures" / "corpus"


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "empty file"),
        (b"   \n\n  \t\n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (b"Title?\n\nAnswer \xff\xfe here.\n", "not UTF-8"),
        (b"\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f" * 4, "binary"),
    ],
)
def test_unreadable_articles_raise_a_named_error(raw, reason):
    with pytest.raises(ArticleError, match=reason):
        parse_article(raw, "x/bad")


def test_a_title_alone_is_not_an_article():
    with pytest.raises(ArticleError, match="no body text"):
        parse_article(b"Just a title line?\n\n\n", "x/title-only")


def test_bad_files_are_skipped_with_their_names_and_the_build_goes_on(tmp_path, settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE, corpus)
    (corpus / "broken").mkdir()
    (corpus / "broken" / "empty.txt").write_bytes(b"")
    (corpus / "broken" / "image.txt").write_bytes(b"\x00\x01binary\x00" * 50)
    (corpus / "broken" / "latin1.md").write_bytes("# Caf\xe9?\n".encode("latin-1"))
    articles, skipped = load_corpus(corpus)
    assert len(articles) == 3
    assert sorted((Path(s.path).name, s.reason.split(" (")[0]) for s in skipped) == [
        ("empty.txt", "empty file"), ("image.txt", "binary file"), ("latin1.md", "not UTF-8 text")]
    report = build_index(corpus, tmp_path / "index", settings, embedder=embedder)
    assert report.articles == 3 and len(report.skipped) == 3


def test_missing_corpus_is_an_error_naming_it(tmp_path, settings, embedder):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        build_index(tmp_path / "nope", tmp_path / "index", settings, embedder=embedder)


@pytest.mark.parametrize("question", ["", "   ", "\n\t ", "\x00\x01"])
def test_empty_question_is_refused(question):
    with pytest.raises(QuestionError, match="empty"):
        clean_question(question, 2000)


def test_huge_question_is_truncated_with_a_notice():
    question = "Is ALS a form of muscular dystrophy? " * 400
    text, notices = clean_question(question, 2000)
    assert count_tokens(text) <= 2000
    assert len(notices) == 1 and "only its first 2,000 tokens were used" in notices[0]


def test_a_question_over_the_byte_limit_is_refused_before_tokenising():
    with pytest.raises(QuestionError, match="40,001 bytes long; the limit is 32,000 bytes"):
        clean_question("x" * 40_001, 2000, 32_000)
    # Bytes, not characters: 11,000 three-byte characters are 33,000 bytes.
    with pytest.raises(QuestionError, match="33,000 bytes"):
        clean_question("€" * 11_000, 2000, 32_000)
