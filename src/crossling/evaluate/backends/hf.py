"""The transformers generation backend: batched greedy/sampled decoding with LoRA switching.

The HF backend loads the base model once and every adapter into one ``PeftModel``;
``set_adapter(None)`` runs the base model (the control) with LoRA disabled. It decodes with
its own loop instead of ``model.generate`` because on small models the time goes into
per-step overhead and padding, not FLOPs:

* prompts are sorted by token length (longest first) so a batch carries little padding;
* the prompts of a batch are prefilled packed: one sequence with no padding at all, the
  prefix every prompt shares (system prompt, chat header) in it once, attention kept inside
  each prompt; its keys and values are then laid out left-padded in the KV cache and
  decoding runs on the ``[rows, 1]`` batch (``_packed_prefill``);
* ``batch_size: auto`` takes as many prompts per batch as fit (``batch_size``);
* rows that hit end-of-turn leave the batch at once (``Cache.batch_select_indices``), so the
  last long answer does not drag finished rows through every remaining step;
* on CUDA the KV cache is transformers' ``StaticCache`` (``kv_cache="auto"``; CPU keeps
  the ``DynamicCache``, where the static one measured no faster): preallocated for prompt +
  ``max_new_tokens`` and written in place, so a step does not re-concatenate the whole
  cache; shapes are fixed, so the decode step can be compiled (``compile_decode``: CUDA
  graphs on a GPU). ``kv_cache="dynamic"`` keeps the growing ``DynamicCache``; greedy
  answers are the same (tested);
* everything runs under ``torch.inference_mode``.

Only public transformers APIs are used: ``StaticCache``/``DynamicCache(config=...)``,
``Cache.reorder_cache``/``batch_select_indices`` to drop finished rows, the model's forward
with a 2-D attention mask, explicit ``position_ids`` and the cache argument (named
``past_key_values`` up to transformers 5.23 and ``cache`` from 5.24: the name is read from
the forward's signature). Because a silent change in a library can still turn answers into
garbage (it did: on 5.0–5.23 a cache passed under the new name was ignored and every answer
became ``'Here------'``), :func:`verify_decoding` decodes two canary prompts through this
loop before any eval or sweep, in every mode the run uses (greedy, sampling, steered), holds
the logits of every generated position to one teacher-forced forward over the same tokens,
compares the greedy answers with ``model.generate``'s, and stops with one line when they
disagree.

Each step is a plain forward of the transformers model, so forward hooks (steering) are
applied on every step. Greedy output equals one-prompt-at-a-time greedy output (tested
against that oracle) and ``model.generate``'s. Sampling uses one seeded generator per prompt,
so sampled answers do not depend on batch composition or order.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator
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
from crossling.models.loading import LoadedModel

# Two short prompts of different lengths: the batch carries left padding, and one row
# usually stops before the other (the cache is compacted), so every part of the loop runs.
CANARY_PROMPTS = (
    "Name three colours.",
    "Write two short sentences about the sea, then one about mountains.",
)
CANARY_TOKENS = 16
# Largest gap, in logits, between ``model.generate``'s token and ours at a divergence that
# still counts as a near-tie: bf16/fp16 kernels differ with the batch shape; in float32 only
# rounding-level ties may flip (a broken loop is off by whole logits).
TIE_TOLERANCE = {"float32": 1e-3, "low_precision": 0.5}
# Largest |Δ log-prob| (any token of the vocabulary, any generated position) between the
# decode loop's logits and one teacher-forced forward over the same tokens that still counts
# as rounding (verify_decoding). Both see the same tokens, so no trajectory diverges; only
# kernel shapes differ (batch, padding, cache vs full sequence). Measured on SmolLM2-135M
# (CPU, the canary prompts, greedy and T=0.7 sampling): float32 <= 7e-5, float16 <= 0.08,
# bfloat16 <= 0.56 (8 mantissa bits on logits of ~30). Broken loops measured at their first
# wrong position: a position id off by one 2.5-3.2 (float32 and bfloat16 alike), a stale
# step (the previous step's logits) 16-18, a dropped KV cache 16-19.
FORWARD_TOLERANCE = {"float32": 1e-3, "float16": 0.25, "bfloat16": 2.0}
KV_CACHES = ("auto", "static", "dynamic")
AUTO_CPU_BATCH = 64  # the most prompts per batch for batch_size "auto" off CUDA (see batch_size)
AUTO_MAX_BATCH = 256  # ... and on CUDA
AUTO_FRACTION = 0.5  # share of the free device memory (CUDA) or available RAM "auto" plans for


def cache_argument(lm: Any) -> str:
    """The keyword under which this model's forward takes its KV cache.

    Raises:
        CrosslingError: the forward takes neither name (an unsupported transformers).
    """
    params = inspect.signature(lm.forward).parameters
    for name in ("cache", "past_key_values"):
        if name in params:
            return name
    import transformers

    raise CrosslingError(
        f"{type(lm).__name__}.forward takes no KV cache argument (transformers "
        f"{transformers.__version__}); install a transformers version crossling supports "
        "(see pyproject.toml)."
    )


class HFBackend:
    """Batched generation with transformers models and peft multi-adapter switching.

    Args:
        loaded: the base model from ``crossling.models.load_model``.
        adapters: name → LoRA adapter folder; all are loaded into one ``PeftModel``.
            Checking that they belong to this base model is the caller's job
            (``crossling.models.adapters.check_adapter_base``; ``run_eval`` does it).
            A ``loaded.model`` that is already a ``PeftModel`` is used as it is.
        kv_cache: ``"auto"`` (default): static on CUDA, dynamic elsewhere. ``"static"``:
            transformers' ``StaticCache``, preallocated for prompt + ``max_new_tokens``, written in place (no per-step
            concatenation) and of fixed shape, which compiled decoding needs; ``"dynamic"``:
            a ``DynamicCache`` that grows by one position per step. Same greedy outputs.
        compile_decode: static cache only: run the one-token decode steps through
            ``torch.compile`` (on CUDA ``mode="reduce-overhead"``, i.e. captured CUDA graphs
            replayed every step). Shapes are fixed per batch size, so it compiles once per
            batch size (rows that finish leave the batch when the live rows fit in half of
            it). Pays off for long runs on a GPU; prefill stays eager.
        packed_prefill: prefill a batch's prompts as one padding-free sequence (default;
            models with sliding-window layers or attention soft-capping are prefilled
            padded). Same greedy answers; False forces the padded prefill.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        adapters: dict[str, Path] | None = None,
        kv_cache: str = "auto",
        compile_decode: bool = False,
        packed_prefill: bool = True,
    ) -> None:
        if kv_cache not in KV_CACHES:
            raise CrosslingError(f"kv_cache must be one of {', '.join(KV_CACHES)}, not {kv_cache!r}.")
        if kv_cache == "auto":  # static pays off on GPUs; on CPU it measured no faster
            kv_cache = "static" if loaded.device.type == "cuda" else "dynamic"
        self.kv_cache = kv_cache
        self.compile_decode = compile_decode and kv_cache == "static"
        self.packed_prefill = packed_prefill
        self._compiled: Any = None
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
    def adapter_context(self) -> Iterator[None]:
        """Run the body with the active adapter (LoRA disabled for the control)."""
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
        size = self.batch_size(cfg, max(len(e) for e in encoded))
        with self.adapter_context():
            for start in range(0, len(order), size):
                idx = order[start : start + size]
                seeds = [row_seed(cfg.seed, prompts[i]) for i in idx]
                outs = self.decode_batch([encoded[i] for i in idx], cfg, seeds)
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

    def batch_size(self, cfg: GenerationConfig, longest_prompt: int) -> int:
        """Prompts per batch: ``cfg.batch_size``, or for ``"auto"`` as many as fit.

        What one row needs (:func:`rows_that_fit`): its KV cache at full length (prompt +
        ``max_new_tokens``, every layer, keys and values) plus its float32 last-position
        logits and the activations of the packed prefill. On CUDA: ``AUTO_FRACTION`` of the
        free memory, at most ``AUTO_MAX_BATCH``. Elsewhere: ``AUTO_FRACTION`` of the
        available RAM (:func:`available_ram`), at most ``AUTO_CPU_BATCH``: per-step costs
        that do not grow with the batch (the weights streamed from memory, per-layer
        overhead) are shared by more rows, so larger batches are cheaper per token
        (SmolLM2-135M decode steps on 2 cores: 169 tok/s at 24 rows, 202 at 48, 294 at 96),
        but a laptop running a 0.5B model with long answers must not run out of RAM.
        """
        if cfg.batch_size != "auto":
            return int(cfg.batch_size)
        import torch

        from crossling.models.layers import unwrap

        device = self.loaded.device
        elem = next(self.model.parameters()).element_size()
        config = unwrap(self.model).config
        if device.type == "cuda" and torch.cuda.is_available():
            free, _total = torch.cuda.mem_get_info(device)
            return rows_that_fit(config, elem, longest_prompt, cfg.max_new_tokens, free)
        ram = available_ram()
        if ram is None:
            return AUTO_CPU_BATCH
        return rows_that_fit(config, elem, longest_prompt, cfg.max_new_tokens, ram,
                             cap=AUTO_CPU_BATCH)

    def decode_batch(
        self,
        batch: list[list[int]],
        cfg: GenerationConfig,
        seeds: list[int],
        record: list[list[Any]] | None = None,
    ) -> list[tuple[list[int], bool]]:
        """Decode one left-padded batch; finished rows are dropped from the batch (and the
        KV cache) at once.

        Args:
            batch: token ids of each chat-templated prompt (unpadded).
            cfg: decoding settings.
            seeds: one sampling seed per row (unused when greedy).
            record: the start-up canary's probe (:func:`verify_decoding`); when given, one
                empty list per row, and each gets, per generated token, the raw logits
                ``[vocab]`` (a float32 copy) that token was chosen from. None (generation)
                costs nothing.

        Returns:
            Per row: generated token ids (stop token last when stopped), and whether it stopped.
        """
        import torch

        from crossling.models.layers import unwrap

        lm = unwrap(self.model)  # LoRA layers live inside it; peft's wrapper adds nothing here
        cache_kw = cache_argument(lm)
        device = self.loaded.device
        width = max(len(ids) for ids in batch)
        ids, mask, pos = self._left_padded(batch, width)  # [batch, seq] each
        stop = torch.tensor(sorted(self.stop_ids), dtype=torch.long, device=device)
        gens = None
        if cfg.do_sample:
            gens = [torch.Generator(device=device).manual_seed(s) for s in seeds]

        out_tokens: list[list[int]] = [[] for _ in batch]
        stopped = [False] * len(batch)
        alive = list(range(len(batch)))  # original row of each live batch row
        static = self.kv_cache == "static"
        cache, mask = self._new_cache(lm, mask, width, cfg.max_new_tokens)
        step_fn = self._decode_step(lm, cache_kw)
        with torch.inference_mode():
            logits = self._packed_prefill(lm, batch, cache)  # [batch, vocab] or None
            if logits is None:
                logits = lm(input_ids=ids, attention_mask=mask, position_ids=pos,
                            use_cache=True, logits_to_keep=1,
                            **{cache_kw: cache}).logits[:, -1, :]  # [batch, vocab]
            last_pos = pos[:, -1]  # [batch]
            finished: set[int] = set()  # rows done but still in the batch (compiled decoding)
            for step in range(cfg.max_new_tokens):
                nxt = self.pick(logits, cfg, gens, alive)  # [live]
                done = torch.isin(nxt, stop)  # [live]
                done_list = done.tolist()
                _take(nxt.tolist(), done_list, alive, finished, out_tokens, stopped, logits,
                      record)
                if step == cfg.max_new_tokens - 1:
                    break
                for j, orig in enumerate(alive):
                    if done_list[j]:
                        finished.add(orig)
                live_j = [j for j, orig in enumerate(alive) if orig not in finished]
                if not live_j:
                    break
                if self._compact(len(live_j), len(alive)):
                    keep = torch.tensor(live_j, dtype=torch.long, device=device)
                    _select_rows(cache, keep, static)
                    mask, last_pos, nxt = mask[keep], last_pos[keep], nxt[keep]
                    alive = [alive[j] for j in live_j]
                if static:
                    mask[:, width + step] = 1  # the slot this step writes
                else:
                    mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
                last_pos = last_pos + 1
                logits = step_fn(nxt[:, None], mask, last_pos[:, None], cache)  # [live, vocab]
        return list(zip(out_tokens, stopped, strict=True))

    def _left_padded(self, batch: list[list[int]], width: int) -> tuple[Any, Any, Any]:
        """``ids``, ``mask`` and ``position_ids``, each ``[batch, width]`` on the model's
        device, of the prompts left-padded to ``width`` (padding shifts the positions)."""
        import torch

        pad = int(self.tokenizer.pad_token_id)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, row in enumerate(batch):
            ids[r, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[r, width - len(row) :] = 1
        ids, mask = ids.to(self.loaded.device), mask.to(self.loaded.device)
        return ids, mask, (mask.cumsum(-1) - 1).clamp(min=0)

    def _new_cache(self, lm: Any, mask: Any, width: int, max_new: int) -> tuple[Any, Any]:
        """The KV cache of one batch and its attention mask: a ``StaticCache`` preallocated
        for prompt + ``max_new`` tokens with the mask covering all of it (fixed shapes for
        every step), or a ``DynamicCache`` with the prompt's mask ``[batch, width]``."""
        import torch
        from transformers import DynamicCache, StaticCache

        if self.kv_cache == "static":
            cache = StaticCache(config=lm.config, max_cache_len=width + max_new)
            return cache, torch.cat([mask, mask.new_zeros((mask.shape[0], max_new))], dim=1)
        return DynamicCache(config=lm.config), mask

    def packs_prefill(self, lm: Any) -> bool:
        """Whether prompts are prefilled packed for this model (see :meth:`_packed_prefill`):
        asked for, sdpa/eager attention without soft-capping, no sliding-window layers (a
        window over a left-padded cache counts slots, not tokens)."""
        from crossling.models.attention import has_sliding_layers, row_attention_applies

        return self.packed_prefill and row_attention_applies(lm) and not has_sliding_layers(lm)

    def _packed_prefill(self, lm: Any, batch: list[list[int]], cache: Any) -> Any:
        """Prefill the batch's prompts as one padding-free sequence and fill ``cache`` from it.

        A padded prefill of prompts of lengths 31..86 computes ``rows x 86`` positions, ~40 %
        of them padding; packed, it computes exactly the prompts' tokens, and the part every
        prompt shares (system prompt and chat-template header: 25 of SmolLM2's ~52 tokens)
        only once. The sequence ``[1, T]`` is the shared prefix, then each prompt's rest, with
        positions continuing from the prefix; each rest attends to the prefix and to its own
        earlier tokens (``crossling.models.attention.row_attention``), which hands every
        layer's keys and values to us. They are laid out left-padded, ``[rows, kv_heads,
        width, head_dim]`` (the prefix copied into every row, zeros in padding slots, which
        the attention mask hides) and written with the cache's public ``update``. What
        follows is the same as after a padded prefill (tested: same greedy answers).

        Returns:
            Next-token logits of every row ``[rows, vocab]``, or None when packing does not
            apply to this model (the caller prefills padded).
        """
        import itertools

        import torch

        from crossling.models.attention import row_attention
        from crossling.models.layers import text_config

        if not self.packs_prefill(lm):
            return None
        device = self.loaded.device
        lens = [len(r) for r in batch]
        prefix = shared_prefix_length(batch)
        segments = ([batch[0][:prefix]] if prefix else []) + [r[prefix:] for r in batch]
        rows = tuple(itertools.accumulate((len(x) for x in segments), initial=0))
        flat = torch.tensor([[t for x in segments for t in x]], dtype=torch.long, device=device)
        pos = torch.tensor([list(range(prefix)) + [i for n in lens for i in range(prefix, n)]],
                           device=device)  # [1, T]
        last = torch.tensor(rows[-len(batch):], device=device) - 1  # [rows]: last prompt tokens
        sink: dict[int, tuple[Any, Any]] = {}
        with row_attention(lm) as switched:
            if not switched:
                return None
            logits = lm(input_ids=flat, position_ids=pos, use_cache=False, logits_to_keep=last,
                        packed_rows=rows, shared_prefix=prefix, kv_sink=sink).logits[0]
        n_layers = int(text_config(lm).num_hidden_layers)
        if sorted(sink) != list(range(n_layers)):
            raise CrosslingError(
                f"packed prefill saw keys of {len(sink)} of {n_layers} layers of "
                f"{type(lm).__name__}; run with HFBackend(packed_prefill=False) and report "
                "this model."
            )
        # where each cache slot [row, column] reads from in the packed sequence; T = a zero slot
        width, total = max(lens), rows[-1]
        index = []
        for r, n in enumerate(lens):
            start = rows[-len(batch) - 1 + r]  # where this row's rest starts in the sequence
            index.append([total] * (width - n) + list(range(prefix))
                         + list(range(start, start + n - prefix)))
        where = torch.tensor(index, device=device)  # [rows, width]
        for layer in range(n_layers):
            kv = []
            for t in sink[layer]:  # [1, kv_heads, T, head_dim]
                src = torch.cat([t[0], t.new_zeros((t.shape[1], 1, t.shape[3]))], dim=1)
                kv.append(src[:, where].transpose(0, 1).contiguous())  # [rows, heads, width, dim]
            cache.update(kv[0], kv[1], layer)
        return logits

    def _compact(self, live: int, rows: int) -> bool:
        """Whether finished rows leave the batch now: at once, except under compiled
        decoding, where every batch size is a new graph: only when the live rows fit in half."""
        if live == rows:
            return False
        return not self.compile_decode or live <= rows // 2

    def _decode_step(self, lm: Any, cache_kw: str) -> Callable[..., Any]:
        """One decode step ``(ids [live, 1], mask [live, kv], pos [live, 1], cache) -> logits
        [live, vocab]``: the model's forward, compiled when ``compile_decode`` is set."""

        def step(ids: Any, mask: Any, pos: Any, cache: Any) -> Any:
            return lm(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True,
                      **{cache_kw: cache}).logits[:, -1, :]

        if not self.compile_decode:
            return step
        if self._compiled is None:
            import torch

            on_cuda = self.loaded.device.type == "cuda"
            self._compiled = torch.compile(
                step, mode="reduce-overhead" if on_cuda else None, dynamic=False
            )
        return self._compiled

    @staticmethod
    def pick(logits: Any, cfg: GenerationConfig, gens: list[Any] | None, alive: list[int]) -> Any:
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


def shared_prefix_length(batch: list[list[int]]) -> int:
    """Tokens every prompt of the batch starts with, leaving each at least one of its own
    (its last token's logits start the answer); 0 for a single prompt."""
    if len(batch) < 2:
        return 0
    first, n = batch[0], min(len(r) for r in batch) - 1
    for i in range(n):
        if any(r[i] != first[i] for r in batch[1:]):
            return i
    return max(n, 0)


def available_ram() -> int | None:
    """Bytes of RAM available to a new allocation without swapping: psutil's
    ``virtual_memory().available`` where psutil is installed, else ``MemAvailable`` of
    ``/proc/meminfo`` (Linux), else None (unknown)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def rows_that_fit(
    config: Any, elem: int, longest_prompt: int, max_new_tokens: int, free_bytes: int,
    cap: int = AUTO_MAX_BATCH, fraction: float = AUTO_FRACTION,
) -> int:
    """Prompts per generation batch that fit in ``fraction`` of ``free_bytes`` (1 to ``cap``).

    A row needs its KV cache at full length (prompt + new tokens, every layer, keys and
    values, ``elem`` bytes each), its float32 last-position logits (and a softmax when
    sampling, and the pick's copy: 3 x vocab x 4 bytes) and its share of the packed
    prefill's activations (the prompt's tokens x (4 x hidden + 3 x intermediate) values);
    the weights are already loaded. Qwen2.5-0.5B's shape in float32 with a 100-token prompt
    and 256 new tokens: 8.8 MB of KV cache, 1.8 MB of logits, 7.3 MB of prefill per row.
    """
    from crossling.models.layers import text_config

    cfg = text_config(config)
    heads = int(cfg.num_attention_heads)
    kv_heads = int(getattr(cfg, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // heads)
    hidden, vocab = int(cfg.hidden_size), int(cfg.vocab_size)
    inter = int(getattr(cfg, "intermediate_size", None) or 4 * hidden)
    tokens = longest_prompt + max_new_tokens
    per_row = (2 * int(cfg.num_hidden_layers) * kv_heads * head_dim * tokens * elem
               + 3 * vocab * 4
               + longest_prompt * (4 * hidden + 3 * inter) * elem)
    return max(1, min(int(cap), int(fraction * max(0, free_bytes) / per_row)))


def reference_greedy(backend: HFBackend, prompt_ids: list[int], max_new_tokens: int) -> Any:
    """``model.generate``'s greedy continuation of one unpadded prompt, with raw logits.

    Returns:
        ``(tokens, logits)``: new token ids (stop token included, padding dropped) and the
        raw next-token logits of each step ``[steps, vocab]`` (float32, on CPU).
    """
    import torch
    from transformers import GenerationConfig as HFGenerationConfig

    stop = sorted(backend.stop_ids)
    pad = int(backend.tokenizer.pad_token_id)
    gcfg = HFGenerationConfig(
        do_sample=False, max_new_tokens=max_new_tokens, eos_token_id=stop, pad_token_id=pad,
        repetition_penalty=1.0, output_logits=True, return_dict_in_generate=True,
    )
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=backend.loaded.device)
    with torch.inference_mode(), backend.adapter_context():
        out = backend.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=gcfg
        )
    new = out.sequences[0, len(prompt_ids) :].tolist()
    logits = torch.stack([s[0] for s in out.logits]).float().cpu()  # [steps, vocab]
    tokens: list[int] = []
    for t in new:
        tokens.append(int(t))
        if t in backend.stop_ids:
            break
    return tokens, logits[: len(tokens)]


def _take(nxt: list[int], done: list[bool], alive: list[int], finished: set[int],
          out_tokens: list[list[int]], stopped: list[bool], logits: Any,
          record: list[list[Any]] | None) -> None:
    """Append each live row's new token (and, for the canary, the logits ``[vocab]`` it was
    chosen from: a float32 copy, as compiled steps reuse their output buffer); mark rows
    that produced a stop token. Rows already finished but still in the batch are skipped."""
    import torch

    for j, orig in enumerate(alive):
        if orig in finished:
            continue
        out_tokens[orig].append(nxt[j])
        if record is not None:
            record[orig].append(logits[j].to(torch.float32, copy=True))
        if done[j]:
            stopped[orig] = True


def _select_rows(cache: Any, keep: Any, static: bool) -> None:
    """Keep only the batch rows ``keep`` in the KV cache, through the public re-indexing of
    each cache type."""
    if static:
        cache.reorder_cache(keep)
    else:
        cache.batch_select_indices(keep)


def _library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("transformers", "peft", "accelerate", "torch"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg} (absent)")
    return ", ".join(parts)


def decoding_mode(cfg: GenerationConfig, steered: bool = False) -> str:
    """The canary's name for a decoding mode: ``greedy``, ``sampling (temperature 0.7,
    top_p 1)``, with `` + steering`` when a steering context is active."""
    mode = (f"sampling (temperature {cfg.temperature:g}, top_p {cfg.top_p:g})"
            if cfg.do_sample else "greedy")
    return f"{mode} + steering" if steered else mode


def teacher_forced_logits(
    backend: HFBackend, prompt_ids: list[int], answer: list[int], prime: bool = False
) -> Any:
    """Raw logits of ONE full forward over ``prompt + answer[:-1]`` at the answer's positions.

    The reference the decode loop must reproduce: one unpadded sequence ``[1, P + n - 1]``
    through the public (PEFT) model with no KV cache, no packing, no padding and
    transformers' own positions and causal mask, so it shares none of the loop's machinery
    (cache argument, packed prefill, left padding, compaction, compiled steps). Run it in
    the adapter and steering context the loop ran in.

    Args:
        backend: the backend whose model to run.
        prompt_ids: the chat-templated prompt (unpadded), ``P`` tokens.
        answer: the ``n >= 1`` tokens the loop generated for it.
        prime: first run the prompt alone. Steering hooks (``crossling.steer.apply``) learn a
            sequence's prompt length from its first forward and recognise a longer
            cacheless forward over the same prompt as its continuation, so the answer's
            positions count as 'generated' here as they do in the loop.

    Returns:
        ``[n, vocab]`` float32 (on the model's device): row ``i`` holds the logits that
        predict ``answer[i]``.
    """
    import torch

    n = len(answer)
    ids = torch.tensor([prompt_ids + answer[:-1]], dtype=torch.long,
                       device=backend.loaded.device)  # [1, P + n - 1]
    with torch.inference_mode():
        if prime:
            backend.model(input_ids=ids[:, : len(prompt_ids)], use_cache=False, logits_to_keep=1)
        logits = backend.model(input_ids=ids, use_cache=False, logits_to_keep=n).logits
    return logits[0].to(torch.float32)  # [n, vocab]


def first_disagreement(
    tokens: list[int], loop_logits: Any, ref_logits: Any, cfg: GenerationConfig, tol: float
) -> tuple[int, float, str] | None:
    """Where the decode loop first leaves the teacher-forced reference, or None.

    Compared per generated position, on log-softmax (the raw logits up to the per-position
    constant that neither argmax nor sampling sees) at temperature 1, every token of the
    vocabulary: the largest ``|Δ log-prob|`` must be at most ``tol``. Then the tokens, with
    temperature and top-p re-derived here, independently of :meth:`HFBackend.pick`, and
    slack for exactly what a ``tol`` error can move (so a loop that passed the logits check
    is never refused for rounding): a greedy token must be the reference's argmax up to a
    log-prob gap of ``2 tol``; a sampled one must lie in the reference's top-p nucleus. At
    temperature ``T`` a probability moves by at most a factor ``r = exp(2 tol / T)``, so the
    reference mass of the tokens more likely than it by over ``r²`` must be at most
    ``r · top_p`` (float32: ``r`` ≈ 1.003; in bfloat16 the token checks are vacuous).

    Args:
        tokens: the loop's ``n`` tokens.
        loop_logits: ``[n, vocab]`` the logits each token was chosen from (the loop's record).
        ref_logits: ``[n, vocab]`` from :func:`teacher_forced_logits`.
        cfg: the mode the loop ran in.
        tol: the rounding tolerance on log-probs (``FORWARD_TOLERANCE``).

    Returns:
        ``(position, max difference, what differs)`` at the first disagreement, else None.
    """
    import torch

    a = torch.log_softmax(loop_logits.to(ref_logits.device, torch.float32), dim=-1)
    b = torch.log_softmax(ref_logits.to(torch.float32), dim=-1)  # [n, vocab]
    same = (a == b) | (a.isnan() & b.isnan())  # the same infinity or NaN (a model overflowing
    diff = torch.where(same, 0.0, (a - b).abs()).amax(dim=-1)  # under steering) agrees; [n]
    bad = ~(diff <= tol)  # NaN on one side only counts as a disagreement
    if bool(bad.any()):
        worst = float(diff.nan_to_num(nan=float("inf")).max())
        return int(bad.nonzero()[0]), worst, "max |Δ log-prob|"
    rows = torch.arange(len(tokens), device=b.device)
    tok = torch.tensor(tokens, dtype=torch.long, device=b.device)  # [n]
    if not cfg.do_sample:
        gap = b.amax(dim=-1) - b[rows, tok]  # [n]: 0 when the token is the argmax
        bad = gap > 2 * tol
        if bool(bad.any()):
            d = int(bad.nonzero()[0])
            return d, float(gap[d]), f"log-prob gap of greedy token {tokens[d]} to the argmax"
    elif cfg.top_p < 1.0:
        p = torch.softmax(ref_logits.to(torch.float32) / cfg.temperature, dim=-1)  # [n, vocab]
        r = math.exp(2 * tol / cfg.temperature)  # most a probability can move by rounding
        mine = p[rows, tok]  # [n]
        above = torch.where(p > r * r * mine[:, None], p, 0.0).sum(dim=-1)  # [n]
        bad = above > r * cfg.top_p
        if bool(bad.any()):
            d = int(bad.nonzero()[0])
            return d, float(above[d]), (f"probability mass ranked above sampled token "
                                        f"{tokens[d]} (outside the top_p nucleus)")
    return None


def _check_mode(
    backend: HFBackend,
    encoded: list[list[int]],
    cfg: GenerationConfig,
    tol: float,
    steering: Callable[[], contextlib.AbstractContextManager[Any]] | None,
    before: Callable[[list[tuple[list[int], bool]]], None] | None = None,
) -> None:
    """Decode the canary prompts in ``cfg``'s mode through :meth:`HFBackend.decode_batch`
    (recording the logits of every generated position) and hold each prompt's answer to
    :func:`teacher_forced_logits` under the same adapter and steering context. ``before``
    sees the loop's answers first (the greedy comparison with ``model.generate``).

    Raises:
        CrosslingError: one line naming the mode, prompt, position, difference, versions.
    """
    import torch

    mode = decoding_mode(cfg, steering is not None)

    def context() -> contextlib.AbstractContextManager[Any]:
        return steering() if steering is not None else contextlib.nullcontext()

    record: list[list[Any]] = [[] for _ in encoded]
    seeds = [row_seed(cfg.seed, p) for p in CANARY_PROMPTS]
    with backend.adapter_context(), context():
        outs = backend.decode_batch(encoded, cfg, seeds, record)
    if before is not None:  # outside the adapter context: it enters its own (not nestable)
        before(outs)
    for k, (ids, (tokens, _), logits) in enumerate(zip(encoded, outs, record, strict=True)):
        where: tuple[int, float, str] | None
        if len(logits) != len(tokens):
            where = (min(len(logits), len(tokens)), float("inf"),
                     f"{len(logits)} recorded logits for {len(tokens)} tokens")
        else:
            with backend.adapter_context(), context():
                ref = teacher_forced_logits(backend, ids, tokens, prime=steering is not None)
            where = first_disagreement(tokens, torch.stack(logits), ref, cfg, tol)
        if where is None:
            continue
        d, gap, what = where
        raise CrosslingError(
            f"generation self-check failed in {mode} mode: on canary prompt {k + 1} "
            f"({CANARY_PROMPTS[k]!r}) crossling's decode loop and a full forward pass over "
            f"the same tokens disagree from generated position {d} ({what} {gap:.3g}, "
            f"tolerance {tol:g}) with {_library_versions()}; answers would be wrong, so "
            "nothing was generated — install the versions pinned in pyproject.toml "
            "(pip install -e .) or report this combination."
        )


def _check_against_generate(
    backend: HFBackend, encoded: list[list[int]], ours: list[tuple[list[int], bool]],
    max_new_tokens: int, tol: float,
) -> None:
    """Greedy answers of the loop vs ``model.generate``'s, one prompt at a time (a
    divergence passes only at a near-tie of ``tol`` logits in ``model.generate``'s logits)."""
    for k, (ids, (mine, _)) in enumerate(zip(encoded, ours, strict=True)):
        ref, ref_logits = reference_greedy(backend, ids, max_new_tokens)
        if mine == ref:
            continue
        d = next((i for i, (a, b) in enumerate(zip(mine, ref, strict=False)) if a != b),
                 min(len(mine), len(ref)))
        gap = float("inf")
        if d < len(mine) and d < len(ref):
            gap = float(ref_logits[d, ref[d]] - ref_logits[d, mine[d]])
        if gap <= tol:
            continue
        tok = backend.tokenizer
        raise CrosslingError(
            f"generation self-check failed in greedy mode: crossling's decode loop and "
            f"model.generate disagree on canary prompt {k + 1} from token {d} "
            f"({tok.decode(mine[:d + 4])!r} vs {tok.decode(ref[:d + 4])!r}) with "
            f"{_library_versions()}; answers would be wrong, so nothing was generated — "
            "install the versions pinned in pyproject.toml (pip install -e .) or report this "
            "combination."
        )


def verify_decoding(
    backend: HFBackend,
    cfg: GenerationConfig | None = None,
    *,
    steering: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
    max_new_tokens: int = CANARY_TOKENS,
) -> None:
    """The start-up canary: the backend's decode loop, in every mode the run uses, must
    compute what the model computes.

    Why: a silent change in a library (or in this loop) can turn answers into garbage, and
    only in one mode — a sampling-only or steering-only path is never seen by a greedy check.
    The two canary prompts are decoded together through :meth:`HFBackend.decode_batch` (the
    path generation uses: left padding or packed prefill, KV cache, compaction, compiled
    steps), in each mode:

    * greedy, always;
    * the run's own mode when it samples (``cfg``: temperature, top_p, seeds);
    * the run's mode under ``steering()`` when steering is given.

    Each time the loop records the logits ``[vocab]`` every generated token was chosen
    from, and each prompt's answer gets ONE teacher-forced forward over prompt + answer
    (unpadded, no cache; :func:`teacher_forced_logits`) in the same adapter and steering
    context. At every generated position the two must agree to rounding: max ``|Δ log-prob|``
    over the vocabulary at most ``FORWARD_TOLERANCE`` (float32 1e-3, float16 0.25, bfloat16
    2.0: measured rounding times 3.5 to 14, below what any broken loop measured); then the
    tokens must follow from the reference (greedy: its argmax up to a near-tie; sampling:
    inside its top-p nucleus; :func:`first_disagreement`). Teacher forcing makes the check
    exact whatever the mode: a sampled answer cannot be replayed, but its logits can.

    The greedy answers are also compared with ``model.generate``'s, one prompt at a time
    (``TIE_TOLERANCE`` at a divergence). Not redundant: the forward check holds the loop to
    the model's forward, whatever tokens the loop chose to feed it; ``model.generate`` is an
    independently written loop with transformers' own generation inputs (cache positions,
    model-specific ``prepare_inputs_for_generation``) and stop handling. It stays greedy
    (samplers' random streams differ) and runs first, as before.

    Cost at start-up: one canary decode (``max_new_tokens`` steps) per mode, two
    ``model.generate`` calls, and two forwards of ~``P + max_new_tokens`` tokens per mode.

    Args:
        backend: the backend, with the adapter the run starts with active.
        cfg: the run's decoding settings (None: greedy). Only the mode is taken from it
            (do_sample, temperature, top_p, seed); the canary decodes ``max_new_tokens``.
        steering: returns a fresh context manager that steers ``backend.model`` (e.g.
            ``lambda: steer(backend.model, vectors, layer, strength)``), for runs that steer.
        max_new_tokens: tokens decoded per canary prompt.

    Raises:
        CrosslingError: one line naming the mode, prompt, first differing position, the
            difference and the library versions; nothing is generated.
    """
    import torch

    encoded = backend.encode(list(CANARY_PROMPTS))
    run = (cfg or GenerationConfig()).model_copy(
        update={"max_new_tokens": max_new_tokens, "batch_size": len(encoded)})
    greedy = run.model_copy(update={"do_sample": False})
    dtype = next(backend.model.parameters()).dtype
    fp32 = dtype == torch.float32
    tie = TIE_TOLERANCE["float32" if fp32 else "low_precision"]
    tol = FORWARD_TOLERANCE["float32" if fp32 else "float16" if dtype == torch.float16
                            else "bfloat16"]

    def against_generate(outs: list[tuple[list[int], bool]]) -> None:
        _check_against_generate(backend, encoded, outs, max_new_tokens, tie)

    _check_mode(backend, encoded, greedy, tol, None, before=against_generate)
    if run.do_sample:
        _check_mode(backend, encoded, run, tol, None)
    if steering is not None:
        _check_mode(backend, encoded, run, tol, steering)


def make_hf_backend(
    model_cfg: ModelConfig,
    adapters: dict[str, Path] | None = None,
    generation: GenerationConfig | None = None,
) -> Backend:
    """Load the model, attach the adapters and run the start-up canary in the run's
    decoding mode (``generation``; None: greedy)."""
    from crossling.models.loading import load_model

    backend = HFBackend(load_model(model_cfg), adapters)
    verify_decoding(backend, generation)
    return backend
