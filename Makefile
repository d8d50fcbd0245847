# Paperboy. `make run` starts everything on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)

.PHONY: install system-deps run test test-fast bench lint format chaos screenshots clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need (chromium for browser tests, redis-server for the broker tests).
system-deps:
	@bash deploy/system-deps.sh

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@# Fetch the enabled sources as soon as the worker is up, not an INGEST_INTERVAL from now.
	-$(BIN)/celery -A digest call digest.tasks.ingest_enabled_sources >/dev/null
	$(BIN)/honcho -f deploy/Procfile.dev start

test: install system-deps
	$(BIN)/python -m pytest -p no:cacheprovider

# Fault tests: kill -9 workers, restart Redis, a failing SMTP server. Need PostgreSQL
# (DATABASE_URL); they start their own Redis, worker, beat and SMTP sink processes.
chaos: install system-deps
	$(BIN)/python -m pytest -p no:cacheprovider -m chaos tests/test_chaos.py

bench: install
	$(BIN)/python -m pytest -p no:cacheprovider -m bench
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/delivery.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/relevance.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Pictures of every page and of the emails at 375 px and 1280 px, from a real browser test run
# (tests marked "browser"), into screenshots/ (gitignored).
screenshots: install system-deps
	rm -rf screenshots
	SCREENSHOTS_DIR=screenshots $(BIN)/python -m pytest -p no:cacheprovider -q -m browser
	@echo "screenshots: $$(ls screenshots | wc -l) pictures in screenshots/"

clean:
	rm -rf var/ .pytest_cache .ruff_cache
