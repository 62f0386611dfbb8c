# Two commands for a fresh machine:
#   make run    virtualenv, install, migrate, demo data, serve on http://127.0.0.1:8000
#   make test   test dependencies, then the whole suite (SQLite; PostgreSQL and Chromium when present)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export TOUSU_DATA_DIR ?= $(CURDIR)/var
TEMPLATE ?= generic
# The PostgreSQL pass of `make test`; CI sets TOUSU_REQUIRE_POSTGRES=1 so it cannot be skipped.
TOUSU_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/tousu

.PHONY: run install test audit layers test-sqlite test-postgres lint bench clean

$(BIN)/tousu: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

install: $(BIN)/tousu

run: install
	$(BIN)/tousu init --template $(TEMPLATE) --demo
	$(BIN)/tousu serve --host 127.0.0.1 --port 8000 --with-worker

$(VENV)/.test-deps: pyproject.toml $(BIN)/tousu
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

test: audit layers test-sqlite test-postgres

# The layering (pyproject.toml [tool.importlinter], docs/architecture.md): an app importing one above
# it, even inside a function or through another app, fails here before the suite runs.
layers: $(VENV)/.test-deps
	$(BIN)/lint-imports

# Known vulnerabilities in the installed packages (pip-audit against PyPI's advisory data). The
# probe asks PyPI for one release's JSON, the endpoint pip-audit reads: where only the package index
# is reachable (a mirror, an intranet), pip-audit would answer "no known vulnerabilities" without
# having looked, so the audit is skipped with a message instead; TOUSU_REQUIRE_AUDIT=1 fails then.
audit: $(VENV)/.test-deps
	@if $(BIN)/python -c "import django, urllib.request as u; u.urlopen('https://pypi.org/pypi/django/' + django.get_version() + '/json', timeout=10).close()" 2>/dev/null; then \
		echo "== pip-audit"; \
		$(BIN)/pip-audit --skip-editable --progress-spinner off; \
	elif [ "$$TOUSU_REQUIRE_AUDIT" = "1" ]; then \
		echo "pip-audit needs https://pypi.org/pypi/<package>/<version>/json (TOUSU_REQUIRE_AUDIT=1) but it is not reachable"; exit 1; \
	else \
		echo "== pip-audit skipped: PyPI's vulnerability data (https://pypi.org/pypi/<package>/<version>/json) is not reachable"; \
	fi

test-sqlite: $(VENV)/.test-deps
	$(BIN)/python -m pytest -p no:cacheprovider

test-postgres: $(VENV)/.test-deps
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(TOUSU_TEST_POSTGRES_URL)'.rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== PostgreSQL: $(TOUSU_TEST_POSTGRES_URL)"; \
		DATABASE_URL=$(TOUSU_TEST_POSTGRES_URL) $(BIN)/python -m pytest -p no:cacheprovider -m "not browser"; \
	elif [ "$$TOUSU_REQUIRE_POSTGRES" = "1" ]; then \
		echo "PostgreSQL at $(TOUSU_TEST_POSTGRES_URL) is required (TOUSU_REQUIRE_POSTGRES=1) but not reachable"; exit 1; \
	else \
		echo "== PostgreSQL not reachable at $(TOUSU_TEST_POSTGRES_URL): its pass is skipped (set TOUSU_TEST_POSTGRES_URL)"; \
	fi

lint: $(VENV)/.test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(VENV)/.test-deps
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/workdays.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .import_linter_cache
