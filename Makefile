# redkite — `make demo`, `make test`, `make bench`. The Makefile builds its own .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench venv clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py ./demo.db

test: $(STAMP)
	$(PY) -m pytest tests

bench: $(STAMP)
	$(PY) -m bench.embedded
	$(PY) -m bench.search
	$(PY) -m bench.scalar_index

clean:
	rm -rf $(VENV) demo.db .pytest_cache .hypothesis bench/results
