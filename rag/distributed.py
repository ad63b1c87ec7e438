"""Embedding a build's new and changed chunks on a Ray cluster (`rag index build --ray auto|local|HOST:PORT`).

Only the embedding is spread: it is the one step whose cost grows with the library (parsing and writing a
generation take seconds). `RayEmbedder` offers the build the same two things a local `Embedder` does,
the model's identity and `encode_with_spans`, so `rag.build` writes the generation exactly as a local build
does: the same chunk ids, the same manifest, the same atomic switch of CURRENT. Each worker is a Ray actor
holding one copy of the model (loaded once, one thread per worker: one core each); the texts go out in
slices of `slice_size`, and results come back in order.

A worker that dies mid-build (a killed process, a lost node) is restarted and its unfinished slices are
sent again (`max_restarts`, `max_task_retries`). If the cluster itself goes away, the build raises before
anything is written, so the last good generation keeps serving.

Ray is an optional extra: `pip install medcite-rag[cluster]`, the same version on every node, each node
able to load the configured model (the bundled one comes with the package).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rag.config import Settings

SLICE = 64  # texts a task: small enough that a retried slice costs little, big enough to keep batches full


class RayUnavailable(RuntimeError):
    pass


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable("distributed builds need Ray: pip install 'medcite-rag[cluster]'") from exc
    return ray


def connect(address: str):
    """Join the cluster at `address` ("auto": the one `ray start` runs on this machine; "local": start a
    private instance with this machine's cores; "HOST:PORT": a head node). A process already connected
    (a test's `ray.init(num_cpus=2)`) keeps its connection."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    if address not in ("auto", "local"):
        _reachable(address)
    try:
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # a wrong address or no cluster: one clear line, no traceback
        raise RayUnavailable(f"cannot join the Ray cluster at {address!r} ({type(exc).__name__}: {exc}); "
                             "start one with `ray start --head`, or use --ray local") from None
    return ray


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Ray keeps retrying an address where nothing listens for minutes; a plain connection attempt tells
    within seconds."""
    import socket

    host, _, port = address.replace("ray://", "").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        raise RayUnavailable(f"cannot join the Ray cluster at {address!r} (nothing answers there: {exc}); "
                             "start one with `ray start --head --port=6379`, or use --ray local") from None


class _Worker:
    """One model on one core of the cluster."""

    def __init__(self, settings: Settings):
        from rag.embedding import embedder_for, set_threads

        # The same backend as a local build (settings.embedding_backend); a node without the export makes
        # it once in its own cache, as a local first build does.
        self.embedder = embedder_for(settings)
        set_threads(1, self.embedder)

    def describe(self) -> dict:
        return self.embedder.describe()

    def encode(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
        return self.embedder.encode_with_spans(texts, spans)

    def pid(self) -> int:
        import os

        return os.getpid()


class RayEmbedder:
    """The build's embedder, with the work done by `workers` Ray actors (default: one a CPU of the cluster)."""

    def __init__(self, settings: Settings, address: str = "auto", workers: int | None = None,
                 slice_size: int = SLICE):
        ray = connect(address)
        self.ray = ray
        self.slice_size = slice_size
        n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(num_cpus=1, max_restarts=2, max_task_retries=3)(_Worker)
        self.workers = [remote.remote(settings) for _ in range(n)]
        self.described = ray.get(self.workers[0].describe.remote())
        self.model_id = self.described["id"]
        self.dimension = self.described["dimension"]
        self.max_seq_length = self.described["max_seq_length"]
        self.backend = self.described["backend"]

    def describe(self) -> dict:
        """What the manifest records of the model: the workers' own description, as a local build's."""
        return dict(self.described)

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                          progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The same result as Embedder.encode_with_spans, slices spread over the workers."""
        from ray.util import ActorPool

        slices = [(list(texts[i:i + self.slice_size]), [list(s) for s in spans[i:i + self.slice_size]])
                  for i in range(0, len(texts), self.slice_size)]
        if not slices:
            return np.zeros((0, self.dimension), np.float32), np.zeros((0, self.dimension), np.float32)
        pool = ActorPool(self.workers)
        vectors, units = [], []
        for (part, _), (vecs, unit_vecs) in zip(slices, pool.map(lambda w, s: w.encode.remote(*s), slices)):
            vectors.append(vecs)
            units.append(unit_vecs)
            if progress:
                progress(len(part))
        return np.concatenate(vectors), np.concatenate(units)

    def close(self) -> None:
        for w in self.workers:
            self.ray.kill(w)
        self.workers = []


__all__ = ["RayEmbedder", "RayUnavailable", "connect"]
