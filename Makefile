# Two commands for a fresh machine: `make chat` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= .rag/index
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: setup chat chat-postgres index test test-fast lint bench eval clean

$(BIN)/rag: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first: this pin is the CPU build; anything unpinned would pull CUDA packages
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/rag

# Chromium for the browser tests; Debian's python3.11-doc, real HTML documentation for the parser tests and eval/pydocs.jsonl
setup: $(BIN)/rag
	@{ command -v chromium >/dev/null && [ -d /usr/share/doc/python3.11/html/library ]; } || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium python3.11-doc >/dev/null)

$(INDEX)/manifest.json: | $(BIN)/rag
	$(BIN)/rag ingest seeds --index $(INDEX)

index: $(BIN)/rag
	$(BIN)/rag ingest seeds --index $(INDEX)

chat: setup $(INDEX)/manifest.json
	$(BIN)/rag chat --index $(INDEX)

# The same chat over an index in PostgreSQL: the bundled server (stopped by `rag postgres stop --data $(PGDATA)`)
PGDATA ?= .rag/postgres
chat-postgres: setup
	URL=$$($(BIN)/rag postgres start --data $(PGDATA) | tail -1) && \
		$(BIN)/rag ingest seeds --store "$$URL" --index $(INDEX)-postgres && \
		$(BIN)/rag chat --store "$$URL" --index $(INDEX)-postgres

test: setup
	$(BIN)/python -m pytest -q

# The edit loop: everything but crash, concurrency, whole-eval and browser tests, in under a minute.
test-fast: $(BIN)/rag
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: $(BIN)/rag
	$(BIN)/ruff check rag app tests bench
	$(BIN)/mypy rag app

eval: $(BIN)/rag $(INDEX)/manifest.json
	$(BIN)/rag eval --index $(INDEX)

bench: $(BIN)/rag
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf .rag .pytest_cache
