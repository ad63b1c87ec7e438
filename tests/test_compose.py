"""The composed answer: direct line, cited key points, numbered sources, disclaimer, abstention."""

import re

import pytest

from rag.config import DISCLAIMER, PATIENT_ADVICE, PATIENT_DISCLAIMER


@pytest.fixture(scope="module")
def als_answer(pipeline):
    return pipeline.ask("Is ALS a muscle disease?")


def test_direct_answer_comes_first_from_the_matching_article(als_answer):
    assert not als_answer.abstained
    assert als_answer.text.startswith("No, amyotrophic lateral sclerosis (ALS) starts in the motor neurons")
    assert als_answer.direct.startswith("No,")


def test_every_citation_quotes_its_chunk_verbatim(pipeline, als_answer):
    assert als_answer.citations
    chunks = pipeline.store.chunks([c.chunk_id for c in als_answer.citations])
    for c in als_answer.citations:
        assert chunks[c.chunk_id].text[c.start : c.end] == c.quote
        assert chunks[c.chunk_id].article_id == c.article_id


def test_every_bracket_names_a_source_and_every_source_is_cited(als_answer):
    body = als_answer.text.split("\nSources:")[0]
    used = [int(n) for n in re.findall(r"\[(\d+)\]", body)]
    numbers = [s.number for s in als_answer.sources]
    assert numbers == list(range(1, len(numbers) + 1))
    assert set(used) == set(numbers)
    first_use = list(dict.fromkeys(used))
    assert first_use == sorted(first_use), "sources are numbered in order of first use"
    assert [c.source for c in als_answer.citations] == used


def test_reference_sources_come_from_the_articles_markers(pipeline, als_answer):
    refs = [s for s in als_answer.sources if s.kind == "reference"]
    assert refs, "a key point with markers cites the original references"
    for s in refs:
        stored = pipeline.store.references(s.article_id)[s.ref_number]
        assert (s.type, s.title, s.journal, s.year) == (stored.type, stored.title, stored.journal, stored.year)
        cited_units = [c for c in als_answer.citations if c.source == s.number]
        chunks = pipeline.store.chunks([c.chunk_id for c in cited_units])
        for c in cited_units:
            unit = next(u for u in chunks[c.chunk_id].units if u["start"] == c.start)
            assert s.ref_number in unit["markers"], "a reference is cited only where the author cited it"


def test_key_points_are_distinct_and_the_disclaimer_is_always_there(als_answer):
    assert len({p.text for p in als_answer.points}) == len(als_answer.points)
    assert als_answer.text.rstrip().endswith(DISCLAIMER)
    assert "\nSources:\n[1] Library article: Is amyotrophic lateral sclerosis a disease of the muscles?" in als_answer.text


def test_out_of_scope_question_abstains_and_suggests_topics(pipeline):
    answer = pipeline.ask("What is the best soil for growing tomatoes on a balcony?")
    assert answer.abstained
    assert answer.text.startswith("The library does not cover this question")
    assert answer.citations == [] and answer.sources == []
    assert len(answer.suggestions) >= 1 and "Nearest topics in the library:" in answer.text
    assert DISCLAIMER in answer.text


def test_patient_audience_adds_the_advice_line(pipeline):
    answer = pipeline.ask("How is myasthenia gravis diagnosed?", audience="patient")
    assert PATIENT_ADVICE in answer.text and answer.text.rstrip().endswith(PATIENT_DISCLAIMER)
    assert "clinical judgement" not in answer.text  # the clinician's disclaimer is not the patient's
    assert answer.sources[0].article_id == "neuro/myasthenia-gravis"


def test_unknown_audience_is_refused(pipeline):
    with pytest.raises(ValueError, match="clinician, patient"):
        pipeline.ask("How is myasthenia gravis diagnosed?", audience="robot")


