# marginlab — every target sets up what it needs (Python venv, npm packages, Solidity compiler) on first use.
# Set-up is incremental: stamp files keyed on the lock files make a second run reinstall nothing.
#
#   make demo              replay the example scenario on a local Ganache chain and write a report
#   make test              the whole test suite (CHAIN=anvil to run it on Anvil)
#   make test-fast         unit + engine tests only (daily work)
#   make test-engine       the Python-only tests (no chain, seconds)
#   make test-stateful     stateful invariant machines at the CI profile (>= 3,000 steps) on CHAIN
#   make fuzz              stateful invariant machines, >= 75,000 steps, one process per machine (CHAIN=anvil)
#   make compile           compile the contracts (and the peer protocols: Morpho Blue)
#   make lint              ruff and mypy over marginlab/, slither over the contracts; fails on any finding (slither: Medium+)
#   make chain             a local node that stays up (Ganache; CHAIN=anvil, PORT=8545), for deploy, cast and --rpc-url
#   make deploy            deploy the protocol (deployments/markets.yaml) on the node at RPC_URL; write an address book
#   make abi               write abi/ (plain ABIs, merged error and event signatures) from the build (make compile does)
#   make golden            re-baseline tests/golden/ (the example and incident timelines) from the current code
#   make gas               re-measure the gas table on Ganache and Anvil into bench/gas.json
#   make gas-protocols     the vault, Aave v3 and Morpho Blue side by side on Anvil into bench/gas-protocols.json
#   make bench             throughput, mining modes, cascades, cost of friction, sweep speed-up on Ganache and Anvil → bench/results.json
#   make clean             remove build output (keeps the venv and node_modules)
#   make distclean         remove everything set-up made

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
CHAIN ?= ganache
VENV := .venv
LINT_VENV := .venv-lint
STAMPS := .toolchain/stamps
PY := $(VENV)/bin/python

