"""The shipped library: every article parses into the structure the pipeline relies on, and the demo
questions are answered from the right article on a real index of it."""

import re
from collections import Counter
from pathlib import Path

import pytest

from rag.corpus import load_corpus
from rag.pipeline import marker_warnings

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def library():
    articles, skipped = load_corpus(CORPUS)
    assert skipped == []
    return articles


def test_library_size_and_spread(library):
    assert len(library) >= 80
    areas = Counter(a.id.split("/")[0] for a in library)
    assert len(areas) >= 8 and areas["neuromuscular"] >= 25 and areas["neurology"] >= 20


def test_every_article_has_the_full_structure(library):
    for a in library:
        words = len(Path(a.path).read_text(encoding="utf-8").split())
        assert 400 <= words <= 900, f"{a.id}: {words} words"
        assert a.title.endswith("?"), a.id
        assert a.date and re.search(r"20\d\d", a.date), a.id
        assert len(a.answer.split()) >= 8, a.id
        assert 3 <= len(a.references) <= 6, a.id
        for r in a.references:
            assert r.type in ("Guideline", "Research"), (a.id, r)
            assert r.title and r.journal and r.year and 1950 <= r.year <= 2026, (a.id, r)
        assert {r.number for r in a.references} <= a.markers, f"{a.id}: a reference is never cited"
        assert marker_warnings(a) == [], a.id
        bullets = [u for s in a.sections if s.heading != "Conclusion" for u in s.units if u.kind == "bullet"]
        assert bullets and all(u.markers for u in bullets), f"{a.id}: a bullet without a citation marker"


def test_close_neighbours_are_all_there(library):
    ids = {a.id for a in library}
    for pair in [("neuromuscular/primary-lateral-sclerosis", "neuromuscular/progressive-muscular-atrophy"),
                 ("neuromuscular/duchenne-muscular-dystrophy", "neuromuscular/duchenne-vs-becker"),
                 ("neuromuscular/mg-vs-lambert-eaton", "neuromuscular/lambert-eaton-treatment"),
                 ("neuromuscular/guillain-barre-syndrome", "neuromuscular/gbs-vs-cidp")]:
        assert set(pair) <= ids


def test_title_kinds_vary(library):
    starts = Counter(a.title.split()[0].lower() for a in library)
    assert {"is", "how", "what"} <= set(starts)
    assert sum(1 for a in library if "difference between" in a.title.lower()) >= 6


DEMO = {
    "Is ALS a form of muscular dystrophy?": "neuromuscular/als-vs-muscular-dystrophy",
    "how do you diagnose myasthenia gravis": "neuromuscular/myasthenia-gravis-diagnosis",
    "What is the difference between Duchenne and Becker muscular dystrophy?": "neuromuscular/duchenne-vs-becker",
    "first line drug for type 2 diabetes": "endocrinology/type-2-diabetes-first-line",
    "Does the MMR jab cause autism?": "paediatrics/mmr-vaccine-autism",
}


@pytest.mark.parametrize("question, article", list(DEMO.items()))
def test_demo_questions_are_answered_from_the_right_article(shipped, question, article):
    answer = shipped.ask(question)
    assert not answer.abstained
    assert answer.sources[0].article_id == article
    assert answer.citations and all(c.article_id for c in answer.citations)


def test_yes_no_demo_answer_opens_with_the_verdict(shipped):
    assert shipped.ask("Is ALS a form of muscular dystrophy?").text.startswith("No,")


@pytest.mark.parametrize("question", ["How do I fix a flat bicycle tyre?", "What is the capital of Australia?",
                                      "Best sourdough starter recipe"])
def test_questions_far_outside_the_library_abstain(shipped, question):
    answer = shipped.ask(question)
    assert answer.abstained and answer.suggestions


FIGURE = re.compile(r"\d+(?:[.,]\d+)*(?:\s*-\s*\d+(?:[.,]\d+)*)?%?")


def test_every_figure_in_an_answer_is_in_a_cited_span_and_every_span_is_verbatim(shipped):
    from rag.answer.text import as_sentence, direct_line
    from rag.gold import load_gold

    gold = load_gold(Path(__file__).resolve().parents[1] / "eval" / "gold.jsonl")[::8]
    checked = 0
    for q in gold:
        answer = shipped.ask(q.question)
        if answer.abstained:
            continue
        chunks = shipped.store.chunks([c.chunk_id for c in answer.citations])
        for c in answer.citations:
            assert chunks[c.chunk_id].text[c.start : c.end] == c.quote
        cited = " ".join(c.quote for c in answer.citations)
        # The sentences the answer asserts, as shown (the urgent line is the product's own advice).
        body = " ".join([direct_line(answer)] + [as_sentence(p.text) for p in answer.points])
        for figure in FIGURE.findall(body):
            assert figure in cited, f"{q.id}: {figure!r} is not in any cited span"
            checked += 1
    assert checked > 20


def test_comparison_answers_part_by_part(shipped):
    answer = shipped.ask("What is the difference between Duchenne and Becker muscular dystrophy?")
    groups = [p.group for p in answer.points]
    assert "Duchenne" in groups and "Becker muscular dystrophy" in groups
    assert "On Duchenne:" in answer.text and "On Becker muscular dystrophy:" in answer.text
