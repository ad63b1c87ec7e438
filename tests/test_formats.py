"""HTML pages and JSONL bulk import index like the article text format."""

from pathlib import Path

from rag.build import build_index
from rag.ingest import load_article, load_articles
from rag.pipeline import Pipeline

FORMATS = Path(__file__).parent / "fixtures" / "formats"


def test_saved_html_page_keeps_the_article_and_drops_the_site():
    a = load_article(FORMATS / "bells-palsy-page.html", FORMATS)
    assert a.id == "bells-palsy-page" and a.format == "html"
    assert a.title == "What is the treatment for Bell's palsy?"
    assert a.answer.startswith("Oral corticosteroids started within 72 hours")
    units = [(u.text, u.markers) for s in a.sections for u in s.units]
    assert units == [
        ("Prednisolone started within 72 hours improves the chance of complete recovery", [1]),
        ("Eye protection is needed when the eyelid does not close: Lubricating drops by day; Ointment and "
         "taping at night.", [2]),
    ]
    assert [(r.type, r.journal, r.year) for r in a.references] == [
        ("Research", "The New England Journal of Medicine", 2007), ("Guideline", "Otolaryngology-Head and Neck Surgery", 2013)]
    everything = " ".join([a.title, a.answer] + [t for t, _ in units])
    for chrome in ("Home", "Sign in", "Newsletter", "Copyright", "tracker", "alert", "Site name"):
        assert chrome not in everything


def test_jsonl_bulk_import_loads_good_lines_and_names_bad_ones():
    articles, skipped = load_articles(FORMATS / "bulk.jsonl", FORMATS)
    assert [a.id for a in articles] == ["bulk/iron-deficiency", "bulk/2"]
    iron = articles[0]
    assert iron.answer.startswith("Iron deficiency anaemia is treated with oral iron")
    assert [(u.text, u.markers) for u in iron.sections[0].units][0] == (
        "Oral iron once daily or on alternate days is first-line", [1])
    assert iron.references[0].journal == "Gut" and iron.references[0].year == 2021
    assert [(Path(s.path).name, s.reason) for s in skipped] == [
        ("bulk.jsonl:3", "not valid JSON (Expecting value at column 1)"), ("bulk.jsonl:4", "no 'title'")]


def test_html_and_jsonl_articles_are_indexed_and_answered(tmp_path, settings, embedder):
    report = build_index(FORMATS, tmp_path / "index", settings, embedder=embedder)
    assert report.articles == 3 and len(report.skipped) == 2
    pipeline = Pipeline.open(settings, tmp_path / "index", embedder=embedder)
    answer = pipeline.ask("How soon should steroids be started for Bell's palsy?")
    assert answer.sources[0].article_id == "bells-palsy-page" and "72 hours" in answer.text
    iron = pipeline.ask("What is first-line for iron deficiency anaemia?")
    assert iron.sources[0].article_id == "bulk/iron-deficiency"
    assert any(s.kind == "reference" and s.journal == "Gut" for s in iron.sources)
