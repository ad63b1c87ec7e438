"""The unknown-word check behind abstention: names the library lacks are caught, slips and lay words are not."""

from rag.vocabulary import Vocabulary

LIBRARY = ["Inclusion body myositis has no proven drug treatment; exercise and physiotherapy help.",
           "Rhabdomyolysis is diagnosed from creatine kinase. Myasthenia gravis is diagnosed with antibodies.",
           "Facial drooping and weakness are warning signs of a stroke; treatment with alteplase is urgent."]


def pieces(word: str) -> list[str]:
    """A stand-in for WordPiece: long unfamiliar names split, everyday words stay whole."""
    everyday = {"does", "slow", "down", "help", "my", "face", "is", "treatment", "for", "it", "what", "the", "normal"}
    return [word] if word in everyday or len(word) <= 3 else [word[:3], word[3:]]


def test_a_drug_the_library_never_mentions_is_unknown():
    v = Vocabulary(LIBRARY, pieces)
    assert v.unknown("Does sirolimus slow down inclusion body myositis?") == ["sirolimus"]


def test_typing_slips_short_forms_people_and_lexicon_words_are_known():
    v = Vocabulary(LIBRARY, pieces)
    assert v.unknown("how is myastenia diagnosd?") == []          # one slip from a library word
    assert v.unknown("what is rhabdo") == []                       # starts a library word
    assert v.unknown("my grandad's face went droopy") == []        # people word, contraction, lexicon
    assert v.unknown("is tPA the treatment for it?") == []         # abbreviation in the lexicon
    assert v.unknown("creatine kinase normal-ish, 250 U/L?") == []  # casual suffix and numbers


def test_without_a_tokenizer_only_the_library_decides():
    assert Vocabulary(LIBRARY).unknown("does it cure?") == ["cure"]


def test_word_endings_possessives_and_specialists_are_known():
    v = Vocabulary(["Rivaroxaban and apixaban are oral anticoagulants."], pieces)
    assert v.unknown("are xaban anticoagulants oral?") == []        # the end of library words
    assert v.unknown("did my oncologist say oral?") == []          # a specialist is a person, not a topic
    assert v.unknown("my mums oral anticoagulants") == []             # a possessive without its apostrophe


def test_rarity_and_specialist_words():
    v = Vocabulary(LIBRARY, pieces)
    assert v.frequency({"diagnos"}) == 1 and v.frequency({"nothing"}) == 0
    assert v.specialist("sirolimus") and not v.specialist("help")
    assert not Vocabulary(LIBRARY).specialist("sirolimus")  # no tokenizer: nothing counts as specialist
