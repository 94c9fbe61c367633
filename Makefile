# Portico: `make run` serves the portal, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test migrate migrations lint format clean

$(BIN)/python:
	@echo '== creating the virtual environment in $(VENV)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo '== installing Portico and its dependencies (a minute or two the first time)'
	$(BIN)/pip install --quiet --progress-bar off -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo '== installing Portico with its test tools (a few minutes the first time)'
	$(BIN)/pip install --quiet --progress-bar off -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/python main.py migrate
	$(BIN)/python main.py

migrate: $(VENV)/.installed
	$(BIN)/python main.py migrate

# The TypeScript types stripe-node generates from Stripe's OpenAPI spec, which tests/conformance checks the emulator's
# responses against: fetched from the npm registry once (git-ignored), nothing to do when present.
STRIPE_TYPES := .cache/stripe-node-23.1.0

$(STRIPE_TYPES)/VERSION:
	sh tests/conformance/fetch_types.sh $(STRIPE_TYPES)

# axe-core, the accessibility engine tests/test_browser_accessibility.py runs in Chromium: from the npm registry once.
AXE_CORE := .cache/axe-core-4.14.1

$(AXE_CORE)/axe.min.js:
	sh tests/accessibility/fetch_axe.sh $(AXE_CORE)

test: $(VENV)/.installed-test $(STRIPE_TYPES)/VERSION $(AXE_CORE)/axe.min.js
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadfile

# After changing db/models.py: write the migration that brings the schema along.
migrations: $(VENV)/.installed-test
	$(BIN)/python -m tortoise -c db.config.TORTOISE_ORM makemigrations

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) *.egg-info
