"""The ``rag`` command: each subcommand calls one library function and prints its result.

``main(argv)`` returns an exit code: 0 success, 1 an error a person can fix (one sentence on
stderr, no traceback), 2 bad usage, 3 an ingest that skipped some files but indexed the rest.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict

from rag.config import BACKENDS, MODES, load_settings
from rag.errors import RagError
from rag.words import count

from . import eval_cli, postgres_cli

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Question answering over a folder of documents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--index", help="index folder (default: $RAG_INDEX or .rag/index)")
        command.add_argument("--store", metavar="URL", help="keep the index in PostgreSQL at this postgresql:// URL "
                             "(default: $RAG_STORE_URL; unset: in the index folder)")
        return command

    ingest = add("ingest", "Index a folder, or update its index with what changed.")
    ingest.add_argument("folder", nargs="?", default="seeds", help="folder of documents (default: seeds)")
    ingest.add_argument("--rebuild", action="store_true", help="start a fresh index instead of updating")
    ingest.add_argument("--model", help="sentence-transformers model name or path")
    ingest.add_argument("--backend", choices=BACKENDS, help="how vectors are computed (default onnx-int8; "
                        "torch runs sentence-transformers itself)")
    ingest.add_argument("--chunk-size", type=int, help="characters per chunk")
    ingest.add_argument("--chunk-overlap", type=int, help="characters shared by neighbouring chunks")

    search = add("search", "Print the passages that best match a question.")
    search.add_argument("question")
    search.add_argument("-k", type=int, default=5, help="how many passages (default 5)")
    search.add_argument("--mode", choices=MODES, default=None, help="retrieval mode (default hybrid)")
    search.add_argument("--source", action="append", help="only passages from this file (repeatable)")
    search.add_argument("--json", action="store_true", help="print JSON")

    ask = add("ask", "Answer a question from the documents, with numbered sources.")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=5, help="how many passages to read (default 5)")
    ask.add_argument("--mode", choices=MODES, default=None, help="retrieval mode (default hybrid)")
    ask.add_argument("--json", action="store_true", help="print JSON")

    chat = add("chat", "Start the chat in a browser.")
    chat.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    chat.add_argument("--port", type=_port, default=7860, help="port (default 7860)")
    chat.add_argument("--auth", metavar="USER:PASSWORD", help="require this login (or set RAG_AUTH)")
    chat.add_argument("--no-uploads", action="store_true", help="serve the documents read-only: no upload box")

    add("info", "Describe the index: documents, chunks, model, size on disk.")
    add("verify", "Check every index file against the checksums recorded when it was written.")
    eval_cli.register(commands)
    postgres_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(_COMMANDS[args.command](args))
    except RagError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag info | head`: the reader left, which is not an error
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout again at exit
        return EXIT_OK


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return load_settings(
        index_dir=args.index,
        store_url=getattr(args, "store", None),
        model=getattr(args, "model", None),
        backend=getattr(args, "backend", None),
        chunk_size=getattr(args, "chunk_size", None),
        chunk_overlap=getattr(args, "chunk_overlap", None),
    )


def _ingest(args: argparse.Namespace) -> int:
    from rag.index import build_index

    settings = _settings(args)
    index = build_index(args.folder, settings=settings, rebuild=args.rebuild, progress=sys.stderr.isatty())
    report = index.last_ingest
    assert report is not None
    for label, names in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        for name in names:
            print(f"{label:9} {name}")
    for name, original in report.duplicates.items():
        print(f"duplicate {name} (same bytes as {original})")
    for name, reason in report.skipped.items():
        print(f"skipped   {name}: {reason}")
    info = index.info()
    print(f"{report.summary()}. Index {info.index}: {count(info.documents, 'document')}, "
          f"{count(info.chunks, 'chunk')}.")
    return EXIT_PARTIAL if report.skipped else EXIT_OK


def _search(args: argparse.Namespace) -> int:
    from rag.index import load_index

    index = load_index(settings=_settings(args))
    passages = index.search(args.question, k=args.k, mode=args.mode, sources=args.source)
    if args.json:
        print(json.dumps([asdict(passage) for passage in passages], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not passages:
        print("No passage matches the question.")
    for passage in passages:
        print(f"[{passage.rank}] {passage.score:.3f}  {passage.title}")
        print(f"    {passage.source}, lines {passage.line_start}-{passage.line_end}, chars {passage.start}-{passage.end}")
        print("    " + " ".join((passage.clean_text or passage.text).split()))
    return EXIT_OK


def _ask(args: argparse.Namespace) -> int:
    from rag.index import load_index

    answer = load_index(settings=_settings(args)).ask(args.question, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps(asdict(answer), indent=2, ensure_ascii=False, default=str))
        return EXIT_OK
    print(answer.text)
    if answer.notice:
        print(f"note: {answer.notice}")
    listed = answer.passages or answer.related
    if listed:
        print("\nSources:" if answer.passages else "\nPossibly related:")
    for number, passage in enumerate(listed, 1):
        print(f"[{number}] {passage.title} ({passage.source}, lines {passage.line_start}-{passage.line_end})")
    return EXIT_OK


def _port(text: str) -> int:
    """A TCP port number, or the usage error argparse prints in one line."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: use a number from 1 to 65535")
    return int(text)


