"""Shared fixtures: the real bundled model, real indexes built on disk from real article files."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"
SHIPPED_CORPUS = ROOT / "corpus"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def settings():
    from rag.config import Settings

    return Settings()


@pytest.fixture(scope="session")
def embedder(settings):
    from rag.embedding import embedder_for

    return embedder_for(settings)


def _built_index(tmp_path_factory, corpus: Path, name: str, settings, embedder) -> Path:
    from rag.pipeline import build_index

    index_dir = tmp_path_factory.mktemp(name)
    build_index(corpus, index_dir, settings, embedder=embedder)
    return index_dir


@pytest.fixture(scope="session")
def fixture_index(tmp_path_factory, settings, embedder) -> Path:
    return _built_index(tmp_path_factory, FIXTURE_CORPUS, "fixture-index", settings, embedder)


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory, settings, embedder) -> Path:
    return _built_index(tmp_path_factory, SHIPPED_CORPUS, "shipped-index", settings, embedder)


@pytest.fixture(scope="session")
def pipeline(fixture_index, settings, embedder):
    from rag.pipeline import Pipeline

    return Pipeline.open(settings, fixture_index, embedder=embedder)


@pytest.fixture(scope="session")
def shipped(shipped_index, settings, embedder):
    from rag.pipeline import Pipeline

    return Pipeline.open(settings, shipped_index, embedder=embedder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def start_server(pipeline, **env):
    """A real chat server for `pipeline` on a free loopback port, launched with the environment variables
    `env` set (RAG_PASSWORD…) and then restored: (demo, port)."""
    from ui.app import launch

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        port = free_port()
        demo = launch(pipeline, host="127.0.0.1", port=port, block=False)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return demo, port
