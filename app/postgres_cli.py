"""``rag postgres start|stop --data DIR``: a PostgreSQL with pgvector on this machine, for ``--store``.

    $ rag postgres start --data .rag/postgres
    PostgreSQL is running in /abs/.rag/postgres; use it with --store or RAG_STORE_URL:
    postgresql://postgres:@/postgres?host=/abs/.rag/postgres

The URL is the last line, so ``RAG_STORE_URL=$(rag postgres start --data DIR | tail -1)`` works.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_DATA = ".rag/postgres"


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``postgres`` subcommand to ``subparsers``."""
    help_text = "Start or stop a PostgreSQL with pgvector on this machine (bundled), for --store."
    command: argparse.ArgumentParser = subparsers.add_parser("postgres", help=help_text, description=help_text)
    command.add_argument("action", choices=("start", "stop"))
    command.add_argument("--data", default=DEFAULT_DATA, help=f"its data folder, made on first use (default {DEFAULT_DATA})")
    return command


def run(args: argparse.Namespace) -> int:
    from rag.store.postgres import server

    data = Path(args.data)
    if args.action == "start":
        url = server.start(data)
        print(f"PostgreSQL is running in {data.resolve()}; use it with --store or RAG_STORE_URL:")
        print(url)
    elif server.stop(data):
        print(f"Stopped the PostgreSQL in {data.resolve()}.")
    else:
        print(f"No PostgreSQL was running in {data.resolve()}.")
    return 0
