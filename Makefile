# Two set-up commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench install lint clean

install:
	scripts/install-deps.sh

run: install
	$(VENV)/bin/sohoa run

test:
	scripts/install-deps.sh test
	$(PY) -m pytest $(PYTEST_ARGS)

bench:
	scripts/install-deps.sh bench
	$(PY) -m sohoa.bench $(BENCH_ARGS)

lint:
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
