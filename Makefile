# radlib compendium. `make all` regenerates every figure and table; `make test` checks everything.
# Profiles: PROFILE=smoke (about 3 min), quick, full (default). Type `make help` for all targets.

PROFILE ?= full
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUILD := build/$(PROFILE)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
EXECUTED := $(patsubst notebooks/%,$(BUILD)/%,$(NOTEBOOKS))
RADLIB_SOURCES := $(shell find radlib -name '*.py' -o -name '*.yaml')

# Notebooks run one after another: later stages read what earlier ones wrote.
.NOTPARALLEL:
.DEFAULT_GOAL := help
.PHONY: help all test lab clean venv bench-generators

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'
	@echo "  variables: PROFILE=smoke|quick|full (default full)"

venv: $(STAMP) ## create .venv with the pinned environment (done on first use by every target)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

all: $(EXECUTED) ## execute the numbered notebooks with papermill for PROFILE; figures to figures/PROFILE/

$(BUILD)/%.ipynb: notebooks/%.ipynb $(RADLIB_SOURCES) $(STAMP)
	@mkdir -p $(BUILD)
	$(VENV)/bin/papermill --cwd notebooks -k python3 --log-level WARNING $< $@.partial -p profile $(PROFILE)
	mv $@.partial $@

test: $(STAMP) ## run the unit tests and execute every notebook (nbval, smoke profile)
	$(PY) -m pytest tests notebooks --nbval-lax -p no:cacheprovider

lab: $(STAMP) ## start JupyterLab on notebooks/ with the project's environment
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench-generators: $(STAMP) ## benchmark the generators (seconds, memory, sample quality) on three datasets
	$(PY) benchmarks/bench_generators.py

clean: ## remove generated outputs (build/, interim and processed data, figures, results); keeps data/raw
	rm -rf build data/interim/*/ data/processed/*/ figures/*/ results/*/
