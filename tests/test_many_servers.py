"""Several `rag serve` processes on one index folder (behind a load balancer, docs/scale.md): while a build
publishes a new generation, each switches to it without a restart and without failing a request."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from rag.build import build_index
from rag.store import current_generation
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "corpus"
NEW_ARTICLE = ROOT / "corpus" / "neuromuscular" / "guillain-barre-syndrome.txt"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_PASSWORD": ""}


def serve(index: Path, port: int, log: Path) -> subprocess.Popen:
    with log.open("w") as fh:
        return subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--index", str(index), "--port", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT, env=ENV, cwd=ROOT)


def wait_up(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"server on {port} did not come up: {log.read_text()[-2000:]}")


def test_two_servers_on_one_index_both_switch_to_a_published_generation(tmp_path, settings, embedder):
    from gradio_client import Client

    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE, corpus)
    index = tmp_path / "index"
    build_index(corpus, index, settings, embedder=embedder)
    first = current_generation(index)
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"serve-{p}.log" for p in ports]
    procs = [serve(index, p, log) for p, log in zip(ports, logs)]
    errors: list[str] = []
    replies: dict[int, list[str]] = {p: [] for p in ports}
    done = threading.Event()

    def ask_forever(port: int) -> None:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for _ in range(300):  # bounded
            if done.is_set():
                return
            try:
                replies[port].append(client.predict("How is myasthenia gravis diagnosed?", "clinician", api_name="/ask"))
            except Exception as exc:  # any failed request fails the test
                errors.append(f"{port}: {type(exc).__name__}: {exc}")

    try:
        for proc, port, log in zip(procs, ports, logs):
            wait_up(proc, port, log)
        askers = [threading.Thread(target=ask_forever, args=(p,)) for p in ports]
        for t in askers:
            t.start()
        time.sleep(2.0)
        (corpus / "neuro" / "gbs.txt").write_bytes(NEW_ARTICLE.read_bytes())
        build_index(corpus, index, settings, embedder=embedder)  # publishes while both are answering
        assert current_generation(index) != first
        time.sleep(2.0)
        done.set()
        for t in askers:
            t.join(timeout=120)
        assert errors == []
        for port in ports:
            assert len(replies[port]) >= 2 and all("[1]" in r for r in replies[port])
            reply = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                "What is Guillain-Barre syndrome?", "clinician", api_name="/ask")
            assert "neuro/gbs" in reply, f"server on {port} still answers from the old generation"
        assert all(p.poll() is None for p in procs)  # neither restarted nor died
    finally:
        done.set()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
