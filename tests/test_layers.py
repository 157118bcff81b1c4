"""The direction of dependencies: every import points down the layer order of docs/architecture.md.

Imports are read from the source (AST), so a lazy import inside a function counts like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

# Lowest first. A module may import its own layer or any layer below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("rag.types", "rag.config", "rag.errors", "rag.dates", "rag.markers", "rag.spans", "rag.words")),
    ("reading", ("rag.markup", "rag.formats", "rag.sentences", "rag.loaders", "rag.chunking")),
    ("encoding", ("rag.embedding", "rag.onnx_export", "rag.onnx_embedding", "rag.backends", "rag.embed_cache")),
    ("storage", ("rag.store", "rag.store.postgres")),  # the PostgreSQL backend is storage like the local one
    ("retrieval and ingest", ("rag.fusion", "rag.retriever", "rag.ingest", "rag.uploads", "rag.delete")),
    ("answering", ("rag.answer",)),
    ("front door", ("rag.index",)),
    ("evaluation", ("rag.eval",)),
    ("public API", ("rag",)),
    ("application", ("app", "rag.__main__")),
]
PACKAGES = ("rag", "app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer whose name is the longest prefix of ``module``."""
    best, length = None, -1
    for number, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = number, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS and to docs/architecture.md"
    return best


def imports_of(path: Path) -> set[str]:
    """Project modules that ``path`` imports, relative imports resolved."""
    module = module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            target = ".".join(part for part in (base, node.module or "") if part)
            names = [f"{target}.{alias.name}" for alias in node.names] + [target]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in PACKAGES)
    return found


def project_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_every_import_points_down_the_layers() -> None:
    upward = []
    for path in project_files():
        source = module_name(path)
        for target in imports_of(path):
            if target != source and not source.startswith(target + ".") and layer_of(target) > layer_of(source):
                upward.append(f"{source} ({LAYERS[layer_of(source)][0]}) imports {target} "
                              f"({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports against the layer order:\n" + "\n".join(sorted(upward))


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    assert layer_of("rag.store.local") < layer_of("rag.index") < layer_of("app.cli")
    assert layer_of("rag.__main__") == layer_of("app.ui.app")
    probe = ROOT / "rag" / "store" / "_probe_for_test.py"
    probe.write_text("from ..index import Index\nfrom . import local\n", encoding="utf-8")
    try:
        assert imports_of(probe) >= {"rag.index.Index", "rag.index", "rag.store.local"}
    finally:
        probe.unlink()


def test_no_library_module_imports_the_application() -> None:
    for path in project_files():
        source = module_name(path)
        if source.startswith("rag") and source != "rag.__main__":
            assert not any(target.split(".")[0] == "app" for target in imports_of(path)), source
