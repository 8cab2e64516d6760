# nasarena: `make bench` sets up and runs the default study; `make test` runs the test suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup bench bench-all test lint report benchmarks clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

bench: setup
	$(VENV)/bin/nasarena bench --out runs/bench

# Every strategy, incl. BO, TPE and multi-objective evolution (slower: 30 seeds).
bench-all: setup
	$(VENV)/bin/nasarena bench --out runs/bench-all --seeds 0-29 \
	  --strategies random,regularized-evolution,evolution,reinforce,reinforce-lstm,local-search,bo,optuna:tpe,regularized-evolution-mo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check nasarena tests benchmarks

report: setup
	$(VENV)/bin/nasarena report runs/bench

benchmarks: setup
	$(PY) -m pytest benchmarks --benchmark-enable --benchmark-only -q

clean:
	rm -rf runs .pytest_cache .benchmarks