def _free(host: str, port: int) -> None:
    """Refuse a port that is taken or an address that is not this machine's before the models load."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError as error:
        reason = "is in use" if error.errno == errno.EADDRINUSE else f"cannot be used ({error.strerror})"
        raise RagError(f"Port {port} on {host} {reason}: pass --port with another one, or --host with an address "
                       "of this machine.") from None


def _login(args: argparse.Namespace) -> tuple[str, str] | None:
    """``--auth`` or ``RAG_AUTH`` as (user, password); on an address others can reach, one of it or
    ``--no-uploads`` is required, because an upload changes what every visitor sees."""
    text = args.auth or os.environ.get("RAG_AUTH", "")
    login = None
    if text:
        user, _, password = text.partition(":")
        if not user or not password:
            raise RagError("--auth (or RAG_AUTH) must be USER:PASSWORD, both non-empty.")
        login = (user, password)
    if login is None and not args.no_uploads and args.host not in LOOPBACK_HOSTS:
        raise RagError(f"Listening on {args.host} lets anyone who reaches it upload documents: pass "
                       "--auth USER:PASSWORD (or set RAG_AUTH), or --no-uploads.")
    return login


def _chat(args: argparse.Namespace) -> int:
    from rag.index import load_index

    login = _login(args)
    _free(args.host, args.port)
    index = load_index(settings=_settings(args))
    index.warm()  # load the models now, so the first question is answered as fast as the tenth
    from .ui.app import launch

    launch(index, host=args.host, port=args.port, auth=login, uploads=not args.no_uploads)
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    from rag.index import load_index

    index = load_index(settings=_settings(args))
    info, documents = index.info(), index.documents()  # both read before printing: a damaged index prints nothing
    for key, value in asdict(info).items():
        print(f"{key:14} {value}")
    for document in documents:
        print(f"  {document.doc_id}: {document.title} ({document.date or 'no date'}, {count(document.n_chunks, 'chunk')})")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from rag.store import verify

    settings = _settings(args)
    if settings.store_url:
        raise RagError("rag verify checks the files of a local index; an index in PostgreSQL is kept whole by "
                       "PostgreSQL itself (its transactions and checksums).")
    index_dir = settings.index_path
    files, size = verify(index_dir)
    print(f"The index at {index_dir} is intact: {files} files, {size / 1e6:.1f} MB match their checksums.")
    return EXIT_OK


_COMMANDS = {"ingest": _ingest, "search": _search, "ask": _ask, "chat": _chat, "info": _info, "verify": _verify,
             "eval": eval_cli.run, "postgres": postgres_cli.run}


if __name__ == "__main__":
    sys.exit(main())
