"""Issue 12: the first line, the subject, qualifiers, declining, emergencies, and the composer working on
data. Real model, real indexes (the shipped library; two NIH-style pages written for this test)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from rag.answer.negation import read
from rag.text import split_terms

ROOT = Path(__file__).resolve().parent.parent
PAGES = Path(__file__).parent / "fixtures" / "pages"


def test_the_composer_never_reads_the_index():
    """rag/answer works on the Question and the EvidenceSet only: no module of it imports the store."""
    for path in (ROOT / "rag" / "answer").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
            {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {"rag.store", "rag.retrieval", "faiss", "sqlite3"} & imported, path.name


def test_negation_is_read_near_the_focus_only():
    focus = [frozenset(split_terms(w)) for w in ("riluzole", "survival")]
    assert read("Riluzole does not prolong survival", focus).negated
    assert not read("Riluzole prolongs survival by about three months", focus).negated
    assert read("Riluzole may prolong survival", focus).hedged
    # NegEx's five-word window: "no cure" does not reach a drug named much later in the clause
    far = read("There is no cure for ALS; treatment combines drugs with modest disease-modifying effects, "
               "namely riluzole for most patients", [frozenset(split_terms("riluzole"))])
    assert far.focus_found == 1 and not far.negated


def test_a_question_that_is_not_yes_no_never_opens_with_a_verdict(shipped):
    answer = shipped.ask("What is ALS?")
    assert answer.verdict is None and not answer.text.startswith(("Yes", "No"))


def test_the_article_answering_the_very_question_gives_the_verdict(shipped):
    answer = shipped.ask("Is ALS a form of muscular dystrophy?")
    assert answer.verdict == "No" and answer.text.startswith("No, ALS is not a muscular dystrophy")


def test_a_yes_no_question_without_a_confident_verdict_quotes_the_evidence(shipped):
    answer = shipped.ask("Can I drink alcohol while taking metformin?")
    note, first = answer.text.split("\n")[:2]
    assert answer.verdict is None and first.startswith(answer.lead) and answer.lead
    # the qualifier the quotes do not address is said first: the first line read is not a general
    # statement about metformin that looks like an answer about alcohol
    assert any("alcohol" in c for c in answer.caveats) and note == f"Note: {answer.caveats[0]}"


def test_a_qualifier_named_only_about_another_subject_is_not_addressed(shipped):
    """The library mentions pregnancy about topiramate and ibuprofen about migraine; nothing says whether
    ibuprofen is safe in pregnancy, and the answer must say that it does not."""
    answer = shipped.ask("Can I take ibuprofen while pregnant?")
    assert any("pregnancy" in c for c in answer.caveats)


def test_a_qualified_question_leads_with_what_the_library_says_of_the_qualifier(shipped):
    answer = shipped.ask("Which antibiotic for cystitis in pregnancy?")
    assert answer.caveats == []
    first = answer.points[0].text.lower()
    assert "pregnan" in first.replace("non-pregnant", "")  # about pregnancy, not the regimen for others


def test_a_qualifier_phrase_is_found_word_for_word():
    from rag.answer.question import qualifiers_in

    assert [q.name for q in qualifiers_in("Should people over 65 take aspirin?")] == ["older"]
    assert qualifiers_in("What is CURB-65?") == []  # a score's name, not an age
    assert [q.name for q in qualifiers_in("Is it safe while breast feeding?")] == ["breastfeeding"]


def test_an_excluded_population_does_not_address_the_qualifier(shipped):
    from rag.answer import read_question
    from rag.answer.compose import speaks_to

    q = read_question("Which antibiotic for cystitis in pregnancy?")
    evidence = shipped.retriever.evidence(shipped.retriever.search(q.query, 10, 4, "hybrid"))
    pregnancy = q.qualifiers[0]
    article = evidence.top
    assert not speaks_to(pregnancy, q, "Nitrofurantoin is first-line for cystitis in non-pregnant women.", article, evidence)
    assert speaks_to(pregnancy, q, "Cystitis in pregnancy needs a 7-day course.", article, evidence)


def test_key_points_stay_on_the_question_subject(shipped):
    answer = shipped.ask("What are the early symptoms of ALS?")
    for point in answer.points:
        title = shipped.store.titles[point.article_id]
        assert "ALS" in title.split(" the same as ")[0].split(" differ from ")[0] or point.about \
            or "ALS" in point.text, (title, point.text)
    assert "Kennedy" not in answer.direct and "primary lateral sclerosis" not in answer.direct.lower()


def test_suicidal_statements_get_the_urgent_and_crisis_lines_and_no_reading_list(shipped):
    from rag.emergency import CRISIS_LINE
    from rag.questions import URGENT_LINE

    answer = shipped.ask("I don't want to live anymore")
    assert answer.urgent and answer.crisis and answer.text.startswith(f"URGENT: {URGENT_LINE}")
    assert CRISIS_LINE in answer.text and not answer.suggestions


def test_a_lay_stroke_description_gets_the_urgent_line(shipped):
    answer = shipped.ask("my dad's face has dropped on one side and he can't lift his arm properly")
    assert answer.urgent and answer.text.startswith("URGENT:")


def test_a_figure_the_article_lacks_is_said_plainly_or_declined(shipped):
    cost = shipped.ask("How much does the SMA gene therapy Zolgensma cost?")
    assert cost.abstained and cost.abstain_reason == "missing_figure"


@pytest.mark.parametrize("name", ["verdict_model.json", "abstain_model.json"])
def test_learned_models_record_what_they_were_trained_on(name):
    model = json.loads((ROOT / "rag" / "data" / name).read_text(encoding="utf-8"))
    assert model["trained_on"] and all(len(t["sha256"]) == 64 for t in model["trained_on"])
    assert model["cv"] and model["threshold_rule"]


def test_the_unknown_word_model_answers_no_unanswerable_training_question_out_of_fold():
    model = json.loads((ROOT / "rag" / "data" / "abstain_model.json").read_text(encoding="utf-8"))
    assert model["cv"]["all"]["answered_unanswerable"] == 0


def test_verdicts_are_precise_in_cross_validation():
    model = json.loads((ROOT / "rag" / "data" / "verdict_model.json").read_text(encoding="utf-8"))
    assert model["cv"]["all"]["precision"] >= 0.85 and model["cv"]["all"]["wrong_rate"] <= 0.10


@pytest.fixture(scope="module")
def pages(tmp_path_factory, settings, embedder):
    from rag.pipeline import Pipeline, build_index

    index_dir = tmp_path_factory.mktemp("pages-index")
    build_index(PAGES, index_dir, settings, embedder=embedder)
    return Pipeline.open(settings, index_dir, embedder=embedder)


def test_a_page_without_references_is_answered_from_the_section_that_answers(pages):
    answer = pages.ask("How many people are affected by Wilson disease?")
    assert not answer.abstained and answer.direct.startswith("Wilson disease is rare")
    assert {p.article_id for p in answer.passages} == {"wilson-disease"}
    genes = pages.ask("What are the genetic changes related to Gaucher disease?")
    assert "GBA1" in genes.direct and {p.article_id for p in genes.passages} == {"gaucher-disease"}
    assert all(c.quote in next(p.text for p in genes.passages if p.chunk_id == c.chunk_id) for c in genes.citations)


def test_in_a_conversation_a_crisis_gets_help_not_the_previous_topic(shipped):
    """Found in the chat: after a question on ALS, "I don't want to live anymore" was read as a follow-up
    and answered with ALS survival figures."""
    c = shipped.new_conversation()
    shipped.ask("What is the prognosis of ALS?", conversation=c)
    answer = shipped.ask("I don't want to live anymore", conversation=c)
    assert answer.crisis and not answer.followup and answer.abstained
    assert not answer.points and not answer.sources and not answer.suggestions
    assert "survival" not in answer.text.lower()



def test_a_sentence_that_opens_with_a_pronoun_is_quoted_with_its_antecedent(shipped):
    """"They drop the possible, probable and definite categories" means nothing alone: it is quoted with
    the sentence before it (the Gold Coast criteria), cited over both, and that sentence is not said twice."""
    answer = shipped.ask("How is ALS diagnosed?")
    point = next(p for p in answer.points if "They drop the possible" in p.text)
    assert point.text.startswith("The Gold Coast criteria of 2020 require")
    assert not any(p.text.startswith(("They ", "It ", "Its ", "Their ")) for p in answer.points)
    gold_coast = [p for p in answer.points if "Gold Coast criteria of 2020 require" in p.text]
    assert len(gold_coast) == 1
    cited = [c for c in answer.citations if c.sentence == answer.points.index(point) + 1]
    assert any("Gold Coast criteria of 2020" in c.quote and "They drop" in c.quote for c in cited)


def test_a_qualifier_that_names_the_articles_subject_is_not_a_restriction():
    from rag.answer.question import names_subject, qualifiers_in

    kidney, = qualifiers_in("How many people are affected by medullary cystic kidney disease type 1?")
    assert names_subject(kidney, "What is medullary cystic kidney disease?")
    assert not names_subject(kidney, "What is the first-line treatment for hypertension?")
    older, = qualifiers_in("Are people with serious mental illness admitted to nursing homes sooner?")
    assert names_subject(older, "Nursing home admission after serious mental illness")
    pregnancy, = qualifiers_in("Which antibiotic for cystitis in pregnancy?")
    assert not names_subject(pregnancy, "What is the first-line antibiotic for uncomplicated cystitis in women?")
