# The verbs people type. Everything runs inside .venv/ at the repository root.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch comes from the local CPU wheel on the dev/CI machines; pin it before anything pulls a CUDA build.
TORCH  ?= torch==2.13.0
# llama-cpp-python compiles llama.cpp from source (the `llm` extra): a portable build, so the wheel in
# pip's cache (~/.cache/pip/wheels; kept on purpose) serves the next venv and other machines.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: help venv venv-all demo test test-slow lint format bench clean

help:
	@echo "make demo       set up .venv/ and run the main job (mmfm demo) on embedded defaults"
	@echo "make test       set up .venv/ (mmfm[sim,train,export,web,test,llm]) and run ruff + the default (fast) test tier"
	@echo "make test-slow  the slow tier (-m slow)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make bench      run the benchmarks in benchmarks/"
	@echo "make venv-all   .venv/ with every extra (sim, train): installs $(TORCH) first"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The dev/test environment carries the simulator, training, exporters and the mm-LLM runtime too (torch
# first: see TORCH; the first llama-cpp-python build takes 5-20 minutes, later venvs reuse pip's
# cached wheel).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q '$(TORCH)'
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(BIN)/pip install -q -e '.[sim,train,export,web,test,llm]'
	@touch $@

venv: $(VENV)/.installed-test

venv-all: | $(BIN)/python
	$(BIN)/pip install -q '$(TORCH)'
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(BIN)/pip install -q -e '.[all]'

# The main job on embedded defaults: a simulated two-person scene streamed by a fake DCA1000 into the
# real daemon, live events printed (first run renders the scene, ~1 min; later runs use the cache).
demo: venv
	$(BIN)/mmfm demo

test: venv lint
	$(BIN)/python -m pytest

# The slow tier also runs the Ray executor test: installs the [scale] extra (Ray, submitit) first.
test-slow: venv
	$(BIN)/pip install -q -e '.[scale]'
	$(BIN)/python -m pytest -m slow

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
