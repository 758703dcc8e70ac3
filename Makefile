# Two entry points (see README): `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup tools demo lint test bench clean

setup: $(VENV)/.installed tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

tools: $(VENV)/.installed
	sh .ci/install-helm $(BIN)
	sh .ci/install-helmfile $(BIN)
	sh .ci/install-registry

demo: setup
	rm -rf build/demo
	$(BIN)/shipcard init build/demo --no-input --no-git --set project=platform
	cp examples/*.service.yaml build/demo/services/
	cd build/demo && $(CURDIR)/$(BIN)/shipcard render
	for overlay in build/demo/apps/*/overlays/*; do \
	  $(BIN)/kubectl kustomize $$overlay > /dev/null && echo "kubectl kustomize $$overlay: ok" || exit 1; \
	done
	for values in build/demo/apps/*/values/*.yaml; do \
	  env=$$(basename $$values .yaml); dir=$$(dirname $$(dirname $$values)); name=$$(basename $$dir); \
	  case $$env in common|*.custom) continue;; esac; \
	  $(BIN)/helm template $$name build/demo/charts/service --namespace $$name-$$env \
	    -f $$dir/values/common.yaml -f $$values > /dev/null \
	    && echo "helm template $$name ($$env): ok" || exit 1; \
	  (cd $$dir && $(CURDIR)/$(BIN)/helmfile --helm-binary $(CURDIR)/$(BIN)/helm3 -e $$env template > /dev/null \
	    && $(CURDIR)/$(BIN)/helmfile --helm-binary $(CURDIR)/$(BIN)/helm3 -e $$env lint > /dev/null) \
	    && echo "helmfile -e $$env template, lint ($$name): ok" || exit 1; \
	done
	cd build/demo && $(CURDIR)/$(BIN)/shipcard check

lint: setup
	$(BIN)/ruff check generator tests bench
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest -v $(PYTEST_ARGS)  # -v: every case named in the output (CI reads it)

bench: setup  # every figure of the fleet-scale table (bench/table.py); BENCH_ARGS='--cards 100 --runs 3' to try
	$(BIN)/python bench/table.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache
