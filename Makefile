# Two commands set everything up on a fresh machine with only Python: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000

.PHONY: venv demo test test-allauth test-production test-fast lint format bench tox clean schemathesis \
	docs test-django61 lint-openapi python312

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,dev]'
	touch $@

venv: $(VENV)/.installed

# Runs the example project against the sandbox provider it mounts: SQLite, Celery eager, no account.
demo: venv
	cd example_project && DEMO_URL=http://$(DEMO_HOST):$(DEMO_PORT) ../$(PY) manage.py rundemo

test: venv lint
	$(VENV)/bin/pytest
	$(MAKE) test-allauth
	$(MAKE) test-production
	$(MAKE) docs
	$(MAKE) test-django61 lint-openapi

# django-allauth's phone flows: a project of their own (allauth's middleware, backends, tables).
test-allauth: venv
	$(VENV)/bin/pytest tests/allauth_site --ds=tests.allauth_site.settings -p no:cacheprovider

# PostgreSQL, Redis, gunicorn and Celery worker processes, started by the tests (README).
test-production: venv
	$(VENV)/bin/pytest tests/production --ds=tests.production.settings -p no:cacheprovider

# The main suite again on Django 6.1 and Python 3.12, in a venv of its own, Django's deprecation
# warnings as errors (what 7.0 removes must not be used). The browser tests, which run on 5.2 in
# `make test`, are left out here to keep CI short. Python 3.12 is pyenv's if it has one, found by
# its path: pyenv's shim would take the global version unless PYENV_VERSION says otherwise, and
# CI's shell may not have pyenv on its PATH at all.
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON312 ?= $(or $(lastword $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12)),python3.12)
VENV_DJANGO61 ?= .venv-django61

# Says which Python 3.12 make test-django61 uses, or fails saying how to get one.
python312:
	@$(PYTHON312) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null \
		|| { echo "make test-django61 needs Python 3.12: none at $(PYENV_ROOT)/versions/3.12*" \
		"nor as python3.12 (pyenv install 3.12, or PYTHON312=/path/to/python3.12)"; exit 1; }
	@echo "Python 3.12: $(PYTHON312)"

$(VENV_DJANGO61)/.installed: setup.cfg pyproject.toml | python312
	$(PYTHON312) -m venv $(VENV_DJANGO61)
	$(VENV_DJANGO61)/bin/pip install --quiet --upgrade pip
	$(VENV_DJANGO61)/bin/pip install --quiet -e '.[test]' 'Django>=6.1,<6.2'
	touch $@

test-django61: $(VENV_DJANGO61)/.installed
	$(VENV_DJANGO61)/bin/python -c 'import django, sys; sys.exit(django.VERSION[:2] != (6, 1))'
	$(VENV_DJANGO61)/bin/pytest -m "not browser" -p no:cacheprovider \
		-W error::DeprecationWarning -W error::PendingDeprecationWarning

# Redocly CLI on django_voiceotp/openapi.yaml (redocly.yaml: its rules), any error fails. Pinned,
# and installed with npm into a folder of its own (ignored by git).
REDOCLY_VERSION := 2.77.0
OPENAPI_LINT := .openapi-lint
REDOCLY := $(OPENAPI_LINT)/node_modules/.bin/redocly

$(OPENAPI_LINT)/.installed-$(REDOCLY_VERSION):
	@command -v npm >/dev/null || { echo "make lint-openapi needs Node.js 20+ and npm" \
		"(apt-get install nodejs npm)"; exit 1; }
	rm -rf $(OPENAPI_LINT)
	npm install --prefix $(OPENAPI_LINT) --no-save --no-package-lock --no-audit --no-fund \
		--loglevel=error @redocly/cli@$(REDOCLY_VERSION)
	touch $@

lint-openapi: $(OPENAPI_LINT)/.installed-$(REDOCLY_VERSION)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		$(REDOCLY) lint --config redocly.yaml django_voiceotp/openapi.yaml

# Throughput ratios, sends with the provider 0 and 200 ms away for each worker pool (calls/s and
# CPU per call over every process, beside a bare 64-thread loop), the time to ring (send_otp to
# the provider receiving the call request) at idle and under a burst, a profile of one call and
# of a callback (the latter with py-spy, if installed), SQL per operation and the sweeper's cost
# on the production stack; prints a table with each target and whether it is met
# (benchmarks/RESULTS.md). Not a test: nothing here fails on a figure.
bench: venv
	$(VENV)/bin/pytest benchmarks --ds=tests.production.settings -o python_files='bench_*.py' \
		-p no:cacheprovider -q

# Schemathesis, every check, against the example project served on SCHEMATHESIS_PORT (limits off,
# so generated requests reach the views); schemathesis.toml holds its configuration.
SCHEMATHESIS_PORT ?= 8121
SCHEMATHESIS_URL := http://$(DEMO_HOST):$(SCHEMATHESIS_PORT)
SCHEMATHESIS_LIMITS_OFF := {"RESEND_COOLDOWN": 0, "SENDS_PER_NUMBER_PER_HOUR": 0, "SENDS_PER_NUMBER_PER_DAY": 0, "SENDS_PER_IP_PER_HOUR": 0}
schemathesis: venv
	cd example_project && ../$(PY) manage.py migrate --verbosity 0
	cd example_project && DEMO_URL=$(SCHEMATHESIS_URL) VOICEOTP_OPTIONS='$(SCHEMATHESIS_LIMITS_OFF)' \
		exec ../$(PY) manage.py runserver $(DEMO_HOST):$(SCHEMATHESIS_PORT) --noreload & \
	server=$$!; trap 'kill $$server' EXIT; \
	for try in $$(seq 100); do curl -s -o /dev/null $(SCHEMATHESIS_URL)/ && break; sleep 0.2; done; \
	$(VENV)/bin/st --config-file schemathesis.toml run django_voiceotp/openapi.yaml \
		--url $(SCHEMATHESIS_URL)/voiceotp --checks all --workers 1

# The documentation site (Sphinx, furo) in docs/_build/html: every warning is an error, and the
# network is shut (docs/build.py). Then README.rst as PyPI shows it: the sdist and the wheel, built
# as a release builds them, pass twine check --strict.
$(VENV)/.docs-installed: $(VENV)/.installed setup.cfg
	$(VENV)/bin/pip install --quiet -e '.[docs]'
	touch $@

docs: $(VENV)/.docs-installed
	$(PY) docs/build.py -W --keep-going -q -b html docs docs/_build/html
	rm -rf docs/_build/dist
	$(PY) -m build --outdir docs/_build/dist . >/dev/null
	$(VENV)/bin/twine check --strict docs/_build/dist/*

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

tox: venv
	$(VENV)/bin/tox

clean:
	rm -rf $(VENV) $(VENV_DJANGO61) $(OPENAPI_LINT) .tox .pytest_cache build dist *.egg-info example_project/db.sqlite3
