# The two commands of the README: `make run` (install, build the index on first run, open the chat) and
# `make test` (install with test extras and the browser, run the whole suite). Everything lives in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1

.PHONY: run test install install-test bench clean-index

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first and pinned: the machine carries its CPU build; an unpinned torch pulls GBs of CUDA packages.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	bash scripts/install-browser.sh
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# make run PORT=8080 (or RAG_PORT=8080 make run) serves on another port.
run: $(VENV)/.installed
	$(BIN)/rag serve $(if $(PORT),--port $(PORT))

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_pipeline.py

clean-index:
	rm -rf index/gen-* index/CURRENT index/.tmp-*
