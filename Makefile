# The commands a person types. Each creates the virtualenv it needs on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test lint demo bench clean

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto

lint: $(VENV)/.installed
	$(BIN)/ruff check .

# Benchmarks against the stand-ins, one table (benchmarks/README.md); a few minutes; not in `make test`.
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.run

# Offline: stand-ins on 127.0.0.1, real pp-collector runs of examples/, the records that landed.
demo: $(VENV)/.installed
	$(BIN)/python -m performanceplatform.collector.demo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build dist *.egg-info log
