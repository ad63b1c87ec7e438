"""Rebuilding the index: incremental, atomic, locked, damage-proof and live."""

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from rag.build import LOCK_NAME, BuildLocked, build_index
from rag.chunking import Chunker
from rag.ingest import load_article
from rag.pipeline import Pipeline
from rag.store import IndexStore, current_generation, generations

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "corpus"
NEW_ARTICLE = ROOT / "corpus" / "neuromuscular" / "guillain-barre-syndrome.txt"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


@pytest.fixture
def corpus(tmp_path):
    dest = tmp_path / "corpus"
    shutil.copytree(FIXTURE, dest)
    return dest


def n_chunks(path: Path, root: Path) -> int:
    return len(Chunker().chunk(load_article(path, root)))


def test_only_new_and_changed_articles_are_embedded(tmp_path, corpus, settings, embedder):
    index = tmp_path / "index"
    first = build_index(corpus, index, settings, embedder=embedder)
    assert first.full and first.embedded_chunks == first.chunks

    again = build_index(corpus, index, settings, embedder=embedder)
    assert not again.full and again.embedded_chunks == 0 and again.reused_chunks == first.chunks

    (corpus / "neuro" / "gbs.txt").write_bytes(NEW_ARTICLE.read_bytes())
    added = build_index(corpus, index, settings, embedder=embedder)
    assert added.added == ["neuro/gbs"]
    assert added.embedded_chunks == n_chunks(corpus / "neuro" / "gbs.txt", corpus)
    assert added.reused_chunks == first.chunks

    htn = corpus / "cardio" / "hypertension.txt"
    htn.write_text(htn.read_text().replace("Most adults are treated", "Most adults are usually treated"))
    changed = build_index(corpus, index, settings, embedder=embedder)
    assert changed.changed == ["cardio/hypertension"] and changed.added == []
    assert changed.embedded_chunks == n_chunks(htn, corpus)

    htn.unlink()
    removed = build_index(corpus, index, settings, embedder=embedder)
    assert removed.removed == ["cardio/hypertension"] and removed.embedded_chunks == 0
    store = IndexStore.open(index)
    assert "cardio/hypertension" not in store.titles and store.consistency_problems() == []

    full = build_index(corpus, index, settings, embedder=embedder, full=True)
    assert full.full and full.embedded_chunks == full.chunks == removed.chunks


def test_reused_vectors_give_the_same_answers(tmp_path, corpus, settings, embedder):
    index = tmp_path / "index"
    build_index(corpus, index, settings, embedder=embedder, full=True)
    before = Pipeline.open(settings, index, embedder=embedder).ask("How is myasthenia gravis diagnosed?")
    build_index(corpus, index, settings, embedder=embedder)
    after = Pipeline.open(settings, index, embedder=embedder).ask("How is myasthenia gravis diagnosed?")
    assert after.text == before.text and [h.chunk.id for h in after.hits] == [h.chunk.id for h in before.hits]


def test_the_same_article_under_two_paths_is_indexed_once(tmp_path, corpus, settings, embedder):
    shutil.copy(corpus / "cardio" / "hypertension.txt", corpus / "cardio" / "copy-of-htn.txt")
    report = build_index(corpus, tmp_path / "index", settings, embedder=embedder)
    assert report.articles == 3
    assert any("the same article as" in w and "indexed once" in w for w in report.warnings)


def test_one_build_at_a_time(tmp_path, corpus, settings, embedder):
    index = tmp_path / "index"
    index.mkdir()
    with FileLock(str(index / LOCK_NAME)):
        with pytest.raises(BuildLocked, match="another build .* is running"):
            build_index(corpus, index, settings, embedder=embedder, wait=0.3)
    assert build_index(corpus, index, settings, embedder=embedder).articles == 3


def answers(index: Path, settings, embedder) -> bool:
    pipeline = Pipeline.open(settings, index, embedder=embedder)
    answer = pipeline.ask("How is myasthenia gravis diagnosed?")
    return not answer.abstained and answer.sources[0].article_id == "neuro/myasthenia-gravis"


@pytest.mark.parametrize("target", ["vectors.faiss", "meta.sqlite", "unit_vectors.npy", "manifest.json", "bm25_ids.npy"])
@pytest.mark.parametrize("damage", ["truncate", "zero", "delete"])
def test_a_damaged_generation_falls_back_to_the_last_good_one(tmp_path, corpus, settings, embedder, target, damage):
    index = tmp_path / "index"
    build_index(corpus, index, settings, embedder=embedder)
    good = current_generation(index)
    (corpus / "neuro" / "gbs.txt").write_bytes(NEW_ARTICLE.read_bytes())
    build_index(corpus, index, settings, embedder=embedder)
    path = current_generation(index) / target
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])
    elif damage == "zero":
        path.write_bytes(b"\0" * path.stat().st_size)
    else:
        path.unlink()
    store = IndexStore.open(index)
    assert store.path == good and "damaged" in store.fallback or "cannot be read" in store.fallback
    assert answers(index, settings, embedder)


def test_kill_9_during_builds_never_loses_the_index(tmp_path, corpus, settings, embedder):
    """20 builds killed with SIGKILL at random moments (half of them near the end, where files are
    written and the pointer is swapped): after each, the index loads and answers."""
    index = tmp_path / "index"
    build_index(corpus, index, settings, embedder=embedder)
    cmd = [sys.executable, "-m", "rag.cli", "index", "build", "--full", "--corpus", str(corpus), "--index", str(index)]
    t = time.perf_counter()
    subprocess.run(cmd, env=ENV, check=True, capture_output=True)
    duration = time.perf_counter() - t
    rng = random.Random(7)
    for trial in range(20):
        delay = rng.uniform(0, duration) if trial % 2 == 0 else rng.uniform(max(0.0, duration - 1.5), duration)
        proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert answers(index, settings, embedder), f"trial {trial}: killed after {delay:.2f} s"
    report = build_index(corpus, index, settings, embedder=embedder)  # the next build cleans up after them
    assert not list(index.glob(".tmp-*")) and len(generations(index)) <= 3
    assert report.articles == 3


def test_the_running_chat_swaps_to_a_new_generation_without_failing_a_request(tmp_path, corpus, settings, embedder):
    from gradio_client import Client

    from tests.conftest import free_port
    from ui.app import launch

    index = tmp_path / "index"
    build_index(corpus, index, settings, embedder=embedder)
    pipeline = Pipeline.open(settings, index, embedder=embedder)
    port = free_port()
    demo = launch(pipeline, host="127.0.0.1", port=port, block=False)
    errors, done = [], threading.Event()
    replies = []

    def loop():
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for _ in range(200):  # bounded
            if done.is_set():
                break
            try:
                replies.append(client.predict("How is myasthenia gravis diagnosed?", "clinician", api_name="/ask"))
            except Exception as exc:
                errors.append(exc)

    worker = threading.Thread(target=loop)
    worker.start()
    try:
        time.sleep(1.0)
        (corpus / "neuro" / "gbs.txt").write_bytes(NEW_ARTICLE.read_bytes())
        build_index(corpus, index, settings, embedder=embedder)
        time.sleep(1.5)
        done.set()
        worker.join(timeout=60)
        assert errors == [] and len(replies) > 3 and all("[1]" in r for r in replies)
        reply = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            "What is Guillain-Barre syndrome?", "clinician", api_name="/ask")
        assert "neuro/gbs" in reply
    finally:
        done.set()
        demo.close()
