# radlib compendium. `make all` regenerates every figure and table; `make test` checks everything.
# Profiles: PROFILE=smoke (about 3 min), quick, full (default). Type `make help` for all targets.

PROFILE ?= full
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUFF := $(VENV)/bin/ruff
STAMP := $(VENV)/.installed
BUILD := build/$(PROFILE)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# Notebook 05 runs three times: logistic regression, random forest, and the sensitivity subset.
VARIANTS := $(BUILD)/05_ecological_fallacy_rf_all.ipynb $(BUILD)/05_ecological_fallacy_logreg_sensitivity.ipynb
EXECUTED := $(patsubst notebooks/%,$(BUILD)/%,$(NOTEBOOKS)) $(VARIANTS)
PAPERMILL := $(VENV)/bin/papermill --cwd notebooks -k python3 --log-level WARNING
RADLIB_SOURCES := $(shell find radlib -name '*.py' -o -name '*.yaml')

# Notebooks run one after another: later stages read what earlier ones wrote.
.NOTPARALLEL:
.DEFAULT_GOAL := help
.PHONY: help all test test-fast lint lab clean venv bench bench-generators grid report

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
ifeq ($(PROFILE),full)
	$(PY) -c "from radlib.report import embed_summary; embed_summary('README.md', 'results/full/summary.md')"
endif

$(BUILD)/%.ipynb: notebooks/%.ipynb $(RADLIB_SOURCES) $(STAMP)
	@mkdir -p $(BUILD)
	$(PAPERMILL) $< $(@:.ipynb=.partial.ipynb) -p profile $(PROFILE)
	mv $(@:.ipynb=.partial.ipynb) $@

# Later stages read what earlier ones wrote: the grid (04) before the analyses (05).
$(BUILD)/05_ecological_fallacy.ipynb: $(BUILD)/04_external_validation.ipynb
$(VARIANTS): $(BUILD)/05_ecological_fallacy.ipynb

$(BUILD)/05_ecological_fallacy_rf_all.ipynb:
	$(PAPERMILL) notebooks/05_ecological_fallacy.ipynb $(@:.ipynb=.partial.ipynb) -p profile $(PROFILE) -p classifier rf
	mv $(@:.ipynb=.partial.ipynb) $@

$(BUILD)/05_ecological_fallacy_logreg_sensitivity.ipynb:
	$(PAPERMILL) notebooks/05_ecological_fallacy.ipynb $(@:.ipynb=.partial.ipynb) -p profile $(PROFILE) -p subset sensitivity
	mv $(@:.ipynb=.partial.ipynb) $@

grid: $(STAMP) ## run only the experiment grid for PROFILE (radlib run; cached and resumable)
	$(VENV)/bin/radlib run --profile $(PROFILE)

report: $(EXECUTED) ## render the executed notebooks of PROFILE to HTML in build/PROFILE/html/
	$(VENV)/bin/jupyter nbconvert --to html --output-dir $(BUILD)/html $(EXECUTED)

test: $(STAMP) ## run the unit tests and execute every notebook (nbval, smoke profile)
	$(PY) -m pytest tests notebooks --nbval-lax -p no:cacheprovider

test-fast: $(STAMP) ## run the unit tests except those marked slow, without the notebooks (a quick check while editing)
	$(PY) -m pytest tests -m "not slow" -p no:cacheprovider

lint: $(STAMP) ## check code style with ruff (lint + format) over the repository, notebooks included
	$(RUFF) check .
	$(RUFF) format --check .

lab: $(STAMP) ## start JupyterLab on notebooks/ with the project's environment
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: $(STAMP) ## benchmark the grid: tasks per minute with 1 and 2 workers, time per stage, memory
	$(PY) benchmarks/bench_grid.py

bench-generators: $(STAMP) ## benchmark the generators (seconds, memory, sample quality) on three datasets
	$(PY) benchmarks/bench_generators.py

# `clean` removes a folder of generated outputs only when git tracks no file in it, so the committed
# figures/full and results/full stay; outside a git checkout (a downloaded archive) those two are kept.
# It needs no venv.
GENERATED = build data/interim/*/ data/processed/*/ figures/*/ results/*/
COMMITTED_OUTSIDE_GIT := figures/full/ results/full/

clean: ## remove generated outputs git does not track (build/, interim and processed data, figures and results of uncommitted profiles); keeps data/raw
	@if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$$(pwd -P)" ]; then \
	  committed() { [ -n "$$(git ls-files -- "$$1" | head -n 1)" ]; }; \
	else \
	  committed() { case " $(COMMITTED_OUTSIDE_GIT) " in *" $$1 "*) true;; *) false;; esac; }; \
	fi; \
	for dir in $(wildcard $(GENERATED)); do \
	  if committed "$$dir"; then echo "keeping $$dir (committed outputs)"; else echo "rm -rf $$dir"; rm -rf "$$dir"; fi; \
	done
