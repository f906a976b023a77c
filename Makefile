# Quick start: `make demo` and `make test`; both create .venv when missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean bench docs lock fuzz bytecode

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (set PY=python3 to use another)"; exit 1; }
	$(PY) -m venv $(VENV)

# Every install is pinned by constraints.txt (PIP_CONSTRAINT also reaches pip's isolated build
# environment), so a fresh machine gets the versions CI tested. `make lock` refreshes the pins.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	PIP_CONSTRAINT=constraints.txt $(BIN)/python -m pip install -q pip
	PIP_CONSTRAINT=constraints.txt $(BIN)/python -m pip install -q -e '.[dev]'
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

# The package's bytecode, written once: where PYTHONDONTWRITEBYTECODE is set (as on our CI
# machines) Python still reads it but never writes it, and every command would compile qrules'
# modules from source again (measured: `qrules check` 1.3-1.9 s -> 0.5-0.65 s on a loaded machine).
bytecode:
	$(BIN)/python -m compileall -q qrules

# Re-resolve the newest versions pyproject.toml allows in a scratch venv and write them to
# constraints.txt; review the diff, then run `make test` before committing it.
lock:
	rm -rf .lock-venv && $(PY) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip setuptools wheel
	.lock-venv/bin/python -m pip install -q -e '.[dev]'
	{ sed -n '1,2p' constraints.txt; .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^[#-]'; \
	  .lock-venv/bin/python -m pip list --format=freeze | grep -iE '^(pip|setuptools|wheel)=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .lock-venv

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/qrules check rulesets/guangdong-2021.yaml rulesets/haojiang-2023.yaml
	@# The example plants bad records on purpose: they are reported and evaluate exits 1.
	$(BIN)/qrules evaluate rulesets/haojiang-2023.yaml examples/haojiang-history.yaml --as-of 2025-12-31; test $$? -le 1
	$(BIN)/qrules plan rulesets/haojiang-2023.yaml examples/haojiang-history.yaml --year 2025; test $$? -le 1
	@echo "Pages in Chinese and the HTTP API: $(BIN)/qrules serve --history examples/haojiang-history.yaml --as-of 2025-12-31, then open http://127.0.0.1:8000/ (docs/guide/serve.md)"

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/qrules test rulesets/tests --require-full-coverage
	$(BIN)/qrules --allow-path rulesets test tests/data/changes/cases
	$(MAKE) docs

# NO_MKDOCS_2_WARNING: silence mkdocs-material's banner about its successor (docs/site.md).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The long fuzz run (docs/security.md): many more generated expressions and history records
# than `make test` tries, then the time each case of the bad-input corpus takes.
fuzz: $(STAMP)
	QRULES_FUZZ_EXAMPLES=20000 $(BIN)/python -m pytest tests/test_fuzz.py -q
	$(BIN)/python tests/test_bad_inputs.py "$$(mktemp -d)" --times

bench: $(STAMP) bytecode
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .site .site-artifacts build *.egg-info
