"""The templated answer composer: no language model, only retrieved sentences, each with its citations.

`compose(question, evidence)` is a function of two data objects (rag.answer.question.Question and
rag.answer.evidence.EvidenceSet); it never reads the index. Every sentence of an answer is a unit quoted
verbatim from a retrieved chunk, so a citation can always be checked against the exact characters it
points to. Sources are the article a unit comes from and the original references the author attached to
that unit with markers; a marker with no matching entry in the article's reference list cites the article
only, never a guessed reference.

The question's type picks the template: a yes/no question opens with a verdict only when a quoted sentence
asserts or denies what is asked (rag.answer.verdict), else with the evidence itself; a comparison answers
part by part; every other type leads with the best direct answer and adds key points. Key points come
from the articles about the question's subject; a sentence from another article is used only when it
speaks of that subject, and then the article it comes from is named.
"""

from __future__ import annotations

import re

from rag.answer.abstain import GENERIC, Abstention, abstention_reason, subject_terms
from rag.answer.evidence import (Candidate, EvidenceSet, Passage, Selection, candidates, direct_answer,
                                 with_antecedent)
from rag.answer.figures import figure_gap
from rag.answer.question import Question, names_subject
from rag.answer.sections import best_section
from rag.answer.text import render
from rag.answer.verdict import ASKING, decide_verdict, topic_of
from rag.config import Settings
from rag.documents import Answer, Chunk, Citation, KeyPoint, Passage as CitedPassage, Source
from rag.glossary import explain, unexplained
from rag.text import split_terms, terms

AUDIENCES = ("clinician", "patient")


class Citer:
    """Issues the [n] markers of one answer, each tied to the exact span of the chunk it quotes, and
    numbers sources in order of first use (the same article or reference is one source)."""

    def __init__(self, evidence: EvidenceSet):
        self.evidence = evidence
        self.sources: list[Source] = []
        self.citations: list[Citation] = []
        self.passages: dict[int, Chunk] = {}
        self._keys: dict[tuple, int] = {}

    def _source(self, key: tuple, source: Source) -> int:
        if key not in self._keys:
            source.number = len(self.sources) + 1
            self.sources.append(source)
            self._keys[key] = source.number
        return self._keys[key]

    def cite(self, chunk: Chunk, markers: list[int], start: int, end: int, sentence: int) -> list[int]:
        ev = self.evidence
        self.passages[chunk.id] = chunk
        numbers = [self._source(("article", chunk.article_id),
                                Source(0, "article", ev.titles.get(chunk.article_id, chunk.article_id), chunk.article_id))]
        for m in markers:
            ref = ev.reference(chunk.article_id, m)
            if ref is None:
                continue
            n = self._source(("reference", chunk.article_id, m), Source(0, "reference", ref.title, chunk.article_id,
                                                                        ref.type, ref.journal, ref.year, m))
            if n not in numbers:
                numbers.append(n)
        quote = chunk.text[start:end]
        for n in numbers:
            self.citations.append(Citation(len(self.citations) + 1, n, chunk.id, chunk.article_id, quote, start,
                                           end, sentence))
        return numbers

    def cited_passages(self) -> list[CitedPassage]:
        return [CitedPassage(c.id, c.article_id, c.section, c.text) for c in self.passages.values()]


def evidence_note(sources: list[Source]) -> str:
    """Say what kind of evidence the answer rests on, as the article's own reference types label it."""
    refs = [s for s in sources if s.kind == "reference"]
    guidelines = sum(s.type == "Guideline" for s in refs)
    research = len(refs) - guidelines
    if not refs:
        return "Evidence: the library articles only; the quoted statements carry no reference markers."
    if guidelines == 0:
        return f"Evidence: research only ({_count(research, 'research reference')}); no clinical guideline is cited."
    return f"Evidence: {_count(guidelines, 'guideline')}, {_count(research, 'research reference') if research else 'no research'}."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def abstain(question: Question, evidence: EvidenceSet, audience: str, why: Abstention) -> Answer:
    nearest = [evidence.titles[a] for a in evidence.articles()[:3] if a in evidence.titles]
    if question.crisis:
        nearest = []  # a person in crisis is offered help, not reading
    answer = Answer(question.text, question.query, audience, "", "The library does not cover this question.",
                    [], [], [], evidence.hits, True, nearest)
    answer.notices = [why.notice] if why.notice else []
    answer.abstain_reason = why.reason
    _mark(answer, question)
    answer.text = render(answer)
    return answer


