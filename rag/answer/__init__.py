"""The templated answer composer, as a package: the question is read once (`question`), retrieval hands
over an evidence set (`evidence`), one function decides abstention (`abstain`), the yes/no verdict is
read from the quoted sentence (`verdict`, `negation`), and `compose` builds the Answer that `text` renders.
Nothing here reads the index."""

from rag.answer.compose import AUDIENCES, compose, evidence_note
from rag.answer.evidence import EvidenceSet, Passage
from rag.answer.question import Question, read_question

__all__ = ["AUDIENCES", "compose", "evidence_note", "EvidenceSet", "Passage", "Question", "read_question"]
