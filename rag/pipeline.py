"""The one entry point shared by the CLI, the chat UI and the evaluator, so what is measured is exactly
what users get: `build_index` (corpus folder -> index generation) and `Pipeline.ask` (question -> Answer).

A running pipeline also keeps its index usable: it picks up new generations as builds publish them, and
when the generation it answers from is damaged on disk (noticed from the files' stamps, or by a read that
fails mid-request) it checks it against its checksums, switches to the newest whole generation and answers
the question again there, so a user never sees the fault.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rag.chunking import count_tokens, truncate_tokens
from rag.answer import compose, read_question
from rag.config import Settings
from rag.conversation import Conversation, subject_terms
from rag.documents import Answer
from rag.emergency import EmergencyModel
from rag.embedding import Embedder, embedder_for, resolve_model, set_threads
from rag.retrieval import Retriever
from rag.vocabulary import Vocabulary
from rag.store import (CURRENT, IndexCorrupt, IndexMismatch, IndexProblem, IndexStore, check_compatible, current_generation,
                       file_stamps, generations, read_manifest, rebuild_hint)

log = logging.getLogger("rag")

_BUILD_NAMES = {"BuildProgress", "BuildReport", "build_index", "marker_warnings"}


def __getattr__(name: str):
    """`build_index` and its companions are part of this entry point, but imported only when asked for:
    the corpus parsers they pull in cost a process that only answers a good part of its start."""
    if name in _BUILD_NAMES:
        import rag.build

        return getattr(rag.build, name)
    raise AttributeError(f"module 'rag.pipeline' has no attribute {name!r}")


class QuestionError(ValueError):
    """A question that cannot be answered as given (empty); the message is meant for the user."""


def index_exists(index_dir: Path) -> bool:
    """A CURRENT pointer or any generation: a damaged index is opened with its fallback, never rebuilt
    over (building is for a folder that has no index at all)."""
    index_dir = Path(index_dir)
    return (index_dir / CURRENT).is_file() or bool(index_dir.is_dir() and generations(index_dir))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_question(question: str, max_tokens: int, max_bytes: int = Settings.max_question_bytes) -> tuple[str, list[str]]:
    """Reject an empty question, and one over `max_bytes` before any work is spent on it (tokenising 20 MB
    holds a worker for half a minute); cut a long one to `max_tokens` and say so."""
    size = len((question or "").encode("utf-8", errors="replace"))
    if size > max_bytes:
        raise QuestionError(f"The question is {size:,} bytes long; the limit is {max_bytes:,} bytes. "
                            "Ask a shorter question.")
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
        # The detector reads the vectors of the model it was trained with; with another configured model
        # the rule in rag.questions decides alone.
        model = EmergencyModel.load()
        self.emergency = model if model.model_id == self.embedder.model_id else None
        self._use(self.store)
        self._reload_lock = threading.Lock()
        self.switches: list[tuple[str, str, str]] = []  # (from, to, why) for each switch away from damage
        self._checked_at = 0.0
        self._seen = self._pointer()

    def _use(self, store: IndexStore) -> None:
        # One assignment swaps the whole view; a request in flight keeps the retriever it started with.
        self.store = store
        retriever = Retriever(store, self.embedder, self.settings.candidates, self.settings.rrf_k,
                              self.settings.bm25_weight)
        retriever.vocabulary = Vocabulary(store.texts(), self.embedder.pieces)
        self.retriever = retriever
        self.subjects = subject_terms(list(store.titles.values()))

    @property
    def index_dir(self) -> Path:
        return self.store.path.parent

    def _pointer(self) -> str:
        try:
            return (self.index_dir / CURRENT).read_text().strip()
        except OSError:
            return ""

    def refresh(self, every: float = 0.5) -> bool:
        """Switch to a new generation when a build has published one: the running chat picks up new
        articles without a restart. Checked at most every `every` seconds; a damaged new generation is
        skipped (the store falls back to the last good one). The same check notices when a file of the
        generation in use changes on disk and then switches away from it if it is damaged."""
        now = time.monotonic()
        if now - self._checked_at < every:
            return False
        self._checked_at = now
        pointer = self._pointer()
        if not pointer or pointer == self._seen:
            store = self.store
            if not store.changed_on_disk():
                return False
            try:
                return self.recover(store, "changed on disk")
            except IndexProblem as exc:
                # Nothing whole to switch to: keep answering from what is in memory for as long as it
                # works (a failed read will say so), and do not re-check until the files change again.
                log.error("%s", exc)
                store.stamps = file_stamps(store.path, store.manifest)
                return False
        with self._reload_lock:
            if pointer == self._seen:
                return False
            self._seen = pointer
            try:
                store = IndexStore.open(self.index_dir, model_id=self.embedder.model_id,
                                        dimension=self.embedder.dimension, settings=self.settings)
            except IndexProblem:
                return False  # keep serving what we have
            if store.path == self.store.path:
                store.close()
                return False
            self._use(store)
            return True

    def recover(self, failed: IndexStore, why: str = "a read failed") -> bool:
        """`failed` (the store a request used) gave an error or changed on disk: if it is damaged, switch to
        the newest whole generation and return True (the caller asks again); if it is whole, return False
        (the error was not the index's, and is not hidden). With nothing whole left, IndexCorrupt says so."""
        with self._reload_lock:
            if self.store is not failed:
                return True  # another request has switched already
            problems = failed.damage()
            if not problems:
                return False
            log.warning("index generation %s is damaged (%s); switching", failed.path.name, problems[0])
            try:
                store = IndexStore.open(self.index_dir, model_id=self.embedder.model_id,
                                        dimension=self.embedder.dimension, settings=self.settings)
            except IndexProblem as exc:
                raise IndexCorrupt(f"the index in use was damaged ({problems[0]}) and no whole generation is "
                                   f"left ({exc}); {rebuild_hint(self.index_dir)}") from None
            if store.path == failed.path:  # whole again by the time we looked (a rebuild wrote it): keep it
                store.close()
                return True
            log.warning("now answering from %s%s", store.path.name, f" ({store.fallback})" if store.fallback else "")
            self._use(store)
            self.switches.append((failed.path.name, store.path.name, why))
            return True

    def new_conversation(self) -> Conversation:
        # The vocabulary of whichever generation is in use when the question comes, not at creation.
        return Conversation(known=self.subjects, unknown=lambda text: self.retriever.vocabulary.unknown(text))

    @classmethod
    def open(cls, settings: Settings, index_dir: Path | None = None, embedder: Embedder | None = None) -> "Pipeline":
        index_dir = Path(index_dir or settings.index_dir)
        # Check the manifest against the configured model before paying for loading the model.
        _, model_id = resolve_model(settings.model)
        try:
            check_compatible(read_manifest(current_generation(index_dir)), index_dir, model_id, None)
        except IndexCorrupt:
            pass  # a damaged current generation: IndexStore.open falls back to the last good one
        embedder = embedder or embedder_for(settings)
        if embedder.model_id != model_id:
            raise IndexMismatch(f"embedder {embedder.model_id!r} is not the configured model {model_id!r}")
        store = IndexStore.open(index_dir, model_id=embedder.model_id, dimension=embedder.dimension,
                                settings=settings)
        set_threads(1, embedder)
        return cls(settings, store, embedder)

    def ask(self, question: str, audience: str = "clinician", mode: str = "hybrid",
            conversation: Conversation | None = None) -> Answer:
        """Answer one question; with a conversation, a follow-up is first rewritten to stand on its own
        and the conversation records the turn. A read that fails on a damaged generation is answered again
        from the generation `recover` switches to."""
        started = time.perf_counter()
        query, notices = clean_question(question, self.settings.max_question_tokens, self.settings.max_question_bytes)
        own_words = query
        self.refresh()
        # The emergency check reads the user's own words, before any rewrite: a follow-up's rewrite carries
        # an earlier topic, and a crisis is never read as a follow-up of it.
        t_embed = time.perf_counter()
        own_vec = self.embedder.encode_query(own_words)
        embed_ms = (time.perf_counter() - t_embed) * 1e3
        emergency = self.emergency.assess(own_words, own_vec[0]) if self.emergency is not None else None
        followup, topic = False, ""
        if conversation is not None and not (emergency is not None and emergency.crisis):
            query, topic, followup = conversation.rewrite(query)
        vec = own_vec if query == own_words else None
        retriever = self.retriever  # this request answers from one generation, whatever happens meanwhile
        try:
            answer, retrieval, t_compose = self._answer(retriever, own_words, query, vec, emergency, audience, mode)
        except IndexProblem:
            raise
        except Exception:
            if not self.recover(retriever.store, "a read failed"):
                raise
            answer, retrieval, t_compose = self._answer(self.retriever, own_words, query, vec, emergency, audience,
                                                        mode)
        done = time.perf_counter()
        answer.notices = notices + answer.notices
        answer.ranked_articles = retrieval.ranked_articles
        answer.followup = followup
        if conversation is not None:
            top = None if answer.abstained or not answer.sources else answer.sources[0].article_id
            conversation.add(question, query, topic, top)
        timings = dict(retrieval.timings_ms)
        timings["embed"] = timings.get("embed", 0.0) + embed_ms  # the user's own words, and a rewrite's
        answer.timings_ms = {**timings, "compose": (done - t_compose) * 1e3,
                             "total": (done - started) * 1e3}
        return answer

    def _answer(self, retriever: Retriever, own_words: str, query: str, vec, emergency, audience: str, mode: str):
        # The user's own words, not the topic a follow-up carries over: a name the library lacks in an
        # earlier turn must not make every later question unanswerable.
        unknown = retriever.vocabulary.unknown(own_words) if self.settings.abstain_on_unknown_words else []
        retrieval = retriever.search(query, self.settings.top_k, self.settings.per_article, mode, qvec=vec)
        t_compose = time.perf_counter()
        evidence = retriever.evidence(retrieval)
        parsed = read_question(own_words, query, emergency, unknown)
        answer = compose(parsed, evidence, self.settings, audience, vocabulary=retriever.vocabulary)
        return answer, retrieval, t_compose

    def info(self) -> dict:
        """The index's facts, and the backend answering queries (which may differ from the one that built
        the index: their vectors agree)."""
        return {**self.store.info(), "query_backend": self.embedder.backend}
