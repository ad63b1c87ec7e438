"""The chat page: a thin shell over rag.pipeline.

A hand-built chat (not ChatInterface) so that the user's own message is escaped before it is shown
(markup typed into the box is displayed as text, never rendered), and so each session carries its own
Conversation for follow-up questions. Binds 127.0.0.1 unless told otherwise; accepts no uploads and serves
no files (ui/guard.py closes those routes and caps request sizes and failed logins).

A question never ends in a bare "Error" badge or a traceback: a damaged index is handled by the pipeline
(it switches generation and answers again), and anything it still cannot answer becomes a plain message,
with the question kept in the box and a Retry button. `launch` also mounts the JSON API (ui/api.py) under
/api, behind the same guard, password and answer gate.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from starlette.middleware import Middleware  # noqa: E402
from starlette.routing import Mount  # noqa: E402

from rag.config import Settings, disclaimer_for  # noqa: E402
from rag.pipeline import Pipeline, QuestionError  # noqa: E402
from rag.store import IndexProblem  # noqa: E402
from ui.feedback import FeedbackStore  # noqa: E402
from ui.api import build_api  # noqa: E402
from ui.guard import Busy, Gate, Guard, LoginLimiter  # noqa: E402

log = logging.getLogger("rag.ui")
FAILED = ("Sorry, this question could not be answered because of a problem on the server (it has been logged). "
          "Your question is still in the box: press Retry to ask it again.")
from ui.render import EMPTY_PANEL, esc, panel_html, to_markdown, turn_block  # noqa: E402

EXAMPLES = [
    "Is ALS a form of muscular dystrophy?",
    "How is myasthenia gravis diagnosed?",
    "What is the difference between Duchenne and Becker muscular dystrophy?",
    "What is the first-line treatment for type 2 diabetes?",
]
CSS = """
#disclaimer {position: fixed; left: 0; right: 0; bottom: 0; z-index: 100; margin: 0; padding: 6px 16px;
             border-top: 3px solid #d97706; background: #fffbeb; color: #1f2937; font-size: 0.9em;
             box-shadow: 0 -2px 8px rgba(0, 0, 0, 0.08);}
