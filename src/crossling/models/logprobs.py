"""Log-probabilities at chosen positions without ``[batch, length, vocab]`` logits.

Why: a causal LM's forward projects every position onto the vocabulary. With Qwen2.5's
151,936-token vocabulary that is 0.6 MB of float32 per position: 8 answers of 170 tokens
make 0.83 GB of logits, and ``log_softmax`` doubles it, while the ``fluency`` scorer reads
one number per answer token, the KL guard only the positions it compares, and the training
loss only the labelled ones. Here the decoder stack runs to its last hidden states
(``[batch, length, d_model]``: 896 floats a position for Qwen2.5-0.5B), and the LM head and
the softmax run on at most :func:`chunk_size` chosen positions at a time (about
``LOGITS_CHUNK_BYTES`` of float32 logits), so no tensor grows with length x vocabulary.

How the model is split: public transformers APIs only, ``get_decoder()`` (the stack whose
forward returns ``last_hidden_state``; steering hooks and LoRA layers are inside it, and
the pre-hook of :mod:`crossling.steer.apply` sits on it) and ``get_output_embeddings()``
(the LM head, LoRA-wrapped or not), plus ``final_logit_softcapping`` (Gemma), which the
causal LM applies after its head. A model without them, or one that rescales its logits in
a way this module does not reproduce (``logit_scale``, ``logits_scaling``), runs its own
forward instead: the same numbers with the old memory (:attr:`FinalStates.split` is False).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LOGITS_CHUNK_BYTES", "FinalStates", "chunk_size", "cross_entropy_sum", "final_states",
    "log_softmax_at", "target_logprobs",
]

LOGITS_CHUNK_BYTES = 64 * 2**20  # float32 logits of one chunk of positions (~110 at 152k vocab)
# Config attributes some causal LMs multiply or divide their logits by (Cohere, Granite).
_SCALINGS = ("logit_scale", "logits_scaling")


def chunk_size(vocab: int, budget: int | None = None) -> int:
    """Positions per chunk whose float32 logits fit in ``budget`` bytes (default
    ``LOGITS_CHUNK_BYTES``, read at call time); at least 1."""
    budget = LOGITS_CHUNK_BYTES if budget is None else budget
    return max(1, int(budget) // (4 * max(1, int(vocab))))


@dataclass
class FinalStates:
    """A forward pass stopped before the LM head.

    Attributes:
        states: ``[batch, length, k]``: the last hidden states (``k = d_model``) or, when
            the model could not be split, its logits (``k = vocab``).
        head: ``[n, k] -> [n, vocab]`` logits (softcapped where the model softcaps); the
            identity when ``states`` are already logits.
        vocab: the logits' width.
        split: whether ``states`` are hidden states (False: the model's own full forward).
        weight: the head's ``[vocab, k]`` weight when the head is a plain bias-free
            ``torch.nn.Linear`` (no LoRA on it), else None: what :func:`cross_entropy_sum`
            needs to compute its gradient without autograd.
        cap: the logit softcap the head applies (None: none).
    """

    states: Any
    head: Callable[[Any], Any]
    vocab: int
    split: bool
    weight: Any = None
    cap: float | None = None

    @property
    def chunk(self) -> int:
        return chunk_size(self.vocab)


def _parts(model: Any) -> tuple[Any, Any, float | None] | None:
    """(decoder, LM head, softcap) of a (peft-wrapped) causal LM, or None when it cannot be
    split exactly (see the module docstring)."""
    from crossling.models.layers import text_config, unwrap

    base = unwrap(model)
    get_decoder = getattr(base, "get_decoder", None)
    get_head = getattr(base, "get_output_embeddings", None)
    if not callable(get_decoder) or not callable(get_head):
        return None
    decoder, head = get_decoder(), get_head()
    if decoder is None or head is None or decoder is base:
        return None
    cfg = text_config(base)
    for name in _SCALINGS:
        value = getattr(cfg, name, None)
        if value is not None and float(value) != 1.0:
            return None
    cap = getattr(cfg, "final_logit_softcapping", None)
    return decoder, head, float(cap) if cap else None


def final_states(model: Any, **inputs: Any) -> FinalStates:
    """Run ``model`` on ``inputs`` (its forward's keyword arguments: ``input_ids``,
    ``attention_mask``, ``position_ids``, ``use_cache`` ...) up to the LM head.

    Hooks on the decoder stack and its layers (steering, activation capture) run as in the
    model's own forward; so do active LoRA adapters (``disable_adapter()`` too).
    """
    import torch

    parts = _parts(model)
    if parts is None:
        logits = model(**inputs).logits  # [b, t, vocab]
        return FinalStates(logits, lambda x: x, int(logits.shape[-1]), split=False)
    decoder, head, cap = parts
    hidden = decoder(**inputs).last_hidden_state  # [b, t, d_model]

    def project(h: Any) -> Any:
        logits = head(h)
        return torch.tanh(logits / cap) * cap if cap else logits

    vocab = int(getattr(head, "out_features", 0) or head.weight.shape[0])
    plain = type(head) is torch.nn.Linear and head.bias is None
    return FinalStates(hidden, project, vocab, split=True,
                       weight=head.weight if plain else None, cap=cap)


def target_logprobs(fs: FinalStates, states: Any, targets: Any) -> Any:
    """``log p(targets[i])`` under the distribution at ``states[i]`` (float32 ``[n]``).

    Args:
        fs: the forward pass the states come from (its head and chunk size are used).
        states: ``[n, k]`` rows of ``fs.states`` (e.g. ``fs.states[rows, cols]``).
        targets: ``[n]`` token ids.
    """
    import torch

    out = []
    for s in range(0, int(states.shape[0]), fs.chunk):
        lp = fs.head(states[s : s + fs.chunk]).float().log_softmax(-1)  # [chunk, vocab]
        out.append(lp.gather(-1, targets[s : s + fs.chunk, None])[:, 0])
    if not out:
        return torch.zeros((0,), dtype=torch.float32, device=states.device)
    return torch.cat(out)


def log_softmax_at(fs: FinalStates, mask: Any, start: int = 0) -> Any:
    """Float32 next-token log-probs ``[b, t, vocab]`` at the positions ``mask`` marks.

    Args:
        fs: a forward pass whose ``states`` are ``[b, >= start + t, k]``.
        mask: ``[b, t]`` bool; position ``j`` of the result is ``fs.states[:, start + j]``.
        start: offset of the first measured column.

    Returns:
        The log-probs where ``mask`` is set and zeros elsewhere (nothing is computed there).
    """
    import torch

    b, t = int(mask.shape[0]), int(mask.shape[1])
    out = torch.zeros((b, t, fs.vocab), dtype=torch.float32, device=fs.states.device)
    flat = out.view(b * t, fs.vocab)
    states = fs.states[:, start : start + t].reshape(b * t, -1)  # [b * t, k]
    where = mask.reshape(-1).nonzero()[:, 0]  # [n] flat indices of the measured positions
    for s in range(0, int(where.shape[0]), fs.chunk):
        idx = where[s : s + fs.chunk]
        flat[idx] = fs.head(states[idx]).float().log_softmax(-1)
    return out


def cross_entropy_sum(fs: FinalStates, states: Any, targets: Any) -> Any:
    """Summed next-token cross-entropy of ``targets`` (float32 scalar), differentiable.

    One chunk: the LM head and ``cross_entropy`` as usual. Several, while autograd records:

    * a frozen plain head (``fs.weight``; LoRA's default targets leave the head alone):
      each chunk's loss *and* its gradient with respect to the states
      (``(softmax - onehot) @ weight``, through the softcap where there is one) are
      computed in the forward and only that ``[chunk, d_model]`` gradient is kept; the
      backward scales it. No logits outlive their chunk and no matmul is added.
    * any other head (LoRA on it, a trainable or biased head): each chunk runs under
      ``torch.utils.checkpoint`` (non-reentrant), its logits freed after the forward and
      recomputed in the backward (one extra LM-head matmul).

    Both give the gradients of the full-logits loss (sums of the same per-token terms).

    Args:
        fs: the forward pass (its head and chunk size are used).
        states: ``[n, k]`` states of the labelled positions.
        targets: ``[n]`` their next tokens.
    """
    import torch
    from torch.nn.functional import cross_entropy
    from torch.utils.checkpoint import checkpoint

    def chunk_loss(h: Any, y: Any) -> Any:
        return cross_entropy(fs.head(h).float(), y, reduction="sum")

    n, step = int(states.shape[0]), fs.chunk
    if n <= step:
        return chunk_loss(states, targets)
    if not torch.is_grad_enabled():
        return sum((chunk_loss(states[s : s + step], targets[s : s + step])
                    for s in range(0, n, step)), torch.zeros((), device=states.device))
    if fs.weight is not None and not fs.weight.requires_grad:
        return _frozen_head_ce().apply(states, fs.weight, targets, step, fs.cap)
    total = None
    for s in range(0, n, step):
        part = checkpoint(chunk_loss, states[s : s + step], targets[s : s + step],
                          use_reentrant=False)
        total = part if total is None else total + part
    return total


@functools.cache
def _frozen_head_ce() -> Any:
    """The autograd function (defined on first use: torch is imported lazily)."""
    import torch
    from torch.nn.functional import linear

    class FrozenHeadCrossEntropy(torch.autograd.Function):
        """Summed cross-entropy through a frozen bias-free linear head, chunk by chunk, with
        the gradient for the states computed in the forward (see :func:`cross_entropy_sum`)."""

        @staticmethod
        def forward(ctx: Any, states: Any, weight: Any, targets: Any, step: int,
                    cap: float | None) -> Any:
            total = torch.zeros((), dtype=torch.float32, device=states.device)
            grad = torch.empty_like(states)  # [n, k]: d loss / d states
            for s in range(0, int(states.shape[0]), step):
                y = targets[s : s + step]
                logits = linear(states[s : s + step], weight)  # [chunk, vocab], as nn.Linear
                squash = None
                if cap:
                    squash = torch.tanh(logits / cap)
                    logits = squash * cap
                logp = logits.float().log_softmax(-1)  # [chunk, vocab], as cross_entropy
                del logits
                total -= logp.gather(-1, y[:, None]).sum()
                g = logp.exp_()  # softmax, in place
                g[torch.arange(g.shape[0], device=g.device), y] -= 1.0  # d loss / d logits
                if squash is not None:
                    g *= 1.0 - squash.float() ** 2
                grad[s : s + step] = g.to(states.dtype) @ weight  # [chunk, k]
            ctx.save_for_backward(grad)
            return total

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            (grad,) = ctx.saved_tensors
            return grad * grad_out.to(grad.dtype), None, None, None, None

    return FrozenHeadCrossEntropy
