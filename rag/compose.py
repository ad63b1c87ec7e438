"""The templated answer composer: no language model, only retrieved sentences, each with its citations.

Every sentence of an answer is a unit quoted verbatim from a retrieved chunk, so a citation can always be
checked against the exact characters it points to. Sources are the article a unit comes from and the
original references the author attached to that unit with markers; a marker with no matching entry in
the article's reference list cites the article only, never a guessed reference.

The question's type picks the template: a yes/no question opens with the verdict, a comparison answers
part by part, every other type leads with the best direct answer and adds key points.
"""

from __future__ import annotations

from rag.answer_text import render
from rag.config import Settings
from rag.documents import Answer, Chunk, Citation, KeyPoint, Source
from rag.evidence import (Candidate, Selection, candidates, direct_answer_chunk, evidence_chunks,
                          evidence_score, unit_vector)
from rag.figures import missing_figure
from rag.glossary import explain
from rag.questions import comparison_parts, is_emergency, question_type
from rag.retrieval import Retrieval
from rag.store import IndexStore
from rag.text import terms
from rag.verdict import asks_what_is_happening, decide, reconcile, topic_of
from rag.vocabulary import Vocabulary

AUDIENCES = ("clinician", "patient")


class SourceList:
    """Numbers sources in order of first use; the same article or reference is one source."""

    def __init__(self, store: IndexStore):
        self.store = store
        self.sources: list[Source] = []
        self._keys: dict[tuple, int] = {}

    def article(self, article_id: str) -> int:
        key = ("article", article_id)
        if key not in self._keys:
            self._add(key, Source(0, "article", self.store.titles.get(article_id, article_id), article_id))
        return self._keys[key]

    def reference(self, article_id: str, number: int) -> int | None:
        ref = self.store.references(article_id).get(number)
        if ref is None:
            return None
        key = ("reference", article_id, number)
        if key not in self._keys:
            self._add(key, Source(0, "reference", ref.title, article_id, ref.type, ref.journal, ref.year, number))
        return self._keys[key]

    def _add(self, key: tuple, source: Source) -> None:
        source.number = len(self.sources) + 1
        self.sources.append(source)
        self._keys[key] = source.number


class Citer:
    """Issues the [n] markers of one answer, each tied to the exact span of the chunk it quotes."""

    def __init__(self, store: IndexStore):
        self.sources = SourceList(store)
        self.citations: list[Citation] = []

    def cite(self, chunk: Chunk, markers: list[int], start: int, end: int, sentence: int) -> list[int]:
        quote = chunk.text[start:end]
        numbers = [self.sources.article(chunk.article_id)]
        for m in markers:
            n = self.sources.reference(chunk.article_id, m)
            if n is not None and n not in numbers:
                numbers.append(n)
        for n in numbers:
            self.citations.append(Citation(len(self.citations) + 1, n, chunk.id, chunk.article_id, quote, start,
                                           end, sentence))
        return numbers


def evidence_note(sources: list[Source]) -> str:
    """Say what kind of evidence the answer rests on, as the article's own reference types label it."""
    refs = [s for s in sources if s.kind == "reference"]
    guidelines = sum(s.type == "Guideline" for s in refs)
    if not refs:
        return "Evidence: the library articles only; the quoted statements carry no reference markers."
    if guidelines == 0:
        return f"Evidence: research only ({len(refs)} research references); no clinical guideline is cited."
    return f"Evidence: {guidelines} guideline and {len(refs) - guidelines} research references."


def abstention(question: str, query: str, audience: str, retrieval: Retrieval, store: IndexStore,
               notice: str = "") -> Answer:
    nearest = [store.titles[a] for a in retrieval.articles()[:3] if a in store.titles]
    answer = Answer(question, query, audience, "", "The library does not cover this question.", [], [], [],
                    retrieval.hits, True, nearest)
    if notice:
        answer.notices = [notice]
    answer.qtype = question_type(query)
    answer.urgent = is_emergency(question)
    answer.text = render(answer)
    return answer


