"""Answer -> what the chat shows, in the same template order as rag/answer/text.py. Every piece of text
that came from an article or a user is HTML-escaped here, so markup inside an article or a question is
shown as text and never runs.

In the chat each answer is turn `t` of the conversation. Its k-th bracket `[n]` (Citation.marker k) is a
link to `#cite-t-n-k`; the page's script (ui/app.py) opens that answer's block in the sources panel and
highlights exactly the sentence that this bracket cites, which carries the class `m<k>`, and source n's
entry (nothing is highlighted until a marker is clicked: a panel where every passage is yellow says
nothing). The same block holds the answer's clean text
and clean Markdown for the copy links, so a copy never carries `&#x27;`, `**` or `<small>`.
"""

from __future__ import annotations

import html
import re

from rag.answer.text import ABSTAIN, HEADINGS, brackets, direct_line, point_text
from rag.config import PATIENT_ADVICE, disclaimer_for
from rag.documents import Answer, Source
from rag.emergency import CRISIS_LINE
from rag.questions import URGENT_LINE


def esc(text: str) -> str:
    # Escape HTML and the Markdown characters that could turn quoted text into links or emphasis. Quotes
    # need no escaping outside attributes, and `&#x27;` would reach whoever copies the raw message.
    return html.escape(text, quote=False).replace("[", "&#91;").replace("]", "&#93;").replace("*", "&#42;").replace("_", "&#95;")


def attr(text: str) -> str:
    """For an attribute value."""
    return html.escape(text, quote=True)


class Markers:
    """Numbers the brackets of one answer in the order the template writes them, as Citation.marker
    does (direct line, then key points), so each link names the one citation it stands for."""

    def __init__(self, turn: int | None):
        self.turn, self.count = turn, 0

    def links(self, numbers: list[int]) -> str:
        """`[1][2]`, as links into the sources panel when the answer is a turn of the chat."""
        if self.turn is None:
            return brackets(numbers)
        out = []
        for n in numbers:
            self.count += 1
            out.append(f"<a class='cite' href='#cite-{self.turn}-{n}-{self.count}'>[{n}]</a>")
        return "".join(out)


def source_line(s: Source) -> str:
    if s.kind == "article":
        return f"{s.number}. **Library article**: {esc(s.title)} <small>({esc(s.article_id)})</small>"
    where = ", ".join(esc(str(p)) for p in (s.journal, s.year) if p)
    return f"{s.number}. **{esc(s.type)}**: {esc(s.title)}. *{where}*"


