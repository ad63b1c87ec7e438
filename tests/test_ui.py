"""The chat server for real: Gradio on a loopback port, called over HTTP with gradio_client, and the page
driven in Debian's chromium through Playwright."""

import os
import shutil
import time

import pytest

from tests.conftest import free_port

CHROMIUM = next((p for p in (os.environ.get("RAG_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser")
                 if p and shutil.which(p)), None)


@pytest.fixture(scope="module")
def server(pipeline):
    from ui.app import launch

    port = free_port()
    demo = launch(pipeline, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_chat_answers_over_http(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    reply = client.predict("How is myasthenia gravis diagnosed?", "clinician", api_name="/ask")
    assert "[1]" in reply and "**Sources**" in reply
    assert "Library article" in reply and "How is myasthenia gravis diagnosed?" in reply
    assert "not medical advice" in reply


def test_markup_in_a_question_comes_back_escaped(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    reply = client.predict("<script>alert(1)</script>", "clinician", api_name="/ask")
    assert "<script>" not in reply
    reply = client.predict("   ", "clinician", api_name="/ask")
    assert "question is empty" in reply


@pytest.mark.browser
def test_chat_page_in_a_real_browser(server, artifacts):
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run scripts/install-browser.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        alerts = []
        page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
        page.goto(server, wait_until="domcontentloaded")
        box = page.locator("#question textarea")
        box.fill("Is ALS a muscle disease? <img src=x onerror=alert(1)>")
        box.press("Enter")
        page.get_by_text("Library article", exact=False).first.wait_for(timeout=60_000)
        time.sleep(0.5)
        page.screenshot(path=str(artifacts / "chat-answer.png"), full_page=True)
        body = page.inner_text("body")
        assert "No, amyotrophic lateral sclerosis" in body
        assert "[1]" in body and "Sources" in body
        assert "<img src=x onerror=alert(1)>" in body, "markup in a question is shown as text"
        assert page.locator("#component-0 img[src='x'], .message img[src='x']").count() == 0
        assert alerts == [], "no script from a question may run"
        browser.close()
