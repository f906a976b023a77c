# Quick start: `make demo` and `make test`; both create .venv when missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean bench docs

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (set PY=python3 to use another)"; exit 1; }
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/qrules check rulesets/guangdong-2021.yaml rulesets/haojiang-2023.yaml
	@# The example plants bad records on purpose: they are reported and evaluate exits 1.
	$(BIN)/qrules evaluate rulesets/haojiang-2023.yaml examples/haojiang-history.yaml --as-of 2025-12-31; test $$? -le 1

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/qrules test rulesets/tests --require-full-coverage
	$(MAKE) docs

docs: $(STAMP)
	$(BIN)/python docs/gen_reference.py
	$(BIN)/mkdocs build --strict --quiet --site-dir .site

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .site build *.egg-info
