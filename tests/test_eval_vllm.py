"""vLLM backend: clear error without vLLM/GPU; a real run where both exist (skipped here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossling.errors import CrosslingError
from crossling.evaluate.backends import GenerationConfig, get_backend
from crossling.evaluate.backends.vllm import vllm_available
from crossling.models.config import ModelConfig


def test_registered_and_clear_error_without_vllm_or_gpu() -> None:
    factory = get_backend("vllm")
    reason = vllm_available()
    if reason is None:
        pytest.skip("vLLM and a GPU are present; the real test below covers it")
    with pytest.raises(CrosslingError, match=r"backend .vllm. cannot run: .*use backend: hf"):
        factory(ModelConfig(name="smollm2-135m"))


@pytest.mark.skipif(vllm_available() is not None, reason=f"vLLM unusable: {vllm_available()}")
def test_vllm_greedy_matches_hf(tiny_model_dir: Path) -> None:
    from crossling.evaluate.backends.hf import HFBackend
    from crossling.models import load_model

    prompts = ["Name a colour.", "What is 2+2?", "Hi"]
    cfg = GenerationConfig(max_new_tokens=8)
    vb = get_backend("vllm")(ModelConfig(name=str(tiny_model_dir), dtype="float32"))
    hf = HFBackend(load_model(str(tiny_model_dir)))
    ours = [g.new_tokens for g in vb.generate(prompts, cfg)]
    assert ours == [g.new_tokens for g in hf.generate(prompts, cfg)]
