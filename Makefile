# redkite — `make demo`, `make test`, `make serve`, `make bench`, `make sync`. The Makefile
# builds its own .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test serve bench sync venv proto clean

DATA ?= ./redkite-data
HOST ?= 127.0.0.1
PORT ?= 19530
PROTOS := $(wildcard redkite/protocol/*.proto)

# the editable install runs setup.py's build_py, which compiles the .proto files into
# redkite/protocol/_gen/ (grpcio-tools is a build requirement)
$(STAMP): pyproject.toml setup.py $(PROTOS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py ./demo.db

test: $(STAMP)
	$(PY) -m pytest tests

# the Milvus gRPC protocol and REST API on $(HOST):$(PORT) over the database in $(DATA);
# Ctrl-C stops it
serve: $(STAMP)
	$(PY) -m redkite serve --data $(DATA) --host $(HOST) --port $(PORT)

# recompile the .proto files (also done by every install)
proto: $(STAMP)
	$(PY) -m pip install --quiet grpcio-tools
	$(PY) redkite/protocol/build.py

# regenerate MilvusClient (redkite/client/_sync/) from AsyncMilvusClient (_async/)
sync:
	$(PYTHON) tools/async_to_sync.py

bench: $(STAMP)
	$(PY) -m bench.embedded
	$(PY) -m bench.search
	$(PY) -m bench.scalar_index
	$(PY) -m bench.micro
	$(PY) -m bench.rest
	$(PY) -m bench.serve
	$(PY) -m bench.async_embedded

clean:
	rm -rf $(VENV) demo.db .pytest_cache .hypothesis bench/results redkite/protocol/_gen
