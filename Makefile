# Each target sets itself up from a fresh clone: it creates .venv and installs what it needs.
# Another interpreter gets a venv of its own: make test PYTHON=python3.13 VENV=.venv-3.13
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
AS_OF ?= $(shell date +%F)
OUT ?= out
PYTEST_ARGS ?=

.PHONY: demo test test-core typecheck bench schemas cel-parser clean chromium backstage-validators monitoring-tools postgresql neovim venv-python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q svcascode  # bytecode even where PYTHONDONTWRITEBYTECODE is set
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q svcascode
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	@echo "== svcascode validate (the example catalogue in services/ and policies/)"
	$(BIN)/svcascode validate
	@echo
	@echo "== svcascode check (every control, as of $(AS_OF); the catalogue has deliberate gaps, so it exits 1)"
	@mkdir -p $(OUT)
	@$(BIN)/svcascode check --as-of $(AS_OF) --format sarif --output $(OUT)/findings.sarif; \
		$(BIN)/svcascode check --as-of $(AS_OF) --format markdown --output $(OUT)/findings.md; \
		$(BIN)/svcascode check --as-of $(AS_OF); status=$$?; \
		if [ $$status -gt 1 ]; then exit $$status; fi
	@echo
	@echo "== svcascode render catalogue and render report (as of $(AS_OF))"
	$(BIN)/svcascode render catalogue --out $(OUT)/catalogue --as-of $(AS_OF)
	$(BIN)/svcascode render report --out $(OUT)/report --as-of $(AS_OF) --format html --format md --format json --format oscal
	$(BIN)/svcascode generate prometheus --out $(OUT)/monitoring/prometheus --as-of $(AS_OF)
	$(BIN)/svcascode generate alertmanager --out $(OUT)/monitoring/alertmanager --as-of $(AS_OF)
	@echo
	@echo "== svcascode sla review (the year to $(AS_OF); breaches make it exit 1)"
	@for fmt in html markdown; do $(BIN)/svcascode sla review --period $$(echo $(AS_OF) | cut -c1-4)-01..$$(echo $(AS_OF) | cut -c1-7) \
		--as-of $(AS_OF) --format $$fmt --output $(OUT)/service-review.$$( [ $$fmt = html ] && echo html || echo md); \
		status=$$?; if [ $$status -gt 1 ]; then exit $$status; fi; done
	@$(BIN)/svcascode sla attainment --period $$(echo $(AS_OF) | cut -c1-7) --as-of $(AS_OF); status=$$?; \
		if [ $$status -gt 1 ]; then exit $$status; fi
	@echo
	@echo "== svcascode forecast (the findings that will open in the next 90 days, one calendar per team)"
	$(BIN)/svcascode forecast --as-of $(AS_OF) --days 90 --format markdown --output $(OUT)/deadlines.md --ical $(OUT)/calendars
	@echo
	@echo "outputs:"
	@echo "  catalogue site:    file://$(abspath $(OUT))/catalogue/index.html"
	@echo "  compliance report: file://$(abspath $(OUT))/report/report.html"
	@echo "  OSCAL results:     $(abspath $(OUT))/report/assessment-results.json"
	@echo "  findings (SARIF):  $(abspath $(OUT))/findings.sarif"
	@echo "  PR comment (md):   $(abspath $(OUT))/findings.md"
	@echo "  monitoring:        $(abspath $(OUT))/monitoring/ (Prometheus rules, Alertmanager routes and mutes)"
	@echo "  service review:    file://$(abspath $(OUT))/service-review.html"
	@echo "  deadlines (md):    $(abspath $(OUT))/deadlines.md"
	@echo "  calendars (ics):   $(abspath $(OUT))/calendars/ (one per team)"

# Debian's chromium for the rendering tests in a real browser (they skip, saying why, without it)
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium could not be installed: the browser tests will be skipped"

