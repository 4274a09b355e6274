# Every target installs what it needs into .venv from pyproject.toml, so a fresh clone works.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench screenshots proto clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mmtui --demo

lint: $(STAMP)
	$(BIN)/ruff check mmtui tests benchmarks
	$(BIN)/ruff format --check mmtui tests benchmarks
	$(BIN)/mypy mmtui

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

screenshots: $(STAMP)
	$(BIN)/python -m tests.make_screenshots

proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -I mmtui/flightsql/proto \
		--python_out=mmtui/flightsql/proto --pyi_out=mmtui/flightsql/proto \
		mmtui/flightsql/proto/flight_sql.proto

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