#disclaimer p {margin: 0;}
.gradio-container {padding-bottom: 96px !important;}
#sources {max-height: 72vh !important; overflow-y: auto !important;}
#sources details.turn {border-bottom: 1px solid #e5e7eb; margin-bottom: 8px; padding-bottom: 4px;}
#sources details.turn > summary {cursor: pointer; font-weight: 600; padding: 4px 0;}
#sources .src {margin: 8px 0 12px 0;}
#sources .passage {font-size: 0.9em; color: #374151; border-left: 3px solid #e5e7eb; padding-left: 8px; white-space: pre-wrap;}
#sources .hl {background: #fde68a; outline: 2px solid #f59e0b; border-radius: 2px;}
#sources .src.hl {background: transparent; outline: none; border-left: 4px solid #f59e0b; padding-left: 6px;}
#chat a.cite {text-decoration: none; font-weight: 600;}
#chat .copy-links a {margin-right: 2px;}
.read-as {font-size: 0.8em; color: #6b7280;}
#retry {border: 2px solid #d97706 !important;}
@media (max-width: 640px) {
  #question-row {flex-wrap: wrap !important; gap: 6px !important;}
  #question-row > .form {flex: 1 1 100% !important; min-width: 100% !important;}  /* the box's wrapper */
  #question textarea {min-height: 3.4em; font-size: 16px;}
  #ask, #new, #retry {flex: 1 1 28% !important; min-width: 0 !important;}
  #disclaimer {font-size: 0.8em; padding: 4px 10px;}
  #disclaimer .more {display: none;}
  #chat {height: 55vh !important; min-height: 0 !important;}
  #chat .bot-row {max-width: 100% !important; margin-left: 0 !important;}  /* the whole width for the answer */
  #chat [data-testid='bot'] :is(p, li, strong) {font-size: 15px !important;}
}
"""
# The page's script: [n] markers and copy links in the chat, handled on the page (no round trip).
# Clicking the k-th bracket [n] of answer t opens answer t's block in the sources panel and highlights the
# sentence that bracket cites (class m<k>) and source n's entry; the copy links put that block's clean text (or Markdown) on the clipboard.
JS = r"""
() => {
  const showCite = (turn, n, k) => {
    const block = document.getElementById(`turn-${turn}`);
    if (!block) return;
    document.querySelectorAll('#sources .hl').forEach(e => e.classList.remove('hl'));
    block.open = true;
    const marks = Array.from(block.querySelectorAll(`.m${k}`));
    marks.forEach(e => e.classList.add('hl'));
    const src = document.getElementById(`src-${turn}-${n}`);
    if (src) src.classList.add('hl');
    const target = marks[0] || src;
    if (target) target.scrollIntoView({block: 'center'});
  };
  const copy = async (turn, markdown, link) => {
    const el = document.querySelector(`#turn-${turn} ${markdown ? '.copy-md' : '.copy-plain'}`);
    if (!el) return;
    const text = el.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {  // a page served over plain http to another machine has no clipboard API
      const area = document.createElement('textarea');
      area.value = text; document.body.appendChild(area); area.select();
      document.execCommand('copy'); area.remove();
    }
    const label = link.textContent;
    link.textContent = 'Copied';
    setTimeout(() => { link.textContent = label; }, 1500);
  };
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest ? ev.target.closest('a[href*="#cite-"], a[href*="#copy"]') : null;
    if (!a) return;
    const href = a.getAttribute('href') || '';
    let m = href.match(/#cite-(\d+)-(\d+)-(\d+)$/);
    if (m) { ev.preventDefault(); ev.stopPropagation(); showCite(m[1], m[2], m[3]); return; }
    m = href.match(/#copy(md)?-(\d+)$/);
    if (m) { ev.preventDefault(); ev.stopPropagation(); copy(m[2], Boolean(m[1]), a); }
  }, true);
}
"""
# After an answer arrives: the top of the newest answer (its direct line, the line that matters) at the top
# of the chat, instead of the bottom of the conversation.
SCROLL_TO_NEWEST = r"""
() => {
  const go = () => {
    const bots = document.querySelectorAll("#chat [data-testid='bot']");
    const last = bots[bots.length - 1];
    if (!last) return;
    let box = last.parentElement;
    while (box && box !== document.body && !(box.scrollHeight > box.clientHeight + 1 &&
           ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) box = box.parentElement;
    if (box && box !== document.body) {
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 36;  // below the label
    }
    const top = last.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.6) window.scrollBy(0, top - 80);
  };
  requestAnimationFrame(() => setTimeout(go, 60));
  setTimeout(go, 400);  // again once images and fonts have settled the layout
}
"""


def index_info(pipeline: Pipeline) -> str:
    """Read on every page load: after a live switch to a new generation the page shows the new one."""
    info = pipeline.info()
    note = " (an older generation: the newest is damaged)" if info.get("fallback") else ""
    return (f"Index: {info['articles']} articles, {info['chunks']} chunks, generation "
            f"{esc(info['generation'])}{note} built {esc(info['built_at'])}, model {esc(info['model'])}")


def disclaimer_markdown(audience: str) -> str:
    """The bar fixed at the bottom of the page: its first sentence in bold; on a phone only that sentence
    (the rest, in every answer, would cover a third of the screen)."""
    text = disclaimer_for(audience or "clinician")
    first, _, rest = text.partition(". ")
    return f"<b>{esc(first)}.</b> <span class='more'>{esc(rest)}</span>"


def safe_ask(pipeline: Pipeline, message: str, gate: Gate | None = None, **kwargs):
    """(answer, None, False) or (None, a message for the user, whether retrying may help): the one place a
    failure becomes words."""
    try:
        if gate is None:
            return pipeline.ask(message, **kwargs), None, False
        return gate.run(pipeline.ask, message, **kwargs), None, False
    except QuestionError as exc:
        return None, str(exc), False
    except Busy as exc:
        return None, str(exc), True
    except IndexProblem as exc:
        log.error("index problem: %s", exc)
        return None, ("The library's index cannot be read right now, so this question cannot be answered. "
                      "The administrator has to rebuild it (the server log says how). Your question is still "
                      "in the box: press Retry to ask it again."), True
    except Exception:
        log.exception("answering %r failed", (message or "")[:200])
        return None, FAILED, True


def build_app(pipeline: Pipeline, feedback: FeedbackStore, gate: Gate | None = None) -> gr.Blocks:

    def answer_markdown(message: str, audience: str) -> str:
        """One question, no conversation: the API used by scripts and the load test."""
        answer, problem, _ = safe_ask(pipeline, message, gate, audience=audience or "clinician")
        return esc(problem) if problem else to_markdown(answer)

    def chat(message: str, history: list, audience: str, conversation, answers: list):
        history = list(history or [])
        answers = list(answers or [])
        conversation = conversation if conversation is not None else pipeline.new_conversation()
        history.append({"role": "user", "content": esc(message or "")})
        answer, problem, retry = safe_ask(pipeline, message, gate, audience=audience or "clinician",
                                          conversation=conversation)
        blocks = [a["block"] for a in answers if a.get("block")]
        if problem:
            # A plain message; the question stays in the box so nothing typed is lost.
            history.append({"role": "assistant", "content": esc(problem)})
            answers.append({"failed": problem, "retry": retry})
            return history, message, conversation, answers, panel_html(blocks) if blocks else gr.update()
        turn = len(answers) + 1
        reply = to_markdown(answer, turn)
        if answer.followup:
            reply += f"\n\n<span class='read-as'>Read as: {esc(answer.query)}</span>"
        history.append({"role": "assistant", "content": reply})
        block = turn_block(answer, turn, message)
        answers.append({"question": message, "answer": answer.text, "query": answer.query,
                        "sources": [s.__dict__ for s in answer.sources], "block": block})
        return history, "", conversation, answers, panel_html(blocks + [block])

    def retry_last(message: str, history: list, audience: str, conversation, answers: list):
        """Ask the kept question again, in place of the failed turn."""
        history, answers = list(history or []), list(answers or [])
        if answers and answers[-1].get("failed") and len(history) >= 2:
            history, answers = history[:-2], answers[:-1]
        return chat(message, history, audience, conversation, answers)

    def ask_example(sample, history: list, audience: str, conversation, answers: list):
        question = sample[0] if isinstance(sample, (list, tuple)) else sample
        return chat(question, history, audience, conversation, answers)

    def show_retry(answers: list):
        return gr.update(visible=bool(answers) and bool(answers[-1].get("retry")))

    def new_conversation():
        return [], "", pipeline.new_conversation(), [], EMPTY_PANEL

    def on_like(answers: list, data: gr.LikeData):
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = index // 2  # messages alternate: question, answer
        record = answers[turn] if answers and 0 <= turn < len(answers) else None
        if record and "answer" in record:
            feedback.save(record["question"], record["answer"], record["sources"], bool(data.liked), record["query"])

    with gr.Blocks(title="Cited clinical answers") as demo:
        gr.Markdown("## Cited clinical answers\nEvery sentence is quoted from the article library and cited.")
        disclaimer = gr.Markdown(disclaimer_markdown("clinician"), elem_id="disclaimer")
        conversation = gr.State(None)
        answers = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                audience = gr.Radio(["clinician", "patient"], value="clinician", label="Which best describes you?",
                                    elem_id="audience")
                chatbot = gr.Chatbot(height=560, sanitize_html=True, allow_tags=False, label="Chat", buttons=[],
                                     feedback_options=("Like", "Dislike"), autoscroll=False, elem_id="chat")
                with gr.Row(elem_id="question-row"):
                    box = gr.Textbox(placeholder="Ask a clinical question…", show_label=False, scale=8, lines=1,
                                     max_lines=6, elem_id="question", min_width=200)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask", min_width=80)
                    # Beside Ask, where the eye already is (on a phone a row below would be out of view).
                    retry = gr.Button("Retry", variant="secondary", visible=False, elem_id="retry", scale=1,
                                      min_width=80)
                    clear = gr.Button("New conversation", scale=2, elem_id="new", min_width=150)
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(EMPTY_PANEL, elem_id="sources")
                examples = gr.Dataset(components=[box], samples=[[q] for q in EXAMPLES], label="Example questions",
                                      elem_id="examples")
                with gr.Accordion("About this library", open=False, elem_id="about"):
                    info = gr.Markdown(index_info(pipeline), elem_id="index-info")
        outputs = [chatbot, box, conversation, answers, sources]
        inputs = [box, chatbot, audience, conversation, answers]
        for event in (box.submit(chat, inputs, outputs, api_name="chat"),
                      send.click(chat, inputs, outputs, api_visibility="private"),
                      retry.click(retry_last, inputs, outputs, api_visibility="private"),
                      examples.click(ask_example, [examples, chatbot, audience, conversation, answers], outputs,
                                     api_visibility="private")):
            event.then(show_retry, answers, retry, api_visibility="private") \
                 .then(None, None, None, js=SCROLL_TO_NEWEST, api_visibility="private")
        clear.click(new_conversation, None, outputs, api_visibility="private") \
             .then(show_retry, answers, retry, api_visibility="private")
        audience.change(disclaimer_markdown, audience, disclaimer, api_visibility="private")
        chatbot.like(on_like, [answers], None, api_visibility="private")
        gr.api(answer_markdown, api_name="ask")
        demo.load(lambda: (pipeline.refresh(every=0.0), index_info(pipeline))[1], None, info, api_visibility="private")
    return demo


def auth_from_env() -> tuple[str, str] | None:
    """RAG_PASSWORD turns on a login (user name RAG_USER, default 'clinician'); unset, the page is open to
    whoever can reach the bound address, which by default is this machine only."""
    password = os.environ.get("RAG_PASSWORD")
    return (os.environ.get("RAG_USER", "clinician"), password) if password else None


class PortInUse(OSError):
    """The chosen port is taken; the message names the two ways to pick another."""


LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """A loud warning when the chat is reachable from other machines without a password."""
    if is_loopback(host) or auth_from_env():
        return None
    return (f"the chat is served on {host}, reachable from other machines, WITHOUT A PASSWORD: anyone who can "
            "reach this address can use it. Set RAG_PASSWORD (and RAG_USER), and put a reverse proxy with TLS "
            "in front of it (README, 'Running on a network'); or serve on 127.0.0.1.")


def check_port(host: str, port: int) -> None:
    """Fail in one line, before Gradio's own search prints a traceback that suggests a variable we ignore."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            s.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"cannot listen on {host}:{port} ({exc.strerror}); choose another port with "
                            f"--port N or RAG_PORT=N") from None


