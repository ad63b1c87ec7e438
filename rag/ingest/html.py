"""Parser for a saved article web page: the main content's headings, paragraphs, lists and reference list;
navigation, headers, footers, forms, scripts and styles are dropped. Standard library only."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.ingest.builder import ArticleBuilder

SKIP = {"head", "title", "script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template", "svg",
        "button", "iframe", "select"}
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "dd", "dt", "blockquote", "div", "section",
          "article", "main", "ul", "ol", "br", "tr", "table"}
VOID = {"br", "img", "hr", "meta", "link", "input", "source", "wbr", "area", "base", "col", "embed", "param",
        "track"}


class _Walker(HTMLParser):
    """Turns the page into (kind, depth, text) events: kind is h1..h6, li, p or text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, int, str, bool]] = []  # kind, list depth, text, inside <main>
        self.stack: list[str] = []
        self.skipping = 0
        self.list_depth = 0
        self.buf: list[str] = []
        self.kind = "p"
        self.has_main = False
        self.in_main = 0

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self.buf)).strip()
        self.buf = []
        if text:
            self.events.append((self.kind, self.list_depth, text, self.in_main > 0))

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag in SKIP:
            self._flush()
            self.skipping += 1
            return
        if tag in ("main", "article"):
            self._flush()
            self.has_main = True
            self.in_main += 1
        if tag in ("ul", "ol"):
            self._flush()
            self.list_depth += 1
        elif tag in BLOCKS:
            self._flush()
            self.kind = tag if tag in ("h1", "h2", "h3", "h4", "h5", "h6", "li") else "p"

    def handle_endtag(self, tag):
        if tag in VOID or tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if top in SKIP:
                self.skipping -= 1
            if top in ("main", "article"):
                self._flush()
                self.in_main -= 1
            if top in ("ul", "ol"):
                self._flush()
                self.list_depth = max(0, self.list_depth - 1)
            elif top in BLOCKS and not self.skipping:
                self._flush()
                self.kind = "li" if self.list_depth and top != "li" else "p"
            if top == tag:
                break

    def handle_data(self, data):
        if not self.skipping:
            self.buf.append(data)


def parse_html(text: str, builder: ArticleBuilder) -> None:
    walker = _Walker()
    walker.feed(text)
    walker.close()
    walker._flush()
    events = [e for e in walker.events if e[3]] if walker.has_main else walker.events
    in_refs = False
    for kind, depth, line, _ in events:
        if kind.startswith("h"):
            in_refs = builder.outline_heading(line, int(kind[1]))
            continue
        if not builder.title:
            builder.title = line
            continue
        if in_refs:
            builder.reference_line(line)
        elif kind == "li":
            builder.bullet(line, max(0, depth - 1))
        else:
            builder.paragraph(line)
