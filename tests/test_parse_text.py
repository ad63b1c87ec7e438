"""The article text format: structure, markers, references, boilerplate."""

from pathlib import Path

import pytest

from rag.ingest import load_article, parse_article
from rag.ingest.markers import split_markers
from rag.pipeline import marker_warnings

FIXTURE = Path(__file__).parent / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def als():
    return load_article(FIXTURE / "neuro" / "als-overview.txt", FIXTURE)


def units(article):
    return {u.text: u.markers for s in article.sections for u in s.units}


def test_title_date_answer_and_id(als):
    assert als.id == "neuro/als-overview"
    assert als.title == "Is amyotrophic lateral sclerosis a disease of the muscles?"
    assert als.date == "February 4, 2025"
    assert als.answer.startswith("No, amyotrophic lateral sclerosis (ALS) starts in the motor neurons")


def test_boilerplate_never_reaches_the_article(als):
    text = " ".join([als.answer] + [u.text for s in als.sections for u in s.units] + [s.heading for s in als.sections])
    for phrase in ("Personalize", "tailor your experience", "Review Status", "Medical Advisory Board",
                   "boilerplate", "Neither must", "Which best describes", "Is ALS a Muscle Disease?"):
        assert phrase not in text


def test_sections_and_subheadings(als):
    assert [s.heading for s in als.sections] == [
        "What Goes Wrong", "Classification", "Classification › Muscle Disease Contrast", "Conclusion",
    ]


def test_markers_recovered_exactly(als):
    u = units(als)
    assert u["Upper motor neurons in the motor cortex and lower motor neurons in the brainstem and spinal cord both degenerate"] == [1]
    assert u["ALS accounts for roughly 85% of adult motor neuron disease"] == [1, 3]
    assert u["Its incidence is about 1-2 per 100,000 people a year"] == [3]
    assert u["The ICD-11 lists motor neuron diseases apart from primary muscle diseases"] == [2]
    assert u["Median survival is 3-5 years from the first symptom"] == [1]


def test_sub_bullets_fold_into_their_parent_with_the_lists_markers(als):
    folded = [t for t in units(als) if t.startswith("The cause is thought")]
    assert folded == [
        "The cause is thought to combine several mechanisms: Glutamate excitotoxicity; Aggregation of the "
        "protein TDP-43; Impaired axonal transport."
    ]
    assert units(als)[folded[0]] == [2, 3]


def test_lead_in_sentence_is_kept_but_marked(als):
    first = als.sections[0].units[0]
    assert first.kind == "leadin" and first.text == "Motor neurons are lost at two levels:"


def test_references_parsed_into_type_title_journal_year(als):
    refs = [(r.number, r.type, r.title, r.journal, r.year) for r in als.references]
    assert refs == [
        (1, "Guideline", "EFNS guidelines on the clinical management of amyotrophic lateral sclerosis (MALS) - "
         "revised report of an EFNS task force", "European Journal of Neurology", 2012),
        (2, "Research", "Amyotrophic lateral sclerosis", "The Lancet", 2011),
        (3, "Research", "Amyotrophic lateral sclerosis", "Nature Reviews Disease Primers", 2017),
    ]


@pytest.mark.parametrize(
    "line, text, markers",
    [
        ("About 85% of cases are sporadic 1", "About 85% of cases are sporadic", [1]),
        ("Cited twice 1, 3", "Cited twice", [1, 3]),
        ("Cited without a space 2,4", "Cited without a space", [2, 4]),
        ("Incidence is 1-2 per 100,000", "Incidence is 1-2 per 100,000", []),
        ("Incidence is 1-2 per 100,000 people 1", "Incidence is 1-2 per 100,000 people", [1]),
        ("Survival is 3-5 years", "Survival is 3-5 years", []),
        ("Survival is 3-5 years 2", "Survival is 3-5 years", [2]),
        ("Coded in ICD-11", "Coded in ICD-11", []),
        ("Coded in ICD-11 4", "Coded in ICD-11", [4]),
        ("Affects 85%", "Affects 85%", []),
        ("First described in 2019", "First described in 2019", []),
        ("This is diabetes type 1", "This is diabetes type 1", []),
        ("The tumour was stage 3", "The tumour was stage 3", []),
        ("Give it on day 5", "Give it on day 5", []),
        ("Ratio below 1/3", "Ratio below 1/3", []),
        ("Score of 40", "Score of 40", []),
        ("Twelve references deep 12", "Twelve references deep", [12]),
        ("3,4-diaminopyridine is used 3", "3,4-diaminopyridine is used", [3]),
    ],
)
def test_split_markers(line, text, markers):
    assert split_markers(line) == (text, markers)


def test_a_number_beyond_the_reference_list_is_text_and_reported():
    raw = (
        "Does the parser cope with a marker beyond the list?\n\nYes, it keeps the number and warns.\n\n"
        "Section\n\n  • A claim resting on a missing entry 4\n  • A claim resting on the first entry 1\n\n"
        "References\n\nResearch\n\nA real entry\n\nSome Journal, 2020\n"
    ).encode()
    article = parse_article(raw, "x/missing")
    assert article.markers == {1}
    assert [(u.text, u.markers) for u in article.sections[0].units] == [
        ("A claim resting on a missing entry 4", []), ("A claim resting on the first entry", [1])]
    assert marker_warnings(article) == [
        "x/missing: trailing numbers [4] are not entries of its reference list; kept as text, not citations"
    ]


def test_html_inside_an_article_is_kept_as_text():
    raw = (
        "Is <b>bold</b> markup kept as text?\n\nYes, <script>alert(1)</script> stays inert text.\n\n"
        "Section\n\n  • An <img src=x onerror=alert(1)> image tag in a bullet 1\n\n"
        "References\n\nGuideline\n\nA guideline\n\nA Body, 2021\n"
    ).encode()
    article = parse_article(raw, "x/html")
    assert "<script>alert(1)</script>" in article.answer
    assert article.sections[0].units[0].text == "An <img src=x onerror=alert(1)> image tag in a bullet"
    assert article.sections[0].units[0].markers == [1]


def test_wrapped_bullet_lines_are_joined():
    raw = (
        "Are wrapped bullets joined?\n\nYes, they are.\n\nSection\n\n  • A bullet that is long enough to wrap\n"
        "    onto a second line 1\n  • Next bullet 2\n\nReferences\n\nResearch\n\nOne\n\nJ, 2001\n\nResearch\n\nTwo\n\nJ, 2002\n"
    ).encode()
    article = parse_article(raw, "x/wrap")
    assert [(u.text, u.markers) for u in article.sections[0].units] == [
        ("A bullet that is long enough to wrap onto a second line", [1]),
        ("Next bullet", [2]),
    ]


@pytest.mark.parametrize(
    "line, markers",
    [("Symptoms peak on day 5", []), ("Taken twice a day 2", [2]), ("About 3 cases per year 1", [1]),
     ("Reviewed in year 2", [])],
)
def test_time_words_take_numbers_but_rates_do_not(line, markers):
    assert split_markers(line)[1] == markers
