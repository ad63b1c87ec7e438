"""The plain-text form of an Answer (what `rag ask` prints and what `Answer.text` holds). The chat renders
the same Answer fields as Markdown in ui/render.py; both follow the same template order: urgent line
(and crisis line), direct line, what the quoted passages do not address, key points, terms explained
(patient), sources, evidence, advice, disclaimer."""

from __future__ import annotations

from rag.config import PATIENT_ADVICE, disclaimer_for
from rag.documents import Answer, Source
from rag.emergency import CRISIS_LINE
from rag.questions import URGENT_LINE

HEADINGS = {
    "clinician": {"points": "Key points:", "sources": "Sources:", "terms": "Terms used:"},
    "patient": {"points": "The main points:", "sources": "Where this comes from:", "terms": "What the medical words mean:"},
}
ABSTAIN = "The library does not cover this question, so no answer is given from it."


def as_sentence(text: str) -> str:
    """Bullets are written without a final period; an answer reads as sentences."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def brackets(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def direct_line(answer: Answer) -> str:
    """The first line as shown: the verdict of a yes/no question, then the quoted direct answer."""
    text = as_sentence(answer.direct)
    verdict = answer.verdict
    if not verdict and answer.lead:
        return f"{answer.lead} {text}"
    if not verdict or text.lower().startswith(verdict.lower()):
        return text
    if verdict == "It depends":
        return f"It depends: {text}"
    lead = text[:1].lower() + text[1:] if text[1:2].islower() else text
    return f"{verdict}, {lead}"


def point_text(point) -> str:
    """A key point as shown: a sentence from an article on another subject says which article it is."""
    text = as_sentence(point.text)
    return f"From \"{point.about}\": {text}" if point.about else text


def source_line(s: Source, all_sources: list[Source]) -> str:
    if s.kind == "article":
        return f"[{s.number}] Library article: {s.title} ({s.article_id})"
    parent = next((o.number for o in all_sources if o.kind == "article" and o.article_id == s.article_id), None)
    where = ", ".join(str(p) for p in (s.journal, s.year) if p)
    tail = f" Cited by [{parent}] as its reference {s.ref_number}." if parent else ""
    return f"[{s.number}] {s.type}: {s.title}. {where}.{tail}"


def render(answer: Answer) -> str:
    h = HEADINGS[answer.audience]
    lines: list[str] = []
    disclaimer = disclaimer_for(answer.audience)
    if answer.urgent:
        lines += [f"URGENT: {URGENT_LINE}", ""]
    if answer.crisis:
        lines += [CRISIS_LINE, ""]
    if answer.abstained and answer.crisis:
        lines += [disclaimer]
        return "\n".join(lines)
    if answer.abstained:
        lines.append(ABSTAIN)
        if answer.suggestions:
            lines += ["", "Nearest topics in the library:"] + [f"- {t}" for t in answer.suggestions]
        lines += ["", disclaimer]
        return "\n".join(lines)
    # What the library does not address comes before what it says: the first line read is never a
    # general statement that looks like the answer for the pregnancy, the child or the alcohol asked about.
    for caveat in answer.caveats:
        lines.append(f"Note: {caveat}")
    lines.append(f"{direct_line(answer)} {brackets(answer.direct_sources)}")
    if answer.points:
        lines += ["", h["points"]]
        group = None
        for p in answer.points:
            if p.group and p.group != group:
                group = p.group
                lines.append(f"On {p.group}:" if p.group != "Both" else "On both:")
            lines.append(f"- {point_text(p)} {brackets(p.sources)}")
    if answer.glossary:
        lines += ["", h["terms"]] + [f"- {term}: {meaning}" for term, meaning in answer.glossary]
    lines += ["", h["sources"]] + [source_line(s, answer.sources) for s in answer.sources]
    if answer.evidence:
        lines += ["", answer.evidence]
    if answer.audience == "patient":
        lines += ["", PATIENT_ADVICE]
    lines += ["", disclaimer]
    return "\n".join(lines)
