"""Markdown articles: front matter, sections, bullets, references in front matter or a list."""

from pathlib import Path

import pytest

from rag.ingest import ArticleError, load_article, parse_article

FIXTURE = Path(__file__).parent / "fixtures" / "corpus"


def test_markdown_with_front_matter():
    a = load_article(FIXTURE / "neuro" / "myasthenia-gravis.md", FIXTURE)
    assert a.id == "neuro/myasthenia-gravis" and a.format == "markdown"
    assert a.title == "How is myasthenia gravis diagnosed?"
    assert a.date == "2025-01-20"
    assert a.answer.startswith("Myasthenia gravis is diagnosed from fatigable weakness")
    assert [s.heading for s in a.sections] == ["Antibody tests", "Electrodiagnosis", "Imaging"]
    first = a.sections[0].units
    assert (first[0].text, first[0].markers) == (
        "Acetylcholine receptor antibodies are found in about 85% of generalized myasthenia gravis", [1])
    assert first[1].markers == [1, 2]
    assert a.sections[1].units[0].text.startswith("Repetitive nerve stimulation at 3 Hz")
    assert [(r.type, r.journal, r.year) for r in a.references] == [
        ("Research", "The New England Journal of Medicine", 2016), ("Guideline", "Neurology", 2016)]


def test_markdown_without_references_and_with_a_reference_list():
    plain = parse_article(b"# What is a plain note?\n\nA plain note has no references.\n\n## Body\n\n- One point\n- Two point\n",
                          "x/plain", "markdown")
    assert plain.references == [] and [u.text for u in plain.sections[0].units] == ["One point", "Two point"]
    listed = parse_article(
        b"# Q?\n\nA.\n\n## Part\n\n- Claim 1\n\n## References\n\n1. Guideline: Some guideline title. Some Journal, 2019\n",
        "x/listed", "markdown")
    assert [(r.number, r.type, r.title, r.journal, r.year) for r in listed.references] == [
        (1, "Guideline", "Some guideline title", "Some Journal", 2019)]


def test_markdown_sub_bullets_and_sub_sections():
    a = parse_article(b"# Q?\n\nAnswer.\n\n## Top\n\n### Sub\n\n- Causes include:\n  - one\n  - two 2\n\n"
                      b"## References\n\n1. One. J, 2001\n2. Two. J, 2002\n", "x/sub", "markdown")
    assert a.sections[0].heading == "Top › Sub"
    assert (a.sections[0].units[0].text, a.sections[0].units[0].markers) == ("Causes include: one; two.", [2])


def test_broken_front_matter_is_a_clear_error():
    with pytest.raises(ArticleError, match="front matter"):
        parse_article(b"---\ndate: [unclosed\n---\n# T?\n\nA.\n", "x/bad", "markdown")
