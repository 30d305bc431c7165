VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck suite demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e . --group dev
	touch $(STAMP)

## test: lint, type-check and run the whole test suite
test: lint typecheck suite

lint: $(STAMP)
	$(VENV)/bin/ruff check asyncexch tests benchmarks examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict asyncexch tests examples
	# pyright reads the package through the venv's python (first on PATH): 100% or it fails.
	PATH="$(abspath $(VENV))/bin:$$PATH" PYRIGHT_PYTHON_IGNORE_WARNINGS=1 \
		$(VENV)/bin/pyright --verifytypes asyncexch --ignoreexternal

suite: $(STAMP)
	$(VENV)/bin/pytest -q

## demo: the main job against the simulator; CATEGORY=all (or DualAssets,...) mixes categories
CATEGORY ?= SmartLeverage
demo: $(STAMP)
	$(PY) -m asyncexch demo --category $(CATEGORY)

## bench: the quick benchmark suite (overhead, fidelity, accounts, scale, decode, profile), < 3 minutes
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e . --group dev --group bench
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run_all.py --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
