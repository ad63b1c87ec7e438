"""The Gradio chat: a thin shell over rag.pipeline."""
