# The two commands the README, CI and users rely on: `make run` and `make test`.
# Both create .venv and install the project with its Rust extension in release mode.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SWEEP  ?= lsm_vs_fifo

.PHONY: run test install rust-test py-test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Editable install: Python edits need no reinstall; Rust edits need `make install` again.
install: $(PY)
	rm -f paysim_runner/_core*.so
	$(PY) -m pip install --quiet -e '.[test]'

run: install
	$(PY) -m paysim_runner +sweep=$(SWEEP)

rust-test:
	cargo test --workspace --exclude paysim-python

py-test: install
	$(PY) -m pytest

test: install rust-test
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/runner.py

clean:
	rm -rf $(VENV) target results paysim_runner/_core*.so