def _mark(answer: Answer, question: Question) -> None:
    answer.qtype = question.qtype
    answer.urgent = question.urgent or question.crisis
    answer.crisis = question.crisis


def compose(question: Question, evidence: EvidenceSet, settings: Settings, audience: str = "clinician",
            vocabulary=None) -> Answer:
    """The cited answer to `question` from `evidence`. With the library's `vocabulary`, a question asking
    for a figure is checked against the evidence (rag.answer.figures)."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
    hits = evidence.hits
    top = evidence.top
    pieces = vocabulary.pieces if vocabulary is not None else (lambda w: 1)
    why = abstention_reason(question, evidence, settings, pieces=pieces)
    if why is not None:
        return abstain(question, evidence, audience, why)

    # Scored once: every unit of the best article (the verdict and the figure check read them all); the
    # key points draw only on body chunks that pass the similarity floor.
    whole = candidates(evidence, question.terms, settings.min_similarity, whole_top=True, qtype=question.qtype,
                       section_bonus=settings.section_bonus)
    passing = {p.chunk.id for p in evidence.passages
               if p.chunk.kind == "body" and p.dense >= settings.min_similarity}
    pool, same = on_subject([c for c in whole if c.chunk.id in passing], question, evidence)
    if settings.antecedents:
        pool = [with_antecedent(c) for c in pool]
    restricted = qualifier_first(question, pool, evidence) if settings.qualifier_first else []
    topic = topic_of(hits[0].chunk.title, evidence.answer_line(top))

    notices: list[str] = []
    missing = None
    if question.figure is not None and vocabulary is not None and settings.abstain_without_figure:
        missing = figure_gap(question.figure, question.query, topic, [c.text for c in whole], vocabulary)
    if missing is not None:
        why = abstention_reason(question, evidence, settings, missing, pieces)
        if why is not None:
            return abstain(question, evidence, audience, why)
        notices.append(missing.notice())
    if question.unknown:
        notices.append(f"The library never mentions: {', '.join(question.unknown)}; the answer rests on the rest "
                       f"of the question.")

    citer = Citer(evidence)
    said = Selection(settings.answer_tokens)
    sourced = bool(evidence.references.get(top))
    if not sourced and not question.yes_no and not question.parts and settings.quote_sections:
        section = best_section(evidence, question.terms, [c for c in whole if c.chunk.kind in ("body", "answer")])
        if section is not None:
            return _section_answer(question, evidence, settings, audience, section, citer, notices)
    verdict: str | None = None
    lead = ""
    direct = direct_answer(evidence, top, settings.min_similarity)
    if direct is not None and _opens_with_verdict(direct) and not question.yes_no:
        direct = None  # "No, ALS is not a muscular dystrophy." answers another question than "What is ALS?"
    typed = next((c for c in pool[:3] if c.section_match), None) if settings.typed_direct_line else None
    if typed is not None and not question.yes_no:
        # A symptoms question is answered from the symptoms section, not from the article's general answer.
        direct = None
        pool = [typed] + [c for c in pool if c is not typed]
    if question.yes_no:
        decided = decide_verdict(question, topic, whole, direct, sourced)
        verdict, lead = decided.word, decided.lead
        if decided.candidate is not None:
            direct, best = None, decided.candidate
        elif direct is None:
            best = pool[0] if pool else None
        else:
            best = None
    else:
        best = pool[0] if (direct is None and pool) else None
    if direct is not None:
        units = direct.chunk.units[:2]
        direct_text = " ".join(u["text"] for u in units)
        direct_sources = citer.cite(direct.chunk, [], units[0]["start"], units[-1]["end"], 0)
        said.note(direct.unit_vectors[0] if direct.unit_vectors else None, set(terms(direct_text)))
    elif best is not None:
        pool = [c for c in pool if c.text != best.text]
        direct_text = best.text
        direct_sources = citer.cite(best.chunk, best.markers, best.start, best.end, 0)
        said.note(best.vec, best.terms)
    else:  # the evidence passed the threshold but none of it is quotable: do not pretend otherwise
        return abstain(question, evidence, audience, Abstention("no_quotable_text"))

    first = said.take([c for c in pool if c in restricted], len(restricted))
    pool = [c for c in pool if c not in first]
    chosen = _key_points(question, pool, said, settings.max_points - len(first))
    if audience == "patient" and not question.parts:
        # Plain sentences first: the same points, those with fewer unexplained technical words ahead (a
        # comparison keeps its order, grouped by side). Ordered before citing, so [n] stay in reading order.
        chosen = sorted(chosen, key=lambda gc: unexplained(gc[1].text, pieces))
    chosen = [("", c) for c in first] + chosen  # what the library says of the question's qualifier leads
    # A sentence quoted with its antecedent (with_antecedent) holds that antecedent: it is not said again.
    texts = [direct_text] + [c.text for _, c in chosen]
    chosen = [(g, c) for g, c in chosen if not any(c.text != t and c.text in t for t in texts)]
    points = [_point(citer, cand, n, group, "" if same.get(cand.chunk.article_id, True) else
                     evidence.titles.get(cand.chunk.article_id, cand.chunk.article_id))
              for n, (group, cand) in enumerate(chosen, start=1)]
    return _answered(question, evidence, audience, citer, direct_text, direct_sources, points, notices, verdict,
                     lead)


def _point(citer: Citer, cand: Candidate, n: int, group: str = "", about: str = "") -> KeyPoint:
    """The nth key point, cited."""
    numbers = citer.cite(cand.chunk, cand.markers, cand.start, cand.end, n)
    return KeyPoint(cand.text, numbers, cand.chunk.id, cand.chunk.article_id, group, about)


def _answered(question: Question, evidence: EvidenceSet, audience: str, citer: Citer, direct_text: str,
              direct_sources: list[int], points: list[KeyPoint], notices: list[str], verdict: str | None = None,
              lead: str = "") -> Answer:
    """The Answer once its first line and key points are cited: evidence line, caveats, glossary, text."""
    answer = Answer(question.text, question.query, audience, "", direct_text, points, citer.citations,
                    citer.sources, evidence.hits, False)
    _mark(answer, question)
    answer.verdict, answer.lead = verdict, lead
    answer.direct_sources = direct_sources
    answer.evidence = evidence_note(answer.sources)
    answer.passages = citer.cited_passages()
    answer.notices = notices
    direct_article = next((c.article_id for c in citer.citations if c.sentence == 0), evidence.top)
    quoted = [(direct_text, direct_article)] + [(p.text, p.article_id) for p in points]
    answer.caveats = unaddressed(question, quoted, evidence)
    if audience == "patient":
        answer.glossary = explain(" ".join(text for text, _ in quoted))
    answer.text = render(answer)
    return answer


def _section_answer(question: Question, evidence: EvidenceSet, settings: Settings, audience: str,
                    section, citer: Citer, notices: list[str]) -> Answer:
    """A page without references answers one kind of question per section ("Frequency", "Treatment"):
    quote the section the model chooses (rag.answer.sections), in its own order, within the budget."""
    first, *rest = section.within(settings.answer_tokens)
    direct_sources = citer.cite(first.chunk, first.markers, first.start, first.end, 0)
    points = [_point(citer, cand, n) for n, cand in enumerate(rest, start=1)]
    return _answered(question, evidence, audience, citer, first.text, direct_sources, points, notices)


def _opens_with_verdict(passage: Passage) -> bool:
    return passage.chunk.units[0]["text"].split(",")[0].strip().lower() in ("yes", "no")


def on_subject(pool: list[Candidate], question: Question,
               evidence: EvidenceSet) -> tuple[list[Candidate], dict[str, bool]]:
    """Key points about the question's subject only. The subject is what the question shares with the
    best article's topic ("ALS" in "What are the early symptoms of ALS?"); a sentence from an article on
    another subject (primary lateral sclerosis) is kept only when it names that subject itself."""
    top = evidence.top
    subject = question.terms & subject_terms(evidence.titles.get(top, ""), evidence.answer_line(top))
    if not subject:
        return pool, {}
    same: dict[str, bool] = {}
    out = []
    for c in pool:
        aid = c.chunk.article_id
        if aid not in same:
            same[aid] = aid == top or bool(subject & subject_terms(evidence.titles.get(aid, ""),
                                                                   evidence.answer_line(aid)))
        if same[aid] or subject & c.terms:
            out.append(c)
    return out, same


_EXCLUDED = re.compile(r"\bnon-?\w+", re.I)  # "non-pregnant", "nonsmokers": the population left out


def speaks_to(qualifier, question: Question, text: str, article: str, evidence: EvidenceSet) -> bool:
    """Does this quoted sentence speak to the qualifier of the question? It names the qualifier (not as an
    exclusion: "non-pregnant women" says the advice is for others) and is about what the question asks of
    it: it comes from the best article (the one retrieval found on the question's subject, whatever words
    the user chose), or it or its article's subject shares a word of the question beyond the qualifier and
    the words of asking. "Topiramate carries a risk of fetal malformations" in an article on migraine
    prevention does not tell whether ibuprofen is safe in pregnancy; "In pregnancy, labetalol is used" in
    the article on hypertension does answer a question on hypertension in pregnancy."""
    said = split_terms(_EXCLUDED.sub(" ", text))
    if not qualifier.addressed & said:
        return False
    asked = question.terms - GENERIC - ASKING - qualifier.asks
    return not asked or article == evidence.top or bool(
        asked & (said | subject_terms(evidence.titles.get(article, ""), evidence.answer_line(article))))


def unaddressed(question: Question, quoted: list[tuple[str, str]], evidence: EvidenceSet) -> list[str]:
    """The question's qualifiers ("in pregnancy", "with alcohol") that no quoted (sentence, article id)
    speaks to."""
    title = evidence.titles.get(evidence.top, "")
    return [f"None of the passages quoted below addresses {q.label}; they do not say how the answer applies there."
            for q in question.qualifiers if not names_subject(q, title)
            if not any(speaks_to(q, question, text, article, evidence) for text, article in quoted)]


def qualifier_first(question: Question, pool: list[Candidate], evidence: EvidenceSet) -> list[Candidate]:
    """A question restricted to a population or context ("antibiotic for cystitis in pregnancy?") gets as
    its first key point the best on-subject sentence that speaks to the restriction ("pregnancy ... takes
    the patient outside this pathway"), when the evidence holds one; the general advice follows. One
    sentence a qualifier, best first."""
    firsts: list[Candidate] = []
    for q in question.qualifiers:
        hit = next((c for c in pool if c not in firsts and speaks_to(q, question, c.text, c.chunk.article_id, evidence)),
                   None)
        if hit is not None:
            firsts.append(hit)
    return firsts


def _key_points(question: Question, pool: list[Candidate], said: Selection,
                limit: int) -> list[tuple[str, Candidate]]:
    """(group, candidate) pairs. A comparison takes the best points for each side first, then the rest."""
    parts = question.parts
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


__all__ = ["compose", "abstain", "AUDIENCES", "evidence_note", "on_subject", "unaddressed"]
