"""The chat page. Binds 127.0.0.1 unless told otherwise; answers come only from rag.pipeline.

A hand-built chat (not ChatInterface) so the user's own message is escaped before it is shown: markup
typed into the box is displayed as text, never rendered.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.config import DISCLAIMER  # noqa: E402
from rag.pipeline import Pipeline, QuestionError  # noqa: E402
from ui.render import esc, to_markdown  # noqa: E402

EXAMPLES = [
    "Is ALS a form of muscular dystrophy?",
    "How is myasthenia gravis diagnosed?",
    "What is the difference between Duchenne and Becker muscular dystrophy?",
    "What is the first-line treatment for type 2 diabetes?",
]


def build_app(pipeline: Pipeline) -> gr.Blocks:
    info = pipeline.info()

    def answer_markdown(message: str, audience: str) -> str:
        try:
            answer = pipeline.ask(message, audience=audience or "clinician")
        except QuestionError as exc:
            return esc(str(exc))
        return to_markdown(answer)

    def chat(message: str, history: list, audience: str):
        history = list(history or [])
        history.append({"role": "user", "content": esc(message or "")})
        history.append({"role": "assistant", "content": answer_markdown(message, audience)})
        return history, ""

    with gr.Blocks(title="Cited clinical answers") as demo:
        gr.Markdown("## Cited clinical answers\nAnswers are quoted from the article library, with numbered sources.")
        audience = gr.Radio(["clinician", "patient"], value="clinician", label="Which best describes you?")
        chatbot = gr.Chatbot(height=520, sanitize_html=True, allow_tags=False, label="Chat",
                             buttons=["copy", "copy_all"])
        with gr.Row():
            box = gr.Textbox(placeholder="Ask a clinical question…", show_label=False, scale=8, lines=1,
                             max_lines=6, elem_id="question")
            send = gr.Button("Ask", variant="primary", scale=1)
            clear = gr.Button("New conversation", scale=1)
        gr.Examples(EXAMPLES, inputs=[box], label="Example questions")
        gr.Markdown(f"<small>{esc(DISCLAIMER)}</small>", elem_id="disclaimer")
        gr.Markdown(
            f"<small>Index: {info['articles']} articles, {info['chunks']} chunks, built {esc(info['built_at'])}, "
            f"model {esc(info['model'])}</small>"
        )
        box.submit(chat, [box, chatbot, audience], [chatbot, box], api_visibility="private")
        send.click(chat, [box, chatbot, audience], [chatbot, box], api_visibility="private")
        clear.click(lambda: ([], ""), None, [chatbot, box], api_visibility="private")
        gr.api(answer_markdown, api_name="ask")
    return demo


def launch(pipeline: Pipeline, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> gr.Blocks:
    demo = build_app(pipeline)
    demo.queue(default_concurrency_limit=2, max_size=64)
    demo.launch(server_name=host, server_port=port, ssr_mode=False, prevent_thread_lock=not block,
                show_error=False, footer_links=[], quiet=not block)
    return demo
