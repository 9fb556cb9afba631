# One command to run the crawler, one to run the tests; each sets up what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint demo clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

## run: crawl the bundled world-news sources into ./archive
run: $(VENV)/.installed
	$(BIN)/newsarchive crawl --archive archive

## test: run the whole test suite (starts its own web and S3 servers)
test: $(VENV)/.installed
	$(BIN)/pytest

## lint: ruff and mypy --strict
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## demo: archive the bundled demo news site into ./demo-archive, offline
demo: $(VENV)/.installed
	$(BIN)/newsarchive demo

clean:
	rm -rf $(VENV) archive demo-archive .pytest_cache .mypy_cache .ruff_cache
