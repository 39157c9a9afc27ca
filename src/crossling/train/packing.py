"""Padding-free packing: several training rows in one sequence, attention kept inside each row.

Why: a padded batch ``[rows, longest]`` spends compute on pad tokens, and on a GPU a batch of
short rows is too small to keep the device busy. Packing concatenates the rows of a
micro-batch into one sequence ``[1, total_tokens]`` with no padding at all; position ids
restart at 0 for every row, and the attention of a token sees only the earlier tokens of
its own row. The loss and the gradients are then those of the padded batch (tested to 1e-5
in fp32), only cheaper.

How attention is kept inside a row, per attention implementation of the model:

* flash-attention kernels (``flash_attention_2/3`` and the hub kernels): transformers'
  packed-sequence support, as fed by ``DataCollatorWithFlattening``: no attention mask,
  position ids restarting at 0, and ``cu_seq_lens_q/k`` + ``max_length_q/k`` keyword
  arguments, so the kernel runs variable-length attention over the row boundaries without
  any ``[T, T]`` mask (and without a host sync per layer to find the boundaries).
* ``sdpa`` and ``eager`` models without attention soft-capping, for the duration of training
  (``row_attention``): a registered attention function (transformers' public
  ``AttentionInterface``) that runs causal ``scaled_dot_product_attention`` on each row's
  slice of the packed sequence. Attention then costs what it costs per row, not
  ``T x T``: with a dense block-diagonal mask a CPU step of 8 packed rows was ~50 % slower
  than the padded batch.
* everything else: an explicit block-diagonal causal 4-D mask
  ``[1, 1, T, T]`` that transformers passes through unchanged (its documented custom 4-D
  mask input): boolean (True = attend) for ``sdpa``, additive float (0 or the dtype's
  minimum) otherwise. Models with sliding-window layers (Gemma 3) get a ``{layer type:
  mask}`` dict, the window applied inside each row. We do not rely on transformers
  detecting packing from the position ids: that detection is skipped under tracing and
  would silently fall back to plain causal attention across rows.

Rows of a micro-batch are given by the schedule (``batching.py``); on CUDA the rows of a
step may be re-split into micro-batches by a token budget from free memory
(``plan_micro_batches``), which does not change the step's gradient: the loss is a sum over
tokens, normalised by the step's token count.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from crossling.models.attention import (
    FLASH_PREFIXES,
    ROW_ATTENTION,
    attn_implementation,
    row_attention,
    row_attention_applies,
)
from crossling.models.chat import IGNORE_INDEX
from crossling.models.layers import text_config, unwrap

__all__ = [
    "FLASH_PREFIXES", "ROW_ATTENTION", "attention_inputs", "attn_implementation",
    "auto_micro_tokens", "block_causal_mask", "pack", "plan_micro_batches", "row_attention",
    "row_attention_applies", "uses_varlen",
]

def uses_varlen(impl: str) -> bool:
    """Whether this attention implementation runs packed rows as variable-length attention."""
    return impl.startswith(FLASH_PREFIXES) or "flash" in impl


def pack(examples: Sequence[dict[str, list[int]]]) -> dict[str, Any]:
    """Concatenate examples into one padding-free sequence.

    Args:
        examples: rows with ``input_ids`` and ``labels`` (``-100`` where no loss).

    Returns:
        ``input_ids`` [1, T], ``labels`` [1, T] (the first token of every row set to -100,
        so no position predicts across a row boundary), ``position_ids`` [1, T] (0 at every
        row start), ``seq_ids`` [1, T] (row index of each token), ``cu_seq_lens`` [rows + 1]
        (int32 row offsets), ``max_length`` (int, the longest row) and ``rows`` (the same
        offsets as a tuple of ints, read on the host), T = total tokens.
    """
    import torch

    ids: list[int] = []
    labels: list[int] = []
    pos: list[int] = []
    seq: list[int] = []
    cu = [0]
    for r, e in enumerate(examples):
        n = len(e["input_ids"])
        ids.extend(e["input_ids"])
        labels.append(IGNORE_INDEX)  # the first token has no prediction inside its row
        labels.extend(e["labels"][1:])
        pos.extend(range(n))
        seq.extend([r] * n)
        cu.append(cu[-1] + n)
    return {
        "input_ids": torch.tensor([ids], dtype=torch.long),
        "labels": torch.tensor([labels], dtype=torch.long),
        "position_ids": torch.tensor([pos], dtype=torch.long),
        "seq_ids": torch.tensor([seq], dtype=torch.long),
        "cu_seq_lens": torch.tensor(cu, dtype=torch.int32),
        "max_length": max(b - a for a, b in itertools.pairwise(cu)),
        "rows": tuple(cu),
    }


def block_causal_mask(
    seq_ids: Any, position_ids: Any, impl: str, dtype: Any, sliding_window: int | None = None
) -> Any:
    """The ``[1, 1, T, T]`` mask that lets a token see the earlier tokens of its own row only.

    Args:
        seq_ids: [1, T] row index of each token.
        position_ids: [1, T] position of each token inside its row.
        impl: attention implementation (``sdpa`` gets a bool mask, others an additive one).
        dtype: the model's compute dtype (for the additive mask).
        sliding_window: also limit each token to the last ``sliding_window`` positions.

    Returns:
        bool (True = attend) for sdpa, else float with 0 where allowed and the dtype's
        minimum elsewhere.
    """
    import torch

    same_row = seq_ids[0][:, None] == seq_ids[0][None, :]  # [T, T]
    back = position_ids[0][:, None] - position_ids[0][None, :]  # [T, T]: q pos - kv pos
    allowed = same_row & (back >= 0)
    if sliding_window is not None:
        allowed &= back < sliding_window
    allowed = allowed[None, None]  # [1, 1, T, T]
    if impl == "sdpa":
        return allowed
    neg = torch.finfo(dtype).min
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(~allowed, neg)


def attention_inputs(model: Any, packed: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """The attention keyword arguments of a decoder forward over a packed sequence.

    Args:
        model: the (peft) causal LM, to read its attention implementation and layer types.
        packed: output of ``pack``, its tensors on the model's device.
        dtype: the model's compute dtype.

    Returns:
        ``position_ids`` plus either the flash varlen kwargs (``cu_seq_lens_q/k``,
        ``max_length_q/k``; no mask) or ``attention_mask`` (a 4-D tensor, or a dict per layer
        type for models with sliding-window layers).
    """

    impl = attn_implementation(model)
    out: dict[str, Any] = {"position_ids": packed["position_ids"]}
    if impl == ROW_ATTENTION:
        out["packed_rows"] = packed["rows"]
        return out
    if uses_varlen(impl):
        cu, longest = packed["cu_seq_lens"], packed["max_length"]
        out.update(cu_seq_lens_q=cu, cu_seq_lens_k=cu, max_length_q=longest, max_length_k=longest)
        return out
    cfg = text_config(model)
    full = block_causal_mask(packed["seq_ids"], packed["position_ids"], impl, dtype)
    layer_types = getattr(cfg, "layer_types", None) or []
    window = getattr(cfg, "sliding_window", None)
    if "sliding_attention" in layer_types and window:
        sliding = block_causal_mask(packed["seq_ids"], packed["position_ids"], impl, dtype, window)
        out["attention_mask"] = {"full_attention": full, "sliding_attention": sliding}
    else:
        out["attention_mask"] = full
    return out


def plan_micro_batches(rows: Sequence[int], lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Split one step's rows into packed micro-batches of at most ``max_tokens`` tokens.

    First-fit decreasing: few micro-batches, each nearly full. A row longer than the budget
    gets a micro-batch of its own. The split does not change the step's gradient (the loss
    is a token sum normalised by the step's token count), only the floating-point order.

    Args:
        rows: row indices of the step (this process's share).
        lengths: token length of every row (indexed by row index).
        max_tokens: token budget of one forward pass.

    Returns:
        Micro-batches of row indices, longest rows first.
    """
    bins: list[list[int]] = []
    room: list[int] = []
    for i in sorted(rows, key=lambda i: -lengths[i]):
        for b, free in enumerate(room):
            if lengths[i] <= free:
                bins[b].append(i)
                room[b] -= lengths[i]
                break
        else:
            bins.append([i])
            room.append(max_tokens - lengths[i])
    return bins


def auto_micro_tokens(model: Any, device: Any, fraction: float = 0.6) -> int | None:
    """Tokens per packed forward pass that fit in this CUDA device's free memory.

    An estimate, not a probe: LoRA training keeps per token and layer roughly the inputs of
    every projection and the attention/MLP intermediates (~``14 x hidden + 4 x intermediate``
    values), plus fp32 logits (and their gradient) only for labelled tokens, here counted
    for every token to stay on the safe side. ``fraction`` of the free memory is used.

    Returns:
        A token budget (at least 512), or None off CUDA (the configured batch is used as is).
    """
    import torch


    dev = torch.device(device)
    if dev.type != "cuda" or not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info(dev)
    cfg = text_config(model)
    hidden = int(getattr(cfg, "hidden_size", 1024))
    inter = int(getattr(cfg, "intermediate_size", 4 * hidden))
    layers = int(getattr(cfg, "num_hidden_layers", 24))
    vocab = int(getattr(cfg, "vocab_size", 32000))
    elem = next(unwrap(model).parameters()).element_size()
    per_token = layers * (14 * hidden + 4 * inter) * elem + vocab * 4 * 3
    return max(512, int(fraction * free / per_token))
