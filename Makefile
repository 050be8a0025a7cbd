# citybridge: the two commands a fresh machine needs (see README.md).
#   make demo  - create .venv, install, load the demo knowledge pack and run the main job
#   make test  - create .venv with the test extras and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export CITYBRIDGE_DATA_DIR ?= $(CURDIR)/citybridge-data

.PHONY: demo test install install-test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/citybridge demo --fresh
	$(BIN)/citybridge stats
	$(BIN)/citybridge list --kind organization --subtype local_government -n 10

test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check src tests benchmarks scripts

clean:
	rm -rf $(VENV) citybridge-data .pytest_cache
