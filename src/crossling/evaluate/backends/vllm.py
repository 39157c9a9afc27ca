"""vLLM generation backend (GPU; optional extra ``crossling[vllm]``).

Why: on a GPU, vLLM's paged attention and continuous batching generate an order of
magnitude faster than any HF loop, and it serves several LoRA adapters over one base model
(``LoRARequest`` per call), which is exactly evaluation's "base + N adapters" pattern.

Written against vLLM's documented offline API (``vllm.LLM``, ``SamplingParams``,
``vllm.lora.request.LoRARequest``); imported lazily, so crossling installs and runs without
it. Prompts are chat-templated with crossling's own renderer, so both backends see the same
text. Sampling uses one seed per prompt (as the HF backend does), so answers do not depend
on batching. Forward hooks do not reach vLLM's workers: steering must use the HF backend.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.evaluate.backends.base import (
    Backend,
    Generation,
    GenerationConfig,
    render_chat,
    row_seed,
    stop_token_ids,
)
from crossling.models.config import ModelConfig


def vllm_available() -> str | None:
    """None when vLLM can run here, else the reason it cannot (for errors and test skips)."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        return "the vllm package is not installed (pip install 'crossling[vllm]')"
    try:
        import torch

        if not torch.cuda.is_available():
            return "no CUDA GPU is visible"
    except ImportError:  # pragma: no cover - torch is a dependency
        return "torch is not installed"
    return None


def _model_source(cfg: ModelConfig) -> str:
    """What vLLM loads: the converted folder of an alias or ``.gguf`` file, a local folder or
    a hub id (the one resolution every backend shares: ``models.loading.model_source``)."""
    from crossling.models.loading import model_source

    return model_source(cfg)


def _lora_rank(path: Path) -> int:
    import json

    try:
        return int(json.loads((path / "adapter_config.json").read_text())["r"])
    except (OSError, KeyError, ValueError):
        return 64


class VLLMBackend:
    """The generation backend interface on vLLM, with LoRA adapters.

    Args:
        model_cfg: base model config (alias, hub id or folder; ``system_prompt`` is used).
        adapters: name → LoRA adapter folder.
        gpu_memory_utilization: fraction of GPU memory vLLM may take.

    Raises:
        CrosslingError: vLLM or a GPU is missing.
    """

    def __init__(
        self,
        model_cfg: ModelConfig,
        adapters: dict[str, Path] | None = None,
        gpu_memory_utilization: float = 0.85,
    ) -> None:
        reason = vllm_available()
        if reason:
            raise CrosslingError(f"backend 'vllm' cannot run: {reason}; use backend: hf.")
        from vllm import LLM

        from crossling.models.loading import load_tokenizer

        self.cfg = model_cfg
        self.tokenizer = load_tokenizer(model_cfg)
        self.adapters = dict(adapters or {})
        self.adapter_names = list(self.adapters)
        self._ids = {name: i + 1 for i, name in enumerate(self.adapter_names)}  # ids start at 1
        dtype = "auto" if model_cfg.dtype == "auto" else model_cfg.dtype
        self.llm = LLM(
            model=_model_source(model_cfg),
            tokenizer=_model_source(model_cfg),
            dtype=dtype,
            revision=model_cfg.revision,
            trust_remote_code=model_cfg.trust_remote_code,
            enable_lora=bool(self.adapters),
            max_loras=max(1, len(self.adapters)),
            max_lora_rank=max([_lora_rank(p) for p in self.adapters.values()] or [16]),
            gpu_memory_utilization=gpu_memory_utilization,
        )
        self.stop_ids = stop_token_ids(self.tokenizer)
        self.active: str | None = None

    def set_adapter(self, name: str | None) -> None:
        """Activate adapter ``name``; None generates with the base model (the control)."""
        if name is not None and name not in self.adapters:
            from crossling.errors import unknown_name

            raise unknown_name("adapter", name, self.adapter_names or ["(none loaded)"])
        self.active = name

    def _lora_request(self) -> Any:
        if self.active is None:
            return None
        from vllm.lora.request import LoRARequest

        return LoRARequest(self.active, self._ids[self.active], str(self.adapters[self.active]))

    def generate(
        self,
        prompts: list[str],
        cfg: GenerationConfig,
        on_result: Callable[[int, Generation], None] | None = None,
    ) -> list[Generation]:
        """Generate one answer per prompt, in input order (see ``HFBackend.generate``)."""
        from vllm import SamplingParams

        if not prompts:
            return []
        texts = [render_chat(self.tokenizer, p, self.cfg.system_prompt) for p in prompts]
        token_ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        params = [
            SamplingParams(
                max_tokens=cfg.max_new_tokens,
                temperature=cfg.temperature if cfg.do_sample else 0.0,
                top_p=cfg.top_p if cfg.do_sample else 1.0,
                seed=row_seed(cfg.seed, p) if cfg.do_sample else None,
                stop_token_ids=sorted(self.stop_ids),
                skip_special_tokens=True,
            )
            for p in prompts
        ]
        outputs = self.llm.generate(
            [{"prompt_token_ids": ids} for ids in token_ids],
            params,
            lora_request=self._lora_request(),
            use_tqdm=False,
        )
        results = []
        for i, out in enumerate(outputs):
            comp = out.outputs[0]
            new = list(comp.token_ids)
            stopped = comp.finish_reason == "stop"
            gen = Generation(
                response=comp.text,
                prompt_tokens=len(token_ids[i]),
                new_tokens=len(new),
                stopped=stopped,
            )
            results.append(gen)
            if on_result is not None:
                on_result(i, gen)
        return results


def make_vllm_backend(
    model_cfg: ModelConfig,
    adapters: dict[str, Path] | None = None,
    generation: GenerationConfig | None = None,
) -> Backend:
    """Start vLLM with the base model and the adapters (registered lazily as "vllm").
    ``generation`` (the run's decoding settings) is accepted like the HF factory's; vLLM
    runs no start-up canary, its decoding is its own."""
    return VLLMBackend(model_cfg, adapters)
