"""The HF backend's static-KV-cache path: greedy outputs equal the dynamic-cache path (the
oracle), with cache compaction, LoRA adapters and steering hooks, on every family."""

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


def _both(loaded: Any, prompts: list[str], cfg: GenerationConfig, **kw: Any) -> tuple[list, list]:
    static = HFBackend(loaded, kv_cache="static", **kw)
    dynamic = HFBackend(loaded, kv_cache="dynamic", **kw)
    return static.generate(prompts, cfg), dynamic.generate(prompts, cfg)


def test_static_equals_dynamic_greedy(lively_model_dir: Path, device: str) -> None:
    from transformers import StaticCache

    loaded = _load(lively_model_dir, device)
    cfg = GenerationConfig(max_new_tokens=14, batch_size=5)
    static, dynamic = _both(loaded, PROMPTS, cfg)
    assert [g.response for g in static] == [g.response for g in dynamic]
    assert [(g.new_tokens, g.stopped) for g in static] == [(g.new_tokens, g.stopped) for g in dynamic]
    assert len({g.response for g in static}) > 4  # a lively model: the answers differ
    # the static path really runs on a StaticCache
    seen: list[Any] = []
    lm = loaded.model
    handle = lm.register_forward_pre_hook(
        lambda m, a, k: seen.append(k.get("cache", k.get("past_key_values"))), with_kwargs=True)
    try:
        HFBackend(loaded, kv_cache="static").generate(PROMPTS[:2], GenerationConfig(max_new_tokens=3))
    finally:
        handle.remove()
    # the packed prefill runs without a cache; every decode step gets the StaticCache
    assert seen[0] is None
    assert len(seen) > 1 and all(isinstance(c, StaticCache) for c in seen[1:])


def test_static_equals_dynamic_when_rows_stop_early(lively_model_dir: Path, device: str) -> None:
    """Rows that end their turn leave the batch (the static cache is re-indexed) and the
    other rows' answers do not change."""
    loaded = _load(lively_model_dir, device)
    backend = HFBackend(loaded, kv_cache="static")
    cfg = GenerationConfig(max_new_tokens=10, batch_size=8)
    first = backend.decode_batch(backend.encode(PROMPTS), cfg, [0] * len(PROMPTS))
    # make some rows' 3rd / 6th new token a stop token: rows finish at different steps
    stops = {first[0][0][2], first[1][0][5]}
    for b in (backend, dynamic := HFBackend(loaded, kv_cache="dynamic")):
        b.stop_ids = {*b.stop_ids, *stops}
    static_out = backend.generate(PROMPTS, cfg)
    dynamic_out = dynamic.generate(PROMPTS, cfg)
    assert any(g.stopped for g in static_out) and not all(g.stopped for g in static_out)
    assert [(g.response, g.new_tokens, g.stopped) for g in static_out] == [
        (g.response, g.new_tokens, g.stopped) for g in dynamic_out]


@pytest.mark.parametrize("family", ["qwen2", "gemma3"])
def test_static_equals_dynamic_other_families(
    family: str, smol_tokenizer_dir: Path, tmp_path: Path, device: str
) -> None:
    from tests.conftest import make_tiny_model_dir

    model_dir = make_tiny_model_dir(tmp_path / family, smol_tokenizer_dir, family=family,
                                    layers=2, init_range=0.1)
    static, dynamic = _both(_load(model_dir, device), PROMPTS[:5],
                            GenerationConfig(max_new_tokens=12, batch_size=5))
    assert [g.response for g in static] == [g.response for g in dynamic]


def test_static_path_with_adapters_and_steering_hooks(
    lively_model_dir: Path, tmp_path: Path, device: str
) -> None:
    import torch

    from crossling.models import get_decoder_layers

    a = make_adapter(lively_model_dir, tmp_path / "a", seed=1)
    cfg = GenerationConfig(max_new_tokens=8, batch_size=4)
    backends = {k: HFBackend(_load(lively_model_dir, device), {"a": a}, kv_cache=k)
                for k in ("static", "dynamic")}
    out: dict[str, dict[str, list[str]]] = {}
    for kind, b in backends.items():
        res = out.setdefault(kind, {})
        res["base"] = [g.response for g in b.generate(PROMPTS[:4], cfg)]
        b.set_adapter("a")
        res["lora"] = [g.response for g in b.generate(PROMPTS[:4], cfg)]

        def hook(module: Any, args: Any, output: Any) -> Any:
            hs = output[0] if isinstance(output, tuple) else output
            hs = hs + 3.0 * torch.ones_like(hs)
            return (hs, *output[1:]) if isinstance(output, tuple) else hs

        handle = get_decoder_layers(b.model)[1].register_forward_hook(hook)
        try:
            res["steered"] = [g.response for g in b.generate(PROMPTS[:4], cfg)]
        finally:
            handle.remove()
        res["after"] = [g.response for g in b.generate(PROMPTS[:4], cfg)]
    assert out["static"] == out["dynamic"]
    s = out["static"]
    assert s["lora"] != s["base"] and s["steered"] != s["lora"] and s["after"] == s["lora"]


def test_unknown_kv_cache_is_one_line(lively_model_dir: Path) -> None:
    from crossling.errors import CrosslingError

    with pytest.raises(CrosslingError, match="kv_cache must be one of auto, static, dynamic"):
        HFBackend(_load(lively_model_dir, "cpu"), kv_cache="paged")


@pytest.mark.slow
def test_compiled_decode_equals_dynamic(lively_model_dir: Path, device: str) -> None:
    """torch.compile of the decode step (CUDA graphs on a GPU; inductor on CPU, minutes)."""
    loaded = _load(lively_model_dir, device)
    cfg = GenerationConfig(max_new_tokens=8, batch_size=4)
    compiled = HFBackend(loaded, kv_cache="static", compile_decode=True).generate(PROMPTS[:4], cfg)
    dynamic = HFBackend(loaded, kv_cache="dynamic").generate(PROMPTS[:4], cfg)
    assert [g.response for g in compiled] == [g.response for g in dynamic]
