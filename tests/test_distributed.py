"""Builds embedded on a real local Ray instance (two CPUs): the generation equals a local build's, a worker
killed mid-build is restarted and its work redone, and a build whose workers are all lost writes nothing,
so the last good generation keeps serving."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")  # the [cluster] extra; `make test` installs it

from rag.build import BuildProgress, build_index  # noqa: E402
from rag.distributed import RayEmbedder  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.store import IndexStore, current_generation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "corpus"
VOLATILE = {"generation", "built_at", "build_seconds", "files"}


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_build(tmp_path_factory, settings, embedder):
    index = tmp_path_factory.mktemp("local-build")
    build_index(FIXTURE, index, settings, embedder=embedder)
    return index


def contents(index: Path) -> tuple[dict, dict[int, np.ndarray], dict[int, str], np.ndarray]:
    """(manifest without timings and checksums, chunk vectors by id, chunk texts by id, unit vectors)."""
    store = IndexStore.open(index)
    manifest = {k: v for k, v in store.manifest.items() if k not in VOLATILE}
    ids = [int(i) for i in store.bm25_ids]
    vectors = {i: store.vector(i) for i in ids}
    texts = {i: c.text for i, c in store.chunks(ids).items()}
    units = np.asarray(store.unit_vectors, dtype=np.float32)
    store.close()
    return manifest, vectors, texts, units


def assert_same_generation(a: Path, b: Path) -> None:
    ma, va, ta, ua = contents(a)
    mb, vb, tb, ub = contents(b)
    assert ma == mb  # model, chunker, index kind, counts, every article's hash and chunk count
    assert ta == tb and va.keys() == vb.keys()  # the same chunks under the same ids
    cos = [float(va[i] @ vb[i]) for i in va]
    assert min(cos) >= 0.99999, min(cos)
    assert ua.shape == ub.shape and float(np.min(np.sum(ua * ub, axis=1))) >= 0.9999


def test_a_ray_build_writes_what_a_local_build_writes(cluster, tmp_path, settings, local_build):
    index = tmp_path / "index"
    report = build_index(FIXTURE, index, settings, ray="auto", ray_workers=2)
    assert report.embedded_chunks == report.chunks > 0
    assert_same_generation(local_build, index)
    answer = Pipeline.open(settings, index).ask("How is myasthenia gravis diagnosed?")
    assert not answer.abstained and answer.citations


def test_a_worker_killed_mid_build_is_restarted_and_its_slices_redone(cluster, tmp_path, settings, local_build):
    remote = RayEmbedder(settings, "auto", workers=2, slice_size=4)
    pids = ray.get([w.pid.remote() for w in remote.workers])
    killed = []

    def kill_one(_n: int) -> None:
        if not killed:  # after the first slice is back, while the others are in flight
            os.kill(pids[1], signal.SIGKILL)
            killed.append(pids[1])

    index = tmp_path / "index"
    try:
        build_index(FIXTURE, index, settings, embedder=remote, progress=BuildProgress(on_embedded=kill_one))
        assert killed
        assert ray.get(remote.workers[1].pid.remote()) != pids[1]  # a new process holds that worker now
    finally:
        remote.close()
    assert_same_generation(local_build, index)


def test_a_build_that_loses_its_workers_leaves_the_last_good_generation(cluster, tmp_path, settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE, corpus)
    index = tmp_path / "index"
    build_index(corpus, index, settings, embedder=embedder)
    good = current_generation(index)
    pipeline = Pipeline.open(settings, index, embedder=embedder)
    (corpus / "neuro" / "gbs.txt").write_bytes((ROOT / "corpus" / "neuromuscular" / "guillain-barre-syndrome.txt").read_bytes())

    remote = RayEmbedder(settings, "auto", workers=2, slice_size=2)

    def lose_all(_n: int) -> None:
        for w in remote.workers:
            ray.kill(w, no_restart=True)

    with pytest.raises(Exception) as failed:
        build_index(corpus, index, settings, embedder=remote, progress=BuildProgress(on_embedded=lose_all))
    assert "Actor" in type(failed.value).__name__ or "actor" in str(failed.value).lower()
    assert current_generation(index) == good
    assert not list(index.glob(".tmp-*"))
    assert pipeline.refresh(every=0) is False  # nothing new to switch to
    answer = pipeline.ask("How is myasthenia gravis diagnosed?")
    assert not answer.abstained and pipeline.store.path == good
    assert json.loads((good / "manifest.json").read_text())["counts"]["articles"] == 3
