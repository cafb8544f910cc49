# Everything a fresh machine needs: Python 3.11 and make. `make run` and `make test` set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,postgres]'
	touch $(STAMP)

.PHONY: install run test bench
install: $(STAMP)

run: $(STAMP)
	$(BIN)/tracker run --subscribe compliance-team@example.org

# PostgreSQL tests run when a server answers on 127.0.0.1:5432 (or TRACKER_TEST_POSTGRES_URL is set).
PG_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test
test: $(STAMP)
	@if [ -z "$$TRACKER_TEST_POSTGRES_URL" ] && command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then \
		echo "PostgreSQL found on 127.0.0.1:5432: the suite runs on SQLite and PostgreSQL"; \
		export TRACKER_TEST_POSTGRES_URL=$(PG_URL); \
	fi; \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench
