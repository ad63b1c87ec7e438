"""An exposed server: no uploads and no files, request and question size limits, a limit on failed logins,
a loud warning when serving the network without a password, and a one-line error for a busy port.
Real Gradio servers on loopback only (a second loopback address, 127.0.0.2, stands for another client)."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import free_port, start_server

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def start(pipeline, **env):
    return start_server(pipeline, **env)


def request(port, method, path, body=b"", headers=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def open_server(pipeline):
    demo, port = start(pipeline)
    yield port
    demo.close()


def multipart(name: str, content: bytes) -> tuple[bytes, dict]:
    boundary = "----ragtestboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/html\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_uploads_and_file_routes_are_refused_and_nothing_is_stored(open_server):
    from gradio.utils import get_upload_folder

    marker = f"upload-probe-{time.time_ns()}".encode()
    body, headers = multipart("evil.html", b"<script>alert(1)</script>" + marker)
    for path in ("/gradio_api/upload", "/upload", "/gradio_api/upload?upload_id=x"):
        status, _ = request(open_server, "POST", path, body, headers)
        assert status == 404, path
    for path in ("/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file/etc/passwd",
                 "/gradio_api/proxy=http://127.0.0.1/", "/monitoring", "/gradio_api/upload_progress"):
        status, text = request(open_server, "GET", path)
        assert status == 404 and b"root:" not in text, path
    folder = Path(get_upload_folder())
    stored = [p for p in folder.rglob("*") if p.is_file() and marker in p.read_bytes()] if folder.exists() else []
    assert stored == []
    status, _ = request(open_server, "GET", "/")
    assert status == 200, "the page itself still loads"


def test_a_request_body_over_the_limit_is_refused_before_it_is_read(open_server, settings):
    started = time.perf_counter()
    body = json.dumps({"data": ["x" * 20_000_000, "clinician"]}).encode()
    status, text = request(open_server, "POST", "/gradio_api/call/ask", body, {"Content-Type": "application/json"})
    assert status == 413 and f"{settings.max_request_bytes:,} bytes" in text.decode()
    # Sent without a length (chunked), the cap holds as well.
    conn = http.client.HTTPConnection("127.0.0.1", open_server, timeout=60)
    conn.request("POST", "/gradio_api/call/ask", body=iter([body[i:i + 65536] for i in range(0, 3_000_000, 65536)]),
                 headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, encode_chunked=True)
    assert conn.getresponse().status == 413
    conn.close()
    assert time.perf_counter() - started < 20


def test_a_question_over_the_byte_limit_gets_a_clear_message_at_once(open_server, settings):
    from gradio_client import Client

    client = Client(f"http://127.0.0.1:{open_server}/", verbose=False)
    started = time.perf_counter()
    reply = client.predict("Is ALS a muscle disease? " * 2_000, "clinician", api_name="/ask")
    assert "50,000 bytes long; the limit is 32,000 bytes" in reply
    assert time.perf_counter() - started < 5
    history, _, _ = client.predict("x" * 40_000, [], "clinician", api_name="/chat")
    assert "the limit is 32,000 bytes" in str(history[-1]["content"])


def test_failed_logins_are_limited_per_address(pipeline, settings):
    demo, port = start(pipeline, RAG_PASSWORD="right-horse", RAG_USER="doc")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def login(password, source="127.0.0.1"):
        body = urllib.parse.urlencode({"username": "doc", "password": password}).encode()
        return request(port, "POST", "/login", body, form, source)[0]

    try:
        assert [login(f"guess-{i}") for i in range(settings.login_attempts)] == [400] * settings.login_attempts
        assert login("guess-again") == 429
        assert login("right-horse") == 429, "even the right password waits out the window"
        assert login("right-horse", source="127.0.0.2") == 200, "another address is not locked out"
        status, _ = request(port, "POST", "/gradio_api/call/ask", b'{"data": ["What is ALS?", "clinician"]}',
                            {"Content-Type": "application/json"})
        assert status == 401, "the API still asks for a login"
    finally:
        demo.close()


def test_serving_the_network_without_a_password_is_warned_about(monkeypatch):
    from ui.app import exposure_warning

    monkeypatch.delenv("RAG_PASSWORD", raising=False)
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.5"):
        assert exposure_warning(host) is None, host
    for host in ("0.0.0.0", "::", "192.168.1.20", "myhost.example"):
        assert "WITHOUT A PASSWORD" in exposure_warning(host), host
    monkeypatch.setenv("RAG_PASSWORD", "x")
    assert exposure_warning("0.0.0.0") is None


def rag(*args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env={**ENV, **(env or {})}, timeout=timeout)


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_busy_port_is_one_line_naming_port_and_rag_port(busy_port, fixture_index):
    result = rag("serve", "--index", str(fixture_index), "--port", str(busy_port), timeout=120)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{busy_port}" in lines[0] and "--port" in lines[0] and "RAG_PORT" in lines[0]
    assert "GRADIO_SERVER_PORT" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_rag_port_from_the_environment_is_the_port_served(busy_port, fixture_index, monkeypatch):
    from tests.test_real_world_articles import rag as rag_here

    monkeypatch.setenv("RAG_PORT", str(busy_port))
    result = rag_here("serve", "--index", fixture_index)
    assert result.returncode == 1 and f"127.0.0.1:{busy_port}" in result.stderr and "RAG_PORT" in result.stderr


def test_the_network_warning_comes_first_and_nothing_listens_on_the_network(busy_port, fixture_index):
    """--host 0.0.0.0 on a port that loopback already holds: the warning is printed, then the port error;
    the test never opens a socket beyond loopback."""
    result = rag("serve", "--index", str(fixture_index), "--host", "0.0.0.0", "--port", str(busy_port), timeout=120,
                 env={"RAG_PASSWORD": ""})
    assert result.returncode == 1
    assert "WARNING" in result.stderr and "WITHOUT A PASSWORD" in result.stderr and "reverse proxy" in result.stderr
    assert result.stderr.index("WITHOUT A PASSWORD") < result.stderr.index("cannot listen")


def test_rag_serve_prints_its_address_and_no_share_or_monitoring_lines(fixture_index, tmp_path):
    import urllib.request

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--index", str(fixture_index), "--port",
                                 str(port)], stdout=fh, stderr=subprocess.STDOUT, env=ENV)
    try:
        deadline, up = time.time() + 120, False
        while time.time() < deadline and proc.poll() is None and not up:
            try:
                up = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).status == 200
            except OSError:
                time.sleep(0.5)
        assert up, log.read_text()
        time.sleep(1.0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert f"Chat on http://127.0.0.1:{port}/" in text
    for chatter in ("share=True", "public link", "Monitoring URL", "Running on local URL"):
        assert chatter not in text
