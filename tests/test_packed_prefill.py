"""Packed prefill: the HF backend prefills a batch's prompts as one padding-free sequence and
lays their keys/values out in the KV cache; answers equal the padded prefill's (the oracle),
on both cache kinds, with rows stopping early, LoRA adapters and steering at every position
setting; models it cannot serve (sliding-window layers) fall back to the padded prefill."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.test_generation import PROMPTS, make_adapter

from crossling.evaluate.backends.base import GenerationConfig
from crossling.evaluate.backends.hf import HFBackend

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _load(model_dir: Path, device: str) -> Any:
    from crossling.models import ModelConfig, load_model

    return load_model(ModelConfig(name=str(model_dir), device=device))


def _first_forward_shape(backend: HFBackend, prompts: list[str]) -> tuple[int, ...]:
    """Shape of the input ids of the first model forward of one generate call."""
    from crossling.models.layers import unwrap

    seen: list[Any] = []
    handle = unwrap(backend.model).register_forward_pre_hook(
        lambda m, a, k: seen.append(tuple(k["input_ids"].shape)), with_kwargs=True)
    try:
        backend.generate(prompts, GenerationConfig(max_new_tokens=2, batch_size=len(prompts)))
    finally:
        handle.remove()
    return seen[0]


@pytest.mark.parametrize("kv_cache", ["static", "dynamic"])
def test_packed_prefill_equals_padded(lively_model_dir: Path, device: str, kv_cache: str) -> None:
    loaded = _load(lively_model_dir, device)
    packed = HFBackend(loaded, kv_cache=kv_cache)
    padded = HFBackend(loaded, kv_cache=kv_cache, packed_prefill=False)
    # the packed path really runs: one [1, T] forward, no padding, the shared chat-template
    # prefix once
    from crossling.evaluate.backends.hf import shared_prefix_length

    encoded = packed.encode(PROMPTS)
    lens = [len(ids) for ids in encoded]
    prefix = shared_prefix_length(encoded)
    assert len(set(lens)) > 1, "prompts of one length cannot show that padding is avoided"
    assert prefix > 0, "prompts sharing no prefix cannot test the shared prefix"
    assert _first_forward_shape(packed, PROMPTS) == (1, sum(lens) - (len(PROMPTS) - 1) * prefix)
    assert _first_forward_shape(padded, PROMPTS) == (len(PROMPTS), max(lens))

    cfg = GenerationConfig(max_new_tokens=12, batch_size=5)
    a, b = packed.generate(PROMPTS, cfg), padded.generate(PROMPTS, cfg)
    assert [(g.response, g.new_tokens, g.stopped) for g in a] == [
        (g.response, g.new_tokens, g.stopped) for g in b]
    assert len({g.response for g in a}) > 4  # a lively model: the answers differ


def test_packed_prefill_equals_padded_when_rows_stop_early(lively_model_dir: Path, device: str) -> None:
    loaded = _load(lively_model_dir, device)
    packed, padded = HFBackend(loaded), HFBackend(loaded, packed_prefill=False)
    cfg = GenerationConfig(max_new_tokens=10, batch_size=8)
    first = padded.decode_batch(padded.encode(PROMPTS), cfg, [0] * len(PROMPTS))
    stops = {first[0][0][2], first[1][0][5]}  # rows end their turn at different steps
    for b in (packed, padded):
        b.stop_ids = {*b.stop_ids, *stops}
    a, b = packed.generate(PROMPTS, cfg), padded.generate(PROMPTS, cfg)
    assert any(g.stopped for g in a) and not all(g.stopped for g in a)
    assert [(g.response, g.new_tokens, g.stopped) for g in a] == [
        (g.response, g.new_tokens, g.stopped) for g in b]


@pytest.mark.parametrize(("family", "packs"), [("qwen2", True), ("gemma3", False)])
def test_packed_prefill_other_families(
    family: str, packs: bool, smol_tokenizer_dir: Path, tmp_path: Path, device: str
) -> None:
    """Qwen2 packs; Gemma 3 has sliding-window layers, so it is prefilled padded."""
    from tests.conftest import make_tiny_model_dir

    from crossling.models.layers import unwrap

    model_dir = make_tiny_model_dir(tmp_path / family, smol_tokenizer_dir, family=family,
                                    layers=2, init_range=0.1)
    loaded = _load(model_dir, device)
    packed, padded = HFBackend(loaded), HFBackend(loaded, packed_prefill=False)
    assert packed.packs_prefill(unwrap(packed.model)) is packs
    cfg = GenerationConfig(max_new_tokens=12, batch_size=5)
    assert [g.response for g in packed.generate(PROMPTS[:5], cfg)] == [
        g.response for g in padded.generate(PROMPTS[:5], cfg)]


@pytest.mark.parametrize("positions", ["all", "prompt", "generated"])
def test_packed_prefill_with_adapter_and_steering(
    lively_model_dir: Path, tmp_path: Path, device: str, positions: str
) -> None:
    """Steering decides prompt vs generated tokens per forward; a packed prefill (no cache,
    one row of all prompts) must count as the prompt and the decode steps as generated."""
    import torch

    from crossling.steer.apply import add_to_layers

    adapter = make_adapter(lively_model_dir, tmp_path / "a", seed=1)
    loaded = _load(lively_model_dir, device)
    backend = HFBackend(loaded, {"a": adapter})
    backend.set_adapter("a")
    hidden = int(backend.model.config.hidden_size)
    delta = {1: 2.0 * torch.randn(hidden, generator=torch.Generator().manual_seed(0))}
    cfg = GenerationConfig(max_new_tokens=8, batch_size=6)
    plain = [g.response for g in backend.generate(PROMPTS[:6], cfg)]
    out = {}
    for name, packed in (("packed", True), ("padded", False)):
        backend.packed_prefill = packed
        with add_to_layers(backend.model, delta, positions=positions):
            out[name] = [g.response for g in backend.generate(PROMPTS[:6], cfg)]
    assert out["packed"] == out["padded"]
    assert out["packed"] != plain, "steering had no effect: the comparison would prove nothing"


def test_auto_batch_size_gives_the_same_answers(lively_model_dir: Path, device: str) -> None:
    """``batch_size: auto`` (the default) is a speed setting only: same greedy answers."""
    backend = HFBackend(_load(lively_model_dir, device))
    auto = GenerationConfig(max_new_tokens=8)
    assert auto.batch_size == "auto"
    if device == "cpu":
        from crossling.evaluate.backends.hf import AUTO_CPU_BATCH

        assert backend.batch_size(auto, 40) == AUTO_CPU_BATCH
    assert backend.batch_size(GenerationConfig(batch_size=3), 40) == 3
    assert [g.response for g in backend.generate(PROMPTS, auto)] == [
        g.response for g in backend.generate(PROMPTS, GenerationConfig(max_new_tokens=8, batch_size=3))]


def test_rows_that_fit_follow_memory_and_length() -> None:
    """The CUDA estimate: Qwen2.5-0.5B's shape in bf16 (KV: 24 layers x 2 x 2 heads x 64 x 2
    bytes = 12 KiB per token)."""
    from transformers import Qwen2Config

    from crossling.evaluate.backends.hf import AUTO_MAX_BATCH, rows_that_fit

    cfg = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                      num_attention_heads=14, num_key_value_heads=2, vocab_size=151936)
    gib = 2**30
    assert rows_that_fit(cfg, 2, 100, 64, 100 * gib) == AUTO_MAX_BATCH  # an idle H200
    small = rows_that_fit(cfg, 2, 100, 64, 1 * gib)
    assert 1 < small < AUTO_MAX_BATCH
    assert rows_that_fit(cfg, 2, 100, 64, 2 * gib) in (2 * small, 2 * small + 1)
    # longer answers need more KV cache per row: fewer rows fit
    assert rows_that_fit(cfg, 2, 100, 2048, 1 * gib) < small // 4
    assert rows_that_fit(cfg, 2, 100, 64, 1) == 1  # never zero


def test_bad_generation_batch_size_is_one_line(tmp_path: Path, capsys: Any) -> None:
    from crossling.cli import main

    data = tmp_path / "data"
    assert main(["data", "build", "--task", "caps", "--source", "builtin", "--train-langs", "en",
                 "--eval-langs", "en", "--eval-size", "2", "--out", str(data)]) == 0
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["eval", "--data", str(data), "--out", str(out), "--batch-size", "many"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "batch_size" in err and "auto" in err, err
    assert "Traceback" not in err and not out.exists()


def test_shared_prefix_length_leaves_every_prompt_a_token() -> None:
    from crossling.evaluate.backends.hf import shared_prefix_length

    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2  # [1, 2, 3] keeps its 3
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2
    assert shared_prefix_length([[7, 2], [1, 2]]) == 0
    assert shared_prefix_length([[1, 2, 3]]) == 0  # one prompt: nothing to share
