"""The JSON API beside the chat page, called over HTTP on a real server: the same JSON as `rag ask --json`,
conversations by id, health, the OpenAPI description, and the page's password, size and queue limits."""

import base64
import json
import threading

import pytest

from tests.conftest import start_server
from tests.test_exposed_server import request

QUESTION = "How is myasthenia gravis diagnosed?"


def call(port, method, path, payload=None, auth=None, raw=None, source="127.0.0.1"):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    body = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else b"")
    status, data = request(port, method, path, body, headers, source=source)
    return status, (json.loads(data) if data else None)


@pytest.fixture(scope="module")
def api(pipeline):
    demo, port = start_server(pipeline)
    yield port
    demo.close()


def test_ask_returns_what_rag_ask_json_prints(api, pipeline):
    status, data = call(api, "POST", "/api/ask", {"question": QUESTION})
    assert status == 200
    expected = pipeline.ask(QUESTION).to_json()
    assert set(data) == set(expected)
    timing_free = {k: v for k, v in expected.items() if k != "timings_ms"}
    assert {k: data[k] for k in timing_free} == timing_free
    assert data["citations"] and data["sources"][0]["article_id"] == "neuro/myasthenia-gravis"
    patient = call(api, "POST", "/api/ask", {"question": QUESTION, "audience": "patient"})[1]
    assert patient["audience"] == "patient" and "talk to your doctor" in patient["answer"]


def test_chat_keeps_a_conversation_by_id(api):
    status, first = call(api, "POST", "/api/chat", {"question": QUESTION})
    assert status == 200 and first["conversation_id"] and not first["followup"]
    status, second = call(api, "POST", "/api/chat", {"question": "and what does the chest CT look for?",
                                                     "conversation_id": first["conversation_id"]})
    assert status == 200 and second["followup"] and "myasthenia gravis" in second["query"]
    assert second["conversation_id"] == first["conversation_id"]
    alone = call(api, "POST", "/api/chat", {"question": "and what does the chest CT look for?"})[1]
    assert not alone["followup"] and alone["conversation_id"] != first["conversation_id"]
    status, data = call(api, "POST", "/api/chat", {"question": QUESTION, "conversation_id": "no-such-id"})
    assert status == 404 and "conversation_id" in data["detail"]


def test_health_names_the_index_answered_from(api, pipeline):
    status, data = call(api, "GET", "/api/health")
    info = pipeline.info()
    assert status == 200 and data["status"] == "ok"
    assert data["generation"] == info["generation"] and data["articles"] == info["articles"] > 0
    assert data["chunks"] == info["chunks"] and data["model"] == info["model"]


def test_openapi_describes_the_three_routes(api):
    status, spec = call(api, "GET", "/api/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert {"/ask", "/chat", "/health"} <= set(spec["paths"])
    assert any(s.get("url") == "/api" for s in spec.get("servers", []))
    assert "question" in json.dumps(spec["components"]["schemas"]["AskRequest"])


def test_bad_requests_get_plain_reasons(api):
    status, data = call(api, "POST", "/api/ask", {"question": "   "})
    assert status == 400 and "question is empty" in data["detail"]
    status, data = call(api, "POST", "/api/ask", {"question": "x" * 40_000})
    assert status == 400 and "limit is 32,000 bytes" in data["detail"]
    status, _ = call(api, "POST", "/api/ask", {"question": QUESTION, "audience": "robot"})
    assert status == 422
    status, data = call(api, "POST", "/api/ask", raw=b'{"question": "' + b"x" * 1_100_000 + b'"}')
    assert status == 413 and "1,000,000 bytes" in data["detail"]


def test_the_page_password_guards_the_api(pipeline):
    demo, port = start_server(pipeline, RAG_PASSWORD="s3cret-word", RAG_USER="doc")
    try:
        status, data = call(port, "POST", "/api/ask", {"question": QUESTION})
        assert status == 401 and "Authentication required" in data["detail"]
        assert call(port, "GET", "/api/health")[0] == 401
        assert call(port, "POST", "/api/ask", {"question": QUESTION}, auth=("doc", "wrong"))[0] == 401
        status, data = call(port, "POST", "/api/ask", {"question": QUESTION}, auth=("doc", "s3cret-word"))
        assert status == 200 and data["citations"]
        assert call(port, "GET", "/api/health", auth=("doc", "s3cret-word"))[0] == 200
        # Wrong passwords from one address count toward the same limit as the page's login.
        codes = [call(port, "GET", "/api/health", auth=("doc", f"guess{i}"), source="127.0.0.2")[0] for i in range(6)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        assert call(port, "GET", "/api/health", auth=("doc", "s3cret-word"), source="127.0.0.2")[0] == 429
        assert call(port, "GET", "/api/health", auth=("doc", "s3cret-word"))[0] == 200
    finally:
        demo.close()


def test_the_gate_bounds_answers_running_and_waiting_together():
    """The one limit the page and the API share: `concurrency` running, `queue_size` waiting, then Busy."""
    from ui.guard import Busy, Gate

    gate = Gate(concurrency=1, queue_size=1)
    release, started = threading.Event(), threading.Event()
    done = []

    def hold():
        started.set()
        release.wait(30)
        return "held"

    running = threading.Thread(target=lambda: done.append(gate.run(hold)))
    running.start()
    assert started.wait(30)
    waiting = threading.Thread(target=lambda: done.append(gate.run(lambda: "waited")))
    waiting.start()
    while gate.in_flight < 2:
        threading.Event().wait(0.01)
    with pytest.raises(Busy, match="busy"):
        gate.run(lambda: "refused")
    release.set()
    running.join(30)
    waiting.join(30)
    assert sorted(done) == ["held", "waited"] and gate.in_flight == 0
    assert gate.run(lambda: "free again") == "free again"
