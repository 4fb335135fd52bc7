# The two commands of the README: `make run` and `make test`. Both install what is needed first.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/dagster_home
export CORPUSGOV_CONFIG ?= $(CURDIR)/corpusgov.yaml

.PHONY: install browser postgres run test test-fast lint bench clean

install: $(VENV)/.installed

# torch first and pinned: 2.13.0 is the CPU wheel on disk; anything looser pulls a CUDA build.
# unstructured-inference goes in with --no-deps: partition_pdf(strategy="fast") imports it, but its
# timm -> torchvision dependency breaks transformers beside the CPU torch (measured: transformers then fails to import).
$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found). Set PYTHON=/path/to/python3.11."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,deploy]'
	$(BIN)/python -m pip install --quiet --no-deps unstructured-inference==1.6.14
	touch $@

run: install
	$(BIN)/corpusgov serve --port 3000

# The browser test drives Debian's Chromium: installed here when missing and this is root with
# apt; elsewhere install the `chromium` package yourself, or that one test is skipped.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }; } || \
		echo "Chromium is not installed (apt-get install chromium): the browser test will be skipped."

# The deployment test starts a throwaway PostgreSQL cluster from Debian's server binaries:
# installed here when missing and this is root with apt; elsewhere that one test is skipped.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -q postgresql >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }; }; } || \
		echo "PostgreSQL is not installed (apt-get install postgresql): the deployment test will be skipped."

# Everything, as CI runs it: the real model, Dagster runs, servers and kill loops included.
test: install browser postgres
	$(BIN)/python -m pytest -q -m ""

# The inner loop, under 3 minutes on 2 cores: the default selection of pyproject.toml (no real
# model, no Dagster run, no server, no kill loop), still touching every module, on every core.
test-fast: install
	$(BIN)/python -m pytest -q -n auto --maxprocesses 8 --dist worksteal

# Lint, format, types and floors: ruff (rules pinned in pyproject.toml), ruff format, mypy, and the
# import floors of pipelines/README.md (tests/test_import_layers.py); .ci/run runs it before the tests.
lint: install
	$(BIN)/ruff check pipelines contracts corpus_quality evals tests bench examples
	$(BIN)/ruff format --check pipelines contracts corpus_quality evals tests bench examples
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_import_layers.py

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf data dagster_home/storage dagster_home/logs dagster_home/history dagster_home/schedules dagster_home/.telemetry
