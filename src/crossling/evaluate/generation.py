"""Generation backends: turn user-turn prompts into responses, one adapter at a time.

Why a backend interface: evaluation and steering only need "these prompts, this adapter,
these decoding settings → responses"; HF on CPU/GPU and vLLM on GPUs both provide it.

The HF backend loads the base model once and every adapter into one ``PeftModel``;
``set_adapter(None)`` runs the base model (the control) with LoRA disabled. It decodes with
its own loop instead of ``model.generate`` because on small models the time goes into
per-step overhead and padding, not FLOPs:

* prompts are sorted by token length (longest first) so a batch carries little padding;
* rows that hit end-of-turn leave the batch at once (the KV cache is compacted), so the
  last long answer does not drag finished rows through every remaining step;
* everything runs under ``torch.inference_mode``.

Each step is a plain forward of the transformers model, so forward hooks (steering) are
applied on every step: nothing is cached that would bypass them. Greedy output is the same
as one-prompt-at-a-time greedy output (tested against that oracle). Sampling uses one seeded
generator per prompt, so sampled answers do not depend on batch composition or order.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from crossling.errors import CrosslingError
from crossling.models.config import ModelConfig
from crossling.models.loading import LoadedModel
from crossling.registry import Registry

# Tokens that end an assistant turn in the chat formats crossling meets.
END_OF_TURN_TOKENS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<|endoftext|>")


class GenerationConfig(BaseModel):
    """Decoding settings (the seed study sampled at T=0.7; crossling is greedy by default)."""

    model_config = ConfigDict(extra="forbid")

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
    seed: int = Field(default=0, description="Seed of the per-prompt sampling generators.")
    batch_size: int = Field(default=16, ge=1, description="Prompts decoded together.")


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


BACKENDS: Registry[Callable[..., Backend]] = Registry("generation backend")


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


def _row_seed(seed: int, prompt: str) -> int:
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _preallocated_cache(config: Any, capacity: int) -> Any:
    """A ``DynamicCache`` whose full-attention layers write into buffers preallocated for
    ``capacity`` positions, instead of ``torch.cat``-ing the whole cache every step (that
    copy costs ~15 % of a decode step at batch 48). Sliding-window layers keep their own
    implementation.
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    class PreallocatedLayer(DynamicLayer):
        """K/V in ``[batch, kv_heads, capacity, head_dim]`` buffers; ``keys``/``values`` are
        views of the filled part ``[batch, kv_heads, filled, head_dim]``."""

        def __init__(self) -> None:
            super().__init__()
            self._filled = 0

        def lazy_initialization(self, key_states: Any, value_states: Any) -> None:
            self.device = key_states.device
            b, h, _, dk = key_states.shape
            self._k = key_states.new_empty((b, h, capacity, dk))
            self._v = value_states.new_empty((b, h, capacity, value_states.shape[-1]))
            self._filled = 0
            self.is_initialized = True

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            end = self._filled + key_states.shape[-2]
            if end > capacity:
                raise RuntimeError(f"preallocated KV cache overflow ({end} > {capacity})")
            self._k[:, :, self._filled : end] = key_states
            self._v[:, :, self._filled : end] = value_states
            self._filled = end
            self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
            return self.keys, self.values

        def batch_select_indices(self, indices: Any) -> None:
            if self.is_initialized:
                self._k, self._v = self._k[indices], self._v[indices]
                self.keys = self._k[:, :, : self._filled]
                self.values = self._v[:, :, : self._filled]

    cache = DynamicCache(config=config)
    cache.layers = [
        PreallocatedLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers
    ]
    return cache


