# The two commands the README, CI and users rely on: `make run` and `make test`.
# Both create .venv and install the project with its Rust extension in release mode.
# `make test-fast` is the inner loop (no Ray, no slow cases); `make lint` checks the house rules.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SWEEP  ?= lsm_vs_fifo

.PHONY: run test test-fast lint install rust-test py-test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Editable install: Python edits need no reinstall; Rust edits need `make install` again.
# Stale extension builds are deleted first, so a debug .so never shadows the release one.
install: $(PY)
	rm -f paysim_runner/_core*.so
	$(PY) -m pip install --quiet -e '.[test,lint]'

run: install
	$(PY) -m paysim_runner +sweep=$(SWEEP)

rust-test:
	cargo test --workspace --exclude paysim-python

py-test: install
	$(PY) -m pytest

# The full suite: the README's test command, run by .ci/run.
test: install rust-test
	$(PY) -m pytest

# The inner loop: Rust unit tests of the engine library, and pytest without Ray or slow cases.
test-fast: install
	cargo test -p paysim-engine --lib
	$(PY) -m pytest -m "not ray and not slow" -q

# The house rules: rustfmt, clippy with warnings as errors, ruff, mypy (strict for paysim_runner).
lint: install
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(PY) -m ruff check .
	$(PY) -m mypy

bench: install
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/runner.py

clean:
	rm -rf $(VENV) target results paysim_runner/_core*.so
