# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PNEUMO_DB_NAME ?= pneumo

.PHONY: install services db messages reference run test bench bench-load

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

services:
	@bash scripts/ensure_services.sh

db: install services
	@bash scripts/ensure_database.sh "$(PNEUMO_DB_NAME)"

messages: install
	@command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext >/dev/null)
	@$(PY) manage.py compilemessages --ignore=.venv -v 0

reference: db
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py load_reference

run: reference messages
	@$(PY) manage.py seed_demo_if_empty
	@$(PY) manage.py collectstatic --no-input -v 0
	@bash scripts/run.sh

# One pytest process per core (pytest-xdist); TEST_PROCESSES=0 runs the suite in this process.
TEST_PROCESSES ?= 2

test: install services messages db
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n $(TEST_PROCESSES)

bench: reference
	$(PY) -m bench

# Deadline-day load test (Locust, headless) against scripts/run.sh's stack on the bench database.
bench-load: reference messages
	bash bench/load/run.sh
