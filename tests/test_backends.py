"""The embedding backends (issue 14): the real ONNX export of the bundled model into a temporary cache, the
same vectors and rankings as sentence-transformers on real chunks of the shipped library, an answering
process that never imports torch, and an index built by one backend served by another."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FIXTURE_CORPUS, ROOT, SHIPPED_CORPUS, free_port

NEW_ARTICLE = ROOT / "corpus" / "neuromuscular" / "guillain-barre-syndrome.txt"
HEAVY = ("torch", "sentence_transformers", "transformers", "gradio", "matplotlib")


@pytest.fixture(scope="module")
def torch_embedder(settings):
    from rag.embedding import open_embedder

    return open_embedder(settings.model, settings.batch_size, "torch")


@pytest.fixture(scope="module")
def shipped_chunks(settings):
    from rag.chunking import Chunker, ChunkerSettings
    from rag.corpus import load_corpus

    articles, _ = load_corpus(SHIPPED_CORPUS)
    chunker = Chunker(ChunkerSettings(max_tokens=settings.chunk_tokens))
    chunks = [c for a in articles for c in chunker.chunk(a)]
    return chunks[::4]  # every fourth chunk of the library: ~280 real chunks, long and short


def test_export_of_the_bundled_model_into_a_temporary_cache(tmp_path, settings):
    from rag.embedding import OnnxEmbedder
    from rag.model_export import MIN_COSINE, ensure_export, export_folder

    cache = tmp_path / "cache"
    embedder = OnnxEmbedder(settings.model, settings.batch_size, cache)
    folder = embedder.export_dir
    assert folder.parent == cache and folder == export_folder(embedder.load_path, cache)
    assert sorted(p.name for p in folder.iterdir()) == ["export.json", "model.onnx", "model.ort.onnx", "tokenizer.json"]
    meta = json.loads((folder / "export.json").read_text())
    assert meta["modules"] == ["Transformer", "Pooling", "Normalize"]
    assert meta["dimension"] == 384 and meta["max_seq_length"] == 256
    assert meta["check_cosine"] >= MIN_COSINE
    # A second process finds the export and does not make it again.
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    again, _ = ensure_export(embedder.load_path, cache)
    assert again == folder and (folder / "model.onnx").stat().st_mtime_ns == stamp
    # No half-made export or temporary folder is left behind.
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-export-")]


def test_the_cache_key_is_the_model_content(tmp_path):
    from rag.model_export import content_hash

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 384}')
    (model / "weights.bin").write_bytes(b"\x00" * 1000)
    cache = tmp_path / "cache"
    first = content_hash(model, cache)
    assert content_hash(model, cache) == first  # remembered under the file stamps
    copy = tmp_path / "copy"
    shutil.copytree(model, copy)
    assert content_hash(copy, cache) == first  # same content elsewhere: the same export
    (model / "weights.bin").write_bytes(b"\x01" + b"\x00" * 999)  # new weights, same size
    os.utime(model / "weights.bin", ns=(1, 1))
    assert content_hash(model, cache) != first


def test_onnx_gives_the_torch_vectors_and_rankings_on_real_chunks(embedder, torch_embedder, shipped_chunks):
    assert embedder.backend == "onnx"
    texts = [c.embed_text for c in shipped_chunks]
    ours, reference = embedder.encode(texts), torch_embedder.encode(texts)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.99999, f"lowest cosine {cosines.min():.7f}"

    from rag.gold import load_gold

    questions = [q.question for q in load_gold(ROOT / "eval" / "gold.jsonl")][::5]
    for q in questions:
        a, b = embedder.encode_query(q)[0], torch_embedder.encode_query(q)[0]
        assert float(a @ b) >= 0.99999
        assert list(np.argsort(-(ours @ a))[:10]) == list(np.argsort(-(reference @ b))[:10]), q


def test_sentence_vectors_inside_chunks_agree(embedder, torch_embedder, shipped_chunks):
    picked = shipped_chunks[:40]
    texts = [c.embed_text for c in picked]
    spans = [[(len(c.embed_text) - len(c.text) + u["start"], len(c.embed_text) - len(c.text) + u["end"])
              for u in c.units] for c in picked]
    ours, our_units = embedder.encode_with_spans(texts, spans)
    ref, ref_units = torch_embedder.encode_with_spans(texts, spans)
    assert our_units.shape == ref_units.shape and len(our_units) > len(picked)
    assert (ours * ref).sum(axis=1).min() >= 0.99999
    assert (our_units * ref_units).sum(axis=1).min() >= 0.9999
    assert embedder.pieces("myasthenia") == torch_embedder.pieces("myasthenia") == ["my", "##ast", "##hen", "##ia"]


def test_openvino_gives_the_same_vectors(settings, torch_embedder, shipped_chunks):
    pytest.importorskip("openvino", reason="the [openvino] extra is not installed")
    from rag.embedding import open_embedder

    openvino = open_embedder(settings.model, settings.batch_size, "openvino", settings.model_cache)
    texts = [c.embed_text for c in shipped_chunks[:60]]
    cosines = (openvino.encode(texts) * torch_embedder.encode(texts)).sum(axis=1)
    assert cosines.min() >= 0.99999, f"lowest cosine {cosines.min():.7f}"


def test_an_unknown_backend_is_one_clear_error(settings):
    from rag.embedding import ModelError, embedder_for

    with pytest.raises(ModelError, match="unknown embedding backend 'cuda'.*onnx, torch, openvino"):
        embedder_for(replace(settings, embedding_backend="cuda"))


def _run(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **env})


def test_answering_never_imports_torch(fixture_index, embedder):
    """`Pipeline.open` + `ask` and the `rag ask` command, each in a new process with the export cached."""
    code = f"""
