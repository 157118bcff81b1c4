"""Where chunks, vectors and terms live: the manifest, the local generation store, BM25.

A new store backend implements what ``Store`` (reading) and ``Writer`` (one ingest) offer.
"""

from .lexical import Lexical
from .local import Store
from .local_writer import Writer
from .manifest import MANIFEST, REBUILD_HINT, Manifest, read_manifest, stamp, verify, write_lock

__all__ = ["MANIFEST", "REBUILD_HINT", "Lexical", "Manifest", "Store", "Writer", "read_manifest", "stamp",
           "verify", "write_lock"]
