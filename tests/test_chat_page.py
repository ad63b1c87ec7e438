"""What a clinician sees in the chat page, measured in Debian's chromium on a real server, at a desktop
size (1400x1000) and a phone's width (414 px): the newest answer's first line in view, [n] opening exactly
the sentence it cites, clean copies, examples that ask, a plain message and a kept question when the server
fails, the disclaimer always in view. Each test leaves a screenshot in tests/artifacts/ to look at."""

import re
import time

import pytest

from tests.conftest import start_server
from tests.test_ui import ARGS, CHROMIUM

pytestmark = pytest.mark.browser
VIEWPORTS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 414, "height": 860}}
BOTS = "#chat [data-testid='bot']"


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run scripts/install-browser.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def url(shipped):
    demo, port = start_server(shipped)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, url):
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    page = context.new_page()
    page.viewport_name = request.param
    page.goto(url, wait_until="domcontentloaded")
    page.locator("#question textarea").wait_for(timeout=60_000)
    yield page
    context.close()


def shot(page, artifacts, name):
    page.screenshot(path=str(artifacts / f"page-{name}-{page.viewport_name}.png"))


def wait_for_answer(page, before):
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[BOTS, before],
                           timeout=90_000)
    time.sleep(0.8)  # the page's scroll runs after the answer is drawn


def ask(page, question):
    before = page.locator(BOTS).count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    wait_for_answer(page, before)


def in_viewport(page, selector_or_locator) -> bool:
    loc = page.locator(selector_or_locator) if isinstance(selector_or_locator, str) else selector_or_locator
    box = loc.bounding_box()
    vp = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 20) <= vp["height"]


def first_line_visible(page) -> bool:
    """The newest answer's first line is inside the window and inside the chat's scrolled area."""
    return page.locator(BOTS).last.evaluate("""(el) => {
        const first = el.querySelector('p, strong') || el;
        const r = first.getBoundingClientRect();
        let box = el.parentElement;
        while (box && !(box.scrollHeight > box.clientHeight + 1 &&
               ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) box = box.parentElement;
        const c = box ? box.getBoundingClientRect() : {top: 0, bottom: window.innerHeight};
        const line = r.top + 20;
        return r.top >= Math.max(0, c.top) - 1 && line <= Math.min(window.innerHeight, c.bottom);
    }""")


def test_the_newest_answer_opens_at_its_first_line(page, artifacts):
    ask(page, "How is myasthenia gravis diagnosed?")
    assert first_line_visible(page)
    ask(page, "and how is it treated?")
    assert first_line_visible(page), "the newest answer's first line is out of view"
    assert "Read as:" in page.locator(BOTS).last.inner_text()
    shot(page, artifacts, "1-newest-answer")


def test_a_marker_highlights_exactly_the_sentence_it_cites(page, artifacts, shipped):
    question = "How is myasthenia gravis diagnosed?"
    ask(page, question)
    assert page.locator("#sources .hl").count() == 0, "nothing is highlighted before a marker is clicked"
    answer = shipped.ask(question)
    k = next(c.marker for c in answer.citations if c.source == 2)
    quote = next(c.quote for c in answer.citations if c.marker == k)
    link = page.locator(f"{BOTS} a[href$='#cite-1-2-{k}']")
    assert link.inner_text() == "[2]"
    link.click()
    time.sleep(0.5)
    marked = page.locator("#sources span.q.hl").all_inner_texts()
    assert [" ".join(t.split()) for t in marked] == [" ".join(quote.split())]
    assert "hl" in page.locator("#src-1-2").get_attribute("class")
    assert in_viewport(page, page.locator("#sources span.q.hl").first)
    assert page.locator("#sources .q:not(.hl)").count() >= 1  # the other quoted text stays plain
    shot(page, artifacts, "2-marker")


