"""The chat UI: ``build_app(index)`` returns a gradio app; ``launch`` serves it (``rag chat`` calls it).

Besides the page, the app serves three named endpoints for ``gradio_client``: ``/ask``
(question, k, mode -> answer dict), ``/search`` (question, k, mode -> passage dicts) and
``/documents``. Every string from a document or a model reaches the page through
``app.ui.render``, escaped; gradio is imported at first use, never by ``import rag``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rag
from rag.config import MODES, SUPPORTED_SUFFIXES

from . import render
from .examples import example_questions

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

CONCURRENCY = 8  # chats answered at once; the Index is thread-safe
DOCUMENT_HEADERS = ["Title", "Date", "File", "Chunks"]
# Opening "Show in document" scrolls the window to the passage; <details> toggle events do not bubble.
SCROLL_TO_PASSAGE = """
element.addEventListener('toggle', (event) => {
  const box = event.target.open && event.target.querySelector('.rag-context-text');
  const passage = box && box.querySelector('.rag-in-passage');
  if (passage) box.scrollTop = Math.max(0, passage.offsetTop - 40);
}, true);
"""

Message = dict[str, Any]


def chat_turn(index: rag.Index, question: str, messages: list[Message] | None, questions: list[str] | None,
              k: float = 5, mode: str = "hybrid") -> Iterator[tuple[list[Message], str | None, list[str]]]:
    """One question of a conversation, as it streams: ``(chat, sources panel or None if unchanged, questions)``.

    ``questions`` are the conversation's earlier questions, passed to the index as ``history``
    so a follow-up ("and the first one?") borrows their context; the last item adds this one.
    A library error becomes one sentence in the chat.
    """
    messages = list(messages or [])
    previous = list(questions or [])
    if (question or "").strip():
        messages.append({"role": "user", "content": render.question_html(question.strip())})
    chat = messages
    try:
        for answer in index.ask_stream(question, k=int(k), mode=mode, history=previous):
            chat = [*messages, {"role": "assistant", "content": render.answer_html(answer)}]
            # sources follow the checked answer, not every token
            yield chat, None if answer.partial else render.sources_html(answer, index.document_text), previous
    except rag.RagError as error:
        yield [*messages, {"role": "assistant", "content": render.error_html(str(error))}], None, previous
        return
    yield chat, None, [*previous, question.strip()]


def build_app(index: rag.Index, uploads: bool = True) -> gr.Blocks:
    """The chat, its sources panel, settings, and a Documents tab (with uploads unless ``uploads`` is off),
    around one open index."""
    import gradio as gr

    def respond(question: str, messages: list[Message] | None, questions: list[str] | None, k: float,
                mode: str) -> Iterator[tuple[Any, ...]]:
        for chat, sources, asked in chat_turn(index, question, messages, questions, k, mode):
            yield chat, gr.skip() if sources is None else sources, asked, ""

    def new_conversation() -> tuple[Any, ...]:
        return [], render.sources_html(None), [], ""

    def overview() -> str:
        return render.header_html(index.info())

    def documents_table() -> list[list[Any]]:
        return render.document_rows(index.documents())

    # gradio finds the progress bar by this default value, so it has to be a call here.
    def add_documents(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        """Index uploaded files beside the existing documents, then refresh the table."""
        if not files:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        paths = [Path(file) for file in files]
        progress(0.05, desc=f"Reading and embedding {len(paths)} file(s)…")
        try:
            report = index.add_files(paths)
        except (rag.RagError, OSError) as error:  # OSError: the upload vanished or the disk is full
            log.warning("upload failed: %s", error)
            message = str(error) if isinstance(error, rag.RagError) else f"Could not store the upload: {error}."
            return render.status_html(message, ok=False), gr.skip(), gr.skip(), None
        lines = [f"{report.summary()}."]
        lines += [f"Skipped {name}: {reason}" for name, reason in report.skipped.items()]
        lines += [f"{name} has the same content as {original}" for name, original in report.duplicates.items()]
        return render.status_html("\n".join(lines), ok=not report.skipped), documents_table(), overview(), None

    def api_ask(question: str, k: int = 5, mode: str = "hybrid") -> dict[str, Any]:
        """Answer a question from the documents: text with [n] markers, cited sources with evidence."""
        try:
            return render.answer_record(index.ask(question, k=int(k), mode=mode))
        except rag.RagError as error:
            raise gr.Error(str(error)) from None

    def api_search(question: str, k: int = 5, mode: str = "hybrid") -> list[dict[str, Any]]:
        """The k passages that best match the question, best first."""
        try:
            return [render.passage_record(passage) for passage in index.search(question, k=int(k), mode=mode)]
        except rag.RagError as error:
            raise gr.Error(str(error)) from None

    def api_documents() -> list[dict[str, Any]]:
        """Every indexed document: doc_id, title, date, n_chunks, encoding, n_chars."""
        return [asdict(document) for document in index.documents()]

    # Gradio keeps every uploaded file in its cache folder: files older than an hour go, checked hourly.
    with gr.Blocks(title="Ask the documents", delete_cache=(3600, 3600)) as demo:
        header = gr.HTML(overview(), js_on_load=None)
        questions = gr.State([])
        with gr.Tab("Chat"), gr.Row(equal_height=False):
            with gr.Column(scale=3):
                # Bubbles are HTML built by ui.render from escaped text: no markdown, no LaTeX, no custom tags.
                chatbot = gr.Chatbot(label="Chat", height=430, render_markdown=False, sanitize_html=True,
                                     latex_delimiters=[], allow_tags=False, buttons=[], elem_id="chat",
                                     placeholder="Answers cite the passages they come from, like [1].")
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder="Ask a question about the documents…",
                                          scale=5, autofocus=True, elem_id="question", max_lines=4)
                    ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                examples = example_questions(index)
                if examples:
                    gr.Examples(examples, inputs=question, label="Examples from these documents")
                with gr.Row():
                    k = gr.Slider(1, 10, value=5, step=1, label="Passages to read (k)", elem_id="k")
                    mode = gr.Radio(list(MODES), value="hybrid", label="Retrieval mode", elem_id="mode")
            with gr.Column(scale=2):
                sources = gr.HTML(render.sources_html(None), elem_id="sources", js_on_load=SCROLL_TO_PASSAGE,
                                  max_height=760, padding=True)
        with gr.Tab("Documents"):
            table = gr.Dataframe(headers=DOCUMENT_HEADERS, datatype=["str", "str", "str", "number"],
                                 interactive=False, wrap=True, elem_id="documents",
                                 column_widths=["55%", "12%", "23%", "10%"])
            if uploads:
                megabytes = index.settings.max_file_bytes / 1e6
                upload = gr.File(label=f"Add documents ({', '.join(SUPPORTED_SUFFIXES)}; up to {megabytes:.0f} MB "
                                       "each)", file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                                 elem_id="upload")
                status = gr.HTML(elem_id="upload-status", js_on_load=None)

        chat_outputs = [chatbot, sources, questions, question]
        gr.on([question.submit, ask.click], respond, inputs=[question, chatbot, questions, k, mode],
              outputs=chat_outputs, api_visibility="private", show_progress="minimal")
        chatbot.clear(new_conversation, outputs=chat_outputs, api_visibility="private")
        if uploads:
            upload.upload(add_documents, inputs=upload, outputs=[status, table, header, upload],
                          api_visibility="private", concurrency_limit=1)
        demo.load(lambda: (documents_table(), overview()), outputs=[table, header], api_visibility="private")
        gr.api(api_ask, api_name="ask")
        gr.api(api_search, api_name="search")
        gr.api(api_documents, api_name="documents")
    return demo


def launch(index: rag.Index, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
           auth: tuple[str, str] | None = None, uploads: bool = True) -> gr.Blocks:
    """Serve the app (until interrupted, unless ``block`` is False); several people can chat at once.

    ``auth`` asks every visitor for that user and password (Gradio's login page)."""
    import gradio as gr

    demo = build_app(index, uploads=uploads).queue(default_concurrency_limit=CONCURRENCY)
    demo.launch(server_name=host, server_port=port, max_file_size=index.settings.max_file_bytes, auth=auth,
                theme=gr.themes.Soft(), css=render.CSS, ssr_mode=False, footer_links=["api"],
                prevent_thread_lock=not block, quiet=not block)
    return demo

