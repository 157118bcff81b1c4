"""The current generation of an index folder, reopened when any writer (this process or another) swaps it."""

from __future__ import annotations

import threading
from pathlib import Path

from .base import Check
from .local import Store
from .manifest import read_manifest, stamp


class LiveStore:
    """Hands out the ``Store`` of the current generation; ``check`` vets the settings of each before it is used."""

    def __init__(self, index_dir: Path, check: Check = lambda settings: None) -> None:
        self.index_dir = index_dir
        self._check = check
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._stamp = (0, 0)
        self.reload()

    def reload(self) -> Store:
        """Open the generation the manifest names now, and close the previous one."""
        seen = stamp(self.index_dir)  # taken first: a swap landing while we load is noticed next time
        manifest = read_manifest(self.index_dir)
        self._check(manifest.settings)
        store = Store(self.index_dir, manifest)
        with self._lock:
            old, self._store, self._stamp = self._store, store, seen
        if old is not None:
            old.close()
        return store

    def current(self) -> Store:
        """The store to read from, reopened first if another process ingested meanwhile."""
        with self._lock:
            store, known = self._store, self._stamp
        if store is None or stamp(self.index_dir) != known:
            return self.reload()
        return store
