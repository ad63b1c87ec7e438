"""Follow-ups: rewriting a question in the light of the conversation, and dropping old context."""

import pytest

from rag.conversation import Conversation, subject_terms, topic_words

TITLES = ["How is myasthenia gravis diagnosed?", "What is the first-line treatment for migraine?",
          "What is primary lateral sclerosis and how does it differ from ALS?", "What is progressive muscular atrophy?"]


@pytest.fixture
def conv():
    c = Conversation(known=subject_terms(TITLES))
    c.add("How do doctors test for myasthenia gravis?", "How do doctors test for myasthenia gravis?",
          "myasthenia gravis", "neuromuscular/myasthenia-gravis-diagnosis")
    return c


def test_topic_words_skip_what_is_asked():
    assert topic_words("What is the first-line treatment for migraine in adults?") == ["migraine"]
    assert topic_words("My dad was diagnosed with Guillain-Barre. How is it treated?") == ["Guillain-Barre"]


@pytest.mark.parametrize("follow_up, expected", [
    ("how is it treated?", "how is myasthenia gravis treated?"),
    ("and in children?", "and in children? (myasthenia gravis)"),
    ("what about treatment?", "what about treatment? (myasthenia gravis)"),
    ("what blood tests should I have?", "what blood tests should I have? (myasthenia gravis, blood)"),
    ("is that the same as ALS?", "is myasthenia gravis the same as ALS?"),
])
def test_follow_ups_carry_the_topic(conv, follow_up, expected):
    query, topic, followup = conv.rewrite(follow_up)
    assert (query, topic, followup) == (expected, "myasthenia gravis", True)


@pytest.mark.parametrize("question, query", [
    ("What is the first-line treatment for migraine?", "What is the first-line treatment for migraine?"),
    ("Different question: how is migraine treated?", "how is migraine treated?"),
    ("Unrelated - what causes it?", "what causes it?"),
])
def test_a_new_subject_or_a_stated_switch_drops_the_old_context(conv, question, query):
    rewritten, _, followup = conv.rewrite(question)
    assert rewritten == query and followup is False


def test_the_other_one_refers_back_to_the_previous_subject(conv):
    conv.add("What is primary lateral sclerosis?", "What is primary lateral sclerosis?", "primary lateral sclerosis", None)
    query, topic, followup = conv.rewrite("and what about the other one?")
    assert followup and topic == "myasthenia gravis" and query == "and what about myasthenia gravis?"


def test_pipeline_records_turns_and_shows_the_rewritten_query(pipeline):
    c = pipeline.new_conversation()
    first = pipeline.ask("How is myasthenia gravis diagnosed?", conversation=c)
    second = pipeline.ask("and what does the chest CT look for?", conversation=c)
    assert not first.followup and second.followup
    assert "myasthenia gravis" in second.query and second.question == "and what does the chest CT look for?"
    assert second.sources[0].article_id == "neuro/myasthenia-gravis"
    assert [t.article_id for t in c.turns] == ["neuro/myasthenia-gravis", "neuro/myasthenia-gravis"]


def test_the_headline_example_follows_the_subject_not_the_predicate(shipped):
    c = shipped.new_conversation()
    first = shipped.ask("Is ALS a form of muscular dystrophy?", conversation=c)
    assert first.text.startswith("No,")
    second = shipped.ask("and how is it diagnosed?", conversation=c)
    assert second.query == "and how is ALS diagnosed?"
    assert second.sources[0].article_id == "neuromuscular/als-diagnosis"
    third = shipped.ask("what genes are involved?", conversation=c)
    assert "ALS" in third.query and third.sources[0].article_id == "neuromuscular/als-genetics"


def test_a_name_the_library_lacks_does_not_follow_the_conversation(shipped):
    """Found by looking at the chat: the unknown word of an abstained turn rode along in the carried
    topic and made the next, answerable question abstain too."""
    c = shipped.new_conversation()
    first = shipped.ask("Does sirolimus slow down inclusion body myositis?", conversation=c)
    assert first.abstained and first.notices == ["The library never mentions: sirolimus."]
    second = shipped.ask("Are beta blockers a first-choice drug for plain high blood pressure?", conversation=c)
    assert not second.abstained and second.verdict != "Yes"  # "No" or, without a confident verdict, the evidence
    third = shipped.ask("and does sirolimus help it?", conversation=c)
    assert third.abstained and third.notices == ["The library never mentions: sirolimus."]



def test_non_ascii_names_are_read_whole():
    """"Guillain-Barré" was read as "Guillain-Barr": the word pattern knew only ASCII letters."""
    assert topic_words("My dad has Guillain-Barré syndrome, how is it treated?") == ["Guillain-Barré", "syndrome"]
    c = Conversation()
    c.add("How is Guillain-Barré syndrome treated?", "How is Guillain-Barré syndrome treated?",
          "Guillain-Barré syndrome", None)
    assert "(Guillain-Barré syndrome" in c.rewrite("and how long until he walks again?")[0]


def test_a_question_about_something_the_library_never_mentions_starts_afresh(shipped):
    """Found in the chat: "What is tirzepatide used for?" after Bell's palsy was asked as "… (Bell's palsy)"
    and answered about Bell's palsy. A name the library lacks is a new subject; described with "the" it is
    part of the topic ("the jerky movements" of Huntington's disease)."""
    c = shipped.new_conversation()
    shipped.ask("How is Bell's palsy treated?", conversation=c)
    answer = shipped.ask("What is tirzepatide used for?", conversation=c)
    assert not answer.followup and "Bell" not in answer.query
    assert answer.abstained and "tirzepatide" in " ".join(answer.notices)
    c = shipped.new_conversation()
    shipped.ask("How many repeats does it take to get Huntington's disease?", conversation=c)
    jerky = shipped.ask("is there anything for the jerky movements?", conversation=c)
    assert jerky.followup and "Huntington" in jerky.query


def test_a_drug_the_library_uses_still_follows_the_topic(shipped):
    """The rule above is about names the library never mentions; a drug it does mention, asked about
    without a pronoun, keeps the topic (treating those as new topics lowered follow-up recall)."""
    c = shipped.new_conversation()
    shipped.ask("Which genes are involved in familial ALS?", conversation=c)
    answer = shipped.ask("is there a drug aimed at the second gene you mentioned?", conversation=c)
    assert answer.followup and "ALS" in answer.query
