# Two set-up commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast bench docs install lint clean

# Quiet: pip writes to .venv/pip-install.log; `sohoa run` prints a few lines (URL, folders, first admin).
install:
	@scripts/install-deps.sh

run: install
	@$(VENV)/bin/sohoa run

test:
	scripts/install-deps.sh test
	$(PY) -m pytest $(PYTEST_ARGS)

# The edit-run loop: no test that starts a server or OCRs many pages (markers: tests/conftest.py).
test-fast:
	scripts/install-deps.sh test
	$(PY) -m pytest -m "not ocr and not servers and not slow" $(PYTEST_ARGS)

bench:
	scripts/install-deps.sh bench
	$(PY) -m sohoa.bench $(BENCH_ARGS)

# The documentation site (docs/, mkdocs.yml) into build/site; --strict fails on a broken link.
docs:
	scripts/install-deps.sh docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d build/site

lint:
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