export PATH := $(CURDIR)/tools/bin:$(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export SOLCX_BINARY_PATH := $(CURDIR)/.toolchain/solcx
export MPLBACKEND := Agg
export PYTHONDONTWRITEBYTECODE := 1
# The scenario-engine tests start their own nodes; they follow CHAIN too.
export MARGINLAB_CHAIN := $(CHAIN)

ifeq ($(CHAIN),ganache)
BROWNIE_NETWORK := development
else ifeq ($(CHAIN),anvil)
BROWNIE_NETWORK := anvil
else ifeq ($(CHAIN),revm)
# revm runs inside the marginlab process: replays, sweeps and make bench take it (--chain revm); brownie's tests
# and the stateful machines drive a node over JSON-RPC, so make test/fuzz need CHAIN=ganache or anvil.
ifneq ($(filter test test-fast test-stateful fuzz chain deploy,$(MAKECMDGOALS)),)
$(error CHAIN=revm has no node for brownie (make test, fuzz, chain, deploy): use CHAIN=anvil; revm is for \
  marginlab replay/sweep --chain revm, make demo and make bench)
endif
BROWNIE_NETWORK := anvil
else
$(error CHAIN must be ganache, anvil or revm, not '$(CHAIN)')
endif

PYTEST_ARGS ?=
# Test paths for make test (brownie test collects everything under the first one, so a subset goes here,
# not in PYTEST_ARGS): make test TESTS="tests/unit tests/engine"
TESTS ?= tests

# make chain / make deploy: the node's port and the URL deploy talks to (by default the node make chain starts).
PORT ?= 8545
RPC_URL ?= http://127.0.0.1:$(PORT)
# Where make deploy writes its address book (default: deployments/<client>-<chain id>.json).
ADDRESS_BOOK ?=

.PHONY: help setup chromium compile abi lint test test-fast test-stateful fuzz test-engine demo chain deploy golden gas \
	gas-protocols bench clean distclean

help:
	@sed -n '4,20p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- set-up
$(STAMPS)/venv: requirements.txt pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || { echo "setup: creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	@echo "setup: installing pinned Python packages (requirements.txt)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt 2> >(grep -v "^WARNING: Location" >&2)
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . 2> >(grep -v "^WARNING: Location" >&2)
	@printf '%s\n' '# The toolchain make uses, for `source .venv/bin/activate` users (written by make setup)' \
	  'export PATH="$(CURDIR)/tools/bin:$(CURDIR)/node_modules/.bin:$$PATH"' \
	  'export SOLCX_BINARY_PATH="$(CURDIR)/.toolchain/solcx"' \
	  'export MPLBACKEND=Agg' > $(VENV)/marginlab.env
	@grep -q marginlab.env $(VENV)/bin/activate || echo '. "$(CURDIR)/$(VENV)/marginlab.env"' >> $(VENV)/bin/activate
	@touch $@

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@echo "setup: installing npm packages (package-lock.json)"
	@npm ci --no-audit --no-fund --loglevel=error 2> >(grep -v 'Unknown user config' >&2)
	@touch $@

$(STAMPS)/solc: $(STAMPS)/venv $(STAMPS)/npm brownie-config.yaml tools/provision_solc.py tools/solc/solc.js tools/solc/solc.sh
	@$(PY) tools/provision_solc.py
	@touch $@

# Headless Chromium (Debian's package, apt-get) for the HTML report test: set-up installs it when missing, and
# make test refuses to run without it rather than skip that test (tools/ensure_chromium.sh; CHROMIUM=/path overrides).
chromium:
	@tools/ensure_chromium.sh

setup: $(STAMPS)/venv $(STAMPS)/npm $(STAMPS)/solc chromium

# ---------------------------------------------------------------- build
# brownie compiles contracts/ with 0.8.24; tools/build_peers.py compiles Morpho Blue (from node_modules) and
# peers/morpho-blue/ with solc 0.8.19 into build/peers/morpho-blue/ (skipped when nothing changed).
compile: setup
	@brownie compile
	@$(PY) tools/build_peers.py
	@$(PY) tools/abi.py

# abi/: one plain ABI JSON per deployable contract and abi/signatures.json (every error and event, merged), for cast,
# web3.py and other readers; committed, and tests/toolchain/test_abi.py fails while it is not what the build gives.
abi: compile

# ---------------------------------------------------------------- static analysis
# slither in its own venv: slither-analyzer 0.11 needs web3 7, eth-brownie 1.21 pins web3 6.11. It compiles through
# the same solc as brownie (the wrapper answers --combined-json); settings and the justified filters are in
# slither.config.json, per-finding justifications next to the code (// slither-disable-next-line).
$(STAMPS)/lint-venv: requirements-lint.txt
	@mkdir -p $(STAMPS)
	@test -x $(LINT_VENV)/bin/python || { echo "setup: creating $(LINT_VENV) for slither"; $(PYTHON) -m venv $(LINT_VENV); }
	@echo "setup: installing pinned lint packages (requirements-lint.txt)"
	@$(LINT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-lint.txt 2> >(grep -v "^WARNING: Location" >&2)
	@touch $@

lint: $(STAMPS)/lint-venv $(STAMPS)/solc
	$(PY) -m ruff check marginlab
	$(PY) -m mypy
	$(LINT_VENV)/bin/slither contracts/ --config-file slither.config.json --fail-medium 2>&1 | tee .toolchain/slither.log
	@! grep "Impossible to generate IR" .toolchain/slither.log || \
	  { echo "lint: slither skipped the functions above (no IR): they were not analysed" >&2; exit 1; }

# ---------------------------------------------------------------- tests
# The whole suite on CHAIN, then the stateful machines at RELIABILITY's CI profile (>= 3,000 steps) on Anvil:
# Anvil runs them ~20x faster than Ganache (4,411 steps in ~3-6 min vs ~1.4 steps/s), which keeps make test inside its budget.
# The whole suite runs in two lanes, one per core (tools/test_lanes.sh); it is compiled first so that the two
# brownie processes only read build/. With PYTEST_ARGS or TESTS (a subset) it is one brownie run, nothing else.
ifeq ($(strip $(PYTEST_ARGS))$(strip $(TESTS)),tests)
test: compile
	@tools/ensure_chromium.sh --required
	tools/test_lanes.sh $(BROWNIE_NETWORK)
else
test: setup
	@tools/ensure_chromium.sh --required
	brownie test $(TESTS) --network $(BROWNIE_NETWORK) $(PYTEST_ARGS)
endif

test-fast: setup
	brownie test tests/unit tests/engine tests/toolchain --network $(BROWNIE_NETWORK) $(PYTEST_ARGS)

# The stateful machines at RELIABILITY's CI profile (3,000 steps) and deep profile (>= 75,000 steps).
test-stateful: setup
	MARGINLAB_FUZZ=ci brownie test tests/stateful --network $(BROWNIE_NETWORK) $(PYTEST_ARGS)

# One process per machine, FUZZ_JOBS at a time (tools/fuzz_machines.sh); one machine alone:
# MARGINLAB_FUZZ=deep brownie test tests/stateful/test_liquidations.py --network anvil
FUZZ_JOBS ?= 2
fuzz: compile
	tools/fuzz_machines.sh $(BROWNIE_NETWORK) $(FUZZ_JOBS)

test-engine: setup
	$(PY) -m pytest -p no:pytest-brownie tests/engine $(PYTEST_ARGS)

# ---------------------------------------------------------------- main job
DEMO_SCENARIO ?= scenarios/hedged-book.yaml
DEMO_OUT ?= reports/demo

demo: compile
	marginlab replay $(DEMO_SCENARIO) --compare --chain $(CHAIN) --out $(DEMO_OUT)
	@echo "report: $(DEMO_OUT)/compare.md (cross: $(DEMO_OUT)/cross/report.md, isolated: $(DEMO_OUT)/isolated/report.md); interactive: $(DEMO_OUT)/compare.html"

# A local node that stays up, in the foreground (Ctrl-C stops it): Ganache, or Anvil with CHAIN=anvil, on PORT.
chain: setup
	@$(PY) -m marginlab.node --chain $(CHAIN) --port $(PORT)

# Deploy the protocol with deployments/markets.yaml onto the node at RPC_URL (start one with make chain) and write
# an address book (deployments/<client>-<chain id>.json). No node answering: one line, exit 3, nothing written.
deploy: setup
	@marginlab deploy --rpc-url $(RPC_URL) $(if $(ADDRESS_BOOK),--out $(ADDRESS_BOOK))

# Golden timelines (tests/golden/): rewrite them only for a change of behaviour made on purpose, in a commit of
# its own that says why; tests/integration/test_golden.py compares every replay with them byte for byte.
golden: compile
	$(PY) tools/golden.py

# ---------------------------------------------------------------- performance
gas: compile
	brownie run scripts/gas_table.py --network development
	brownie run scripts/gas_table.py --network anvil

# The same account shapes (1 collateral / 1 debt, 3 collaterals / 2 debts) on the vault, Aave v3 and Morpho Blue in
# one run on Anvil, through marginlab's chain layer, with call traces of the liquidations; bench/gas.json untouched.
gas-protocols: compile
	$(PY) -m marginlab.bench.gas_protocols

# Replay throughput (N accounts × 50 steps vs the naive loop), mining modes (auto vs per-step), cascades and
# sweep speed-up (1 vs 2 workers), both chains, medians of 3 (fewer where the table says so): progress on stderr,
# the table on stdout and with every figure in bench/results.json. About 30 minutes on an idle 2-core machine.
# BENCH_QUICK=1 for a short development run; BENCH_ARGS="--chains anvil --parts replay,mining" for a subset.
# Not part of make test.
BENCH_ARGS ?=
bench: compile
	$(PY) -m marginlab.bench $(BENCH_ARGS)

# ---------------------------------------------------------------- housekeeping
clean:
	rm -rf build reports/demo

distclean: clean
	rm -rf $(VENV) $(LINT_VENV) node_modules .toolchain
