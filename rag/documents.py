"""The data that flows through the pipeline.

Plain dataclasses, so every stage (parser, chunker, store, retriever, composer, CLI, UI, evaluator) can be
read and tested on its own, and so the JSON the CLI prints is just these objects turned into dicts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Reference:
    """One entry of an article's reference list; `number` is what the article's markers point to."""

    number: int
    type: str  # "Guideline" or "Research" as the article labels it
    title: str
    journal: str = ""
    year: int | None = None


@dataclass
class Unit:
    """The smallest quotable piece of an article: a bullet (its sub-items folded in) or one sentence.

    Keeping the markers on the unit, not on the chunk, is what lets the composer cite each sentence with
    exactly the references the author attached to it.
    """

    text: str
    markers: list[int] = field(default_factory=list)
    kind: str = "bullet"  # bullet | sentence | leadin


@dataclass
class Section:
    heading: str  # "Heading" or "Heading › Sub-heading"
    units: list[Unit] = field(default_factory=list)


@dataclass
class Article:
    id: str
    title: str
    answer: str
    sections: list[Section]
    references: list[Reference]
    date: str | None = None
    path: str = ""
    format: str = "text"
    content_hash: str = ""
    # Trailing numbers shaped like markers that are not entries of the reference list: kept as text.
    unresolved: list[int] = field(default_factory=list)

    def reference(self, number: int) -> Reference | None:
        for ref in self.references:
            if ref.number == number:
                return ref
        return None

    @property
    def markers(self) -> set[int]:
        return {m for s in self.sections for u in s.units for m in u.markers}


@dataclass
class Chunk:
    """A token-bounded piece of one section. `units` keep their offsets into `text` so a citation can
    point at the exact characters it quotes."""

    id: int
    article_id: str
    ordinal: int
    kind: str  # answer | body | reference
    title: str
    section: str
    text: str
    units: list[dict] = field(default_factory=list)  # {"text","markers","kind","start","end"}
    refs: list[int] = field(default_factory=list)

    @property
    def embed_text(self) -> str:
        """Title and heading travel with the text so that a bullet like "It is usually fatal" still
        retrieves for the disease it is about."""
        return f"{self.title}\n{self.section}\n{self.text}"


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused (reciprocal rank) score: orders hits
    dense: float  # cosine between the query and the chunk: measures how well the evidence matches
    bm25: float = 0.0
    rank: int = 0


@dataclass
class Source:
    number: int
    kind: str  # article | reference
    title: str
    article_id: str
    type: str = "Article"
    journal: str = ""
    year: int | None = None
    ref_number: int | None = None  # the number the article itself uses for this reference


@dataclass
class Citation:
    marker: int  # ordinal of this [n] in the answer text, from 1
    source: int  # the number printed inside the brackets
    chunk_id: int
    article_id: str
    quote: str  # the exact retrieved text the sentence rests on
    start: int = 0  # span of `quote` inside the chunk's text
    end: int = 0
    sentence: int = 0  # which sentence of the answer it follows: 0 the direct line, n the nth key point


@dataclass
class KeyPoint:
    text: str
    sources: list[int]
    chunk_id: int
    article_id: str
    group: str = ""  # for a comparison: which of the compared things it is about ("Both" for either)
    about: str = ""  # the title of the article it comes from, when that is not an article on the subject


@dataclass
class Passage:
    """A retrieved chunk an answer quotes, carried on the Answer so the chat and the evaluator can show
    the cited text without reading the index."""

    chunk_id: int
    article_id: str
    section: str
    text: str


@dataclass
class Answer:
    question: str
    query: str
    audience: str
    text: str
    direct: str
    points: list[KeyPoint]
    citations: list[Citation]
    sources: list[Source]
    hits: list[Hit]
    abstained: bool
    suggestions: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    ranked_articles: list[str] = field(default_factory=list)  # distinct articles, best first
    verdict: str | None = None  # "Yes", "No" or "It depends" for a yes/no question
    qtype: str = "other"  # the question type that chose the template
    urgent: bool = False  # the question describes an emergency: the answer opens with "seek care now"
    evidence: str = ""  # what kind of evidence the cited references are (guideline / research)
    glossary: list[tuple[str, str]] = field(default_factory=list)  # patient view: terms explained
    direct_sources: list[int] = field(default_factory=list)  # the [n] after the direct line
    followup: bool = False  # the question was read as a follow-up and rewritten into `query`
    lead: str = ""  # for a yes/no question without a verdict: what introduces the quoted evidence
    crisis: bool = False  # suicidal or self-harm statement: the crisis line is shown with the urgent line
    caveats: list[str] = field(default_factory=list)  # qualifiers of the question no quoted sentence addresses
    passages: list[Passage] = field(default_factory=list)  # the chunks the citations quote
    abstain_reason: str = ""  # why the library declined (rag.answer.abstain), "" when it answered

    @property
    def body(self) -> str:
        """The answer's own words (direct line and key points), without sources and disclaimer."""
        return " ".join([self.direct] + [p.text for p in self.points])

    def to_json(self) -> dict:
        """The documented JSON shape of `rag ask --json`."""
        return {
            "question": self.question,
            "query": self.query,
            "audience": self.audience,
            "answer": self.text,
            "direct": self.direct,
            "verdict": self.verdict,
            "type": self.qtype,
            "followup": self.followup,
            "urgent": self.urgent,
            "crisis": self.crisis,
            "lead": self.lead,
            "caveats": self.caveats,
            "evidence": self.evidence,
            "points": [asdict(p) for p in self.points],
            "glossary": [{"term": t, "meaning": m} for t, m in self.glossary],
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "passages": [asdict(p) for p in self.passages],
            "citations": [asdict(c) for c in self.citations],
            "sources": [asdict(s) for s in self.sources],
            "hits": [
                {
                    "chunk_id": h.chunk.id,
                    "article_id": h.chunk.article_id,
                    "score": round(h.score, 6),
                    "dense": round(h.dense, 6),
                    "bm25": round(h.bm25, 6),
                    "section": h.chunk.section,
                }
                for h in self.hits
            ],
            "ranked_articles": self.ranked_articles[:10],
            "suggestions": self.suggestions,
            "notices": self.notices,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }
