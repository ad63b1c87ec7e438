"""The yes/no verdict rules, one behaviour each (the end-to-end figure is yes_no_accuracy in rag eval)."""

from rag.answer.verdict import asks_what_is_happening, decide, denies, focus_terms, polarity, reconcile, topic_of


def test_a_denial_the_question_itself_uses_does_not_count():
    assert not denies("It is classified without biopsy.", "can it be diagnosed without a biopsy?")
    assert denies("Pyridostigmine helps poorly.", "does pyridostigmine work?")


def test_a_condition_is_not_a_denial():
    q = "Can naloxone wear off before the opioid does?"
    assert polarity("Naloxone is repeated if breathing does not improve, because it wears off first.", q) == "Yes"


def test_a_denial_far_from_what_the_question_asks_does_not_decide():
    q = "Is it still worth giving antivirals on day 4?"
    focus = focus_terms(q, "Who should get antivirals for influenza?")
    text = ("Antivirals help even when started after day 2 in hospitalised patients, and clinicians should start "
            "them promptly, as soon as influenza is suspected, without waiting for test results.")
    assert polarity(text, q, focus) == "Yes"
    wait = "Should we wait for the test result before starting antivirals?"
    assert polarity(text, wait, focus_terms(wait, "Who should get antivirals for influenza?")) == "No"


def test_safety_questions_read_harm_by_its_sign():
    assert polarity("Febrile seizures are almost always benign.", "Can a febrile fit cause brain damage?") == "No"
    assert polarity("Antipsychotics can cause severe sensitivity reactions and increased mortality.",
                    "is it safe to give haloperidol?") == "No"
    assert polarity("Carbamazepine can worsen absence seizures.", "Can carbamazepine make absences worse?") == "Yes"
    assert polarity("Opioids should not be used because of the risks of addiction and other harms.",
                    "are opioids ok for nerve pain?") == "No"


def test_identity_questions_are_answered_no_by_a_contrast():
    assert polarity("NMOSD is an antibody-mediated astrocytopathy, whereas MS is demyelinating.",
                    "Is NMO just a type of MS?") == "No"


def test_an_article_answer_to_the_opposite_question_is_turned_round():
    assert reconcile("No", "Does the MMR vaccine cause autism?", "Is it safe to give the MMR jab?") == "Yes"
    assert reconcile("No", "Does the MMR vaccine cause autism?", "Can MMR cause autism?") == "No"


def test_the_verdict_rests_on_the_sentence_about_the_focus_not_the_best_scored_one():
    q = "Does FSHD usually affect the heart or lungs?"
    topic = topic_of("What is facioscapulohumeral muscular dystrophy?",
                     "Facioscapulohumeral muscular dystrophy (FSHD) is an inherited dystrophy.")
    texts = ["FSHD is a dominantly inherited dystrophy of the face and shoulders.",
             "Significant heart and breathing involvement is uncommon."]
    verdict = decide(q, topic, texts, [0.52, 0.37], ["fshd", "fshd"])
    assert (verdict.word, verdict.index) == ("No", 1)


def test_lay_words_reach_the_clinical_ones():
    groups = focus_terms("can i just take ibuprofen when it starts?", "How is cluster headache treated?")
    assert any("analges" in g for g in groups)


def test_what_is_happening_questions_are_told_apart_from_what_to_do():
    assert asks_what_is_happening("Is this a heart attack?")
    assert not asks_what_is_happening("is it safe to give adrenaline twice?")
