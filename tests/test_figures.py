"""Questions asking for a figure: answered only when a quoted sentence gives that kind of figure about the
question's subject; otherwise the chat abstains and says which figure the library lacks."""

import pytest

from rag.answer.figures import asks_for, missing_figure
from rag.pipeline import Pipeline
from rag.vocabulary import Vocabulary

LIBRARY = ["Warfarin is dosed to an INR of 2.0-3.0 in atrial fibrillation.",
           "Dapagliflozin reduced heart failure admissions; cetirizine is an antihistamine.",
           "Intravenous immunoglobulin is given at 0.4 g/kg daily for 5 days.",
           "About 1 in 3,500 boys is affected."]


def pieces(word: str) -> list[str]:
    """Stand-in WordPiece: names split, everyday words stay whole."""
    return [word] if len(word) <= 7 and word not in {"warfarin", "cetirizine"} else [word[:4], word[4:]]


@pytest.mark.parametrize("question, kind", [
    ("How much does Zolgensma cost?", "cost"),
    ("What dose of cetirizine is given once the patient is stable?", "dose"),
    ("after a first seizure how many months before I can drive?", "duration"),
    ("What is the annual incidence of Kawasaki disease in Japan?", "rate"),
    ("What INR should I aim for with a mechanical valve?", "value"),
    ("Can a baby get neonatal myasthenia, and how long does it last?", "duration"),
    ("Can high-dose prednisone make myasthenia weaker at first?", None),   # a yes/no question naming a dose
    ("What is inclusion body myositis?", None),
])
def test_the_kind_of_figure_a_question_asks_for(question, kind):
    assert asks_for(question) == kind


def test_a_figure_counts_only_when_it_is_about_the_questions_subject():
    v = Vocabulary(LIBRARY, pieces)
    texts = LIBRARY
    missing = missing_figure("What dose of cetirizine should be given?", "anaphylaxis", texts, v)
    assert missing is not None and missing.kind == "dose" and missing.about == "cetirizine"
    assert "dose for cetirizine" in missing.notice()
    # The dose sentence is about immunoglobulin, which the question names: answered.
    assert missing_figure("What dose of immunoglobulin is given?", "Guillain-Barre", texts, v) is None
    # A rate with no specialist word beyond the topic needs only a rate in the evidence.
    assert missing_figure("How common is Duchenne?", "Duchenne", texts, v) is None
    # The library gives no sums of money at all.
    assert missing_figure("How much does warfarin cost?", "warfarin", texts, v).kind == "cost"


def test_british_and_american_spellings_meet():
    v = Vocabulary(["Alteplase is given within 4.5 hours of ischemic stroke onset."],
                   lambda w: [w[:3], w[3:]] if len(w) > 6 else [w])
    assert missing_figure("How long after an ischaemic stroke can alteplase be given?", "thrombolysis",
                          ["Alteplase is given within 4.5 hours of ischemic stroke onset."], v) is None


def test_shipped_library_abstains_on_a_cost_and_answers_a_dose_it_has(shipped):
    cost = shipped.ask("How much does the SMA gene therapy Zolgensma cost?")
    assert cost.abstained and any("cost" in n for n in cost.notices)
    assert cost.suggestions, "an abstention still offers the nearest topics"
    dose = shipped.ask("GBS - how much IVIG do they give and for how long?")
    assert not dose.abstained and "g/kg" in dose.text


def test_the_figure_check_can_be_switched_off(shipped_index, settings, embedder):
    relaxed = Pipeline.open(settings.with_overrides(abstain_without_figure=False), shipped_index,
                            embedder=embedder)
    assert not relaxed.ask("How much does the SMA gene therapy Zolgensma cost?").abstained
