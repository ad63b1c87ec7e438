"""The one place that decides whether the library can answer, and says why not.

Declining is for questions the library does not cover. A question asking for a figure (a dose, a
duration, a rate) about a subject that has an article is answered from it, and the answer says plainly
that no passage gives the figure (issue 12, item 5). (A suicidal or self-harm statement always gets the
urgent and crisis lines first, is never read as a follow-up, and when declined is offered no reading
list.) What declines:

* weak evidence: the best chunk's cosine plus a bonus for the share of the question's words it holds is
  below `Settings.min_evidence`;
* a word the library never mentions (rag.vocabulary), unless a small learned model is confident the word is
  stray and the best article answers the rest ("Is extended aortic replacement in acute type A dissection
  justifiable?" over the abstract that answers it). A plain rule ("the rest of the question names a
  covered subject") was tried first: it answered 7 more unanswerable gold questions whose unknown word *is*
  what is asked (ataluren, zilucoplan, an aducanumab dose), so the model's threshold is set so that no
  unanswerable training question is answered out of fold;
* a figure the evidence lacks, about a subject that has no article of its own.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.answer.evidence import EvidenceSet, evidence_score
from rag.answer.figures import MissingFigure
from rag.answer.logistic import probability
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
    reason: str  # unknown_word | weak_evidence | missing_figure | no_quotable_text
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


def subject_covered(question: Question, evidence: EvidenceSet, only: set[str] | None = None) -> bool:
    """The question (or only its words in `only`) names the subject of one of the two best articles."""
    asked = set(only) if only is not None else question.terms - GENERIC
    return bool(asked) and any(asked & subject_terms(evidence.titles.get(a, ""), evidence.answer_line(a))
                               for a in evidence.articles()[:2])


UNKNOWN_FEATURES = ("n_unknown", "unknown_share", "covered", "evidence", "best_dense", "pieces", "yes_no",
                    "capitalised", "title_covered")


def unknown_features(question: Question, evidence: EvidenceSet, coverage_weight: float,
                     pieces=lambda w: 1) -> dict[str, float]:
    """What is known about a question that carries words the library never uses: how many and how much of
    the question they are, how well the best article covers the rest of it, how technical they look."""
    unknown = set().union(*(split_terms(w) for w in question.unknown)) if question.unknown else set()
    rest = question.terms - unknown
    top = evidence.top
    found: set[str] = set(split_terms(evidence.titles.get(top, "")))
    for p in evidence.passages:
        if p.chunk.article_id == top:
            found |= split_terms(p.chunk.text)
    title = subject_terms(evidence.titles.get(top, ""))
    words = question.text.split()
    capitalised = any(w.strip("?,.;:()'\"") in question.unknown or w.strip("?,.;:()'\"").lower() in question.unknown
                      for i, w in enumerate(words) if i > 0 and w[:1].isupper())
    return {
        "n_unknown": float(len(question.unknown)),
        "unknown_share": len(unknown) / max(1, len(question.terms)),
        "covered": len(rest & found) / max(1, len(rest)),
        "evidence": evidence_score(evidence, question.terms, coverage_weight) if evidence.hits else 0.0,
        "best_dense": evidence.best_dense,
        "pieces": math.log(max((pieces(w) for w in question.unknown), default=1)),
        "yes_no": 1.0 if question.yes_no else 0.0,
        "capitalised": 1.0 if capitalised else 0.0,
        "title_covered": len(rest & title) / max(1, len(rest)),
    }


MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "abstain_model.json"


@lru_cache(maxsize=1)
def unknown_model() -> dict:
    return json.loads(MODEL_FILE.read_text(encoding="utf-8"))


def stray_unknown(question: Question, evidence: EvidenceSet, settings: Settings, pieces=lambda w: 1) -> bool:
    """The words the library never uses are stray: the learned model (rag/data/abstain_model.json,
    eval/train_abstain.py) is confident the question is answerable from the best article anyway."""
    if not evidence.hits:
        return False
    model = unknown_model()
    return probability(model, unknown_features(question, evidence, settings.coverage_weight, pieces)) \
        >= model["t_answer"]


def abstention_reason(question: Question, evidence: EvidenceSet, settings: Settings,
                      missing: MissingFigure | None = None, pieces=lambda w: 1) -> Abstention | None:
    """Why the library cannot answer this question, or None when it can."""
    if question.unknown and not stray_unknown(question, evidence, settings, pieces):
        return Abstention("unknown_word", f"The library never mentions: {', '.join(question.unknown)}.")
    if not evidence.hits or evidence_score(evidence, question.terms, settings.coverage_weight) < settings.min_evidence:
        return Abstention("weak_evidence")
    if missing is not None and not subject_covered(question, evidence, only=set(missing.stems) or None):
        return Abstention("missing_figure", missing.notice())
    return None


__all__ = ["Abstention", "abstention_reason", "subject_covered", "subject_terms", "GENERIC"]