def launch(pipeline: Pipeline, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
           concurrency: int = 2, queue_size: int = 64, settings: Settings | None = None) -> gr.Blocks:
    """The page and, under /api, the JSON API (ui/api.py), in one server with one set of limits."""
    settings = settings or pipeline.settings
    feedback = FeedbackStore(pipeline.store.path.parent / "feedback.sqlite")
    gate = Gate(concurrency, queue_size)
    demo = build_app(pipeline, feedback, gate)
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    check_port(host, port)
    auth = auth_from_env()
    logins = LoginLimiter(settings.login_attempts, settings.login_window_seconds)
    guard = Middleware(Guard, max_body=settings.max_request_bytes, logins=logins)
    api = Mount("/api", app=build_api(pipeline, gate, auth, logins))
    try:
        demo.launch(server_name=host, server_port=port, ssr_mode=False, prevent_thread_lock=not block,
                    show_error=False, footer_links=[], quiet=True, auth=auth, css=CSS, js=JS,
                    allowed_paths=[], max_file_size="1kb", share=False, enable_monitoring=False,
                    app_kwargs={"middleware": [guard], "routes": [api]})
    except OSError as exc:  # lost a race for the port after the check
        raise PortInUse(f"cannot listen on {host}:{port} ({exc}); choose another port with --port N or "
                        f"RAG_PORT=N") from None
    return demo
