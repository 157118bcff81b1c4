"""The chat UI: ``build_app(index)`` returns a gradio app; ``launch`` serves it (``rag chat`` calls it).

Besides the page, the app serves named endpoints for ``gradio_client``: ``/ask`` (question, k,
mode -> answer dict), ``/search`` (question, k, mode -> passage dicts), ``/documents`` (one dict
per document) and, unless the documents are served read-only, ``/delete_document`` (doc_id).
Every string from a document or a model reaches the page through ``app.ui.render``, escaped;
gradio is imported at first use, never by ``import rag``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rag
from rag.config import MODES, SUPPORTED_SUFFIXES
from rag.words import count

from . import documents as catalogue
from . import render
from .examples import example_questions
from .export import write_export
from .style import CSS, FOLLOW_JS, SOURCES_JS, upload_check_js

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

CONCURRENCY = 8  # chats answered at once; the Index is thread-safe
MODE_HELP = "hybrid: meaning and exact words combined, the best · dense: meaning only · bm25: exact words only"
CONFIRM_DELETE = "(doc_id) => (doc_id && confirm('Delete ' + doc_id + ' from the index?')) ? doc_id : null"

Message = dict[str, Any]


def chat_turn(index: rag.Index, question: str, messages: list[Message] | None, questions: list[str] | None,
              k: float = 5, mode: str = "hybrid", answers: list[rag.Answer | None] | None = None,
              ) -> Iterator[tuple[list[Message], str | None, list[str], list[rag.Answer | None]]]:
    """One question of a conversation, as it streams: ``(chat, sources panel or None if unchanged, questions,
    answers)``.

    ``questions`` are the conversation's earlier questions, passed to the index as ``history``
    so a follow-up ("and the first one?") borrows their context; the last item adds this one.
    ``answers`` hold one final answer per reply in the chat (``None`` for an error): reply n's
    ``[n]`` markers and its sources panel carry its number. A library error becomes one sentence.
    """
    messages = list(messages or [])
    previous = list(questions or [])
    answered = list(answers or [])
    turn = len(answered)
    if (question or "").strip():
        messages.append({"role": "user", "content": render.question_html(question.strip())})
    chat, final = messages, None
    try:
        for answer in index.ask_stream(question, k=int(k), mode=mode, history=previous):
            chat, final = [*messages, {"role": "assistant", "content": render.answer_html(answer, turn)}], answer
            # sources follow the checked answer, not every token
            sources = None if answer.partial else render.sources_html(answer, index.document_text, turn)
            yield chat, sources, previous, answered
    except rag.RagError as error:
        yield [*messages, {"role": "assistant", "content": render.error_html(str(error))}], None, previous, [
            *answered, None]
        return
    yield chat, None, [*previous, question.strip()], [*answered, final]


def build_app(index: rag.Index, uploads: bool = True) -> gr.Blocks:
    """The chat, its sources panel, settings, and a Documents tab around one open index.

    With ``uploads`` off the documents are read-only: no upload box, no deleting, no ``/delete_document``."""
    import gradio as gr

    exports = Path(tempfile.mkdtemp(prefix="rag-exports-"))

    def respond(question: str, messages: list[Message] | None, questions: list[str] | None,
                answers: list[rag.Answer | None] | None, k: float, mode: str) -> Iterator[tuple[Any, ...]]:
        answered = list(answers or [])
        for chat, sources, asked, answered in chat_turn(index, question, messages, questions, k, mode, answers):
            yield chat, gr.skip() if sources is None else sources, asked, answered, "", gr.skip()
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), export_button(answered)

    def export_button(answers: list[rag.Answer | None]) -> Any:
        if not any(answer is not None for answer in answers):
            return gr.DownloadButton(value=None, interactive=False)
        return gr.DownloadButton(value=str(write_export(answers, exports)), interactive=True)

    def new_conversation() -> tuple[Any, ...]:
        return [], render.sources_html(None), [], [], "", export_button([])

    def show_sources(answers: list[rag.Answer | None] | None, event: gr.EventData) -> Any:
        """The sources panel of an earlier answer, whose [n] was clicked (the 'cite' event of SOURCES_JS)."""
        turn = event._data.get("turn") if isinstance(event._data, dict) else None
        answers = answers or []
        if not isinstance(turn, int) or not 0 <= turn < len(answers) or answers[turn] is None:
            return gr.skip()
        return render.sources_html(answers[turn], index.document_text, turn)

    def overview() -> str:
        return render.header_html(index.info())

    def refreshed() -> tuple[Any, ...]:
        """What changes with the documents: the table, the header and the list to delete from."""
        documents = index.documents()
        return (catalogue.document_rows(documents), overview(),
                gr.Dropdown(choices=catalogue.document_choices(documents), value=None))

    # gradio finds the progress bar by this default value, so it has to be a call here.
    def add_documents(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        """Index uploaded files beside the existing documents, then refresh the table."""
        if not files:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        paths = [Path(file) for file in files]
        progress(0.05, desc=f"Reading and embedding {count(len(paths), 'file')}…")
        try:
            report = index.add_files(paths)
        except (rag.RagError, OSError) as error:  # OSError: the upload vanished or the disk is full
            log.warning("upload failed: %s", error)
            message = str(error) if isinstance(error, rag.RagError) else f"Could not store the upload: {error}."
            return render.status_html(message, ok=False), gr.skip(), gr.skip(), gr.skip(), None
        return (render.status_html(catalogue.upload_summary(report), ok=not report.skipped), *refreshed(), None)

    def delete_chosen(doc_id: str | None) -> tuple[Any, ...]:
        """Remove the chosen document (the browser asked to confirm: a refusal arrives as no choice)."""
        if not doc_id:
            return render.status_html("Nothing deleted: choose a document in the list, or click its row.",
                                      ok=False), gr.skip(), gr.skip(), gr.skip()
        try:
            removed = index.delete_document(doc_id)
        except rag.RagError as error:
            return render.status_html(str(error), ok=False), gr.skip(), gr.skip(), gr.skip()
        return (render.status_html(catalogue.deleted_message(removed)), *refreshed())

    def pick_row(event: gr.SelectData) -> Any:
        row = event.row_value or []
        return row[-1] if row else gr.skip()  # the File column: the doc_id

    # gradio passes event data by the parameter's type, read with typing.get_type_hints from this module's
    # globals, where gradio is not imported (``import app.ui.app`` must not load it): name the types here.
    show_sources.__annotations__["event"] = gr.EventData
    pick_row.__annotations__["event"] = gr.SelectData

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
        """Every indexed document: doc_id, title, date, n_chunks, n_sections, encoding, n_chars, source."""
        return [catalogue.document_record(document) for document in index.documents()]

    def api_delete_document(doc_id: str) -> dict[str, Any]:
        """Remove the document ``doc_id`` (and its uploaded file) from the index; returns it with a message."""
        try:
            removed = index.delete_document(doc_id)
        except rag.RagError as error:
            raise gr.Error(str(error)) from None
        return {**catalogue.document_record(removed), "message": catalogue.deleted_message(removed)}

    # Gradio keeps every uploaded file in its cache folder: files older than an hour go, checked hourly.
    with gr.Blocks(title="Ask the documents", delete_cache=(3600, 3600)) as demo:
        header = gr.HTML(overview(), js_on_load=None)
        questions, answers = gr.State([]), gr.State([])
        with gr.Tab("Chat"), gr.Row(equal_height=False):
            with gr.Column(scale=3):
                # Bubbles are HTML built by ui.render from escaped text: no markdown, no LaTeX, no custom tags.
                # no visible label: the floating "Chat" label sat over scrolled messages (the tab names it)
                chatbot = gr.Chatbot(label="Chat", show_label=False, height=430, render_markdown=False, sanitize_html=True,
                                     latex_delimiters=[], allow_tags=False, buttons=[], elem_id="chat",
                                     placeholder="Answers cite the passages they come from, like [1]: "
                                                 "click one to open it.")
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder="Ask a question about the documents…",
                                          scale=5, autofocus=True, elem_id="question", max_lines=4)
                    ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                examples = example_questions(index)
                if examples:
                    gr.Examples(examples, inputs=question, label="Examples from these documents")
                with gr.Accordion("Advanced", open=False, elem_id="advanced"):
                    mode = gr.Radio(list(MODES), value="hybrid", label="Retrieval mode", info=MODE_HELP,
                                    elem_id="mode")
                    k = gr.Slider(1, 10, value=5, step=1, label="Passages to read (k)", elem_id="k",
                                  info="The answer is picked from this many best-matching passages.")
                export = gr.DownloadButton("Export conversation (Markdown)", value=None, interactive=False,
                                           size="sm", variant="secondary", elem_id="export")
            with gr.Column(scale=2):
                sources = gr.HTML(render.sources_html(None), elem_id="sources", js_on_load=SOURCES_JS,
                                  max_height=760, padding=True)
        with gr.Tab("Documents"):
            table = gr.Dataframe(headers=catalogue.DOCUMENT_HEADERS, datatype=catalogue.DOCUMENT_TYPES,
                                 interactive=False, wrap=True, elem_id="documents",
                                 column_widths=catalogue.COLUMN_WIDTHS)
            if uploads:
                with gr.Row(equal_height=True):
                    doomed = gr.Dropdown(label="Document to delete (or click its row)", choices=[], value=None,
                                         elem_id="delete-choice", scale=4)
                    delete = gr.Button("Delete document", variant="stop", elem_id="delete", scale=1)
                megabytes = index.settings.max_file_bytes / 1e6
                upload = gr.File(label=f"Add documents ({', '.join(SUPPORTED_SUFFIXES)}; up to {megabytes:.0f} MB "
                                       "each)", file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                                 elem_id="upload")
                status = gr.HTML(elem_id="upload-status",
                                 js_on_load=upload_check_js(SUPPORTED_SUFFIXES, index.settings.max_file_bytes))

        chat_outputs = [chatbot, sources, questions, answers, question, export]
        gr.on([question.submit, ask.click], respond, inputs=[question, chatbot, questions, answers, k, mode],
              outputs=chat_outputs, api_visibility="private", show_progress="minimal")
        gr.on([question.submit, ask.click], None, js=FOLLOW_JS)
        chatbot.clear(new_conversation, outputs=chat_outputs, api_visibility="private")
        sources.cite(show_sources, inputs=answers, outputs=sources, api_visibility="private", show_progress="hidden")
        if uploads:
            upload.upload(add_documents, inputs=upload, outputs=[status, table, header, doomed, upload],
                          api_visibility="private", concurrency_limit=1)
            delete.click(delete_chosen, inputs=doomed, outputs=[status, table, header, doomed], js=CONFIRM_DELETE,
                         api_visibility="private", concurrency_limit=1)
            table.select(pick_row, outputs=doomed, api_visibility="private")
            demo.load(refreshed, outputs=[table, header, doomed], api_visibility="private")
        else:
            demo.load(lambda: refreshed()[:2], outputs=[table, header], api_visibility="private")
        gr.api(api_ask, api_name="ask")
        gr.api(api_search, api_name="search")
        gr.api(api_documents, api_name="documents")
        if uploads:
            gr.api(api_delete_document, api_name="delete_document", concurrency_limit=1)
    weakref.finalize(demo, shutil.rmtree, exports, True)
    return demo


def launch(index: rag.Index, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
           auth: tuple[str, str] | None = None, uploads: bool = True) -> gr.Blocks:
    """Serve the app (until interrupted, unless ``block`` is False); several people can chat at once.

    ``auth`` asks every visitor for that user and password (Gradio's login page)."""
    import gradio as gr

    demo = build_app(index, uploads=uploads).queue(default_concurrency_limit=CONCURRENCY)
    demo.launch(server_name=host, server_port=port, max_file_size=index.settings.max_file_bytes, auth=auth,
                theme=gr.themes.Soft(), css=CSS, ssr_mode=False, footer_links=["api"],
                prevent_thread_lock=not block, quiet=not block)
    return demo

