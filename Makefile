# The two commands: `make run` and `make test`. Both work from a fresh clone with only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint install migrate clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[test]"
	touch $(INSTALLED)

install: $(INSTALLED)

# Development server on http://127.0.0.1:8000 with SQLite (gunicorn, reloading on code changes), and a local
# identity provider that plays Okta on http://127.0.0.1:9400 with a demo tenant (devidp/). It prints what to open.
# `make run LOCAL_IDP=0` serves only the app.
LOCAL_IDP ?= 1

run: $(INSTALLED)
	BIN=$(BIN) LOCAL_IDP=$(LOCAL_IDP) bash devidp/run.sh

test: $(INSTALLED)
	$(BIN)/ruff check .
	DJANGO_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
