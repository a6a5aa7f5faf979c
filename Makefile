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
# Notebook 05 runs three times, each executed copy named after its analysis (<classifier>_<subset>): logistic
# regression and random forest on all datasets, logistic regression on the sensitivity subset.
FALLACY := notebooks/05_ecological_fallacy.ipynb
FALLACY_RUNS := $(foreach analysis,logreg_all rf_all logreg_sensitivity,$(BUILD)/05_ecological_fallacy_$(analysis).ipynb)
EXECUTED := $(sort $(patsubst notebooks/%,$(BUILD)/%,$(filter-out $(FALLACY),$(NOTEBOOKS))) $(FALLACY_RUNS))
# Notebooks 01-03 read the raw datasets; 04 and every later one read the records of the grid
# (radlib.notebook.load_records: the grid's output, else the committed results/PROFILE/records.parquet).
# Notebooks 08-09 read the specification curve's records: the full study's are published (by notebook 04)
# when its version-3 grids are complete (results/full/specifications/); until then the full profile's
# targets leave them out (a `make all` that publishes them runs them on its next call).
ifeq ($(PROFILE)$(wildcard results/full/specifications),full)
EXECUTED := $(filter-out $(foreach n,08_specification_curve 09_what_predicts_the_gain,$(BUILD)/$(n).ipynb),$(EXECUTED))
endif
# Notebook 09 of the full study also reads the internal-validation grid's published records: `make figures`
# (RECOMPUTE=False) leaves it out until they are committed; `make all` runs that grid first (see its rule).
ifeq ($(PROFILE)$(RECOMPUTE)$(wildcard results/full/internal/records.parquet),fullFalse)
EXECUTED := $(filter-out $(BUILD)/09_what_predicts_the_gain.ipynb,$(EXECUTED))
endif
RECORD_NOTEBOOKS := $(filter-out $(foreach n,01 02 03,$(BUILD)/$(n)_%),$(EXECUTED))
# Notebook 04 runs the grid in `make all` (finished tasks are reused); `make figures` only reads the records.
RECOMPUTE ?= True
# The executed notebooks as HTML: the full profile's are the committed report; other profiles' stay in build/.
REPORT := $(if $(filter full,$(PROFILE)),report,$(BUILD)/report)
REPORT_HTML := $(patsubst $(BUILD)/%.ipynb,$(REPORT)/%.html,$(EXECUTED))
# publish = True: the notebooks write into results/PROFILE/ and figures/PROFILE/ (run alone, they write to build/explore/).
PAPERMILL := $(VENV)/bin/papermill --cwd notebooks -k python3 --log-level WARNING -p publish True
# After papermill: a fixed id for its injected parameters cell (a random one otherwise) and no ipywidgets state,
# then the finished notebook.
SETTLE = $(PY) -c "from radlib.notebook_files import settle_executed_notebook; settle_executed_notebook('$(@:.ipynb=.partial.ipynb)')" && mv $(@:.ipynb=.partial.ipynb) $@
RADLIB_SOURCES := $(shell find radlib -name '*.py' -o -name '*.yaml')

# Notebooks run one after another: later stages read what earlier ones wrote.
.NOTPARALLEL:
.DEFAULT_GOAL := help
.PHONY: help all figures record-notebooks check-regeneration check-lab git-refresh test test-fast lint lab clean venv bench bench-generators grid report git-filter

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'
	@echo "  variables: PROFILE=smoke|quick|full (default full)"

venv: $(STAMP) ## create .venv with the pinned environment (done on first use by every target)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(MAKE) --no-print-directory git-filter
	touch $@

# Git stores the notebooks through nbstripout (.gitattributes): outputs and the metadata Lab or papermill add
# stay on disk and never reach a commit. The command is the pre-commit hook's (.pre-commit-config.yaml);
# language_info (the Python version of whoever ran the notebook) and papermill's metadata are left out too.
# nbstripout reads the extra keys from git's configuration, so the hook strips exactly what the filter does.
NBSTRIPOUT := $(VENV)/bin/nbstripout --keep-id
NBSTRIPOUT_EXTRA_KEYS := metadata.language_info metadata.papermill cell.metadata.papermill

git-filter: ## install the nbstripout git filter for the notebooks (done by `make venv`; a no-op outside a git checkout)
	@if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$$(pwd -P)" ]; then \
	  git config filter.nbstripout.clean '$(NBSTRIPOUT)' && \
	  git config filter.nbstripout.smudge cat && \
	  git config filter.nbstripout.extrakeys '$(NBSTRIPOUT_EXTRA_KEYS)' && \
	  git config diff.ipynb.textconv '$(NBSTRIPOUT) --textconv' && \
	  echo "git stores notebooks/*.ipynb through '$(NBSTRIPOUT)'"; \
	fi

# Lab's saves are settled by its post-save hook (`make lab`); a notebook run elsewhere (papermill or nbconvert in
# place) may still be listed by `git status` although `git diff` is empty: git trusts the changed file size.
git-refresh: $(STAMP) ## after running notebooks outside Lab: let `git status` compare them by what git stores (outputs stripped)
	$(PY) -c "import sys; from radlib.notebook_files import refresh_git_index; [refresh_git_index(p) for p in sys.argv[1:]]" $$(git ls-files 'notebooks/*.ipynb')

# The six questions answered from the tables of notebooks 05-09, into summary.md (radlib.answers).
ANSWERS := $(PY) -c "from radlib.answers import write_answers; from radlib.config import load_config; write_answers(load_config('$(PROFILE)').path('tables'))"

all: $(EXECUTED) $(REPORT_HTML) ## regenerate everything from the raw data for PROFILE: grid, figures, tables, report (notebooks with papermill)
	$(ANSWERS)
ifeq ($(PROFILE),full)
	$(PY) -c "from radlib.report import embed_summary; embed_summary('README.md', 'results/full/summary.md')"
endif

# Its own build folder: a later `make all` still runs the grid from the raw data.
figures: $(STAMP) ## rebuild every figure, table and report page of notebooks 04+ from the records (the committed ones in a fresh clone); trains nothing
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/from-records RECOMPUTE=False record-notebooks

record-notebooks: $(RECORD_NOTEBOOKS) $(patsubst $(BUILD)/%.ipynb,$(REPORT)/%.html,$(RECORD_NOTEBOOKS))
	$(ANSWERS)
ifeq ($(PROFILE),full)
	$(PY) -c "from radlib.report import embed_summary; embed_summary('README.md', 'results/full/summary.md')"
endif

$(BUILD)/%.ipynb: notebooks/%.ipynb $(RADLIB_SOURCES) $(STAMP)
	@mkdir -p $(BUILD)
	$(PAPERMILL) $< $(@:.ipynb=.partial.ipynb) -p profile $(PROFILE)
	$(SETTLE)

$(BUILD)/04_external_validation.ipynb: notebooks/04_external_validation.ipynb $(RADLIB_SOURCES) $(STAMP)
	@mkdir -p $(BUILD)
	$(PAPERMILL) notebooks/04_external_validation.ipynb $(@:.ipynb=.partial.ipynb) -p profile $(PROFILE) -p recompute $(RECOMPUTE)
	$(SETTLE)

# $* is <classifier>_<subset>, e.g. rf_all.
$(BUILD)/05_ecological_fallacy_%.ipynb: $(FALLACY) $(RADLIB_SOURCES) $(STAMP)
	@mkdir -p $(BUILD)
	$(PAPERMILL) notebooks/05_ecological_fallacy.ipynb $(@:.ipynb=.partial.ipynb) -p profile $(PROFILE) -p classifier $(word 1,$(subst _, ,$*)) -p subset $(word 2,$(subst _, ,$*))
	$(SETTLE)

# Notebook 09 of the full study also reads the internal-validation grid (profile internal; `make all` runs
# it first, cached and resumable, and publishes its records into results/full/internal/ so that
# `make figures` in a fresh clone reads them) and compares the curve's five ratios.
ifeq ($(PROFILE),full)
PREDICTOR_ARGS := -p internal_profile internal -y "ratios: [0.25, 0.5, 1.0, 2.0, 4.0]"
INTERNAL_GRID := $(if $(filter True,$(RECOMPUTE)),$(VENV)/bin/radlib run --profile internal --publish)
endif
$(BUILD)/09_what_predicts_the_gain.ipynb: notebooks/09_what_predicts_the_gain.ipynb $(RADLIB_SOURCES) $(STAMP)
	@mkdir -p $(BUILD)
	$(INTERNAL_GRID)
	$(PAPERMILL) $< $(@:.ipynb=.partial.ipynb) -p profile $(PROFILE) $(PREDICTOR_ARGS)
	$(SETTLE)

# Later stages read what earlier ones wrote: every records notebook reads the grid that 04 runs in `make all`.
$(filter-out $(BUILD)/04_%,$(RECORD_NOTEBOOKS)): $(BUILD)/04_external_validation.ipynb

$(REPORT)/%.html: $(BUILD)/%.ipynb
	@mkdir -p $(REPORT)
	$(VENV)/bin/jupyter nbconvert --to html --log-level WARN --output-dir $(REPORT) $<

grid: $(STAMP) ## run only the experiment grid for PROFILE (radlib run; cached and resumable)
	$(VENV)/bin/radlib run --profile $(PROFILE)

report: $(REPORT_HTML) ## render the executed notebooks of PROFILE as HTML: report/ for full (committed), build/PROFILE/report/ otherwise

# Notebook 04 reads the smoke records: the grid runs first (seconds when its tasks are cached).
test: $(STAMP) ## run the unit tests and execute every notebook (nbval, smoke profile; fails on errors, stderr, stray results)
	$(VENV)/bin/radlib run --profile smoke
	$(PY) -m pytest tests notebooks --nbval-lax -p no:cacheprovider
	$(PY) -m pytest radlib --doctest-modules -p no:cacheprovider

test-fast: $(STAMP) ## run the unit tests except those marked slow, without the notebooks (a quick check while editing)
	$(PY) -m pytest tests -m "not slow" -p no:cacheprovider

lint: $(STAMP) ## check code style with ruff (lint + format) over the repository, notebooks included; types with mypy (lenient: pyproject.toml)
	$(RUFF) check .
	$(RUFF) format --check .
	$(PY) -m mypy

# Byte-stable regeneration: in a clone of HEAD (its own code on PYTHONPATH, this .venv), notebook 04 and the primary
# run of notebook 05 rebuilt from the committed full records must leave every committed table, figure and page as it is.
REGENERATION_CLONE := build/check-regeneration
REGENERATED := build/full/from-records/05_ecological_fallacy_logreg_all.ipynb report/05_ecological_fallacy_logreg_all.html

check-regeneration: $(STAMP) ## in a clone of HEAD: rerun notebooks 04 and 05 (full, committed records); git diff of results/full, figures/full, report must be empty
	rm -rf $(REGENERATION_CLONE)
	git clone --quiet --shared . $(REGENERATION_CLONE)
	ln -s $(abspath $(VENV)) $(REGENERATION_CLONE)/.venv
	cd $(REGENERATION_CLONE) && PYTHONPATH=$$(pwd) $(MAKE) --no-print-directory -o $(STAMP) PROFILE=full \
	  BUILD=build/full/from-records RECOMPUTE=False $(REGENERATED)
	cd $(REGENERATION_CLONE) && git status --porcelain && git diff --exit-code --stat -- results/full figures/full report

# Jupyter refuses to run as root without --allow-root (containers, CI); a Linux machine without a display
# has no browser to open. LAB_ARGS adds any `jupyter lab` option, e.g. LAB_ARGS="--no-browser --port 8899".
# After each save, radlib.notebook_files.refresh_git_index lets `git status` see that git would store the notebook
# unchanged (its outputs are filtered out; see git-filter).
LAB_ARGS ?=
LAB_HOOK := --ContentsManager.post_save_hook=radlib.notebook_files.refresh_git_index
LAB_SERVER := --notebook-dir=notebooks $(LAB_HOOK)
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_HEADLESS := $(if $(filter Linux,$(shell uname -s)),$(if $(DISPLAY)$(WAYLAND_DISPLAY)$(findstring --no-browser,$(LAB_ARGS)),,--no-browser))

lab: $(STAMP) ## start JupyterLab on notebooks/ with the project's environment; prints the URL with its token (LAB_ARGS="--port 8899 ...")
	$(VENV)/bin/jupyter lab $(LAB_SERVER) $(LAB_ROOT) $(LAB_HEADLESS) $(LAB_ARGS)

# A small notebook (smoke profile by default): the browser check is about Lab, not the study.
CHECK_LAB_NOTEBOOK ?= notebooks/01_data_ingestion.ipynb

check-lab: $(STAMP) ## open a notebook in JupyterLab in headless Chromium, run it, save, screenshot (build/check-lab/); fails on errors, stderr, 5xx, a dead kernel
	$(PY) tools/check_lab.py $(CHECK_LAB_NOTEBOOK) --screenshot build/check-lab -- $(LAB_ROOT) $(LAB_HOOK)

bench: $(STAMP) ## benchmark the grid (v2 vs v1's settings, workers, stages, memory) and v3's evaluation stage (seconds per specification, store size)
	$(PY) benchmarks/bench_grid.py
	$(PY) benchmarks/bench_evaluation.py

bench-generators: $(STAMP) ## benchmark the generators: K=5 batched fits vs one fit; seconds, memory, sample quality on three datasets
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
