# make demo  — set up .venv (if missing) and simulate two years of the cylinder-bonding line
# make test  — set up .venv (if missing) and run the test suite (the browser test skips without chromium)
# make test-browser — only the review page's end-to-end test; fails when chromium or chromedriver is missing
# make walkthrough — the data and training stage, verb by verb, on the simulator
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo-ws
SIM    ?= demo-sim

.PHONY: setup demo walkthrough test test-browser test-all bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/inspkit simulate --days 730 --out $(SIM)

walkthrough: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh $(DEMO)

test: $(STAMP)
	$(BIN)/python -m pytest

test-browser: $(STAMP)
	CI=1 $(BIN)/python -m pytest tests/maintain/test_review_browser.py

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ""

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_products.py
	$(BIN)/python benchmarks/simulate_speed.py

clean:
	rm -rf $(DEMO) $(DEMO)-incoming $(DEMO)-lineB $(SIM) .pytest_cache .hypothesis
