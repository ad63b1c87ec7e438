"""The one place that decides whether the library can answer, and says why not.

Declining is for questions the library does not cover. A question asking for a figure (a dose, a
duration, a rate) about a subject that has an article is answered from it, and the answer says plainly
that no passage gives the figure (issue 12, item 5). What declines:

* weak evidence: the best chunk's cosine plus a bonus for the share of the question's words it holds is
  below `Settings.min_evidence`;
* a name the library never mentions (rag.vocabulary): declined whatever the rest of the question. Letting
  a covered subject carry the question ("Does sirolimus slow IBM?" answered from the IBM article with a
  notice) was tried and measured: on eval/gold.jsonl it answered 7 more unanswerable questions whose
  unknown word *is* what is asked (ataluren, zilucoplan, aducanumab doses), so it is not the rule;
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
        return Abstention("unknown_word", f"The library never mentions: {', '.join(question.unknown)}.")
    if not evidence.hits or evidence_score(evidence, question.terms, settings.coverage_weight) < settings.min_evidence:
        return Abstention("weak_evidence")
    if missing is not None and not subject_covered(question, evidence, only=set(missing.stems) or None):
        return Abstention("missing_figure", missing.notice())
    return None


__all__ = ["Abstention", "abstention_reason", "subject_covered", "subject_terms", "GENERIC"]
