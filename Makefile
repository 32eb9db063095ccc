# The two commands a newcomer needs:  `make run`  and  `make test`.
# Both create .venv and install the project into it on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean chromium

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,zoo]'  # zoo: the real libraries on trial (tests/zoo)
	touch $(STAMP)

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
