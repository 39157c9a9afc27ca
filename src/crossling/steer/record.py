"""Record the residual stream (decoder-layer outputs) of chat prompts, all layers in one pass.

Why hooks on the decoder layers and not ``output_hidden_states``: steering adds to exactly
these tensors, so vectors and hooks must see the same thing. (HF's ``hidden_states[i + 1]``
equals layer ``i``'s output except for the last layer, where the final norm is applied.)

Pooling per prompt: ``mean`` averages the prompt tokens after the chat-template prefix that
every prompt shares (system turn; identical across languages, so it carries no language
signal), padding excluded; ``last`` takes the last prompt token (the end of the
generation prompt, where the answer starts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from crossling.errors import CrosslingError
from crossling.models.layers import get_decoder_layers


def layer_owner(model: Any, layers: Any) -> Any:
    """The module whose direct child is the decoder-layer ModuleList (``LlamaModel`` …):
    calling it runs the decoder stack without the LM head."""
    from crossling.models.layers import unwrap

    for module in unwrap(model).modules():
        if any(child is layers for child in module.children()):
            return module
    raise CrosslingError("could not find the module that owns the decoder layers; set layers_path.")


def pool_kept(acts: Any, keep: Any) -> tuple[Any, Any]:
    """Mean activation over the kept positions of each row, and the summed token norms.

    Args:
        acts: ``[b, L, seq, d]`` activations of every recorded layer.
        keep: ``[b, seq]`` bool, the positions pooled (at least one per row).

    Returns:
        ``means [b, L, d]`` and ``norms [L]`` (sum of kept tokens' L2 norms, for the mean
        residual norm the vectors are compared with).
    """
    w = keep.to(acts.device).to(acts.dtype)[:, None, :, None]  # [b, 1, seq, 1]
    means = (acts * w).sum(dim=2) / w.sum(dim=2)  # [b, L, d]
    norms = (acts.norm(dim=-1) * w[..., 0]).sum(dim=(0, 2))  # [L]
    return means, norms


def render_prompts(tokenizer: Any, prompts: list[str], system_prompt: str | None) -> list[str]:
    """Render user prompts with the chat template and the generation prompt, exactly as the
    training and evaluation stages do (``crossling.models.chat.render_prompt``)."""
    from crossling.models.chat import render_prompt

    return [render_prompt(tokenizer, p, system_prompt) for p in prompts]


def template_prefix_len(tokenizer: Any, system_prompt: str | None) -> int:
    """Number of leading tokens every rendered prompt shares (BOS, system turn, user header).

    Found as the common token prefix of renders of very different sentinel messages; a token
    merged across the boundary makes it shorter, never longer, so no content is skipped.
    """
    renders = render_prompts(tokenizer, ["a", "Z 1", "(?)"], system_prompt)
    ids = [tokenizer(r, add_special_tokens=False)["input_ids"] for r in renders]
    n = 0
    for column in zip(*ids, strict=False):
        if len(set(column)) != 1:
            break
        n += 1
    return n


@contextlib.contextmanager
def capture_layers(model: Any, layers_path: str | None = None) -> Iterator[list[Any]]:
    """Collect every decoder layer's output tensor ``[batch, seq, d_model]`` per forward.

    Yields a list that each forward pass fills with one tensor per layer (in layer order);
    the caller clears it between passes. Hooks are removed on exit, even on error.
    """
    layers = get_decoder_layers(model, layers_path)
    store: list[Any] = []

    def hook(_mod: Any, _args: Any, output: Any) -> None:
        store.append(output[0] if isinstance(output, tuple) else output)

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


@dataclass
class Recording:
    """Pooled activations of a list of prompts.

    Attributes:
        pooled: ``[n_prompts, n_layers, d_model]`` float32 on CPU, in prompt order.
        token_norm: ``[n_layers]`` mean L2 norm of the counted token residuals (the unit of
            normalised steering strengths).
        n_tokens: number of tokens pooled over (all prompts).
    """

    pooled: Any
    token_norm: Any
    n_tokens: int


def record_activations(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    *,
    position: str = "mean",
    system_prompt: str | None = None,
    batch_size: int = 16,
    layers_path: str | None = None,
) -> Recording:
    """Run ``prompts`` (rendered with the chat template) and pool each layer's output.

    Args:
        model: causal LM (or PeftModel).
        tokenizer: its tokenizer (left padding).
        prompts: raw user prompts.
        position: 'mean' (prompt tokens after the shared template prefix) or 'last'.
        system_prompt: system turn used in rendering (must match generation).
        batch_size: prompts per forward pass; sorted by length to limit padding.
        layers_path: override for the decoder-layer path.

    Returns:
        Recording with ``pooled`` ``[n, n_layers, d_model]``.
    """
    import torch

    if position not in ("mean", "last"):
        raise ValueError(f"position must be 'mean' or 'last', got {position!r}")
    texts = render_prompts(tokenizer, prompts, system_prompt)
    skip = template_prefix_len(tokenizer, system_prompt) if position == "mean" else 0
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
    device = next(model.parameters()).device
    stack = layer_owner(model, get_decoder_layers(model, layers_path))
    pooled: list[Any] = [None] * len(texts)
    norm_sum: Any = None
    n_tokens = 0
    with torch.no_grad(), capture_layers(model, layers_path) as store:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in idx],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            ).to(device)
            store.clear()
            stack(**enc, use_cache=False)  # the decoder stack only: no lm_head logits
            acts = torch.stack([h.float() for h in store], dim=1)  # [b, L, seq, d]
            mask = enc["attention_mask"].bool()  # [b, seq]
            if position == "mean":
                # position of each token inside its own (unpadded) prompt
                inner = mask.long().cumsum(dim=1) - 1  # [b, seq]
                keep = mask & (inner >= skip)
                # prompts no longer than the prefix fall back to all their tokens
                empty = ~keep.any(dim=1)
                keep[empty] = mask[empty]
            else:
                keep = torch.zeros_like(mask)
                keep[:, -1] = True  # left padding: the last column is the last prompt token
            means, norms = pool_kept(acts, keep)
            norm_sum = norms if norm_sum is None else norm_sum + norms
            n_tokens += int(keep.sum())
            for j, i in enumerate(idx):
                pooled[i] = means[j].cpu()
    return Recording(
        pooled=torch.stack(pooled), token_norm=(norm_sum / n_tokens).cpu(), n_tokens=n_tokens
    )
