"""The generation-backend interface and the types every backend shares.

Why a backend interface: evaluation and steering only need "these prompts, this adapter,
these decoding settings → responses"; HF on CPU/GPU and vLLM on GPUs both provide it. The
concrete backends (``hf.py``, ``vllm.py``) import from this module only, never from each
other, so an optional backend's dependencies are never needed by the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator

from crossling.config_marks import SPEED_ONLY
from crossling.errors import CrosslingError
from crossling.fields import Seeded, Strict
from crossling.registry import Registry

# Tokens that end an assistant turn in the chat formats crossling meets.
END_OF_TURN_TOKENS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<|endoftext|>")


class GenerationConfig(Seeded):
    """Decoding settings (the seed study sampled at T=0.7; crossling is greedy by default).

    ``seed`` seeds the per-prompt sampling generators."""

    max_new_tokens: int = Field(
        default=100, ge=1, description="Tokens generated per answer at most."
    )
    do_sample: bool = Field(default=False, description="Sample instead of greedy decoding.")
    temperature: float = Field(
        default=0.7, gt=0, description="Sampling temperature (do_sample only)."
    )
    top_p: float = Field(
        default=1.0, gt=0, le=1, description="Nucleus sampling mass (do_sample only)."
    )
    batch_size: int | Literal["auto"] = Field(
        default="auto",
        description="Prompts decoded together; 'auto': as many as fit (on CUDA from free "
        "memory, up to 256; on CPU 64, where tokens/s still rose from 24 to 96). Greedy "
        "answers do not depend on it, nor do sampled ones (one generator per prompt).",
        json_schema_extra=SPEED_ONLY,
    )

    @field_validator("batch_size", mode="before")
    @classmethod
    def _whole_or_auto(cls, v: Any) -> Any:
        """One clear message instead of one per member of the union."""
        if isinstance(v, str) and v.strip().lower() == "auto":
            return "auto"
        n = v
        if isinstance(v, str) and v.strip().isdigit():
            n = int(v)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"batch_size must be a whole number of at least 1 or 'auto', not {v!r}")
        return n


@dataclass
class Generation:
    """One response.

    Attributes:
        response: decoded answer without special tokens or the end-of-turn token.
        prompt_tokens: tokens of the chat-templated prompt.
        new_tokens: generated tokens, the end-of-turn token included when one was produced.
        stopped: True when the model ended its turn, False when ``max_new_tokens`` cut it.
    """

    response: str
    prompt_tokens: int
    new_tokens: int
    stopped: bool = False


class Backend(Protocol):
    """What evaluation and steering need from a generation backend."""

    def set_adapter(self, name: str | None) -> None: ...

    def generate(
        self,
        prompts: list[str],
        cfg: GenerationConfig,
        on_result: Callable[[int, Generation], None] | None = None,
    ) -> list[Generation]: ...


BackendFactory = Callable[..., Backend]
"""Called as ``factory(model_cfg, adapters, generation=cfg)``; loads the model itself (vLLM
never loads the HF model). ``generation`` is the run's GenerationConfig (None: greedy), so a
start-up check can decode in the mode the run will use (HF: ``verify_decoding``)."""

BACKENDS: Registry[BackendFactory] = Registry("generation backend", "crossling.backends")
BACKENDS.register_lazy("hf", "crossling.evaluate.backends.hf:make_hf_backend")
BACKENDS.register_lazy("vllm", "crossling.evaluate.backends.vllm:make_vllm_backend")


def get_backend(name: str) -> BackendFactory:
    """The backend factory registered as ``name`` ("hf", "vllm"); unknown names get a
    suggestion. Importing a backend's module happens here, on first use."""
    return BACKENDS.get(name)


def render_chat(tokenizer: Any, user_text: str, system_prompt: str | None) -> str:
    """The chat-templated prompt text ending with the assistant header (the same rendering
    training uses: ``crossling.models.chat.render_prompt``)."""
    from crossling.models.chat import render_prompt

    return render_prompt(tokenizer, user_text, system_prompt)


def stop_token_ids(tokenizer: Any, model: Any = None) -> set[int]:
    """Token ids that end a turn: eos of tokenizer and generation config, and the
    end-of-turn specials of common chat formats that exist in this vocabulary."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    gen_cfg = getattr(model, "generation_config", None)
    eos = getattr(gen_cfg, "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif isinstance(eos, list | tuple):
        ids.update(int(e) for e in eos)
    vocab = tokenizer.get_vocab()
    for tok in END_OF_TURN_TOKENS:
        if tok in vocab:
            ids.add(int(vocab[tok]))
    try:
        from crossling.models.chat import end_of_turn_id

        ids.add(int(end_of_turn_id(tokenizer)))
    except CrosslingError:
        pass  # a template without an end-of-turn token: eos ids only
    return ids


def row_seed(seed: int, prompt: str) -> int:
    """The sampling seed of one prompt: answers do not depend on batching or order."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def check_generation_inputs(prompts: list[str]) -> None:
    """Reject empty prompts early with a fixable message."""
    for i, p in enumerate(prompts):
        if not isinstance(p, str) or not p.strip():
            raise CrosslingError(f"prompt #{i} is empty; every eval row needs a non-empty prompt.")



class Decoded(Strict):
    """A config whose stage generates answers."""

    generation: GenerationConfig = Field(
        default_factory=GenerationConfig,
        description="Decoding settings (greedy by default). In a study, the steer and "
        "behaviour blocks start from the eval's and change only the keys they set, so their "
        "baselines match the transfer matrix.",
    )

    def decoding(self) -> GenerationConfig:
        """``generation``, seeded by the config's own ``seed`` unless the block sets one."""
        seed = getattr(self, "seed", None)
        if seed is None or "seed" in self.generation.model_fields_set:
            return self.generation
        return self.generation.model_copy(update={"seed": seed})


class DecodingChanges(Strict):
    """A study block whose stage generates answers with the eval's decoding, changed in a few
    keys (so its baselines match the transfer matrix)."""

    decoding: dict[str, Any] = Field(
        default_factory=dict,
        description="Keys of eval.generation this stage changes, e.g. {max_new_tokens: 32}; "
        "every other key follows the eval's.",
    )

    @field_validator("decoding")
    @classmethod
    def _known_keys(cls, v: dict[str, Any]) -> dict[str, Any]:
        GenerationConfig.model_validate(v)  # unknown key or bad value: the usual one line
        return v


def merge_generation(base: GenerationConfig, changes: dict[str, Any]) -> GenerationConfig:
    """``base`` (the eval's decoding) with the keys in ``changes`` replaced."""
    return GenerationConfig.model_validate({**base.model_dump(), **changes})