def to_markdown(answer: Answer, turn: int | None = None) -> str:
    """The chat's message. With `turn`, markers link into the sources panel and copy links close it."""
    h = {k: v.rstrip(":") for k, v in HEADINGS[answer.audience].items()}
    markers = Markers(turn)
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
        for caveat in answer.caveats:  # before the first line, as in the plain text (rag.answer.text.render)
            parts.append(f"*{esc(caveat)}*")
        parts.append(f"**{esc(direct_line(answer))}** {markers.links(answer.direct_sources)}")
        if answer.points:
            lines, group = [f"**{h['points']}**"], None
            for p in answer.points:
                if p.group and p.group != group:
                    group = p.group
                    lines.append(f"*On {esc(p.group) if p.group != 'Both' else 'both'}:*")
                lines.append(f"- {esc(point_text(p))} {markers.links(p.sources)}")
            parts.append("\n".join(lines))
        if answer.glossary:
            parts.append(f"**{h['terms']}**\n" + "\n".join(f"- *{esc(t)}*: {esc(m)}" for t, m in answer.glossary))
        parts.append(f"**{h['sources']}**\n" + "\n".join(source_line(s) for s in answer.sources))
        if answer.evidence:
            parts.append(f"<small>{esc(answer.evidence)}</small>")
        if answer.audience == "patient":
            parts.append(esc(PATIENT_ADVICE))
    parts.append(f"<small>{esc(disclaimer_for(answer.audience))}</small>")
    if turn is not None:
        parts.append(f"<small class='copy-links'><a class='copy' href='#copy-{turn}'>Copy</a> · "
                     f"<a class='copy' href='#copymd-{turn}'>Copy as Markdown</a></small>")
    return "\n\n".join(parts)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md(text: str) -> str:
    """Text for a Markdown document: its special characters backslash-escaped, so markup in an article
    stays text wherever the copy is pasted, without HTML entities."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def clean_markdown(answer: Answer) -> str:
    """The answer as Markdown for the clipboard: the plain text's order and words, with emphasis and lists,
    no HTML."""
    h = {k: v.rstrip(":") for k, v in HEADINGS[answer.audience].items()}
    parts: list[str] = [f"> {md(n)}" for n in answer.notices]
    if answer.urgent:
        parts.append(f"**{md(URGENT_LINE)}**")
    if answer.crisis:
        parts.append(f"**{md(CRISIS_LINE)}**")
    if answer.abstained and not answer.crisis:
        parts.append(f"**{md(ABSTAIN)}**")
        if answer.suggestions:
            parts.append("Nearest topics in the library:\n\n" + "\n".join(f"- {md(t)}" for t in answer.suggestions))
    elif not answer.abstained:
        parts += [f"*{md(c)}*" for c in answer.caveats]
        parts.append(f"**{md(direct_line(answer))}** {md(brackets(answer.direct_sources))}")
        if answer.points:
            parts.append(f"**{h['points']}**\n\n" + "\n".join(f"- {md(point_text(p))} {md(brackets(p.sources))}"
                                                               for p in answer.points))
        if answer.glossary:
            parts.append(f"**{h['terms']}**\n\n" + "\n".join(f"- *{md(t)}*: {md(m)}" for t, m in answer.glossary))
        lines = []
        for s in answer.sources:
            if s.kind == "article":
                lines.append(f"{s.number}. Library article: {md(s.title)} ({md(s.article_id)})")
            else:
                where = ", ".join(md(str(p)) for p in (s.journal, s.year) if p)
                lines.append(f"{s.number}. {md(s.type)}: {md(s.title)}. *{where}*")
        parts.append(f"**{h['sources']}**\n\n" + "\n".join(lines))
        if answer.evidence:
            parts.append(md(answer.evidence))
        if answer.audience == "patient":
            parts.append(md(PATIENT_ADVICE))
    parts.append(f"*{md(disclaimer_for(answer.audience))}*")
    return "\n\n".join(parts)


def marked(text: str, spans: dict[tuple[int, int], set[int]]) -> str:
    """The chunk's text, escaped, with each quoted span wrapped in a span whose classes name the brackets
    that cite it (`m1 m4`); no highlight of its own."""
    out, pos = [], 0
    for (start, end), markers in sorted(spans.items()):
        if start < pos:
            continue
        classes = " ".join(f"m{k}" for k in sorted(markers))
        out += [esc(text[pos:start]), f"<span class='q {classes}'>", esc(text[start:end]), "</span>"]
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def sources_html(answer: Answer, turn: int = 1) -> str:
    """One answer's sources: each numbered source, and under each article the retrieved passages it
    quotes, each quoted sentence tagged with the brackets that cite it for the page's script."""
    if answer.abstained or not answer.sources:
        return "<p>No sources: the library does not cover this question.</p>"
    chunks = {p.chunk_id: p for p in answer.passages}
    by_article: dict[str, int] = {s.article_id: s.number for s in answer.sources if s.kind == "article"}
    # Every quoted span, under the article it is quoted from: a reference's bracket cites the article
    # sentence that carries the reference's marker.
    spans: dict[int, dict[int, dict[tuple[int, int], set[int]]]] = {}
    for c in answer.citations:
        owner = by_article.get(c.article_id)
        if owner is not None:
            spans.setdefault(owner, {}).setdefault(c.chunk_id, {}).setdefault((c.start, c.end), set()).add(c.marker)
    blocks = []
    for s in answer.sources:
        sid = f"src-{turn}-{s.number}"
        if s.kind == "reference":
            where = ", ".join(esc(str(p)) for p in (s.journal, s.year) if p)
            cited_by = by_article.get(s.article_id)
            via = f" <small>(cited by [{cited_by}])</small>" if cited_by else ""
            blocks.append(f"<div class='src ref' id='{sid}'><b>[{s.number}] {esc(s.type)}</b>: "
                          f"{esc(s.title)}. <i>{where}</i>{via}</div>")
            continue
        passages = "".join(
            f"<div class='passage'><small>{esc(chunks[cid].section)}</small><br>{marked(chunks[cid].text, sp)}</div>"
            for cid, sp in spans.get(s.number, {}).items() if cid in chunks)
        blocks.append(f"<div class='src' id='{sid}'><b>[{s.number}] Library article</b>: "
                      f"{esc(s.title)} <small>({esc(s.article_id)})</small>{passages}</div>")
    return "\n".join(blocks)


def turn_block(answer: Answer, turn: int, question: str) -> str:
    """One answer's block in the sources panel, collapsed unless it is the newest: the user picks which
    answer's sources to read, and answer 1 never sits beside answer 5's sources unlabelled."""
    label = f"Answer {turn}: {esc(question[:120])}{'…' if len(question) > 120 else ''}"
    copies = (f"<div class='copy-plain' hidden>{html.escape(answer.text)}</div>"
              f"<div class='copy-md' hidden>{html.escape(clean_markdown(answer))}</div>")
    return f"<details class='turn' id='turn-{turn}'><summary>{label}</summary>{copies}{sources_html(answer, turn)}</details>"


EMPTY_PANEL = "<p>The sources of each answer appear here; click a [n] in an answer to see the sentence it cites.</p>"


def panel_html(blocks: list[str]) -> str:
    """The sources panel: newest answer first and open, older ones collapsed under their questions."""
    if not blocks:
        return EMPTY_PANEL
    newest = blocks[-1].replace("<details class='turn'", "<details class='turn' open", 1)
    return "\n".join([newest] + blocks[-2::-1])