def compose(question: str, query: str, retrieval: Retrieval, store: IndexStore, settings: Settings,
            audience: str = "clinician", unknown: list[str] | None = None,
            vocabulary: Vocabulary | None = None) -> Answer:
    """`unknown`: words of the question the library never uses (rag.vocabulary); any of them means the
    library cannot answer, however close its topic is. With the library's `vocabulary`, a question asking
    for a figure is answered only when the evidence holds one (rag.figures)."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
    hits = retrieval.hits
    qterms = set(terms(query))
    if unknown:
        return abstention(question, query, audience, retrieval, store,
                          f"The library never mentions: {', '.join(unknown)}.")
    if not hits or evidence_score(retrieval, qterms, settings.coverage_weight) < settings.min_evidence:
        return abstention(question, query, audience, retrieval, store)

    qtype = question_type(query)
    urgent = is_emergency(question)
    if urgent and qtype == "yes_no" and asks_what_is_happening(question):
        qtype = "other"  # never answer "Yes"/"No" to "is this a heart attack?": the urgent line comes first
    qvec = retrieval.query_vector[0]
    top = hits[0].chunk.article_id
    citer = Citer(store)
    chunks = evidence_chunks(hits, store, top, qvec)
    # Scored once: every unit of the best article (the verdict and the figure check read them all); the
    # key points draw only on body chunks that pass the similarity floor.
    whole = candidates(chunks, qterms, qvec, store, settings.min_similarity, top, whole_top=True)
    passing = {chunk.id for chunk, dense in chunks if chunk.kind == "body" and dense >= settings.min_similarity}
    pool = [c for c in whole if c.chunk.id in passing]
    said = Selection(settings.answer_tokens)

    # The direct line: the top article's own answer when it answers this question (for a yes/no question,
    # only when that answer itself says yes or no), else the best single piece of evidence.
    answer_line = next((c.text for c in whole if c.chunk.article_id == top and c.chunk.kind == "answer"), "")
    topic = topic_of(hits[0].chunk.title, answer_line)
    if vocabulary is not None and settings.abstain_without_figure:
        missing = missing_figure(query, topic, [c.text for c in whole], vocabulary)
        if missing:
            return abstention(question, query, audience, retrieval, store, missing.notice())

    direct_chunk = direct_answer_chunk(store, top, qvec, retrieval.best_dense, settings.min_similarity)
    verdict: str | None = None
    if qtype == "yes_no" and direct_chunk is not None:
        opening = direct_chunk.units[0]["text"].split(",")[0].strip().lower()
        if opening in ("yes", "no"):
            verdict = reconcile(opening.capitalize(), direct_chunk.title, query)
        elif pool:
            direct_chunk = None
    if direct_chunk is not None:
        units = direct_chunk.units[:2]
        direct_text = " ".join(u["text"] for u in units)
        direct_sources = citer.cite(direct_chunk, [], units[0]["start"], units[-1]["end"], 0)
        said.note(unit_vector(store, units[0], None), set(terms(direct_text)))
    elif pool:
        best = pool[0]
        if qtype == "yes_no":  # the first line quotes the very sentence the verdict rests on
            decided = decide(query, topic, [c.text for c in whole], [c.score for c in whole],
                             [c.chunk.article_id for c in whole])
            verdict, best = decided.word, whole[decided.index]
        pool = [c for c in pool if c.text != best.text]
        direct_text = best.text
        direct_sources = citer.cite(best.chunk, best.markers, best.start, best.end, 0)
        said.note(best.vec, best.terms)
    else:  # the evidence passed the threshold but none of it is quotable: do not pretend otherwise
        return abstention(question, query, audience, retrieval, store)

    chosen = _key_points(qtype, query, pool, said, settings.max_points)
    points = []
    for group, cand in chosen:
        numbers = citer.cite(cand.chunk, cand.markers, cand.start, cand.end, len(points) + 1)
        points.append(KeyPoint(cand.text, numbers, cand.chunk.id, cand.chunk.article_id, group))

    answer = Answer(question, query, audience, "", direct_text, points, citer.citations, citer.sources.sources,
                    hits, False)
    answer.qtype = qtype
    answer.verdict = verdict
    answer.direct_sources = direct_sources
    answer.urgent = urgent
    answer.evidence = evidence_note(answer.sources)
    if audience == "patient":
        answer.glossary = explain(" ".join([direct_text] + [p.text for p in points]))
    answer.text = render(answer)
    return answer


def _key_points(qtype: str, query: str, pool: list[Candidate], said: Selection,
                limit: int) -> list[tuple[str, Candidate]]:
    """(group, candidate) pairs. A comparison takes the best points for each side first, then the rest."""
    parts = comparison_parts(query) if qtype == "comparison" else None
    if not parts:
        return [("", c) for c in said.take(pool, limit)]
    keys = [_part_keys(parts[0], parts[1]), _part_keys(parts[1], parts[0])]

    def side(c: Candidate) -> str:
        a, b = bool(keys[0] & c.terms), bool(keys[1] & c.terms)
        return parts[0] if a and not b else parts[1] if b and not a else "Both"

    per_side = max(1, (limit - 1) // 2)
    picked = [(parts[0], c) for c in said.take(pool, per_side, lambda c: side(c) == parts[0])]
    picked += [(parts[1], c) for c in said.take(pool, per_side, lambda c: side(c) == parts[1])]
    picked += [(side(c), c) for c in said.take(pool, limit - len(picked))]
    order = {parts[0]: 0, parts[1]: 1, "Both": 2}
    return sorted(picked, key=lambda gc: order.get(gc[0], 2))


def _part_keys(part: str, other: str) -> set[str]:
    """The words that say a sentence is about this side of a comparison: its first word the other side
    lacks ("Duchenne" against "Becker muscular dystrophy"), and its initials ("MG", "LEMS")."""
    own, theirs = terms(part), set(terms(other))
    keys = {next((t for t in own if t not in theirs), own[0] if own else "")}
    words = [w for w in part.replace("-", " ").split() if w[:1].isalpha()]
    if len(words) >= 2:
        keys |= set(terms("".join(w[0] for w in words)))
    return {k for k in keys if k}


__all__ = ["compose", "abstention", "AUDIENCES", "evidence_note"]
