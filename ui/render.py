"""Answer -> Markdown for the chat. Every piece of text that came from an article or a user is
HTML-escaped here, so markup inside an article or a question is shown as text and never runs."""

from __future__ import annotations

import html

from rag.compose import as_sentence
from rag.config import DISCLAIMER, PATIENT_ADVICE
from rag.documents import Answer, Source


def esc(text: str) -> str:
    # Escape HTML and the Markdown characters that could turn quoted text into links or emphasis.
    return html.escape(text, quote=True).replace("[", "&#91;").replace("]", "&#93;").replace("*", "&#42;").replace("_", "&#95;")


def cites(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def source_line(s: Source) -> str:
    if s.kind == "article":
        return f"{s.number}. **Library article**: {esc(s.title)} <small>({esc(s.article_id)})</small>"
    where = ", ".join(esc(str(p)) for p in (s.journal, s.year) if p)
    return f"{s.number}. **{esc(s.type)}**: {esc(s.title)}. *{where}*"


def to_markdown(answer: Answer) -> str:
    parts: list[str] = []
    for notice in answer.notices:
        parts.append(f"> {esc(notice)}")
    if answer.abstained:
        parts.append("**The library does not cover this question**, so no answer is given from it.")
        if answer.suggestions:
            parts.append("Nearest topics in the library:\n" + "\n".join(f"- {esc(t)}" for t in answer.suggestions))
    else:
        direct_sources = list(dict.fromkeys(c.source for c in answer.citations if c.sentence == 0))
        first_line = answer.text.split("\n", 1)[0].rsplit(" [", 1)[0]  # the direct line with its verdict
        parts.append(f"**{esc(first_line)}** {cites(direct_sources)}")
        if answer.points:
            parts.append("**Key points**\n" + "\n".join(f"- {esc(as_sentence(p.text))} {cites(p.sources)}" for p in answer.points))
        parts.append("**Sources**\n" + "\n".join(source_line(s) for s in answer.sources))
        if answer.audience == "patient":
            parts.append(esc(PATIENT_ADVICE))
    parts.append(f"<small>{esc(DISCLAIMER)}</small>")
    return "\n\n".join(parts)

