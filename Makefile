# On a fresh clone: `make demo`, `make setup`, `make run`, `make test`, `make bench`. Each builds .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run demo test test-fast lint bench audio screenshot clean

# From VONAGE_API_KEY and VONAGE_API_SECRET: the Voice application, its private key, the number, .env.
setup: $(VENV)/.app-installed
	$(BIN)/python app.py setup

run: $(VENV)/.app-installed
	$(BIN)/python app.py

# The whole call against a local Voice API that behaves like Vonage: no account, no network.
# Options: make demo ARGS="--stream-seconds 8 --callee-hangs-up-after 3 --signed"
demo: $(VENV)/.test-installed
	$(BIN)/python -m tools.demo $(ARGS)

# The suite starts app.py and the demo some sixty times; with PYTHONDONTWRITEBYTECODE set (as on
# CI) each would compile every module again. Compiled once here, they start as on a laptop.
test: $(VENV)/.test-installed
	$(BIN)/python -m compileall -q app.py stream_audio tools > /dev/null
	$(BIN)/python -m pytest

# The unit tests alone (tests/unit): the call logic on a fake clock, the settings, in seconds.
# One process: starting pytest-xdist's workers would take longer than the tests.
test-fast: $(VENV)/.test-installed
	$(BIN)/python -m pytest tests/unit -n 0

# ruff's lint rules and formatting, as CI checks them before the tests.
lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Starts the app and the Voice API stand-in, drives the loads of issue 4 and prints a table.
bench: $(VENV)/.test-installed
	$(BIN)/python -m bench.bench

# docs/call-page.png from the real page mid-call, in Debian's Chromium (apt-get install chromium).
screenshot: $(VENV)/.test-installed
	$(BIN)/python -m tools.screenshot

# Rebuild public/music.mp3 and public/silence.mp3 from the synthesiser in tools/.
audio: $(VENV)/.test-installed
	$(BIN)/python tools/make_audio.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.app-installed

clean:
	rm -rf $(VENV) .pytest_cache
