"""Attention over packed sequences: several rows in one ``[1, T]`` sequence, none seeing another.

Why here, below the stages: training packs rows to spend no compute on padding
(``crossling.train.packing``), and generation packs the prompts of a batch for the same
reason (``crossling.evaluate.backends.hf``: packed prefill); both need the same attention.

:func:`row_attention` registers :func:`_row_attention` with transformers' public
``AttentionInterface`` and switches the model to it (``set_attn_implementation``) for the
duration of a block. A forward then takes ``packed_rows`` (the row offsets) and runs causal
``scaled_dot_product_attention`` on each row's slice, so attention costs what it costs per
row instead of ``T x T``. Given a ``kv_sink`` dict, it also hands each layer's keys and
values (after rotary embedding, before any grouped-query repeat) to the caller: that is how
a packed prefill fills a per-row KV cache without reading any cache internals.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

FLASH_PREFIXES = ("flash_attention", "kernels-community/flash", "kernels-community/vllm-flash")
ROW_ATTENTION = "crossling_packed_rows"


def attn_implementation(model: Any) -> str:
    """The attention implementation a transformers model runs with (``sdpa`` if unknown).

    ``config._attn_implementation`` is how transformers itself and its docs read it."""
    from crossling.models.layers import unwrap

    cfg = getattr(unwrap(model), "config", None)
    impl = getattr(cfg, "_attn_implementation", None)
    return impl if isinstance(impl, str) and impl else "sdpa"


def _row_attention(
    module: Any, query: Any, key: Any, value: Any, attention_mask: Any, dropout: float = 0.0,
    scaling: float | None = None, packed_rows: tuple[int, ...] | None = None,
    kv_sink: dict[int, tuple[Any, Any]] | None = None, shared_prefix: int = 0, **kwargs: Any,
) -> tuple[Any, None]:
    """Causal attention inside each packed row.

    Args:
        query: [1, heads, T, head_dim]; key, value: [1, kv_heads, T, head_dim].
        packed_rows: row offsets ``(0, n1, n1 + n2, ..., T)``.
        kv_sink: when given, ``kv_sink[module.layer_idx] = (key, value)`` (both
            [1, kv_heads, T, head_dim]) for the caller to place in a KV cache.
        shared_prefix: when > 0, the first row (``shared_prefix`` tokens) is a prefix every
            other row continues: they attend to it and then causally to themselves.

    Returns:
        ([1, T, heads, head_dim], None), the layout transformers' attention functions return.
    """
    import torch
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    if packed_rows is None:
        raise RuntimeError(
            f"attention '{ROW_ATTENTION}' runs packed sequences only (pass packed_rows)"
        )
    if kv_sink is not None:
        kv_sink[int(module.layer_idx)] = (key, value)
    window = getattr(module, "sliding_window", None)
    if shared_prefix and window is not None:
        raise RuntimeError("a shared prefix is not supported with sliding-window attention")
    gqa = query.shape[1] != key.shape[1]
    p = dropout if module.training else 0.0
    outs = []
    for a, b in itertools.pairwise(packed_rows):
        q, k, v = query[:, :, a:b], key[:, :, a:b], value[:, :, a:b]
        if shared_prefix and a > 0:  # a continuation of the prefix [0, shared_prefix)
            k = torch.cat([key[:, :, :shared_prefix], k], dim=2)
            v = torch.cat([value[:, :, :shared_prefix], v], dim=2)
            n = b - a
            # query i (at prefix + i) sees the prefix and its own tokens 0..i
            mask = torch.ones(n, shared_prefix + n, dtype=torch.bool, device=query.device)
            mask[:, shared_prefix:] = torch.ones(n, n, dtype=torch.bool, device=query.device).tril()
            outs.append(sdpa(q, k, v, attn_mask=mask, dropout_p=p, scale=scaling, enable_gqa=gqa))
        elif window is not None and b - a > window:
            pos = torch.arange(b - a, device=query.device)
            back = pos[:, None] - pos[None, :]
            mask = (back >= 0) & (back < window)  # [n, n]
            outs.append(sdpa(q, k, v, attn_mask=mask, dropout_p=p, scale=scaling, enable_gqa=gqa))
        else:
            outs.append(sdpa(q, k, v, is_causal=True, dropout_p=p, scale=scaling, enable_gqa=gqa))
    return torch.cat(outs, dim=2).transpose(1, 2).contiguous(), None


def row_attention_applies(model: Any) -> bool:
    """Whether ``row_attention`` can take over this model's attention: sdpa or eager, and no
    attention-logit soft-capping (which sdpa cannot express)."""
    from crossling.models.layers import text_config

    return attn_implementation(model) in ("sdpa", "eager") and not getattr(
        text_config(model), "attn_logit_softcapping", None
    )


def has_sliding_layers(model: Any) -> bool:
    """Whether some decoder layers attend within a sliding window (Gemma 3, Mistral …)."""
    from crossling.models.layers import text_config

    cfg = text_config(model)
    layer_types = getattr(cfg, "layer_types", None) or []
    if layer_types:  # Qwen2 sets a window but marks every layer full attention
        return any(t != "full_attention" for t in layer_types)
    return bool(getattr(cfg, "sliding_window", None))


@contextlib.contextmanager
def row_attention(model: Any, enabled: bool = True) -> Iterator[bool]:
    """Run the model's attention per packed row while the block is active.

    Registers :func:`_row_attention` with ``transformers.AttentionInterface`` and switches
    the model to it with ``set_attn_implementation``; the previous implementation is
    restored on exit. Yields whether the switch happened (not for flash models, which run
    varlen already, nor for models ``row_attention_applies`` rejects: those use the mask).
    """
    from transformers import AttentionInterface

    from crossling.models.layers import unwrap

    if not enabled or not row_attention_applies(model):
        yield False
        return
    base = unwrap(model)
    before = attn_implementation(model)
    AttentionInterface.register(ROW_ATTENTION, _row_attention)
    base.set_attn_implementation(ROW_ATTENTION)
    try:
        yield True
    finally:
        base.set_attn_implementation(before)
