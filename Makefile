# Each target sets itself up from a fresh clone: it creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
AS_OF ?= $(shell date +%F)
OUT ?= out

.PHONY: demo test bench schemas clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	@echo "== svcascode validate (the example catalogue in services/ and policies/)"
	$(BIN)/svcascode validate
	@echo
	@echo "outputs: none written by validate"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/bench.py

schemas: $(VENV)/.installed
	$(BIN)/svcascode schema --write

clean:
	rm -rf $(VENV) $(OUT) .svcascode-cache .pytest_cache