import sys
from rag.config import load_settings
from rag.pipeline import Pipeline
pipeline = Pipeline.open(load_settings(), {str(fixture_index)!r})
answer = pipeline.ask("How is myasthenia gravis diagnosed?")
assert answer.sources and not answer.abstained, answer.text
print(pipeline.info()["query_backend"], [m for m in {HEAVY!r} if m in sys.modules])
"""
    out = _run(code, RAG_MODEL_CACHE=str(embedder.export_dir.parent))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["onnx", "[]"], out.stdout

    cli = f"""
import sys
from rag.cli import app
try:
    app(["ask", "How is myasthenia gravis diagnosed?", "--index", {str(fixture_index)!r}, "--json"])
except SystemExit as exc:
    assert not exc.code, exc.code
print("LOADED", [m for m in {HEAVY!r} if m in sys.modules])
"""
    out = _run(cli, RAG_MODEL_CACHE=str(embedder.export_dir.parent))
    assert out.returncode == 0, out.stderr
    answer, loaded = out.stdout.split("\nLOADED ")
    assert json.loads(answer)["sources"]
    assert loaded.strip() == "[]"


def test_the_chat_server_never_imports_torch(fixture_index, embedder):
    """What `rag serve` runs (Pipeline.open, then ui.app.launch), answering over HTTP, in a new process.
    (matplotlib is not checked here: Gradio imports it around every event when it is installed, as the
    test extras install it; the default install has no matplotlib.)"""
    code = f"""
import sys
from gradio_client import Client
from rag.config import load_settings
from rag.pipeline import Pipeline
from ui.app import launch
pipeline = Pipeline.open(load_settings(), {str(fixture_index)!r})
demo = launch(pipeline, host="127.0.0.1", port={free_port()}, block=False)
reply = Client(demo.local_url, verbose=False).predict("How is myasthenia gravis diagnosed?", "clinician", api_name="/ask")
assert "[1]" in reply, reply
print("LOADED", [m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules])
demo.close()
"""
    out = _run(code, RAG_MODEL_CACHE=str(embedder.export_dir.parent))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("LOADED ")[-1].splitlines()[0] == "[]", out.stdout


def test_an_index_built_with_torch_is_served_by_onnx_and_says_so(tmp_path, settings, embedder, torch_embedder):
    from rag.pipeline import Pipeline, build_index

    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    index = tmp_path / "index"
    build_index(corpus, index, replace(settings, embedding_backend="torch"), embedder=torch_embedder)
    pipeline = Pipeline.open(settings, index, embedder=embedder)
    info = pipeline.info()
    assert (info["backend"], info["query_backend"]) == ("torch", "onnx")
    answer = pipeline.ask("How is myasthenia gravis diagnosed?")
    assert answer.sources and not answer.abstained
    reference = Pipeline.open(replace(settings, embedding_backend="torch"), index, embedder=torch_embedder)
    assert [h.chunk.id for h in answer.hits] == [h.chunk.id for h in reference.ask(
        "How is myasthenia gravis diagnosed?").hits]

    # An incremental build with onnx re-uses the torch vectors: the manifest lists both backends.
    shutil.copy(NEW_ARTICLE, corpus / "neuro" / "gbs.txt")
    report = build_index(corpus, index, settings, embedder=embedder)
    assert report.embedded_chunks and report.reused_chunks and report.backend == "onnx"
    from rag.store import IndexStore

    store = IndexStore.open(index)
    assert store.manifest["model"]["backend"] == "onnx"
    assert store.manifest["model"]["backends"] == ["onnx", "torch"]
