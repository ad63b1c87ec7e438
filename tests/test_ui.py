"""The chat server for real: Gradio on a loopback port, called over HTTP with gradio_client, and the page
driven in Debian's chromium through Playwright. Screenshots land in tests/artifacts/."""

import os
import shutil
import sqlite3
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import start_server

CHROMIUM = next((p for p in (os.environ.get("RAG_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser")
                 if p and shutil.which(p)), None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def start(pipeline, **env):
    demo, port = start_server(pipeline, **env)
    return demo, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(pipeline):
    demo, url = start(pipeline)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def shipped_server(shipped):
    demo, url = start(shipped)
    yield url, shipped.store.path.parent / "feedback.sqlite"
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


def test_no_file_is_served_from_disk(server):
    for path in ("file=/etc/passwd", "gradio_api/file=/etc/passwd", "file=tests/conftest.py"):
        try:
            body = urllib.request.urlopen(server + path, timeout=10).read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            assert exc.code in (403, 404)
        else:
            assert "root:" not in body and "import pytest" not in body


def test_password_from_the_environment_is_enforced(pipeline):
    from gradio_client import Client

    demo, url = start(pipeline, RAG_PASSWORD="s3cret-word", RAG_USER="doc")
    try:
        with pytest.raises(Exception):
            Client(url, verbose=False).predict("How is myasthenia gravis diagnosed?", "clinician", api_name="/ask")
        client = Client(url, auth=("doc", "s3cret-word"), verbose=False)
        assert "[1]" in client.predict("How is myasthenia gravis diagnosed?", "clinician", api_name="/ask")
    finally:
        demo.close()


def ask(page, question):
    before = page.locator("#chat [data-testid='bot']").count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("n => document.querySelectorAll(\"#chat [data-testid='bot']\").length > n",
                           arg=before, timeout=60_000)
    time.sleep(0.5)


@pytest.mark.browser
def test_chat_in_a_real_browser(shipped_server, artifacts):
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run scripts/install-browser.sh (make test does)")
    from playwright.sync_api import sync_playwright

    url, feedback_db = shipped_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#question textarea").wait_for(timeout=60_000)
        assert "not medical advice" in page.inner_text("#disclaimer")
        assert not page.locator("#index-info").is_visible()  # the index line waits in "About this library"
        page.locator("#about").get_by_text("About this library").click()
        page.locator("#index-info").wait_for(state="visible", timeout=10_000)
        assert "89 articles" in page.inner_text("#index-info")

        # A question: direct answer, citations, sources, and the passage with the cited sentence marked.
        ask(page, "How is myasthenia gravis diagnosed?")
        bot = page.locator("#chat [data-testid='bot']").last.inner_text()
        assert "[1]" in bot and "Sources" in bot and "Library article" in bot
        panel = page.locator("#sources")
        assert "neuromuscular/myasthenia-gravis-diagnosis" in panel.locator(".src").first.inner_text()
        assert panel.locator(".q").count() >= 1  # the quoted sentences, highlighted when their [n] is clicked
        page.screenshot(path=str(artifacts / "chat-1-question.png"), full_page=True)

        # A follow-up that only makes sense in context, answered from the treatment article.
        ask(page, "and how is it treated?")
        bot = page.locator("#chat [data-testid='bot']").last.inner_text()
        assert "Read as:" in bot and "myasthenia gravis" in bot.split("Read as:")[1]
        assert "neuromuscular/myasthenia-gravis-treatment" in panel.locator(".src").first.inner_text()
        page.screenshot(path=str(artifacts / "chat-2-follow-up.png"), full_page=True)

        # Thumbs up is saved with the question, answer and sources.
        page.locator("#chat [data-testid='bot']").last.hover()
        page.locator("#chat button[aria-label='Like'], #chat button[title='Like']").last.click()
        deadline = time.time() + 10
        rows = []
        while time.time() < deadline and not rows:
            rows = sqlite3.connect(feedback_db).execute("SELECT liked, question, sources FROM feedback").fetchall()
            time.sleep(0.2)
        assert rows and rows[-1][0] == 1 and rows[-1][1] == "and how is it treated?"
        assert "myasthenia-gravis-treatment" in rows[-1][2]

        # The patient view.
        page.locator("#audience label", has_text="patient").click()
        ask(page, "What is ALS?")
        bot = page.locator("#chat [data-testid='bot']").last.inner_text()
        assert "The main points" in bot and "talk to your doctor" in bot
        page.screenshot(path=str(artifacts / "chat-3-patient.png"), full_page=True)

        # Markup in a question is shown as text and runs nothing.
        page.locator("#new").click()
        time.sleep(0.5)
        assert page.locator("#chat [data-testid='bot']").count() == 0
        ask(page, "Is ALS a muscle disease? <img src=x onerror=alert(1)><script>window.pwned=1</script>")
        user = page.locator("#chat [data-testid='user']").last.inner_text()
        assert "<img src=x onerror=alert(1)>" in user and "<script>" in user
        assert page.locator("#chat img[src='x']").count() == 0
        assert page.evaluate("window.pwned") is None and dialogs == []
        page.screenshot(path=str(artifacts / "chat-4-markup.png"), full_page=True)
        browser.close()


def test_each_session_keeps_its_own_conversation(shipped_server):
    from gradio_client import Client

    url, _ = shipped_server
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    history_a, _, panel = a.predict("How is myasthenia gravis diagnosed?", [], "clinician", api_name="/chat")
    history_b, _, panel_b = b.predict("What is the first-line treatment for migraine?", [], "clinician", api_name="/chat")
    history_a, _, panel = a.predict("and how is it treated?", history_a, "clinician", api_name="/chat")
    assert "Read as: and how is myasthenia gravis treated?" in str(history_a[-1])
    assert panel.split("class='src'")[1].count("myasthenia-gravis-treatment") >= 1
    history_b, _, panel_b = b.predict("and if that doesn't work?", history_b, "clinician", api_name="/chat")
    assert "migraine" in str(history_b[-1]).split("Read as:")[1]
    assert len(history_a) == 4 and len(history_b) == 4
