# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install catalogs extract model run test check eval bench clean axe

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Compile the gettext catalogs (.po -> .mo); the .mo files are built, never committed.
catalogs: install
	$(BIN)/pybabel compile -d locales -D messages --statistics 2>&1 | sed 's/^/  /'

# After changing interface text in bot/: refresh the template and the translations.
extract: install
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output \
	  --project=helpline --copyright-holder="Helpline contributors" \
	  -o locales/messages.pot bot
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching

# Fit the understanding model on content/**/examples.yaml (cached in instance/models,
# keyed by the examples' hash) and measure it: cross-validated, and on the held-back texts.
model: install
	$(BIN)/helpline model

run: catalogs
	@$(BIN)/helpline model --fit
	$(BIN)/helpline serve --dev --host 127.0.0.1 --port 5000

test: catalogs axe
	$(BIN)/python -m pytest

# axe-core (npm) for the browser test's accessibility audit, pinned in tests/package-lock.json.
AXE := tests/node_modules/axe-core/axe.min.js
axe:
	@if [ ! -f $(AXE) ] || [ tests/package-lock.json -nt $(AXE) ]; then \
	  if command -v npm >/dev/null; then \
	    npm ci --prefix tests --no-audit --no-fund --loglevel=error && touch $(AXE); \
	  else \
	    echo "npm is missing: the accessibility audit skips (fails with HELPLINE_REQUIRE_BROWSER=1)"; \
	  fi; \
	fi

check: catalogs
	$(BIN)/helpline check

eval: install
	$(BIN)/python tests/score.py tests/data/dev.jsonl -- $(BIN)/helpline classify

# Speed and cost, side by side (not part of `make test`): writes results.md, results.json
# and latency.png to instance/bench/ (untracked); `make bench RECORD=1` writes them to
# bench/, the committed results. Needs wrk (installed here when root on Debian).
bench: catalogs $(VENV)/.bench-installed
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing wrk (apt-get)"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "make bench needs wrk, the HTTP load generator: sudo apt-get install wrk"; exit 1; \
	  fi; }
	$(BIN)/python -m bench.run $(if $(RECORD),--record)

$(VENV)/.bench-installed: pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

clean:
	rm -rf $(VENV) locales/*/LC_MESSAGES/*.mo instance/models tests/node_modules