def test_json_shape(pipeline):
    data = pipeline.ask("How is myasthenia gravis diagnosed?").to_json()
    assert {"answer", "citations", "sources", "hits", "abstained", "timings_ms"} <= set(data)
    assert set(data["citations"][0]) >= {"marker", "source", "chunk_id", "article_id"}
    assert set(data["sources"][0]) >= {"number", "kind", "title", "journal", "year", "type", "article_id"}
    assert set(data["hits"][0]) >= {"chunk_id", "article_id", "score"}
    assert data["timings_ms"]["total"] > 0


def test_yes_no_answer_opens_with_a_verdict_only_when_the_evidence_settles_it(pipeline):
    # The evidence asserts it: never "No"; without a confident "Yes" the first line quotes the evidence.
    answer = pipeline.ask("Does myasthenia gravis show a decrement on repetitive nerve stimulation?")
    first = answer.text.split("\n")[0]
    assert answer.verdict in ("Yes", None) and "decrement" in first
    assert first.startswith("Yes, ") if answer.verdict else first.startswith(answer.lead) and answer.lead
    denied = pipeline.ask("Is ALS a muscle disease?")
    assert denied.verdict == "No" and denied.text.startswith("No, amyotrophic lateral sclerosis")
    assert pipeline.ask("How is myasthenia gravis diagnosed?").verdict is None


def test_emergency_questions_open_with_seek_care_now_in_both_audiences(pipeline):
    from rag.questions import URGENT_LINE

    for audience in ("clinician", "patient"):
        answer = pipeline.ask("My mother's face is drooping and her speech is slurred, what do I do?", audience=audience)
        assert answer.urgent and answer.text.startswith(f"URGENT: {URGENT_LINE}")
    outside = pipeline.ask("I took an overdose of my sleeping tablets")
    assert outside.urgent and outside.text.startswith("URGENT:")
    assert outside.verdict is None


def test_patient_view_explains_the_terms_it_keeps(pipeline):
    answer = pipeline.ask("Is ALS a muscle disease?", audience="patient")
    terms = dict(answer.glossary)
    assert "motor neurons" in terms and "What the medical words mean:" in answer.text
    assert pipeline.ask("Is ALS a muscle disease?").glossary == []


def test_evidence_label_says_when_only_research_is_cited(pipeline):
    from rag.answer import evidence_note
    from rag.documents import Source

    research = [Source(1, "article", "A", "a"), Source(2, "reference", "R", "a", "Research", "J", 2020, 1)]
    assert evidence_note(research).startswith("Evidence: research only")
    assert evidence_note(research + [Source(3, "reference", "G", "a", "Guideline", "J", 2021, 2)]) == \
        "Evidence: 1 guideline, 1 research reference."
    guidelines = [Source(1, "article", "A", "a")] + [Source(n, "reference", "G", "a", "Guideline", "J", 2021, n)
                                                      for n in (2, 3)]
    assert evidence_note(guidelines) == "Evidence: 2 guidelines, no research."  # not "2 guideline and 0 research"
    assert pipeline.ask("How is myasthenia gravis diagnosed?").evidence.startswith("Evidence: 1 guideline")


def test_patient_view_puts_plain_sentences_first(shipped):
    """The patient view had the clinician's order, jargon first. The same points, plainest first; markers
    still numbered in reading order."""
    from rag.glossary import unexplained

    pieces = shipped.retriever.vocabulary.pieces
    question = "How is Bell's palsy treated?"
    clinician, patient = shipped.ask(question), shipped.ask(question, audience="patient")
    assert sorted(p.text for p in patient.points) == sorted(p.text for p in clinician.points)
    hardness = [unexplained(p.text, pieces) for p in patient.points]
    assert hardness == sorted(hardness) and hardness != [unexplained(p.text, pieces) for p in clinician.points]
    assert [c.marker for c in patient.citations] == list(range(1, len(patient.citations) + 1))
    firsts = [s for p in [patient.direct_sources] + [p.sources for p in patient.points] for s in p]
    assert list(dict.fromkeys(firsts)) == sorted(set(firsts))  # sources numbered in order of first use
    assert unexplained("Level A evidence supports corticosteroids", pieces) >= 1
