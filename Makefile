# Two commands on a fresh clone: `make run` and `make test`. Each builds .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test audio clean

run: $(VENV)/.app-installed
	$(BIN)/python app.py

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

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
