"""Is the question's focus negated or hedged in a sentence? Read with negspacy (NegEx), not word lists.

The composer marks the words of a sentence that carry what a yes/no question asks (its focus, see
rag.answer.verdict.focus_terms) as entities of a blank spaCy pipeline, then runs two NegEx passes: the
clinical negation termset negspacy ships (`en_clinical`), and a hedge termset in the same shape
(rag/data/hedge_terms.json) that marks a focus stated as possible or uncertain. spaCy is loaded on the
first yes/no question only, so other questions and process start do not pay for it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.text import split_terms

HEDGE_FILE = Path(__file__).resolve().parent.parent / "data" / "hedge_terms.json"
# NegEx reads a cue's scope as at most five words from the cue (Chapman et al., J Biomed Inform 2001);
# negspacy runs the scope to the end of the clause, which lets "no cure for ALS; treatment … riluzole"
# negate riluzole. The window is applied here to the cue positions negspacy's matcher finds.
WINDOW = 5


@dataclass(frozen=True)
class Reading:
    focus_found: int  # how many focus words the sentence holds
    negated: bool  # at least one of them is negated
    hedged: bool  # at least one of them is hedged
    any_negation: bool  # NegEx finds a negation cue anywhere in the sentence
    negated_n: int = 0  # how many of the focus words are negated
    hedged_n: int = 0


class _Reader:
    def __init__(self) -> None:
        import spacy
        from spacy.tokens import Span
        from negspacy.negation import Negex  # noqa: F401  (registers the "negex" factory)
        from negspacy.termsets import termset

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        hedges = json.loads(HEDGE_FILE.read_text(encoding="utf-8"))
        self.negex = nlp.add_pipe("negex", config={"neg_termset": termset("en_clinical").get_patterns()})
        self.hedge = nlp.add_pipe("negex", name="hedge", config={
            "neg_termset": {k: hedges[k] for k in ("pseudo_negations", "preceding_negations",
                                                   "following_negations", "termination")},
            "extension_name": "hedged"})
        self.nlp = nlp
        self.lock = threading.Lock()  # spaCy pipelines are not documented as thread-safe

    def read(self, text: str, focus: list[frozenset[str]]) -> Reading:
        from spacy.tokens import Span
        with self.lock:
            doc = self.nlp.make_doc(text)
            doc = self.nlp.get_pipe("sentencizer")(doc)
            spans = []
            for tok in doc:
                stems = split_terms(tok.text)
                if stems and any(g & stems for g in focus):
                    spans.append(Span(doc, tok.i, tok.i + 1, label="FOCUS"))
            doc.ents = spans
            negated = self._reached(self.negex, doc, spans)
            hedged = self._reached(self.hedge, doc, spans)
            preceding, following, _ = self.negex.process_negations(doc)
            return Reading(len(spans), negated > 0, hedged > 0, bool(preceding or following), negated, hedged)

    @staticmethod
    def _reached(component, doc, spans) -> int:
        """How many of `spans` a cue of `component` (negspacy's matcher and clause boundaries) reaches
        within WINDOW words."""
        reached = 0
        preceding, following, terminating = component.process_negations(doc)
        for start, end in component.termination_boundaries(doc, terminating):
            pre = [m for m in preceding if start <= m[1] < end]
            fol = [m for m in following if start <= m[1] < end]
            for span in spans:
                if not (start <= span.start < end):
                    continue
                if any(m[2] <= span.start and span.start - m[2] < WINDOW for m in pre) or \
                        any(m[1] >= span.end and m[1] - span.end < WINDOW for m in fol):
                    reached += 1
        return reached


_lock = threading.Lock()

# Words by which research reports a finding ("significantly associated", "no difference", "did not
# improve"): whether they are negated across an abstract is a cue for the learned verdict model, which
# weighs it (rag/answer/verdict.py); they decide nothing on their own.
OUTCOME = [frozenset(split_terms(w)) for w in ("significant", "significantly", "associated", "association",
                                                "difference", "different", "effective", "effect", "improved",
                                                "benefit", "reduced", "increased", "predictive", "correlated")]


@lru_cache(maxsize=1)
def _reader() -> _Reader:
    return _Reader()


def read(text: str, focus: list[frozenset[str]]) -> Reading:
    """How `text` speaks of the focus words: found, negated, hedged."""
    with _lock:
        reader = _reader()
    return reader.read(text, focus)


__all__ = ["Reading", "read", "OUTCOME"]
