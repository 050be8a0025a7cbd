# citybridge: the two commands a fresh machine needs (see README.md).
#   make demo  - create .venv, install, load + enrich + index the demo pack, then serve the web UI
#   make serve - the demo's web UI and REST API on http://127.0.0.1:8000/
#   make test  - create .venv with the test extras and run the whole test suite
#   make demo-postgres - the demo on the PostgreSQL database named by CITYBRIDGE_DATABASE_URL (README: PostgreSQL)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export CITYBRIDGE_DATA_DIR ?= $(CURDIR)/citybridge-data

.PHONY: demo demo-postgres postgres-url serve test install install-test install-postgres lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[web]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres,web]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-postgres: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[web,postgres]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-postgres: $(VENV)/.installed-postgres

demo: install
	$(BIN)/citybridge demo --fresh
	$(BIN)/citybridge enrich
	$(BIN)/citybridge reindex
	$(BIN)/citybridge stats
	$(BIN)/citybridge serve --host 127.0.0.1 --port 8000

postgres-url:
	@case "$$CITYBRIDGE_DATABASE_URL" in postgresql*) ;; *) \
	  echo "set CITYBRIDGE_DATABASE_URL first, e.g. postgresql+psycopg:///citybridge (README: PostgreSQL)"; exit 2;; esac

demo-postgres: postgres-url install-postgres
	$(BIN)/citybridge demo
	$(BIN)/citybridge enrich
	$(BIN)/citybridge reindex
	$(BIN)/citybridge stats
	$(BIN)/citybridge serve --host 127.0.0.1 --port 8000

serve: install
	$(BIN)/citybridge serve --host 127.0.0.1 --port 8000

test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check src tests benchmarks scripts

clean:
	rm -rf $(VENV) citybridge-data .pytest_cache
