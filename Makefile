# Everything a fresh machine needs: Python 3.11 and make. `make run` and `make test` set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NEW_ENOUGH := -c 'import sys; sys.exit(sys.version_info < (3, 11))'

$(STAMP): pyproject.toml
	@$(PYTHON) $(NEW_ENOUGH) 2>/dev/null || { echo "the tracker needs Python 3.11+; $(PYTHON) is $$($(PYTHON) --version 2>&1); try make PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,postgres]'
	touch $(STAMP)

.PHONY: install run test lint bench venv-check fuzz browser-deps
# A .venv made by an older Python (3.10 is the default on some systems), or whose Python is gone,
# is rebuilt instead of failing on every run. A sub-make then looks at the stamp afresh.
venv-check:
	@if [ -d $(VENV) ] && ! $(BIN)/python $(NEW_ENOUGH) >/dev/null 2>&1; then \
		echo "$(VENV) was made by $$($(BIN)/python --version 2>/dev/null || echo a Python that is gone); rebuilding it"; \
		rm -rf $(VENV); \
	fi
	@$(MAKE) --no-print-directory $(STAMP)

install: venv-check

run: venv-check
	$(BIN)/tracker run --subscribe compliance-team@example.org

# PostgreSQL tests run when a server answers on 127.0.0.1:5432 (or TRACKER_TEST_POSTGRES_URL is set).
PG_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test
# The browser tests drive the system's Chromium (Debian packages): installed here where we are root
# with apt-get; anywhere else those tests skip, each with a one-line reason.
BROWSER_PKGS := chromium chromium-driver fonts-noto-cjk
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing $(BROWSER_PKGS) for the browser tests"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PKGS) >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PKGS) >/dev/null 2>&1; }; } || \
		echo "could not install $(BROWSER_PKGS): the browser tests will skip"; \
	else \
		echo "no chromium here and no root apt-get to install it: the browser tests will skip"; \
	fi

test: venv-check browser-deps
	@if [ -z "$$TRACKER_TEST_POSTGRES_URL" ] && command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then \
		echo "PostgreSQL found on 127.0.0.1:5432: the suite runs on SQLite and PostgreSQL"; \
		export TRACKER_TEST_POSTGRES_URL=$(PG_URL); \
	fi; \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (pyproject.toml [tool.ruff]) and mypy strict over the package, its tests and the benchmarks; .ci/run runs it first.
lint: venv-check
	$(BIN)/ruff check tracker tests bench migrations
	$(BIN)/python -m mypy tracker tests bench

bench: venv-check
	$(BIN)/python -m bench

# The CLI fuzz test of tests/cli/test_fuzz.py, longer than in the suite (FUZZ_EXAMPLES generated invocations).
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	TRACKER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/cli/test_fuzz.py -q -p no:cacheprovider
