# SalesLadder. `make run` and `make test` work on a fresh machine with only Python >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# Local defaults; real deployments set these in the environment.
export DJANGO_DEBUG ?= true

.PHONY: install run test lint fmt bench messages screenshots clean

$(STAMP): requirements/dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	touch $(STAMP)

# Translations are compiled at install time (Babel, so no system gettext is needed); .mo files are not committed.
install: $(STAMP)
	@for domain in django djangojs; do \
	  if ls locale/*/LC_MESSAGES/$$domain.po >/dev/null 2>&1; then $(BIN)/pybabel -q compile -d locale -D $$domain; fi; \
	done

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy salesladder pipeline targets reviews

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=bench --ignore=tests
	$(BIN)/python manage.py makemessages -d djangojs -l zh_Hans --ignore=.venv --ignore=static/vendor
	$(BIN)/python manage.py compilemessages --ignore=.venv

bench: install
	$(BIN)/python bench/run.py

# Rewrites docs/screenshots/ from the browser tests (needs Debian's chromium; see docs/frontend.md).
screenshots: install
	SALESLADDER_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e -p no:cacheprovider

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache
