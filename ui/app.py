"""The chat page: a thin shell over rag.pipeline.

A hand-built chat (not ChatInterface) so that the user's own message is escaped before it is shown
(markup typed into the box is displayed as text, never rendered), and so each session carries its own
Conversation for follow-up questions. Binds 127.0.0.1 unless told otherwise; accepts no uploads and serves
no files (ui/guard.py closes those routes and caps request sizes and failed logins).

A question never ends in a bare "Error" badge or a traceback: a damaged index is handled by the pipeline
(it switches generation and answers again), and anything it still cannot answer becomes a plain message.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from starlette.middleware import Middleware  # noqa: E402

from rag.config import DISCLAIMER, Settings  # noqa: E402
from rag.pipeline import Pipeline, QuestionError  # noqa: E402
from rag.store import IndexProblem  # noqa: E402
from ui.feedback import FeedbackStore  # noqa: E402
from ui.guard import Guard  # noqa: E402

log = logging.getLogger("rag.ui")
FAILED = ("Sorry, this question could not be answered because of a problem on the server (it has been logged). "
          "Please try again.")
from ui.render import esc, sources_html, to_markdown  # noqa: E402

EXAMPLES = [
    "Is ALS a form of muscular dystrophy?",
    "How is myasthenia gravis diagnosed?",
    "What is the difference between Duchenne and Becker muscular dystrophy?",
    "What is the first-line treatment for type 2 diabetes?",
]
CSS = """
#disclaimer {border-left: 4px solid #d97706; padding: 6px 12px; background: #fffbeb;}
#sources mark {background: #fde68a; padding: 0 2px;}
#sources .src {margin-bottom: 12px;}
#sources .passage {font-size: 0.9em; color: #374151; border-left: 3px solid #e5e7eb; padding-left: 8px; white-space: pre-wrap;}
.read-as {font-size: 0.8em; color: #6b7280;}
"""


def index_info(pipeline: Pipeline) -> str:
    """Read on every page load: after a live switch to a new generation the page shows the new one."""
    info = pipeline.info()
    note = " (an older generation: the newest is damaged)" if info.get("fallback") else ""
    return (f"<small>Index: {info['articles']} articles, {info['chunks']} chunks, generation "
            f"{esc(info['generation'])}{note} built {esc(info['built_at'])}, model {esc(info['model'])}</small>")


def safe_ask(pipeline: Pipeline, message: str, **kwargs):
    """(answer, None) or (None, a message for the user): the one place a failure becomes words."""
    try:
        return pipeline.ask(message, **kwargs), None
    except QuestionError as exc:
        return None, str(exc)
    except IndexProblem as exc:
        log.error("index problem: %s", exc)
        return None, "The library's index cannot be read right now, so this question cannot be answered. " \
                     "The administrator has to rebuild it (the server log says how)."
    except Exception:
        log.exception("answering %r failed", (message or "")[:200])
        return None, FAILED


def build_app(pipeline: Pipeline, feedback: FeedbackStore) -> gr.Blocks:

    def answer_markdown(message: str, audience: str) -> str:
        """One question, no conversation: the API used by scripts and the load test."""
        answer, problem = safe_ask(pipeline, message, audience=audience or "clinician")
        return esc(problem) if problem else to_markdown(answer)

    def chat(message: str, history: list, audience: str, conversation, answers: list):
        history = list(history or [])
        answers = list(answers or [])
        conversation = conversation if conversation is not None else pipeline.new_conversation()
        history.append({"role": "user", "content": esc(message or "")})
        answer, problem = safe_ask(pipeline, message, audience=audience or "clinician", conversation=conversation)
        if problem:
            history.append({"role": "assistant", "content": esc(problem)})
            answers.append(None)
            return history, "", conversation, answers, gr.update()
        reply = to_markdown(answer)
        if answer.followup:
            reply += f"\n\n<span class='read-as'>Read as: {esc(answer.query)}</span>"
        history.append({"role": "assistant", "content": reply})
        answers.append({"question": message, "answer": answer.text, "query": answer.query,
                        "sources": [s.__dict__ for s in answer.sources]})
        return history, "", conversation, answers, sources_html(answer)

    def new_conversation():
        return [], "", pipeline.new_conversation(), [], "<p>Sources of the latest answer appear here.</p>"

    def on_like(answers: list, data: gr.LikeData):
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = index // 2  # messages alternate: question, answer
        record = answers[turn] if answers and 0 <= turn < len(answers) else None
        if record:
            feedback.save(record["question"], record["answer"], record["sources"], bool(data.liked), record["query"])

    with gr.Blocks(title="Cited clinical answers") as demo:
        gr.Markdown("## Cited clinical answers\nEvery sentence is quoted from the article library and cited.")
        gr.Markdown(f"**Not medical advice.** {esc(DISCLAIMER)}", elem_id="disclaimer")
        conversation = gr.State(None)
        answers = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                audience = gr.Radio(["clinician", "patient"], value="clinician", label="Which best describes you?",
                                    elem_id="audience")
                chatbot = gr.Chatbot(height=560, sanitize_html=True, allow_tags=False, label="Chat",
                                     buttons=["copy", "copy_all"], feedback_options=("Like", "Dislike"),
                                     elem_id="chat")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a clinical question…", show_label=False, scale=8, lines=1,
                                     max_lines=6, elem_id="question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    clear = gr.Button("New conversation", scale=1, elem_id="new")
                gr.Examples(EXAMPLES, inputs=[box], label="Example questions")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML("<p>Sources of the latest answer appear here.</p>", elem_id="sources")
                info = gr.Markdown(index_info(pipeline), elem_id="index-info")
        outputs = [chatbot, box, conversation, answers, sources]
        inputs = [box, chatbot, audience, conversation, answers]
        box.submit(chat, inputs, outputs, api_name="chat")
        send.click(chat, inputs, outputs, api_visibility="private")
        clear.click(new_conversation, None, outputs, api_visibility="private")
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
    settings = settings or pipeline.settings
    feedback = FeedbackStore(pipeline.store.path.parent / "feedback.sqlite")
    demo = build_app(pipeline, feedback)
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    check_port(host, port)
    guard = Middleware(Guard, max_body=settings.max_request_bytes, login_attempts=settings.login_attempts,
                       login_window=settings.login_window_seconds)
    try:
        demo.launch(server_name=host, server_port=port, ssr_mode=False, prevent_thread_lock=not block,
                    show_error=False, footer_links=[], quiet=True, auth=auth_from_env(), css=CSS,
                    allowed_paths=[], max_file_size="1kb", share=False, enable_monitoring=False,
                    app_kwargs={"middleware": [guard]})
    except OSError as exc:  # lost a race for the port after the check
        raise PortInUse(f"cannot listen on {host}:{port} ({exc}); choose another port with --port N or "
                        f"RAG_PORT=N") from None
    return demo
