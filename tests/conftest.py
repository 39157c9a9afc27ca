"""Shared fixtures: offline guard, --runslow, tiny random models built from configs.

Why tiny random models: unit tests must be fast, offline and deterministic; they check
mechanics (masks, hooks, resume) against oracles, not model quality. The slow tests prove
the real path on the packaged SmolLM2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Any accidental hub access fails at once instead of hanging on the closed network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Every model a test loads with device "auto" goes to the test device, in float32 unless the
# run says otherwise, so oracle comparisons stay exact on a GPU too.
TEST_DEVICE = os.environ.get("CROSSLING_TEST_DEVICE", "cpu")
os.environ["CROSSLING_DEVICE"] = TEST_DEVICE
os.environ.setdefault("CROSSLING_DTYPE", "float32")

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
POLYREFUSE = SHARED / "polyrefuse"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> Any:
    """The module ``benchmarks/<name>.py`` (benchmarks are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_gpu = pytest.mark.skip(reason=f"gpu: needs CROSSLING_TEST_DEVICE=cuda (it is "
                                       f"{TEST_DEVICE})")
    skip_slow = pytest.mark.skip(reason="slow: pass --runslow (make test does)")
    for item in items:
        if "gpu" in item.keywords and not TEST_DEVICE.startswith("cuda"):
            item.add_marker(skip_gpu)
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never write to the user's cache, except the converted packaged models, which
    are shared (converting SmolLM2 costs ~15 s) under the real cache unless CI overrides."""
    os.environ.setdefault(
        "CROSSLING_CACHE", str(Path.home() / ".cache" / "crossling")
    )


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and a CPU shared with other jobs makes
    multi-thread OpenMP stall; one thread keeps these tests fast anywhere."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def polyrefuse() -> Path:
    if not POLYREFUSE.exists():
        pytest.skip(f"shared data not found at {POLYREFUSE} (only beside a developer checkout)")
    return POLYREFUSE


@pytest.fixture(scope="session")
def smol_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2's real tokenizer and chat template (from the packaged GGUF), saved once."""
    from transformers import AutoTokenizer

    from crossling.models.packaged import PACKAGED

    gguf = PACKAGED.get("smollm2-135m").gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    out = tmp_path_factory.mktemp("smol_tok")
    tok.save_pretrained(out)
    return out


def make_tiny_model_dir(
    out: Path, tokenizer_dir: Path, family: str = "llama", seed: int = 0, layers: int = 3,
    init_range: float = 0.02,
) -> Path:
    """Write a tiny random causal LM of ``family`` with the given tokenizer to ``out``.

    ``init_range`` (the weights' init std): at the default 0.02 a 64-wide model repeats one
    token whatever the context; at 0.1 its greedy output depends on the context, which tests
    of context handling (KV cache, the decoding canary) need."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    common = dict(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=init_range,
    )
    cfg: Any
    if family == "llama":
        from transformers import LlamaConfig

        cfg = LlamaConfig(**common)
    elif family == "qwen2":
        from transformers import Qwen2Config

        cfg = Qwen2Config(**common)
    elif family == "gemma3":
        from transformers import Gemma3TextConfig

        cfg = Gemma3TextConfig(**common, head_dim=16, sliding_window=64)
    else:
        raise ValueError(family)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smol_tokenizer_dir: Path) -> Path:
    """A 3-layer random Llama with SmolLM2's tokenizer: loadable by path like any checkpoint."""
    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny_llama"), smol_tokenizer_dir)


@pytest.fixture(scope="session")
def device() -> str:
    """The device every test puts its models and inputs on (``CROSSLING_TEST_DEVICE``,
    default ``cpu``), so the same suite runs on a GPU: ``CROSSLING_TEST_DEVICE=cuda make
    test-fast``. Tests that only make sense on a GPU are marked ``gpu`` and skipped elsewhere."""
    if TEST_DEVICE.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            pytest.skip(f"CROSSLING_TEST_DEVICE={TEST_DEVICE} but no CUDA device is visible")
    return TEST_DEVICE


@pytest.fixture(scope="session")
def lively_model_dir(tmp_path_factory: pytest.TempPathFactory, smol_tokenizer_dir: Path) -> Path:
    """A tiny random Llama whose greedy continuation depends on its context (init std 0.1)."""
    return make_tiny_model_dir(tmp_path_factory.mktemp("lively_llama"), smol_tokenizer_dir,
                               init_range=0.1)
