"""The one place that decides whether the library can answer, and says why not.

Declining is for questions the library does not cover. A question whose subject has an article is
answered from it, even when it carries a word the library never uses or asks for a figure the article
does not give: the answer then says plainly what is missing (issue 12, item 5). What still declines:

* weak evidence: the best chunk's cosine plus a bonus for the share of the question's words it holds is
  below `Settings.min_evidence`;
* a name the library never mentions when the rest of the question does not reach the subject of the best
  article either (the unknown word *is* the subject: "Does sirolimus slow IBM?" is about IBM and is
  answered with "the library never mentions sirolimus"; "What is tirzepatide?" is declined);
* a figure the evidence lacks, about a subject that has no article of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.evidence import EvidenceSet, evidence_score
from rag.answer.figures import MissingFigure
from rag.answer.question import Question
from rag.config import Settings
from rag.text import split_terms

# Words of asking and of clinical categories: sharing them with an article's title does not make a
# question about the article's subject ("What is the treatment for X?" against "How is Y treated?").
GENERIC = split_terms("""treat treatment treated therapy therapies manage management diagnose diagnosis
    diagnosed test tests symptom symptoms sign signs cause causes caused risk risks prognosis outlook
    difference differences compare type types form forms first line drug drugs medicine medicines dose
    doses people patient patients adult adults child children disease diseases condition conditions disorder
    disorders syndrome common best new use used work works long term good bad help helps affected
    information research know""")


@dataclass
class Abstention:
    reason: str  # weak_evidence | unknown_subject | missing_figure | no_quotable_text
    notice: str = ""


# What a title compares its subject with is not its subject: "Is Kennedy disease the same as ALS?" is
# about Kennedy disease, "Is ALS a form of muscular dystrophy?" about ALS.
_COMPARED_WITH = re.compile(r"\b(?:differs? from|different from|the same as|same as|versus|vs\.?|compared (?:with|to)|"
                            r"distinguished from|a (?:form|type|kind|variant) of)\b", re.I)


def subject_terms(title: str, answer_line: str = "") -> set[str]:
    """The stems that name an article's subject: its title (up to what it is compared with) and the short
    names its answer introduces, less the words of asking and categories."""
    from rag.answer.verdict import topic_of
    own = _COMPARED_WITH.split(title)[0]
    return split_terms(topic_of(own, answer_line if own == title else "")) - GENERIC


def subject_covered(question: Question, evidence: EvidenceSet, ignore: set[str] = frozenset(),
                    only: set[str] | None = None) -> bool:
    """The question, without the words in `ignore` (or only its words in `only`), names the subject of
    one of the best articles."""
    asked = (set(only) if only is not None else question.terms - GENERIC) - ignore
    if not asked:
        return False
    for article_id in evidence.articles()[:2]:
        passage = evidence.answer_passage(article_id)
        line = passage.chunk.units[0]["text"] if passage is not None else ""
        if asked & subject_terms(evidence.titles.get(article_id, ""), line):
            return True
    return False


def abstention_reason(question: Question, evidence: EvidenceSet, settings: Settings,
                      missing: MissingFigure | None = None) -> Abstention | None:
    """Why the library cannot answer this question, or None when it can."""
    if question.unknown:
        unknown = set().union(*(split_terms(w) for w in question.unknown))
        if not evidence.hits or not subject_covered(question, evidence, unknown):
            return Abstention("unknown_subject", f"The library never mentions: {', '.join(question.unknown)}.")
    if not evidence.hits or evidence_score(evidence, question.terms, settings.coverage_weight) < settings.min_evidence:
        return Abstention("weak_evidence")
    if missing is not None and not subject_covered(question, evidence, only=set(missing.stems) or None):
        return Abstention("missing_figure", missing.notice())
    return None


__all__ = ["Abstention", "abstention_reason", "subject_covered", "subject_terms", "GENERIC"]
