# Skillmark. The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export LMS_INSTANCE_DIR ?= $(CURDIR)/instance
# Pytest workers: pytest-xdist's "auto" (one per core).
TEST_WORKERS ?= auto

.PHONY: run serve serve-dev setup test test-postgres bench bench-scale lint clean help

help:
	@echo "make run    serve the demo on http://$(HOST):$(PORT) (demo accounts are printed)"
	@echo "make serve  the production setup locally: gunicorn, PostgreSQL, Redis, a job worker"
	@echo "make test   run the whole test suite (SQLite; PostgreSQL too when LMS_TEST_DATABASE_URL is set)"
	@echo "make bench  measure pages against a bare Flask hello-world"
	@echo "make bench-scale  the pages at data sizes S and L on PostgreSQL, and 200 connections"
	@echo "make lint   ruff"

# The virtual environment is rebuilt when a requirements file changes.
$(BIN)/.runtime-installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(BIN)/.dev-installed: requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(BIN)/.runtime-installed

setup: $(BIN)/.runtime-installed

run: $(BIN)/.runtime-installed
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi courses sync
	$(BIN)/flask --app wsgi demo
	@echo "Serving Skillmark on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

# The production setup on this machine: gunicorn, PostgreSQL, Redis, a job worker (deploy/serve-local.sh).
serve: $(BIN)/.runtime-installed
	BIN=$(BIN) PORT=$(PORT) deploy/serve-local.sh

test: $(BIN)/.dev-installed
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: $(BIN)/.dev-installed
	$(BIN)/python -m bench

# Issue 7's goals: the pages at sizes S and L on PostgreSQL (seeded once, kept in
# /var/tmp/skillmark-bench-scale), then 200 connections for 60 s. Needs PostgreSQL and Redis.
bench-scale: $(BIN)/.dev-installed
	$(BIN)/python -m bench.scale $(BENCH_ARGS)

lint: $(BIN)/.dev-installed
	$(BIN)/ruff check lms tests bench migrations deploy wsgi.py

clean:
	rm -rf $(VENV) .pytest_cache
