"""Follow-up questions: turning "and how is it treated?" into a question that stands on its own.

No language model: the topic of a conversation is the words of earlier questions that name what they are
about (not what they ask: "treatment", "diagnosed" and the like are intent, not topic). A follow-up —
a question with a pronoun ("it", "that", "the other one"), an opening like "and…" or "what about…", or no
topic words of its own — gets the current topic written into it. A question that names its own topic,
or says it changes the subject ("Different question: …"), starts a new topic and drops the old one.

One kind of question starts a new topic though the library has no title for it: a question that neither
points back ("it", "and…", "what about…") nor names a library subject, but names something the library
never mentions at all ("What is tirzepatide used for?" after Bell's palsy), and not inside a definite
description ("the jerky movements" points back at the topic). Carrying the old topic into it would answer
about Bell's palsy; asked on its own, the pipeline declines and names the unknown word. A name
the library *does* use (a subtype, a drug of the same topic) keeps the topic: treating those as new topics
was tried and lowered follow-up recall@5 on eval/conversations.jsonl from 0.985 to 0.966.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from rag.text import QUESTION_WORDS, STOPWORDS, terms

SWITCH = re.compile(r"^\s*(different question|unrelated|new question|another question|switching (topics?|subject)|"
                    r"changing (the )?(topic|subject)|change of (topic|subject)|on another note|separate question|"
                    r"something else)\b[\s:,.-]*", re.I)
CONTINUATION = re.compile(r"^\s*(and|what about|how about|also|but|so|then|or|plus|ok(ay)?|what if)\b", re.I)
OTHER_ONE = re.compile(r"\b(the other (one|condition|disease|drug)|the second one|the latter)\b", re.I)
FIRST_ONE = re.compile(r"\b(the first one|the former)\b", re.I)
ANAPHORA = re.compile(r"\b(it|its|it's|this|that|these|those|they|them|their|the (disease|condition|illness|"
                      r"disorder|syndrome|drug|medicine|treatment|test|infection|problem))\b", re.I)

# Words that say what is asked, not what it is about.
INTENT = frozenset("""treat treated treating treatment treatments therapy therapies drug drugs medicine medicines
    medication medications meds dose doses dosing first-line first line usual best standard option options
    choice diagnose diagnosed diagnosing diagnosis test tests testing tested scan scans confirm confirmed
    check cause causes caused causing why risk risks trigger triggers gene genes genetic inherited prognosis
    survival outlook life expectancy live long how many much often common rare symptoms symptom signs sign
    feel like look present presentation difference differences differ different same compare versus vs
    prevent prevention cure cured help helps work works worth safe effective side effects effect recommended
    recommend should doctors doctor people patient patients someone person get got give given take taken
    taking start started stop need needed needs know tell explain mean means happen happens way ways type
    types kind kinds good bad better worse new old year years month months week weeks day days children child
    kids kid adults adult elderly pregnancy pregnant women men baby babies infants infant usually really
    actually just still ever anything something there here now then about question dad mum mom mother father
    son daughter wife husband sister brother grandad grandpa grandma grandmother grandfather uncle aunt
    friend mate partner family""".split())
_IS_X_A_Y = re.compile(r"^\s*(is|are|was|were)\s+(?P<x>.+?)\s+(just\s+|really\s+|simply\s+)?(a|an|the|one|part|"
                       r"like|same)\b", re.I)
_DEFINITE = re.compile(r"\bthe\s+(?:\S+\s+)?$", re.I)  # "the jerky ", "the "
PRONOUNS = frozenset("it its it's this that these those they them their he she him her his hers one ones other".split())
# Any letter, not only ASCII: "Guillain-Barré" is one topic word, not "Guillain-Barr".
_WORD = re.compile(r"[^\W_][\w'\-]*")


def subject_terms(titles: list[str]) -> frozenset[str]:
    """The stemmed topic words of a library's article titles."""
    return frozenset(t for title in titles for t in terms(" ".join(topic_words(title))))


def _is_topic(word: str) -> bool:
    lw = word.lower().strip("'")
    return not (lw in STOPWORDS or lw in QUESTION_WORDS or lw in INTENT or lw in PRONOUNS or len(lw) < 2)


def topic_runs(question: str) -> list[list[str]]:
    """Runs of consecutive topic words ("myasthenia gravis", "muscular dystrophy"), in order."""
    runs: list[list[str]] = [[]]
    for w in _WORD.findall(SWITCH.sub("", question)):
        if _is_topic(w):
            runs[-1].append(w)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def topic_words(question: str) -> list[str]:
    """The words of a question that name its subject, in order, as typed."""
    return [w for run in topic_runs(question) for w in run]


@dataclass
class Turn:
    question: str
    query: str
    topic: str
    article_id: str | None = None


@dataclass
class Conversation:
    """The dialogue so far, as far as reading the next question needs it."""

    turns: list[Turn] = field(default_factory=list)
    # Stemmed words that name the library's subjects (from its article titles). A question starts a new
    # topic only when its own topic words include one of these: "what blood tests should I have?" names
    # no subject, "what about migraine?" does. Empty: any topic word counts.
    known: frozenset[str] = frozenset()
    # The words of a text the library never uses (rag.vocabulary.Vocabulary.unknown); None: not checked.
    unknown: Callable[[str], list[str]] | None = None

    def names_unknown(self, question: str, words: list[str]) -> bool:
        """A topic word the library never mentions, used as a name: the question is about something else
        entirely. Inside a definite description ("is there anything for the jerky movements?") the word
        describes something the conversation already holds, and the question stays a follow-up."""
        if not words or self.unknown is None:
            return False
        for w in self.unknown(" ".join(words)):
            at = re.search(rf"(?<![\w-]){re.escape(w)}", question, re.I)
            if at is None or not _DEFINITE.search(question[: at.start()]):
                return True
        return False

    def names_subject(self, words: list[str]) -> bool:
        if not words:
            return False
        return not self.known or bool(set(terms(" ".join(words))) & self.known)

    def subject(self, question: str) -> str:
        """What a question is about. "Is ALS a form of muscular dystrophy?" is about ALS: in "Is X a Y?"
        the first named thing is the subject and the rest is said of it."""
        runs = topic_runs(question)
        if not runs:
            return ""
        m = _IS_X_A_Y.match(SWITCH.sub("", question))
        if m:
            return " ".join(topic_words(m.group("x"))) or " ".join(runs[0])
        return " ".join(w for r in runs for w in r)

    @property
    def topic(self) -> str:
        return self.turns[-1].topic if self.turns else ""

    def topics(self) -> list[str]:
        """Distinct topics, most recent first."""
        return list(dict.fromkeys(t.topic for t in reversed(self.turns) if t.topic))

    def rewrite(self, question: str) -> tuple[str, str, bool]:
        """(self-contained query, its topic, whether it was read as a follow-up)."""
        own = topic_words(question)
        own_topic = self.subject(question)
        switch = bool(SWITCH.search(question))
        if not self.turns or switch:
            return SWITCH.sub("", question).strip() or question, own_topic, False
        topics = self.topics()
        if OTHER_ONE.search(question) and len(topics) >= 2:
            other = topics[1]
            return OTHER_ONE.sub(other, question), other, True
        if FIRST_ONE.search(question) and len(topics) >= 2:
            first = topics[-1]
            return FIRST_ONE.sub(first, question), first, True
        anaphora = ANAPHORA.search(question)
        continuation = bool(CONTINUATION.search(question))
        if self.names_subject(own) and not anaphora and not continuation:
            return question, own_topic, False  # names its own subject: a new topic
        if self.names_unknown(question, own) and not anaphora and not continuation:
            return question, own_topic, False  # about something the library never mentions: not the old topic
        current = self.topic
        if not current:
            return question, own_topic, False
        if anaphora and self.names_subject(own):
            # "is that the same as PLS?": the pronoun is the old topic, the named thing is compared with it.
            query = question[: anaphora.start()] + current + question[anaphora.end():]
            return query, current, True
        if anaphora:
            replacement = current + "'s" if anaphora.group(0).lower() in ("its", "their") else current
            query = question[: anaphora.start()] + replacement + question[anaphora.end():]
            return query, current, True
        # Ellipsis ("and in children?", "what about treatment?"): carry the topic along.
        return f"{question.rstrip()} ({current}{', ' + own_topic if own_topic else ''})", current, True

    def add(self, question: str, query: str, topic: str, article_id: str | None) -> None:
        self.turns.append(Turn(question, query, topic, article_id))
