# The two commands of the README:
#   make book   - set up .venv from the pins, execute every chapter from scratch, build _build/html
#   make test   - set up .venv, ruff, bbdlib's unit tests, every chapter through nbval, the book
#                 build, and the browser test of the built book
# Both are idempotent: the venv is rebuilt only when requirements.txt, pyproject.toml or the
# kernel launcher (bbdlib/book/kernel.py) change.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILD := _build
# Chapters run through nbval; override with e.g. make nbtest CHAPTERS=chapters/duality/09-appendix-a.md
CHAPTERS ?= $(shell find chapters -name '*.md' -path 'chapters/*/*' | sort)
# One BLAS thread per process: results do not depend on the thread count, and two
# cores are shared between the kernel and the build.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Kernels must draw inline: a backend forced from outside would swallow every figure.
unexport MPLBACKEND

.PHONY: all book test lint unit nbtest booktest pdf venv clean bench help lab sync robustness
all: book

help:
	@echo "make book     build the book into _build/html (executes every chapter)"
	@echo "make test     lint + unit tests + nbval over every chapter + the book build + booktest"
	@echo "make lint     ruff check bbdlib tests benchmarks"
	@echo "make unit     bbdlib unit tests only (tests/book, tests/bulk_boundary, tests/duality, tests/test_*.py)"
	@echo "make nbtest   chapters through nbval only (CHAPTERS=... to choose)"
	@echo "make booktest tests/rendered: the built book in headless Chromium (after make book)"
	@echo "make pdf      the built book as one PDF, _build/pdf/book.pdf (after make book; headless Chromium)"
	@echo "make bench    the benchmark scripts under benchmarks/"
	@echo "make robustness  every seeded chapter over seeds 0..4 on Dask: _build/robustness.json"
	@echo "make lab      JupyterLab on localhost, chapters open as notebooks (PORT=8888 by default)"
	@echo "make sync     sync chapters/*/*.md with notebooks/*/*.ipynb; reports conflicts, overwrites none"

venv: $(STAMP)
$(STAMP): requirements.txt pyproject.toml bbdlib/book/kernel.py
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required; set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m bbdlib.book.kernel install >/dev/null
	touch $(STAMP)

# From scratch: the execution cache, doctrees, ledgers, the store shared by chapters II.6-II.8
# (bbdlib.duality.memo, its own folder per target) and the results of an earlier make robustness
# are wiped, so a change in bbdlib is always seen (jupyter-cache keys on cell source only). Chapters run in parallel (one
# process per core) into the cache; jupyter-book then renders them from it.
ALL_CHAPTERS = $(shell find chapters -name '*.md' -path 'chapters/*/*' | sort)
book: $(STAMP)
	rm -rf $(BUILD)/html $(BUILD)/.doctrees $(BUILD)/jupyter_execute $(BUILD)/.jupyter_cache $(BUILD)/claims $(BUILD)/claims.json \
	  $(BUILD)/cache/book $(BUILD)/robustness.json $(BUILD)/kn
	BBDLIB_CACHE_DIR=$(abspath $(BUILD))/cache/book BBD_CLAIMS_DIR=$(abspath $(BUILD))/claims $(BIN)/python -m bbdlib execute --cache $(BUILD)/.jupyter_cache $(ALL_CHAPTERS)
	$(BIN)/python -m bbdlib.book.notebooks write --cache $(BUILD)/.jupyter_cache $(ALL_CHAPTERS)
	BBD_CLAIMS_DIR=$(abspath $(BUILD))/claims $(BIN)/jupyter-book build . --path-output . -W -n --keep-going
	$(BIN)/python -m bbdlib.book.notebooks write --cache $(BUILD)/.jupyter_cache --html $(BUILD)/html $(ALL_CHAPTERS)
	@echo "book: $(BUILD)/html/index.html; claims: $(BUILD)/claims.json"

# The linter (configured in pyproject.toml, [tool.ruff]); chapters are not linted.
lint: $(STAMP)
	$(BIN)/ruff check bbdlib tests benchmarks

# tests/ mirrors bbdlib/: tests/book, tests/bulk_boundary, tests/duality, and tests/test_<module>.py
# for the shared modules. tests/rendered needs a built book and runs in booktest.
unit: $(STAMP)
	$(BIN)/python -m pytest tests -q --ignore=tests/rendered