# Backstage's own entity validators (@backstage/catalog-model, pinned in tests/node/package-lock.json) for
# the export tests; they skip, saying why, without node
backstage-validators:
	@test -f tests/node/node_modules/.package-lock.json || { command -v npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }; \
		npm ci --prefix tests/node --no-audit --no-fund --loglevel=error >/dev/null; } \
		|| echo "@backstage/catalog-model could not be installed: the Backstage validation tests will be skipped"

# Debian's promtool and amtool for the monitoring tests (they skip, saying why, without them)
monitoring-tools:
	@{ command -v promtool >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1; } \
		|| { apt-get update -qq && apt-get install -y -qq prometheus prometheus-alertmanager >/dev/null; } \
		|| echo "prometheus and prometheus-alertmanager could not be installed: the promtool and amtool tests will be skipped"

# Debian's PostgreSQL server binaries for the ledger's tests against a real server: each test session starts a
# throwaway cluster in a temporary folder (tests/postgres_server.py); the tests skip, saying why, without them
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } \
		|| echo "postgresql could not be installed: the ledger's PostgreSQL tests will be skipped"

# Debian's neovim for the end-to-end test of `svcascode lsp` in a real editor (it skips, saying why, without it)
neovim:
	@command -v nvim >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq neovim >/dev/null; } \
		|| echo "neovim could not be installed: the editor test of the language server will be skipped"

# The venv must be of the interpreter asked for: PYTHON=python3.13 with the default .venv of another version
# would otherwise test that other version
venv-python: | $(BIN)/python
	@want=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])') && \
		have=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') && \
		if [ "$$want" != "$$have" ]; then \
			echo "$(VENV) is a Python $$have venv, but PYTHON=$(PYTHON) is Python $$want: give it a venv of its own," \
				"e.g. make test PYTHON=$(PYTHON) VENV=.venv-$$want" >&2; exit 2; fi

# mypy --strict over the package, configured in pyproject.toml ([tool.mypy]), and the import contracts
# ([tool.importlinter]); part of `make test`
typecheck: venv-python $(VENV)/.installed-test
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The whole suite on every core, the real consumers of the outputs included (Chromium, node, promtool, amtool,
# compliance-trestle, pre-commit, pip installs, a PostgreSQL server); the 15 slowest tests are listed at the end
PYTEST_RUN = $(BIN)/python -m pytest -n auto --dist worksteal --durations=15
test: venv-python $(VENV)/.installed-test chromium backstage-validators monitoring-tools postgresql neovim typecheck
	$(PYTEST_RUN) $(PYTEST_ARGS)

# The core suite without the consumer tests (marked `consumer`), which need run only once per CI run:
# what .ci/run runs on the other supported Pythons
test-core: venv-python $(VENV)/.installed-test
	$(PYTEST_RUN) -m "not consumer" $(PYTEST_ARGS)

# The fuzz harness of `make test` (tests/test_fuzz.py) and the comparison of compiled and interpreted CEL on
# generated expressions (tests/test_celeval.py) run much longer, with random seeds; failing examples are
# kept in .hypothesis/ and replayed first next time. FUZZ_CATEGORIES=all includes the categories still failing
.PHONY: fuzz
FUZZ_EXAMPLES ?= 2000
fuzz: $(VENV)/.installed-test
	SVCASCODE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SVCASCODE_FUZZ_RANDOM=1 SVCASCODE_FUZZ_CATEGORIES=$(FUZZ_CATEGORIES) \
		$(BIN)/python -m pytest tests/test_fuzz.py tests/test_celeval.py $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/bench_lsp.py

schemas: $(VENV)/.installed
	$(BIN)/svcascode schema --write

# CEL's parse table, saved from the installed lark and cel-python (svcascode/celgrammar.py): after either changes
cel-parser: $(VENV)/.installed
	$(BIN)/python -m svcascode.celgrammar

clean:
	rm -rf $(VENV) $(OUT) .svcascode-cache .pytest_cache .mypy_cache build
