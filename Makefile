# nasarena: `make bench` sets up and runs the default study; `make test` runs the test suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup bench bench-long bench-table5 test lint report benchmarks clean

setup: $(STAMP)

# constraints.txt pins the tested versions (pyproject.toml only declares ranges). The ray extra is
# installed so the Ray executor's tests run (tests/bench/test_ray_executor.py, docs/ray.md).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,ray]'
	touch $(STAMP)

bench: setup
	$(VENV)/bin/nasarena bench --out runs/bench

# Real et al.'s comparison at a longer budget (1000 mean full trainings; ~2.5 min on 2 cores).
bench-long: setup
	$(VENV)/bin/nasarena bench --out runs/bench-long --trainings 1000 \
	  --strategies regularized-evolution,reinforce,reinforce-lstm,random

# NAS-Bench-201's Table 5 protocol (RS, REA, REINFORCE, BOHB; 500 runs each, 12,000 s per run) and
# runs/nb201-table5/report/table5.md beside the paper's numbers (about 10 minutes on 2 cores).
bench-table5: setup
	$(VENV)/bin/nasarena bench --preset nb201-table5 --out runs/nb201-table5

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
