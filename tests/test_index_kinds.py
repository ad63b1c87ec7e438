"""The vector index by library size: exact search for small libraries, HNSW over 8-bit vectors above
Settings.exact_search_max. The threshold is forced low here so the approximate branch is built, answered
from, updated and verified on real articles."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.build import build_index
from rag.gold import load_gold
from rag.pipeline import Pipeline
from rag.store import IndexStore, current_generation, index_kind, make_faiss_index

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "corpus"
NEW_ARTICLE = ROOT / "corpus" / "neuromuscular" / "guillain-barre-syndrome.txt"


def manifest(index: Path) -> dict:
    return json.loads((current_generation(index) / "manifest.json").read_text())


@pytest.fixture(scope="module")
def approx_settings(settings):
    return replace(settings, exact_search_max=0)


@pytest.fixture(scope="module")
def approx_shipped(tmp_path_factory, approx_settings, embedder):
    index = tmp_path_factory.mktemp("approx-shipped")
    build_index(ROOT / "corpus", index, approx_settings, embedder=embedder)
    return Pipeline.open(approx_settings, index, embedder=embedder)


def test_a_small_library_is_searched_exactly(fixture_index):
    m = manifest(fixture_index)
    assert m["index"] == {"kind": "flat"}
    assert not (current_generation(fixture_index) / "chunk_vectors.npy").exists()


def test_the_kind_follows_the_size(settings):
    assert index_kind(settings.exact_search_max, settings) == "flat"
    assert index_kind(settings.exact_search_max + 1, settings) == settings.approx_index
    with pytest.raises(ValueError, match="approx_index must be one of"):
        index_kind(10, replace(settings, approx_index="ivf"))
    with pytest.raises(ValueError, match="learns from the vectors"):
        make_faiss_index(8, 10, replace(settings, exact_search_max=0))


def test_above_the_threshold_the_manifest_records_an_approximate_index(approx_shipped, approx_settings):
    m = approx_shipped.store.manifest
    assert m["index"] == {"kind": "hnsw_sq8", "hnsw_m": approx_settings.hnsw_m,
                          "hnsw_ef_construction": approx_settings.hnsw_ef_construction}
    base = faiss.downcast_index(approx_shipped.store.index.index)
    assert isinstance(base, faiss.IndexHNSWSQ)
    assert base.hnsw.efSearch == approx_settings.hnsw_ef_search  # set on open: not stored in the file
    assert approx_shipped.store.index.ntotal == m["counts"]["chunks"]


def test_the_approximate_index_retrieves_what_exact_search_does(approx_shipped, shipped):
    """Over every gold question: the same best article, and nearly the same top five."""
    questions = [g.question for g in load_gold(ROOT / "eval" / "gold.jsonl")]
    same_top, overlap = 0, []
    for q in questions:
        exact = shipped.retriever.search(q, 10, 4, "dense").hits
        approx = approx_shipped.retriever.search(q, 10, 4, "dense").hits
        same_top += exact[0].chunk.article_id == approx[0].chunk.article_id
        overlap.append(len({h.chunk.id for h in exact[:5]} & {h.chunk.id for h in approx[:5]}) / 5)
    assert same_top / len(questions) >= 0.98
    assert np.mean(overlap) >= 0.95


def test_answers_from_the_approximate_index_cite_what_they_quote(approx_shipped):
    answer = approx_shipped.ask("How is myasthenia gravis diagnosed?")
    assert not answer.abstained and answer.citations
    by_id = {p.chunk_id: p.text for p in answer.passages}
    for c in answer.citations:
        assert by_id[c.chunk_id][c.start:c.end] == c.quote


def test_incremental_builds_keep_exact_vectors_on_the_approximate_index(tmp_path, approx_settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE, corpus)
    index = tmp_path / "index"
    first = build_index(corpus, index, approx_settings, embedder=embedder)
    assert manifest(index)["index"]["kind"] == "hnsw_sq8"
    before = IndexStore.open(index)
    exact_before = {int(i): before.exact_vector(int(i)).copy() for i in before.bm25_ids}
    before.close()

    (corpus / "neuro" / "gbs.txt").write_bytes(NEW_ARTICLE.read_bytes())
    added = build_index(corpus, index, approx_settings, embedder=embedder)
    assert added.reused_chunks == first.chunks and added.embedded_chunks == added.chunks - first.chunks
    after = IndexStore.open(index)
    for chunk_id, vec in exact_before.items():  # re-used from chunk_vectors.npy, not from the 8-bit copy
        assert np.array_equal(after.exact_vector(chunk_id), vec)
    after.close()

    (corpus / "neuro" / "gbs.txt").unlink()
    build_index(corpus, index, approx_settings, embedder=embedder)
    pipeline = Pipeline.open(approx_settings, index, embedder=embedder)
    assert pipeline.store.index.ntotal == first.chunks
    gone = pipeline.retriever.search("Guillain-Barre syndrome ascending weakness after infection", 10, 4, "dense")
    assert all(h.chunk.article_id != "neuro/gbs" for h in gone.hits)
    assert pipeline.store.consistency_problems() == [] and pipeline.store.damage() == []


def test_the_cli_builds_reports_and_verifies_an_approximate_index(tmp_path):
    """RAG_EXACT_SEARCH_MAX=0 from the environment: the command line builds HNSW, status names it, verify
    finds FAISS, SQLite and BM25 in agreement, and a `--ray` build without a cluster is one clear line."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_EXACT_SEARCH_MAX": "0"}

    def rag(*args):
        return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env,
                              timeout=300)

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(FIXTURE, corpus)
    assert rag("index", "build", "--corpus", str(corpus), "--index", str(index)).returncode == 0
    status = rag("index", "status", "--corpus", str(corpus), "--index", str(index))
    assert status.returncode == 0 and "vector index: hnsw_sq8 (approximate; M=32" in status.stdout, status.stdout
    verify = rag("index", "verify", "--index", str(index))
    assert verify.returncode == 0 and "OK" in verify.stdout, verify.stdout + verify.stderr
    no_cluster = rag("index", "build", "--full", "--corpus", str(corpus), "--index", str(index), "--ray", "127.0.0.1:1")
    assert no_cluster.returncode == 1
    assert "cannot join the Ray cluster at '127.0.0.1:1'" in no_cluster.stderr or "pip install" in no_cluster.stderr
    assert "Traceback" not in no_cluster.stderr
