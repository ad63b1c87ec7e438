"""Answer -> Markdown for the chat, in the same template order as rag/answer/text.py. Every piece of text
that came from an article or a user is HTML-escaped here, so markup inside an article or a question is
shown as text and never runs."""

from __future__ import annotations

import html

from rag.answer.text import ABSTAIN, HEADINGS, brackets, direct_line, point_text
from rag.config import DISCLAIMER, PATIENT_ADVICE
from rag.documents import Answer, Source
from rag.emergency import CRISIS_LINE
from rag.questions import URGENT_LINE


def esc(text: str) -> str:
    # Escape HTML and the Markdown characters that could turn quoted text into links or emphasis.
    return html.escape(text, quote=True).replace("[", "&#91;").replace("]", "&#93;").replace("*", "&#42;").replace("_", "&#95;")


def source_line(s: Source) -> str:
    if s.kind == "article":
        return f"{s.number}. **Library article**: {esc(s.title)} <small>({esc(s.article_id)})</small>"
    where = ", ".join(esc(str(p)) for p in (s.journal, s.year) if p)
    return f"{s.number}. **{esc(s.type)}**: {esc(s.title)}. *{where}*"


def to_markdown(answer: Answer) -> str:
    h = {k: v.rstrip(":") for k, v in HEADINGS[answer.audience].items()}
    parts: list[str] = [f"> {esc(n)}" for n in answer.notices]
    if answer.urgent:
        parts.append(f"**⚠ {esc(URGENT_LINE)}**")
    if answer.crisis:
        parts.append(f"**{esc(CRISIS_LINE)}**")
    if answer.abstained and answer.crisis:
        pass  # the urgent and crisis lines are the answer
    elif answer.abstained:
        parts.append(f"**{esc(ABSTAIN)}**")
        if answer.suggestions:
            parts.append("Nearest topics in the library:\n" + "\n".join(f"- {esc(t)}" for t in answer.suggestions))
    else:
        parts.append(f"**{esc(direct_line(answer))}** {brackets(answer.direct_sources)}")
        for caveat in answer.caveats:
            parts.append(f"*{esc(caveat)}*")
        if answer.points:
            lines, group = [f"**{h['points']}**"], None
            for p in answer.points:
                if p.group and p.group != group:
                    group = p.group
                    lines.append(f"*On {esc(p.group) if p.group != 'Both' else 'both'}:*")
                lines.append(f"- {esc(point_text(p))} {brackets(p.sources)}")
            parts.append("\n".join(lines))
        if answer.glossary:
            parts.append(f"**{h['terms']}**\n" + "\n".join(f"- *{esc(t)}*: {esc(m)}" for t, m in answer.glossary))
        parts.append(f"**{h['sources']}**\n" + "\n".join(source_line(s) for s in answer.sources))
        if answer.evidence:
            parts.append(f"<small>{esc(answer.evidence)}</small>")
        if answer.audience == "patient":
            parts.append(esc(PATIENT_ADVICE))
    parts.append(f"<small>{esc(DISCLAIMER)}</small>")
    return "\n\n".join(parts)


def highlighted(text: str, spans: list[tuple[int, int]]) -> str:
    """The chunk's text, escaped, with the cited spans marked."""
    out, pos = [], 0
    for start, end in sorted(set(spans)):
        if start < pos:
            continue
        out += [esc(text[pos:start]), "<mark>", esc(text[start:end]), "</mark>"]
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def sources_html(answer: Answer) -> str:
    """The sources panel: each numbered source, and under each article the retrieved passages with the
    sentences the answer quotes highlighted."""
    if answer.abstained or not answer.sources:
        return "<p>No sources: the library does not cover this question.</p>"
    chunks = {p.chunk_id: p for p in answer.passages}
    blocks = []
    for s in answer.sources:
        if s.kind == "reference":
            where = ", ".join(esc(str(p)) for p in (s.journal, s.year) if p)
            blocks.append(f"<div class='src' id='source-{s.number}'><b>[{s.number}] {esc(s.type)}</b>: "
                          f"{esc(s.title)}. <i>{where}</i></div>")
            continue
        spans: dict[int, list[tuple[int, int]]] = {}
        for c in answer.citations:
            if c.source == s.number:
                spans.setdefault(c.chunk_id, []).append((c.start, c.end))
        passages = "".join(
            f"<div class='passage'><small>{esc(chunks[cid].section)}</small><br>{highlighted(chunks[cid].text, sp)}</div>"
            for cid, sp in spans.items() if cid in chunks)
        blocks.append(f"<div class='src' id='source-{s.number}'><b>[{s.number}] Library article</b>: "
                      f"{esc(s.title)} <small>({esc(s.article_id)})</small>{passages}</div>")
    return "\n".join(blocks)
