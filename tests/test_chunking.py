"""Chunks: token-bounded, whole sentences, carry their context and references."""

from pathlib import Path

import pytest

from rag.chunking import Chunker, ChunkerSettings, chunk_id, count_tokens
from rag.documents import Article, Reference, Section, Unit
from rag.ingest import load_article
from rag.text import split_sentences

FIXTURE = Path(__file__).parent / "fixtures" / "corpus"


def long_article(n_bullets: int = 40) -> Article:
    bullets = [
        Unit(f"Finding number {i} is described in one sentence. It has a second sentence about detail {i}.", [1 + i % 2])
        for i in range(n_bullets)
    ]
    return Article("t/long", "What does a long article look like?", "It is long.",
                   [Section("Findings", bullets)], [Reference(1, "Guideline", "G", "J", 2020), Reference(2, "Research", "R", "J", 2021)])


@pytest.mark.parametrize("budget", [64, 120, 200])
def test_every_chunk_fits_the_budget_including_its_context(budget):
    chunks = Chunker(ChunkerSettings(max_tokens=budget)).chunk(long_article())
    assert len(chunks) > 3
    for c in chunks:
        assert count_tokens(c.embed_text) <= budget + 1


def test_no_sentence_is_cut_when_it_fits():
    article = long_article()
    originals = {u.text for s in article.sections for u in s.units}
    for c in Chunker(ChunkerSettings(max_tokens=120)).chunk(article):
        if c.kind == "body":
            for u in c.units:
                assert u["text"] in originals


def test_a_bullet_over_the_budget_is_split_into_its_sentences_only():
    unit = Unit(" ".join(f"Sentence {i} talks about motor neurons and muscles in some depth." for i in range(12)), [1])
    article = Article("t/big", "Q?", "A.", [Section("S", [unit])], [Reference(1, "Research", "R", "J", 2020)])
    chunks = [c for c in Chunker(ChunkerSettings(max_tokens=64)).chunk(article) if c.kind == "body"]
    pieces = [u["text"] for c in chunks for u in c.units]
    assert pieces == split_sentences(unit.text)
    assert all(u["markers"] == [1] for c in chunks for u in c.units)


def test_a_sentence_longer_than_the_budget_is_cut():
    unit = Unit("word " * 400 + "end", [2])
    article = Article("t/huge", "Q?", "A.", [Section("S", [unit])], [])
    chunks = [c for c in Chunker(ChunkerSettings(max_tokens=100)).chunk(article) if c.kind == "body"]
    assert len(chunks) >= 4
    assert all(count_tokens(c.embed_text) <= 101 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == ("word" * 400 + "end")


def test_chunks_carry_title_section_references_and_exact_unit_spans():
    article = load_article(FIXTURE / "neuro" / "als-overview.txt", FIXTURE)
    chunks = Chunker().chunk(article)
    kinds = [c.kind for c in chunks]
    assert kinds[0] == "answer" and kinds.count("reference") == 3
    for c in chunks:
        assert c.embed_text.startswith(article.title + "\n" + c.section + "\n")
        for u in c.units:
            assert c.text[u["start"] : u["end"]] == u["text"]
        assert c.refs == sorted({m for u in c.units for m in u["markers"]})
    refs = [c for c in chunks if c.kind == "reference"]
    assert refs[1].text == "Research: Amyotrophic lateral sclerosis. The Lancet, 2011." and refs[1].refs == [2]
    body = [c for c in chunks if c.kind == "body"]
    assert {c.section for c in body} == {"What Goes Wrong", "Classification",
                                         "Classification › Muscle Disease Contrast", "Conclusion"}


def test_chunk_ids_are_stable_and_distinct():
    article = load_article(FIXTURE / "neuro" / "als-overview.txt", FIXTURE)
    a, b = Chunker().chunk(article), Chunker().chunk(article)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    assert a[0].id == chunk_id("neuro/als-overview", 0) and 0 < a[0].id < 2**63
