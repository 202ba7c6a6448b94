# Two commands set up everything: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean example

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src  # bytecode now, as a normal install leaves it (even with PYTHONDONTWRITEBYTECODE)
	$(BIN)/python -c "from mentorctl.matching.kernels import precompile; precompile()"  # numba kernels, compiled once
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mentorctl validate programmes/example
	$(BIN)/mentorctl match programmes/example --force
	$(BIN)/mentorctl packs programmes/example
	$(BIN)/mentorctl report programmes/example

test: lint
	$(BIN)/python -m pytest

# ruff; mypy on src/ (settings in pyproject.toml); import-linter's contracts (the shape in docs/ARCHITECTURE.md)
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_match.py
	$(BIN)/python benchmarks/bench_report.py

example: $(STAMP)  ## regenerate the example's rosters, then its activity log from a fresh match
	$(BIN)/python scripts/generate_example.py --out programmes/example
	$(BIN)/mentorctl match programmes/example --force
	$(BIN)/python scripts/generate_activity.py --programme programmes/example

clean:
	rm -rf $(VENV) .pytest_cache
