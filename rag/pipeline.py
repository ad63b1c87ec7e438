"""The one entry point shared by the CLI, the chat UI and the evaluator, so what is measured is exactly
what users get: `build_index` (corpus folder -> index generation) and `Pipeline.ask` (question -> Answer)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.chunking import Chunker, ChunkerSettings, count_tokens, truncate_tokens
from rag.compose import compose
from rag.config import Settings
from rag.conversation import Conversation, subject_terms
from rag.documents import Answer, Article, Chunk
from rag.embedding import Embedder, default_threads, resolve_model, set_threads
from rag.ingest import ArticleError, Skipped, corpus_files, load_article
from rag.retrieval import Retriever
from rag.store import IndexMismatch, IndexStore, check_compatible, current_generation, read_manifest, write_generation


class QuestionError(ValueError):
    """A question that cannot be answered as given (empty); the message is meant for the user."""


@dataclass
class BuildReport:
    corpus: str
    index: str
    generation: str
    articles: int
    chunks: int
    references: int
    skipped: list[Skipped]
    warnings: list[str]
    seconds: float
    embed_seconds: float
    model: str


@dataclass
class BuildProgress:
    """Callbacks a front end can hook a progress bar to; all optional."""

    on_parse_start: Callable[[int], None] = lambda total: None
    on_parsed: Callable[[str], None] = lambda path: None
    on_embed_start: Callable[[int], None] = lambda total: None
    on_embedded: Callable[[int], None] = lambda n: None


def marker_warnings(article: Article) -> list[str]:
    numbers = {r.number for r in article.references}
    missing = sorted(m for m in article.markers if m not in numbers)
    if missing and article.references:
        return [f"{article.id}: markers {missing} have no entry in its reference list; they cite the article only"]
    if article.markers and not article.references:
        return [f"{article.id}: has citation markers but no reference list"]
    return []


def build_index(corpus_dir: Path, index_dir: Path, settings: Settings, embedder: Embedder | None = None,
                progress: BuildProgress | None = None) -> BuildReport:
    started = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    progress = progress or BuildProgress()
    files = corpus_files(corpus_dir)
    progress.on_parse_start(len(files))
    articles: list[Article] = []
    skipped: list[Skipped] = []
    warnings: list[str] = []
    for path in files:
        try:
            article = load_article(path, corpus_dir)
            articles.append(article)
            warnings += marker_warnings(article)
        except ArticleError as exc:
            skipped.append(Skipped(str(path), str(exc)))
        progress.on_parsed(str(path))
    if not articles:
        raise FileNotFoundError(
            f"no readable articles in {corpus_dir} ({len(skipped)} skipped); expected .txt or .md files"
        )
    chunker_settings = ChunkerSettings(max_tokens=settings.chunk_tokens)
    chunker = Chunker(chunker_settings)
    chunks: list[Chunk] = [c for a in articles for c in chunker.chunk(a)]

    embedder = embedder or Embedder(settings.model, settings.batch_size)
    set_threads(default_threads())
    progress.on_embed_start(len(chunks))
    t_embed = time.perf_counter()
    spans, n = [], 0
    for c in chunks:
        offset = len(c.embed_text) - len(c.text)  # the title and heading lines come first
        spans.append([(offset + u["start"], offset + u["end"]) for u in c.units])
        for u in c.units:
            u["vec"] = n
            n += 1
    vectors, unit_vectors = embedder.encode_with_spans([c.embed_text for c in chunks], spans,
                                                       progress=progress.on_embedded)
    embed_seconds = time.perf_counter() - t_embed
    seconds = time.perf_counter() - started
    gen = write_generation(
        index_dir, articles, chunks, vectors, unit_vectors,
        model={"id": embedder.model_id, "spec": settings.model, "dimension": embedder.dimension,
               "max_seq_length": embedder.max_seq_length},
        chunker=chunker_settings.as_dict(),
        build_seconds=seconds,
    )
    seconds = time.perf_counter() - started
    return BuildReport(str(corpus_dir), str(index_dir), gen.name, len(articles), len(chunks),
                       sum(len(a.references) for a in articles), skipped, warnings, seconds, embed_seconds,
                       embedder.model_id)


def index_exists(index_dir: Path) -> bool:
    try:
        current_generation(Path(index_dir))
        return True
    except Exception:
        return False


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_question(question: str, max_tokens: int) -> tuple[str, list[str]]:
    """Reject an empty question; cut an over-long one to `max_tokens` and say so."""
    text = _CONTROL.sub(" ", question or "").strip()
    if not text:
        raise QuestionError("The question is empty. Type a clinical question, e.g. \"How is myasthenia gravis diagnosed?\"")
    notices = []
    n = count_tokens(text)
    if n > max_tokens:
        text = truncate_tokens(text, max_tokens).strip()
        notices.append(f"Your question was {n:,} tokens long; only its first {max_tokens:,} tokens were used.")
    return text, notices


@dataclass
class Pipeline:
    settings: Settings
    store: IndexStore
    embedder: Embedder
    retriever: Retriever = field(init=False)

    def __post_init__(self) -> None:
        self.retriever = Retriever(self.store, self.embedder, self.settings.candidates, self.settings.rrf_k,
                                   self.settings.bm25_weight)
        self.subjects = subject_terms(list(self.store.titles.values()))

    def new_conversation(self) -> Conversation:
        return Conversation(known=self.subjects)

    @classmethod
    def open(cls, settings: Settings, index_dir: Path | None = None, embedder: Embedder | None = None) -> "Pipeline":
        index_dir = Path(index_dir or settings.index_dir)
        # Check the manifest against the configured model before paying for loading the model.
        _, model_id = resolve_model(settings.model)
        check_compatible(read_manifest(current_generation(index_dir)), index_dir, model_id, None)
        embedder = embedder or Embedder(settings.model, settings.batch_size)
        if embedder.model_id != model_id:
            raise IndexMismatch(f"embedder {embedder.model_id!r} is not the configured model {model_id!r}")
        store = IndexStore.open(index_dir, model_id=embedder.model_id, dimension=embedder.dimension)
        set_threads(1)
        return cls(settings, store, embedder)

    def ask(self, question: str, audience: str = "clinician", mode: str = "hybrid",
            conversation: Conversation | None = None) -> Answer:
        """Answer one question; with a conversation, a follow-up is first rewritten to stand on its own
        and the conversation records the turn."""
        started = time.perf_counter()
        query, notices = clean_question(question, self.settings.max_question_tokens)
        followup, topic = False, ""
        if conversation is not None:
            query, topic, followup = conversation.rewrite(query)
        retrieval = self.retriever.search(query, self.settings.top_k, self.settings.per_article, mode)
        t_compose = time.perf_counter()
        answer = compose(question.strip(), query, retrieval, self.store, self.settings, audience)
        done = time.perf_counter()
        answer.notices = notices + answer.notices
        answer.ranked_articles = retrieval.ranked_articles
        answer.followup = followup
        if conversation is not None:
            top = None if answer.abstained or not answer.sources else answer.sources[0].article_id
            conversation.add(question, query, topic, top)
        answer.timings_ms = {**retrieval.timings_ms, "compose": (done - t_compose) * 1e3,
                             "total": (done - started) * 1e3}
        return answer

    def info(self) -> dict:
        return self.store.info()