# Each MyST chapter is converted to an .ipynb outside chapters/ and executed by nbval;
# the notebooks assert their own claims, so --nbval-lax (no output comparison) suffices.
nbtest: $(STAMP)
	rm -rf $(BUILD)/nbtest && mkdir -p $(BUILD)/nbtest
	for f in $(CHAPTERS); do \
	  out=$(BUILD)/nbtest/$$(echo $${f#chapters/} | sed 's|/|__|g; s|\.md$$|.ipynb|'); \
	  $(BIN)/jupytext --quiet --to ipynb -o "$$out" "$$f"; \
	done
	cd $(BUILD)/nbtest && BBD_CLAIMS_DIR=$(abspath $(BUILD))/nbtest/claims BBDLIB_CACHE_DIR=$(abspath $(BUILD))/nbtest/cache \
	  $(abspath $(BIN))/python -m pytest --nbval-lax --nbval-cell-timeout=900 -p no:cacheprovider -q -o testpaths= --rootdir=. .

# nbval and the book build each execute every chapter; they run side by side on two cores.
test: $(STAMP)
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) -j2 --output-sync=target nbtest book
	$(MAKE) booktest

# tests/rendered, the built book: no remote resources, MathJax typesets offline in headless Chromium.
booktest: $(STAMP)
	$(BIN)/python -m pytest tests/rendered -q -rs

# JupyterLab on the repository (jupytext pairs chapters/<part>/<name>.md with
# notebooks/<part>/<name>.ipynb, see jupytext.toml): the pairs are checked first (a chapter
# whose .md and notebook were both edited stops it, reported), then it serves on 127.0.0.1,
# on PORT or, if that is taken, on a free port that it prints with the URL.
PORT ?= 8888
lab: $(STAMP)
	$(BIN)/python -m bbdlib.book.notebooks lab --port $(PORT)

sync: $(STAMP)
	$(BIN)/python -m bbdlib.book.notebooks sync

# The whole book as one PDF (after make book): the pages of _build/html in reading order, in one
# HTML document printed by headless Chromium (bbdlib.book.sphinx.pdf); offline, nothing rebuilt.
pdf: $(STAMP)
	@test -f $(BUILD)/html/chapters/index.html || { echo "error: no $(BUILD)/html: run make book first"; exit 1; }
	$(BIN)/python -m bbdlib.book.sphinx.pdf --html $(BUILD)/html --out $(BUILD)/pdf/book.pdf

# Seed robustness (bbdlib.book.sweep): every chapter with a seed parameter over ROBUSTNESS_SEEDS on
# a local Dask cluster (one worker per core), the others listed as deterministic, into
# $(BUILD)/robustness.json (runs in $(BUILD)/robustness/, from scratch). On the same cluster, the
# k(n) map of the Sweeps page: II.8 over n_power = KN_POWERS into $(BUILD)/kn/ (every II.8 run also
# measures n = 2, 3, 4, 6, 8 with the same samples, so those need no run of their own). A run at a
# chapter's defaults is taken from the book build in $(BUILD) when that build ran the same source
# (else it is run); runs start longest first. If a built book is there, it is re-rendered from its
# execution cache so the scorecard shows every claim's seed hold rate and the Sweeps page the map.
# KN_POWERS= (empty) leaves the map out (the Sweeps page then says how to produce it).
# The runs' store of bbdlib.duality.memo starts as a copy of the book build's: a run at the
# default seed (the k(n) map) reuses the book's steps bit for bit (the store's keys hash the
# code, the arguments and the generator state, so nothing stale can be reused).
ROBUSTNESS_SEEDS ?= 0..4
KN_POWERS ?= 5.0,7.0,9.0,10.0,11.0,12.0
robustness: $(STAMP)
	rm -rf $(BUILD)/robustness $(BUILD)/robustness.json $(BUILD)/kn $(BUILD)/cache/robustness
	if [ -d $(BUILD)/cache/book ]; then mkdir -p $(BUILD)/cache && cp -a $(BUILD)/cache/book $(BUILD)/cache/robustness; fi
	BBDLIB_CACHE_DIR=$(abspath $(BUILD))/cache/robustness $(BIN)/python -m bbdlib.book.sweep robustness --out $(BUILD)/robustness.json --seeds $(ROBUSTNESS_SEEDS) \
	  --book $(BUILD) $(if $(KN_POWERS),--sweep chapters/duality/08-power-law-sweep.md n_power $(KN_POWERS) $(BUILD)/kn)
	@if [ -f $(BUILD)/html/index.html ] && [ -d $(BUILD)/.jupyter_cache ]; then \
	  BBD_CLAIMS_DIR=$(abspath $(BUILD))/claims $(BIN)/jupyter-book build . --path-output . -W -n --keep-going && \
	  $(BIN)/python -m bbdlib.book.notebooks write --cache $(BUILD)/.jupyter_cache --html $(BUILD)/html $(ALL_CHAPTERS); \
	fi

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(BUILD) runs
