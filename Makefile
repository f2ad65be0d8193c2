# SLA Portal. Quick start: `make run` (portal with demo data) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: venv run test test-fast test-deep e2e lint format bench migrate clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

## run: migrate, load demo data and serve on http://127.0.0.1:8000 with a worker and beat (Ctrl-C stops all)
run: venv
	DEBUG=$${DEBUG:-true} $(PY) -m portal.run

## test: the whole suite (SQLite, or PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

## test-fast: everything but the browser tests
test-fast: venv
	$(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

## test-deep: the property tests only, with fresh random examples and five times as many (HYPOTHESIS_PROFILE=deep)
test-deep: venv
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest -m hypothesis $(PYTEST_ARGS)

## e2e: against the real Prometheus, blackbox exporter and Alertmanager (Debian packages prometheus, prometheus-blackbox-exporter, prometheus-alertmanager)
e2e: venv
	$(PY) -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

## lint: ruff (lint and format check), migrations up to date, mypy
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	DEBUG=true $(VENV)/bin/mypy agreements metrics credits notifications portal integrations status contracts

format: venv
	$(VENV)/bin/ruff check --fix-only --quiet .
	$(VENV)/bin/ruff format .

migrate: venv
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput

## bench: every benchmark under bench/ (needs DATABASE_URL pointing at PostgreSQL)
bench: venv
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf var staticfiles
