# knotball: every target installs what it needs (Python 3.11+ is all a machine must have).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
STUBS := $(VENV)/mpy-stubs
DEMO_TRACE := host_tools/knotball/data/demo_session.csv

.PHONY: venv demo demo-sim test bench lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "knotball needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# ESP32 type stubs live apart from the venv's site-packages: they would shadow the host's
# own stdlib stubs when type-checking host code. Order-only on the venv: a pyproject.toml edit
# reinstalls the project, not the stubs (pip --target would only warn that they exist).
$(STUBS)/.stamp: | $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --target $(STUBS) micropython-esp32-stubs
	@touch $@

# The whole job on a virtual ball: flash, live, pull, report (about 30 s).
demo: venv
	$(BIN)/knotball demo

# The bundled session replayed through the firmware as a timeline (no virtual ball).
demo-sim: venv
	$(BIN)/knotball sim $(DEMO_TRACE)

# The page's browser tests need Chromium, the report's PDF tests poppler-utils (pdftoppm,
# pdftotext): installed here when running as root (CI), failing soft; without them pytest
# deselects those tests and says so in its last lines.
test: venv
	@need=""; \
	[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || need="chromium chromium-driver"; \
	command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null || need="$$need poppler-utils"; \
	if [ -n "$$need" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo installing $$need for the browser and PDF tests; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need) \
	    >/dev/null 2>&1 || echo "$$need: not installed"; \
	fi
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python tests/bench.py

lint: venv $(STUBS)/.stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tests/lint_firmware.py $(STUBS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
