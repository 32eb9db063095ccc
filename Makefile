# The two commands a newcomer needs:  `make run`  and  `make test`.
# Both create .venv and install the project into it on first use, with every dependency
# at the version pinned in constraints.txt (the versions the suite was last green with).
# `make lock` refreshes constraints.txt.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := constraints.txt
# Every extra declared in pyproject.toml (dev, and any added later): installed and locked.
EXTRAS := $(shell $(PY) -c "import tomllib; print(','.join(tomllib.load(open('pyproject.toml', 'rb'))['project'].get('optional-dependencies', {})))")

.PHONY: run test lint bench clean chromium lock

$(STAMP): pyproject.toml $(LOCK)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c $(LOCK) --upgrade pip setuptools
	# every extra, zoo included: the real libraries on trial (tests/zoo)
	$(BIN)/python -m pip install -q -c $(LOCK) -e '.[$(EXTRAS)]'
	$(BIN)/python .ci/check_lock.py $(LOCK)
	touch $(STAMP)

## Re-resolve every dependency and extra afresh in a scratch venv and pin what it got.
lock:
	rm -rf .lock-venv
	$(PY) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip setuptools wheel
	.lock-venv/bin/python -m pip install -q '.[$(EXTRAS)]'
	{ echo "# The versions \`make run\` and \`make test\` install (pip -c $(LOCK)); refresh: make lock"; \
	  echo "# Resolved with extras [$(EXTRAS)] on $$(.lock-venv/bin/python -c 'import platform; print(platform.python_implementation(), platform.python_version(), platform.machine())')."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude qharness; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .lock-venv build
	@echo "$(LOCK): $$(grep -c '==' $(LOCK)) pinned packages"

## The main job: naive vs safe under the note's own tests, one side-by-side race report.
run: $(STAMP)
	$(BIN)/harness compare

## The whole test suite, in parallel, against real Redis/HTTP/Locust/Chromium.
test: $(STAMP) chromium
	$(BIN)/python -m pytest -n auto -q

# The report-rendering test drives Debian's headless chromium; install it when we can.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (report rendering test)"; \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) || \
	    echo "could not install chromium: the rendering test will say so"; \
	  else echo "chromium not found and not root: the rendering test will be skipped"; fi; }

## Style, types, and the layer contracts of pyproject.toml [tool.importlinter].
lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .lock-venv .pytest_cache .mypy_cache .ruff_cache
