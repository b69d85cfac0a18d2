# Local development entry points. Everything runs inside .venv, which is created and filled
# from requirements.txt on first use (and refreshed whenever requirements.txt changes).
# See docs/running.md for what `make run` starts and how it stops.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Only for `make messages`: settings need these to import; no server is contacted.
MESSAGES_ENV := DJANGO_SETTINGS_MODULE=config.settings.local SECRET_KEY=dummy \
	DATABASE_URL=postgres://x@localhost/x REDIS_URL=redis://localhost:6379/0 PORTAL_MASTER_KEY=unused

.DEFAULT_GOAL := help
.PHONY: help venv run test bench fuzz lint format messages clean-data

help:
	@echo "make run          migrate, seed the demo and run web + worker + beat (Ctrl-C stops all)"
	@echo "make test         run the tests (PYTEST_ARGS='-k something -x' to narrow them)"
	@echo "make bench        run bench/run.py (BENCH_ARGS='...' to pass arguments)"
	@echo "make fuzz         fuzz the API with schemathesis on a scratch database (FUZZ_ARGS='--help')"
	@echo "make lint         ruff check + ruff format --check + import contracts + mypy"
	@echo "make format       ruff format (the code style: pyproject.toml)"
	@echo "make messages     update and compile the zh_Hans translations"
	@echo "make clean-data   delete .data/ (local database, Redis data, generated keys)"
	@echo "make venv         create/refresh .venv from requirements.txt"

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-installs whenever requirements.txt is newer than the stamp.
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) scripts/launcher.py run

test: $(STAMP)
	$(PY) scripts/launcher.py test $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) scripts/launcher.py bench $(BENCH_ARGS)

# SEC-3: schemathesis from its own virtualenv (.data/fuzz-venv, made on first use) against a
# portal on a scratch database; see docs/security.md.
fuzz: $(STAMP)
	$(PY) scripts/launcher.py fuzz $(FUZZ_ARGS)

# ruff (lint and format); the import contracts of pyproject.toml (layers only point down, no cycles:
# docs/architecture.md); mypy over every product package.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .

messages: $(STAMP)
	cd $(CURDIR) && $(MESSAGES_ENV) $(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=.data
	cd $(CURDIR) && $(MESSAGES_ENV) $(PY) manage.py compilemessages --ignore=.venv --ignore=.data

clean-data:
	@if [ -f .data/launcher.pid ] && kill -0 "$$(cat .data/launcher.pid)" 2>/dev/null; then \
		echo "A launcher is running (pid $$(cat .data/launcher.pid)); stop it first."; exit 1; \
	fi
	rm -rf .data
