# Two commands on a fresh machine:  make demo  /  make test
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: venv servers test test-matrix demo docs lint bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements/test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "Django>=5.2,<5.3" -r requirements/test.txt -e .
	touch $@

servers:
	bash scripts/install-servers.sh

test: venv servers
	$(PY) -m pytest -n 4

# The oldest and newest supported pairs, each in its own venv: Python 3.9 + Django 4.2 (the whole
# suite) and Python 3.13 + Django 5.2 (the conformance suites and the storages-specific fast tests;
# MATRIX_NEWEST_TESTS=tests runs everything). scripts/test-matrix.sh says where the Pythons come from.
test-matrix: servers
	bash scripts/test-matrix.sh

demo: venv
	$(PY) example/demo.py

docs: venv
	$(VENV)/bin/sphinx-build -W -q -b html docs docs/_build/html

lint: venv
	$(VENV)/bin/ruff format --check storages tests bench example scripts docs
	$(VENV)/bin/ruff check storages tests bench example scripts docs

bench: venv servers
	@for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-py*/ .servers docs/_build .tox
