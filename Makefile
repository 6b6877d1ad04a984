# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test bench lint typecheck clean lock screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Our modules' bytecode, written here once: the install is editable, and where
# PYTHONDONTWRITEBYTECODE is set Python would compile each of our modules again at every
# start (about 60 ms of `digest send`'s start-up). Files changed since are compiled as usual.
BYTECODE = $(BIN)/python -m compileall -q digest subscribers

# Runtime install (what the demo needs); redone when the dependencies change.
$(VENV)/.runtime: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -c constraints.txt -e .
	$(BYTECODE)
	@touch $@

# Test install: runtime plus test and lint tools.
$(VENV)/.dev: $(VENV)/.runtime
	$(PIP) install -c constraints.txt -e '.[dev]'
	@touch $@

demo: $(VENV)/.runtime
	$(BIN)/digest demo

lint: $(VENV)/.dev
	$(BIN)/ruff check digest subscribers tests bench scripts
	$(BIN)/ruff format --check digest subscribers tests bench scripts

typecheck: $(VENV)/.dev
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

bench: $(VENV)/.dev
	$(BYTECODE)
	$(BIN)/python -m bench

# The README's pictures (docs/images/), taken from the demo in Debian's chromium.
screenshots: $(VENV)/.dev
	$(BIN)/python scripts/screenshots.py

# Record the versions the suite passed with (run after changing dependencies).
lock: $(VENV)/.dev
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
