# The two commands: `make run` and `make test`. Both work from a fresh clone with only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BENCH_INSTALLED := $(VENV)/.installed-bench
comma := ,

.PHONY: run test lint install clean bench e2e-deps faults

# axe-core, the accessibility engine the browser tests inject (tests/e2e/conftest.py), pinned; from npm.
AXE_CORE_VERSION := 4.10.2
AXE_CORE := .e2e-node/node_modules/axe-core/axe.min.js

# The virtual environment with the project and the extras named in $(1); the stamp file is the target.
define install_venv
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[$(1)]"
	touch $@
endef

$(INSTALLED): pyproject.toml
	$(call install_venv,test)

$(BENCH_INSTALLED): pyproject.toml
	$(call install_venv,test$(comma)bench)

install: $(INSTALLED)

# Development server on http://127.0.0.1:8000 with SQLite (gunicorn, reloading on code changes), and a local
# identity provider that plays Okta on http://127.0.0.1:9400 with a demo tenant (devidp/). It prints what to open.
# `make run LOCAL_IDP=0` serves only the app; `make run PORT=8001 IDP_PORT=9401` uses other ports.
LOCAL_IDP ?= 1
PORT ?= 8000
IDP_PORT ?= 9400

run: $(INSTALLED)
	BIN=$(BIN) LOCAL_IDP=$(LOCAL_IDP) PORT=$(PORT) IDP_PORT=$(IDP_PORT) bash devidp/run.sh

$(AXE_CORE):
	@if command -v npm >/dev/null; then \
	  npm install --prefix .e2e-node --no-audit --no-fund --no-save --silent axe-core@$(AXE_CORE_VERSION); \
	else echo "npm is missing: the browser tests' accessibility checks will be skipped (apt-get install npm)"; fi

e2e-deps: $(AXE_CORE)

# The tests that sign people in, once more with every test in transactional mode (tests/production_transactions.py):
# on PostgreSQL the sign-in's transaction then goes as production sends it, in two messages (accounts/hot_path.py),
# which a test's own transaction would turn back into atomic().
SIGN_IN_TESTS := tests/test_login_flow.py tests/test_support_references.py tests/test_sessions.py \
	tests/test_login_switch.py tests/test_mixup.py tests/test_reauth.py tests/test_session_recheck.py \
	tests/test_review_findings.py tests/test_hot_path.py tests/test_budgets.py tests/test_session_store.py \
	tests/test_provider_requests.py tests/test_id_token_validation.py tests/test_secret_binding.py

test: $(INSTALLED) e2e-deps
	$(BIN)/ruff check .
	DJANGO_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@case "$$DATABASE_URL" in postgres*) \
	  echo "The sign-in tests again, as production runs their transactions:"; \
	  $(BIN)/python -m pytest -q -p tests.production_transactions $(SIGN_IN_TESTS);; \
	  *) echo "Skipped: the sign-in tests in production's transaction mode need PostgreSQL (DATABASE_URL=postgres://...).";; \
	esac

lint: $(INSTALLED)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles

# What a login costs (bench/, docs/benchmarks.md): full logins against inigo-sso and against stock
# mozilla-django-oidc, both under gunicorn on the PostgreSQL at 127.0.0.1:5432 (BENCH_PG_URL), with Redis on
# 127.0.0.1:6379 when it answers. Prints one table with the ratios; options through BENCH_ARGS, e.g.
# `make bench BENCH_ARGS="--logins 500 --delays 0"` (`.venv/bin/python -m bench --help` lists them).
bench: $(BENCH_INSTALLED)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Faults injected under real traffic (faults/, docs/reliability.md): two gunicorn app servers, PostgreSQL (FAULTS_PG_URL,
# default postgres://root@127.0.0.1:5432/postgres), a redis-server of its own and the local provider behind a fault
# proxy; prints one table with the targets. About 5 minutes; `make faults FAULTS_ARGS=--short` in about 2, and
# `FAULTS_ARGS='--scenario "black hole"'` runs one (`.venv/bin/python -m faults --help` lists them).
faults: $(BENCH_INSTALLED)
	$(BIN)/python -m faults $(FAULTS_ARGS)
