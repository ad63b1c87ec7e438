"""Words the library has never used: the sharpest sign that a question is outside it.

A near-miss question shares the library's topic words and differs in one name ("Does sirolimus slow
inclusion body myositis?"); similarity scores cannot see that, but a vocabulary check can. A question word
is *unknown* when none of these explains it:

* the library uses it, or its stem, or a word that is one typing slip away ("diagnosd", "myastenia"), or a
  longer word it starts ("rhabdo", "chemo"), a shorter one that starts it ("safest") or the end of a longer
  one ("xaban" for rivaroxaban and apixaban);
* the lexicon (rag.lexicon) maps it to words the library uses (brands, abbreviations, lay words);
* it is everyday English: the embedding model's tokenizer keeps it whole. WordPiece vocabularies hold
  common words as single pieces and split rare names ("sirolimus" → several pieces), so a word kept whole
  ("grandad" aside) is not a name the library is missing;
* it is a number, a contraction, a function word or a word for a person ("grandad").

Measured on eval/gold.jsonl and on eval/heldout.jsonl, which was written after this rule; a few lexicon
and people words were added after seeing its false abstentions (README).
"""

from __future__ import annotations

import bisect
from collections import Counter
from typing import Callable

from rag.lexicon import ALSO, also
from rag.text import QUESTION_WORDS, STOPWORDS, split_words, terms

# Who is asking about whom: people words carry no medical content, and the tokenizer splits some of them.
_PEOPLE = frozenset("""grandad granddad grandpa grandma granny grandmother grandfather grandparent grandparents
    grandson granddaughter grandchild grandkids hubby stepson stepdaughter stepmum stepdad fiance fiancee
    bestie nan nana nanna mums moms mams dads sons daughters wifes husbands sisters brothers uncles aunts
    nephews nieces partners""".split())  # plural or apostrophe-less possessive: "my mums alzheimers"
_SPECIALISTS = ("ologist", "ologists", "ician", "icians", "iatrist", "iatrists")  # "my oncologist": who, not what
_CASUAL = frozenset("ish lol pls plz thx thanks ok okay hi hello".split())  # "normal-ish", "ok to…"
_FUNCTION = STOPWORDS | QUESTION_WORDS | _PEOPLE | _CASUAL
_CONTRACTION_TAILS = ("nt", "s", "ve", "re", "ll", "d", "m")
MIN_FUZZY = 5  # words shorter than this are too short to call a slip of another word
MIN_PREFIX = 4


class Vocabulary:
    def __init__(self, texts: list[str], pieces: Callable[[str], list[str]] | None = None):
        self.words: set[str] = set()
        self._counts: Counter[str] = Counter()  # stem -> how many passages use it
        for text in texts:
            found = set(split_words(text))
            self.words |= found
            self._counts.update(set(terms(" ".join(found))))
        self.stems = set(self._counts)  # every stem some passage uses
        self._sorted = sorted(self.words)
        self._reversed = sorted(w[::-1] for w in self.words)
        self._deletes: set[str] = set()
        for w in self.words:
            if len(w) >= MIN_FUZZY:
                self._deletes.add(w)
                self._deletes.update(w[:i] + w[i + 1:] for i in range(len(w)))
        self._pieces = pieces

    def _slip(self, w: str) -> bool:
        """One deletion on either side meets: covers a missing, extra, changed or swapped letter."""
        if len(w) < MIN_FUZZY:
            return False
        return w in self._deletes or any(w[:i] + w[i + 1:] in self._deletes for i in range(len(w)))

    def _prefix(self, w: str) -> bool:
        if len(w) < MIN_PREFIX:
            return False
        i = bisect.bisect_left(self._sorted, w)
        if i < len(self._sorted) and self._sorted[i].startswith(w):
            return True
        return any(w[:k] in self.words for k in range(len(w) - 1, MIN_FUZZY - 1, -1))

    def _suffix(self, w: str) -> bool:
        """The end of a longer library word: a drug-name stem people type alone ("the xabans")."""
        if len(w) < MIN_FUZZY:
            return False
        r = w[::-1]
        i = bisect.bisect_left(self._reversed, r)
        return i < len(self._reversed) and self._reversed[i].startswith(r) and self._reversed[i] != r

    def frequency(self, stems: set[str]) -> int:
        """How many passages use any of these stems: the rarer, the more a word names one specific thing."""
        return max((self._counts[s] for s in stems), default=0)

    def specialist(self, w: str) -> bool:
        """A word the tokenizer splits: a name or technical term rather than everyday English."""
        return self._pieces is not None and len(self._pieces(w)) >= 2

    def pieces(self, w: str) -> int:
        """How many WordPiece pieces the model's tokenizer cuts the word into (1 without a tokenizer)."""
        return len(self._pieces(w)) if self._pieces is not None else 1

    def knows(self, w: str) -> bool:
        if w in _FUNCTION or "'" in w or any(c.isdigit() for c in w) or w.endswith(_SPECIALISTS):
            return True
        if any(w.endswith(t) and w[:-len(t)] in _FUNCTION for t in _CONTRACTION_TAILS):
            return True  # "whats", "didnt", "youve"
        stem = terms(w, drop_question_words=False)
        if not stem or stem[0] in self.stems or w in self.words:
            return True
        if w in ALSO and also(stem[0]) & self.stems:
            return True
        if self._slip(w) or self._prefix(w) or self._suffix(w):
            return True
        return self._pieces is not None and len(self._pieces(w)) < 2

    def unknown(self, question: str) -> list[str]:
        """The question's words the library cannot account for, in order, once each."""
        out: list[str] = []
        for w in split_words(question):
            if w not in out and not self.knows(w):
                out.append(w)
        return out


__all__ = ["Vocabulary"]
