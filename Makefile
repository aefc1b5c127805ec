# Frontroom: the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Texted, emailed and calendar links point where `make run` serves, unless PUBLIC_BASE_URL says otherwise.
PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)

# The test suite talks to real services; override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/frontroom
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: help run test test-fast screenshots messages install install-dev tools migrate lint clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## Install the app into ./.venv

install-dev: $(VENV)/.installed-dev ## Install the app and the test tools into ./.venv

tools/prism/node_modules/.installed: tools/prism/package.json tools/prism/package-lock.json
	npm ci --prefix tools/prism --no-audit --no-fund --loglevel=error
	touch $@

tools: tools/prism/node_modules/.installed ## Install the Twilio contract mock (Prism, from npm)

run: install ## Install, migrate, load the demo data and serve on 127.0.0.1:8000 (SQLite, eager Celery, SMS to the log)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(PY) manage.py load_demo
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(PY) manage.py runserver $(HOST):$(PORT)

test: install-dev tools ## Install and run the whole test suite against PostgreSQL, Redis and the Twilio mock
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) tools/run_tests.py $(PYTEST_ARGS)

test-fast: install-dev ## The tests that need no browser, Celery worker or other process (tests/README.md)
	PYTHONDONTWRITEBYTECODE= DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest --reuse-db -n 2 -p tests.xdist_redis -m "not e2e and not worker and not server and not slow and not fuzz" $(PYTEST_ARGS)

screenshots: install-dev tools ## Retake docs/screenshots/ from the browser tests (make test never writes them)
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) FRONTROOM_SCREENSHOTS=docs $(PY) tools/run_tests.py -m e2e tests/web

messages: install ## Extract new strings into locale/cy/LC_MESSAGES/django.po, list those without Welsh, compile (docs/languages.md)
	$(PY) manage.py messages

lint: install-dev ## Ruff
	$(VENV)/bin/ruff check .

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var tools/prism/node_modules