def test_copy_gives_clean_text_and_markdown(page, artifacts, shipped):
    question = "How is Bell's palsy treated?"
    ask(page, question)
    expected = shipped.ask(question).text
    assert "'" in expected
    page.locator(f"{BOTS} a.copy", has_text=re.compile("^Copy$")).last.click()
    time.sleep(0.3)
    text = page.evaluate("navigator.clipboard.readText()")
    assert text == expected
    for junk in ("&#", "&amp;", "**", "<small>", "<a ", "&quot;"):
        assert junk not in text
    page.locator(f"{BOTS} a.copy", has_text="Copy as Markdown").last.click()
    time.sleep(0.3)
    markdown = page.evaluate("navigator.clipboard.readText()")
    assert markdown.startswith("**") and "Bell's palsy" in markdown and "- " in markdown
    for junk in ("&#", "<small>", "<a ", "<span"):
        assert junk not in markdown
    shot(page, artifacts, "3-copy")


def test_clicking_an_example_asks_it(page, artifacts):
    example = page.locator("#examples button", has_text="How is myasthenia gravis diagnosed?")
    if page.viewport_name == "phone":  # on a phone the sources come before the examples
        assert page.locator("#sources").bounding_box()["y"] < page.locator("#examples").bounding_box()["y"]
        assert page.locator("#question textarea").bounding_box()["width"] >= 300
    example.click()
    wait_for_answer(page, 0)
    assert page.locator("#chat [data-testid='user']").last.inner_text().strip() == "How is myasthenia gravis diagnosed?"
    assert "[1]" in page.locator(BOTS).last.inner_text()
    assert first_line_visible(page)
    shot(page, artifacts, "4-example")


def test_the_disclaimer_stays_in_view(page, artifacts):
    for question in ("What is ALS?", "and how is it diagnosed?"):
        ask(page, question)
    for y in (0, 600, 100_000):
        page.evaluate(f"window.scrollTo(0, {y})")
        time.sleep(0.2)
        assert in_viewport(page, "#disclaimer")
        assert "not medical advice" in page.inner_text("#disclaimer")
    page.locator("#audience label", has_text="patient").click()
    time.sleep(0.5)
    assert "ask a doctor" in page.inner_text("#disclaimer") or page.viewport_name == "phone"
    assert "clinical judgement" not in page.inner_text("#disclaimer")
    shot(page, artifacts, "5-disclaimer")


@pytest.fixture(scope="module")
def fragile(fixture_index, settings, embedder):
    """A server of its own whose index connection the test closes: a real failure inside the server."""
    from rag.pipeline import Pipeline

    pipeline = Pipeline.open(settings, fixture_index, embedder=embedder)
    demo, port = start_server(pipeline)
    yield pipeline, f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_server_failure_keeps_the_question_and_offers_retry(browser, fragile, artifacts, viewport):
    from rag.store import IndexStore

    pipeline, url = fragile
    page = browser.new_page(viewport=VIEWPORTS[viewport])
    page.viewport_name = viewport
    try:
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#question textarea").wait_for(timeout=60_000)
        pipeline.store.close()  # every read now fails inside the server
        question = "How is myasthenia gravis diagnosed?"
        ask(page, question)
        assert "problem on the server" in page.locator(BOTS).last.inner_text()
        assert page.locator("#question textarea").input_value() == question
        assert page.locator("#retry").is_visible()
        assert page.locator(".error, [data-testid='error']").filter(has_text="Error").count() == 0
        shot(page, artifacts, "6-server-error")
        pipeline._use(IndexStore.open(pipeline.index_dir, model_id=pipeline.embedder.model_id,
                                      dimension=pipeline.embedder.dimension))
        page.locator("#retry").click()
        page.wait_for_function("sel => document.querySelector(sel + ' a.cite')", arg=BOTS, timeout=90_000)
        time.sleep(0.5)
        assert page.locator(BOTS).count() == 1, "the retried answer replaces the failure message"
        assert page.locator("#question textarea").input_value() == ""
        assert not page.locator("#retry").is_visible()
        shot(page, artifacts, "7-retried")
    finally:
        page.close()
