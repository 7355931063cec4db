# sovereign.stack: the two commands of the README quick start, and the stages behind them.
#   make demo   plan the example fleet and converge site.yml onto one local Debian container
#   make test   every gate: lint, sanity, unit, integration, molecule and the benchmark smokes
#   make docs   regenerate docs/inventory-reference.md from the argument specs
#   make venv   the pinned tool chain in .venv/ (every other target creates it on first use)
#   make plan   plan inventories/example into plan-output/ without touching any host
# Smaller targets for daily work: make fast (lint + unit), make lint, make unit, make molecule,
#   make accuracy (the planner against published measurements), make catalog-age (pins behind
#   their package index; the maintainer's monthly step, docs/operations.md).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Keyed on every requirements file the test venv reads (test.txt includes the gateway's).
REQUIREMENTS := requirements/test.txt roles/mcp_gateway/files/requirements.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQUIREMENTS) | sha256sum | cut -c1-12)
STAGE := tests/harness/stage.sh
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Every folder under molecule/ is a scenario (molecule/_shared is not one). They run in
# MOLECULE_JOBS lanes (tests/harness/molecule-lanes.sh), the longest first, then the rest by name.
# site (the multi-host fleet, 38 min on a loaded 2-core machine) runs by name only: in `make test`
# it would bring the whole run near CI's 60-minute budget (docs/testing.md). make molecule SCENARIOS=site
# fleet, in `make test`, runs site's playbooks on a smaller fleet without the check and rerun steps.
OPT_IN_SCENARIOS := site
ALL_SCENARIOS := $(sort $(filter-out _shared $(OPT_IN_SCENARIOS),$(notdir $(wildcard molecule/*))))
LONGEST_SCENARIOS := $(filter $(ALL_SCENARIOS),fleet baseline agent_layer firewall tailscale backup opa)
SCENARIOS ?= $(LONGEST_SCENARIOS) $(filter-out $(LONGEST_SCENARIOS),$(ALL_SCENARIOS))
MOLECULE_JOBS ?= 2
# Unit test processes (pytest-xdist), one per core; a test file stays in one process, so its
# module-scoped fixtures (a playbook run, a gateway) are made once.
UNIT_WORKERS ?= auto

.PHONY: help venv docs lint sanity unit integration molecule images opa docker test fast demo plan bench accuracy \
  catalog-age clean

help:
	@sed -n '2,9p' Makefile

venv: $(STAMP) .build/collections/ansible_collections/sovereign/stack

$(STAMP): $(REQUIREMENTS)
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; \
	  else echo "Python's venv module is missing: install python3-venv and rerun." >&2; exit 1; fi; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/test.txt
	rm -f $(VENV)/.installed-*
	touch $@

.build/collections/ansible_collections/sovereign/stack:
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

docker:
	@tests/harness/ensure-docker.sh

images: docker
	@tests/harness/base-image.sh bookworm
	@tests/harness/base-image.sh trixie

# The real OPA 1.4.2, built once per recipe from Debian sid's source package (shared apt cache).
opa: docker
	@tests/harness/build-opa.sh >/dev/null

docs: venv
	$(BIN)/python docs/dev/gen_inventory_reference.py

lint: venv
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Package mode: mypy follows our own imports between plugins instead of treating them as Any.
	MYPYPATH=.build/collections $(BIN)/mypy -p ansible_collections.sovereign.stack.plugins.plugin_utils \
	  -p ansible_collections.sovereign.stack.plugins.action -p ansible_collections.sovereign.stack.plugins.filter \
	  -p ansible_collections.sovereign.stack.plugins.test -p ansible_collections.sovereign.stack.plugins.modules \
	  -p ansible_collections.sovereign.stack.plugins.module_utils -p ansible_collections.sovereign.stack.plugins.doc_fragments
	@# The gateway is a service of its own (roles/mcp_gateway/files), checked with its tests.
	MYPYPATH=roles/mcp_gateway/files $(BIN)/mypy --strict roles/mcp_gateway/files/sovereign_mcp_gateway \
	  tests/unit/mcp_gateway tests/benchmarks/bench_gateway.py
	@# The fleet router is a service of its own too (roles/fleet_router/files), with its stand-in engine.
	MYPYPATH=roles/fleet_router/files:tests/unit/fleet_router $(BIN)/mypy --strict roles/fleet_router/files/sovereign_fleet_router \
	  tests/unit/fleet_router tests/benchmarks/bench_fleet_router.py tests/standins/fake_openai_backend.py
	$(BIN)/mypy --strict roles/backup/files/sovereign_backup.py roles/health_probe/files/sovereign_health_probe.py \
	  tests/unit/backup tests/unit/health_probe
	$(BIN)/mypy --strict roles/tailscale/files/usr/local/libexec/sovereign_tailnet_address_wait.py \
	  tests/standins/tailscale_standin tests/unit/roles/test_tailscale_address_wait.py tests/unit/roles/test_tailscale_standin.py
	$(BIN)/mypy --strict roles/baseline/files/usr/local/libexec/sovereign_ssh_tailnet_listen.py \
	  tests/unit/roles/test_baseline_ssh_tailnet_listen.py
	$(BIN)/mypy --strict docs/dev/gen_inventory_reference.py tests/unit/docs tests/harness/demo.py tests/harness/demo_mcp_call.py \
	  tests/harness/catalog_age.py
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint

sanity: venv
	tests/harness/sanity.sh

unit: venv
	@tests/harness/ensure-host-tools.sh
	$(BIN)/pytest -q -n $(UNIT_WORKERS) --dist loadfile -m "not integration" tests/unit --junitxml=.build/junit-unit.xml

integration: venv docker opa
	$(BIN)/pytest -q -m integration tests/integration --junitxml=.build/junit-integration.xml
	@# The gateway's real-OPA corpus lives beside its other tests (their conftest is its own, hence a
	@# second run) and runs here, once OPA is built.
	$(BIN)/pytest -q -m integration tests/unit/mcp_gateway --junitxml=.build/junit-gateway-opa.xml

molecule: venv images
	@# The controller's tools the scenarios use (mkcert for the TLS proxy's CA, npm for the gateway's
	@# filesystem server): `make molecule` alone on a fresh machine needs them too.
	@tests/harness/ensure-host-tools.sh
	@MOLECULE_JOBS=$(MOLECULE_JOBS) MOLECULE_BIN=$(BIN)/molecule tests/harness/molecule-lanes.sh $(SCENARIOS)

bench: venv
	$(BIN)/python tests/benchmarks/bench_plan.py

# The planner against published ground truth: decode speed (leave-one-source-out first, then
# in-sample) and GGUF weight sizes (docs/planner.md).
accuracy: venv
	$(BIN)/python tests/benchmarks/decode_accuracy.py
	$(BIN)/python tests/benchmarks/weights_accuracy.py

# Every pinned engine, artifact and wheel against its package index (asked by name only): exit 1
# when a newer release has been out for more than CATALOG_MAX_AGE_DAYS, 2 when no index answered.
CATALOG_MAX_AGE_DAYS ?= 183
catalog-age: venv
	$(BIN)/python tests/harness/catalog_age.py --max-age-days $(CATALOG_MAX_AGE_DAYS)

test:
	@rm -f .build/stage-times.txt .build/junit-*.xml
	@$(STAGE) venv $(MAKE) --no-print-directory venv
	@# The host's apt installs first (the Docker engine and debootstrap, then the controller's tools),
	@# so that nothing below waits on apt's lock. Then three chains at the same time: lint and sanity
	@# keep about one core busy each, unit 1.5 on average, and a fresh machine's image and OPA builds
	@# wait mostly on the network (tests/harness/stages-together.sh has the figures).
	@$(STAGE) docker $(MAKE) --no-print-directory docker
	@$(STAGE) host-tools tests/harness/ensure-host-tools.sh
	@MAKE=$(MAKE) tests/harness/stages-together.sh lint+unit sanity images+opa
	@$(STAGE) integration $(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory molecule
	@$(STAGE) bench-smoke $(BIN)/python tests/benchmarks/bench_plan.py --smoke
	@$(STAGE) bench-gateway-smoke $(BIN)/python tests/benchmarks/bench_gateway.py --smoke
	@$(STAGE) bench-fleet-router-smoke $(BIN)/python tests/benchmarks/bench_fleet_router.py --smoke
	@# A report, not a gate: an aged pin or an unreachable index is printed and the run goes on.
	@$(STAGE) catalog-age $(MAKE) --no-print-directory catalog-age \
	  || echo "==> [catalog-age] report only: see docs/operations.md (monthly step) to move the pins"
	@echo "==> stage times"; cat .build/stage-times.txt
	@$(BIN)/python tests/harness/junit_totals.py .build/junit-unit.xml .build/junit-integration.xml \
	  .build/junit-gateway-opa.xml

fast: lint unit

plan: venv
	$(BIN)/ansible-playbook -i inventories/example playbooks/plan.yml

demo: venv docker
	@tests/harness/ensure-host-tools.sh
	$(BIN)/python tests/harness/demo.py

clean:
	rm -rf .build tests/output .pytest_cache .mypy_cache .ruff_cache plan-output
