# Rassylka: `make run` serves everything locally; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint fmt messages bench clean-dev

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m saas.dev

test: $(VENV)/.installed
	bin/system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemessages -l ru -l en --no-location --ignore=.venv --ignore=var
	for f in locale/translations/*.json; do $(PY) bin/po_fill.py $$f; done
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv --ignore=var
	$(PY) bin/po_fill.py --missing

clean-dev:
	rm -rf var/pgdata var/mail var/cache var/huey.sqlite3*
