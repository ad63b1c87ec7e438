# The two commands of the README: `make run` (install, build the index on first run, open the chat) and
# `make test` (install with test extras and the browser, run the whole suite). Everything lives in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1

.PHONY: run test install install-test bench check-python clean-index

# The package needs Python 3.11 (its pinned wheels are built for it): say so before anything is installed,
# not after gigabytes of downloads. Checks the venv's python when there is one, else $(PYTHON).
check-python:
	@py="$(PYTHON)"; [ -x "$(BIN)/python" ] && py="$(BIN)/python"; \
	v=$$("$$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	[ "$$v" = 3.11 ] || { \
	  echo "error: medcite-rag needs Python 3.11, and $$py is $${v:-not a working Python}; nothing was installed." >&2; \
	  echo "Install Python 3.11 and run e.g.: make run PYTHON=python3.11 (remove $(VENV) if it was made with another Python)" >&2; \
	  exit 1; }

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first and pinned: the machine carries its CPU build; an unpinned torch pulls GBs of CUDA packages.
# Where the package index has only CUDA builds: make run TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
$(VENV)/.installed: pyproject.toml | check-python $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	bash scripts/install-browser.sh
	touch $@

install: $(VENV)/.installed

install-test: check-python $(VENV)/.installed-test

# make run PORT=8080 (or RAG_PORT=8080 make run) serves on another port.
run: check-python $(VENV)/.installed
	$(BIN)/rag serve $(if $(PORT),--port $(PORT))

test: check-python $(VENV)/.installed-test
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_embed.py
	$(BIN)/python bench/bench_pipeline.py

clean-index:
	rm -rf index/gen-* index/CURRENT index/.tmp-*