class HFBackend:
    """Batched generation with transformers models and peft multi-adapter switching.

    Args:
        loaded: the base model from ``crossling.models.load_model``.
        adapters: name → LoRA adapter folder; all are loaded into one ``PeftModel``.
            Checking that they belong to this base model is the caller's job
            (``crossling.models.adapters.check_adapter_base``; ``run_eval`` does it).
            A ``loaded.model`` that is already a ``PeftModel`` is used as it is.
    """

    def __init__(self, loaded: LoadedModel, adapters: dict[str, Path] | None = None) -> None:
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.adapter_names: list[str] = []
        model = loaded.model
        if adapters:
            from peft import PeftModel

            items = list(adapters.items())
            first_name, first_path = items[0]
            model = PeftModel.from_pretrained(model, str(first_path), adapter_name=first_name)
            for name, path in items[1:]:
                model.load_adapter(str(path), adapter_name=name)
            model.eval()
            self.adapter_names = [name for name, _ in items]
            loaded.model = model
        self.model = model
        self.active: str | None = None
        self.stop_ids = stop_token_ids(self.tokenizer, model)
        if self.adapter_names:
            self.set_adapter(None)

    def set_adapter(self, name: str | None) -> None:
        """Activate adapter ``name``; None runs the base model (LoRA disabled), the control."""
        if name is not None and name not in self.adapter_names:
            from crossling.errors import unknown_name

            raise unknown_name("adapter", name, self.adapter_names or ["(none loaded)"])
        if name is not None:
            self.model.set_adapter(name)
        self.active = name

    @contextlib.contextmanager
    def _adapter_context(self) -> Iterator[None]:
        if self.adapter_names and self.active is None:
            with self.model.disable_adapter():
                yield
        else:
            yield

    def encode(self, prompts: list[str]) -> list[list[int]]:
        """Chat-template and tokenize user turns (no padding)."""
        sp = self.loaded.config.system_prompt
        texts = [render_chat(self.tokenizer, p, sp) for p in prompts]
        enc = self.tokenizer(texts, add_special_tokens=False)
        return [list(ids) for ids in enc["input_ids"]]

    def generate(
        self,
        prompts: list[str],
        cfg: GenerationConfig,
        on_result: Callable[[int, Generation], None] | None = None,
    ) -> list[Generation]:
        """Generate one answer per prompt.

        Args:
            prompts: user-turn texts; the chat template and the model config's system
                prompt are applied here.
            cfg: decoding settings.
            on_result: called as ``on_result(index, generation)`` as soon as a batch is done,
                so callers can log rows incrementally (resumable runs).

        Returns:
            Generations in input order.
        """
        if not prompts:
            return []
        encoded = self.encode(prompts)
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        results: list[Generation | None] = [None] * len(prompts)
        with self._adapter_context():
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                seeds = [_row_seed(cfg.seed, prompts[i]) for i in idx]
                outs = self._decode_batch([encoded[i] for i in idx], cfg, seeds)
                for i, (new_ids, stopped) in zip(idx, outs, strict=True):
                    text_ids = new_ids[:-1] if stopped else new_ids
                    gen = Generation(
                        response=self.tokenizer.decode(text_ids, skip_special_tokens=True),
                        prompt_tokens=len(encoded[i]),
                        new_tokens=len(new_ids),
                        stopped=stopped,
                    )
                    results[i] = gen
                    if on_result is not None:
                        on_result(i, gen)
        return [r for r in results if r is not None]

    def _decode_batch(
        self, batch: list[list[int]], cfg: GenerationConfig, seeds: list[int]
    ) -> list[tuple[list[int], bool]]:
        """Decode one left-padded batch; finished rows are dropped from the batch (and the
        KV cache) at once.

        Returns:
            Per row: generated token ids (stop token last when stopped), and whether it stopped.
        """
        import torch

        from crossling.models.layers import unwrap

        lm = unwrap(self.model)  # LoRA layers live inside it; peft's wrapper adds nothing here
        device = self.loaded.device
        pad = int(self.tokenizer.pad_token_id)
        width = max(len(ids) for ids in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, row in enumerate(batch):
            ids[r, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[r, width - len(row) :] = 1
        ids, mask = ids.to(device), mask.to(device)  # [batch, seq]
        pos = (mask.cumsum(-1) - 1).clamp(min=0)  # [batch, seq]; left padding shifts positions
        stop = torch.tensor(sorted(self.stop_ids), dtype=torch.long, device=device)
        gens = None
        if cfg.do_sample:
            gens = [torch.Generator(device=device).manual_seed(s) for s in seeds]

        out_tokens: list[list[int]] = [[] for _ in batch]
        stopped = [False] * len(batch)
        alive = list(range(len(batch)))  # original row of each live batch row
        cache = _preallocated_cache(lm.config, width + cfg.max_new_tokens)
        with torch.inference_mode():
            logits = lm(
                input_ids=ids,
                attention_mask=mask,
                position_ids=pos,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            ).logits[:, -1, :]  # [batch, vocab]
            last_pos = pos[:, -1]  # [batch]
            for step in range(cfg.max_new_tokens):
                nxt = self._pick(logits, cfg, gens, alive)  # [live]
                done = torch.isin(nxt, stop)  # [live]
                nxt_list = nxt.tolist()
                done_list = done.tolist()
                for j, orig in enumerate(alive):
                    out_tokens[orig].append(nxt_list[j])
                    if done_list[j]:
                        stopped[orig] = True
                if step == cfg.max_new_tokens - 1:
                    break
                if any(done_list):
                    keep_j = [j for j, d in enumerate(done_list) if not d]
                    if not keep_j:
                        break
                    keep = torch.tensor(keep_j, dtype=torch.long, device=device)
                    cache.batch_select_indices(keep)
                    mask, last_pos, nxt = mask[keep], last_pos[keep], nxt[keep]
                    alive = [alive[j] for j in keep_j]
                mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
                last_pos = last_pos + 1
                logits = lm(
                    input_ids=nxt[:, None],
                    attention_mask=mask,
                    position_ids=last_pos[:, None],
                    cache=cache,
                    use_cache=True,
                ).logits[:, -1, :]  # [live, vocab]
        return list(zip(out_tokens, stopped, strict=True))

    @staticmethod
    def _pick(logits: Any, cfg: GenerationConfig, gens: list[Any] | None, alive: list[int]) -> Any:
        """Next token per live row: argmax, or a seeded top-p sample.  logits: [live, vocab]."""
        import torch

        if not cfg.do_sample or gens is None:
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits.float() / cfg.temperature, dim=-1)  # [live, vocab]
        if cfg.top_p < 1.0:
            sorted_p, sorted_i = probs.sort(dim=-1, descending=True)
            cum = sorted_p.cumsum(dim=-1)
            sorted_p[(cum - sorted_p) > cfg.top_p] = 0.0  # keep the smallest nucleus
            probs = torch.zeros_like(probs).scatter_(-1, sorted_i, sorted_p)
        picks = [torch.multinomial(probs[j], 1, generator=gens[row]) for j, row in enumerate(alive)]
        return torch.cat(picks)


@BACKENDS.register("hf")
def _make_hf(model_cfg: ModelConfig, adapters: dict[str, Path] | None = None) -> Backend:
    from crossling.models.loading import load_model

    return HFBackend(load_model(model_cfg), adapters)


def get_backend(name: str) -> Callable[..., Backend]:
    """The backend factory registered as ``name`` ("hf", "vllm").

    A factory is called as ``factory(model_cfg, adapters)`` and loads the model itself
    (vLLM never loads the HF model).
    """
    if name == "vllm":
        import crossling.evaluate.vllm_backend  # noqa: F401  (registers itself)
    return BACKENDS.get(name)


def check_generation_inputs(prompts: list[str]) -> None:
    """Reject empty prompts early with a fixable message."""
    for i, p in enumerate(prompts):
        if not isinstance(p, str) or not p.strip():
            raise CrosslingError(f"prompt #{i} is empty; every eval row needs a non-empty prompt.")
