"""Next-token KL divergence between an unsteered and a steered model: the steering guard.

Why its own module: the sweep (language vectors) and the behaviour stage (behaviour vectors)
both refuse a steering cell that moves the model's next-token distributions too far from the
unsteered model's; both measure it with these functions, so a cell's ``kl`` means the same
thing in ``sweep.csv`` and in ``selection.json``.

How: log-probabilities are computed batch by batch under whatever hooks are active (the
caller enters the steering context), once without and once with steering, and
:func:`mean_kl` averages KL(unsteered ‖ steered) in nats over the measured positions. Which
positions are measured depends on where steering acts: :func:`kl_logprobs` measures the
prompt's positions or, teacher-forced, the positions that predict an unsteered
continuation; :func:`kl_all_positions` measures every real position of prompt +
continuation (a vector added everywhere).

A batch is a pair ``(mask [b, t] bool, log-probs [b, t, vocab] float32)``; ``t`` is the
measured width of that batch, and the log-probs are zero where the mask is not set.

Memory: the model runs to its last hidden states and only the measured positions go through
the LM head and the softmax, a chunk of positions at a time
(:mod:`crossling.models.logprobs`); :func:`mean_kl` reduces chunk by chunk too. A batch
never holds logits over the whole prompt + continuation (with Qwen2.5's 152k vocabulary,
8 sequences of 90 tokens were 0.44 GB of logits, held twice by ``log_softmax``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["kl_all_positions", "kl_logprobs", "mean_kl"]


def kl_logprobs(
    model: Any, tokenizer: Any, prompts: list[str], system_prompt: str | None,
    batch_size: int, continuations: list[list[int]] | None = None,
) -> list[tuple[Any, Any]]:
    """Log-probabilities the KL guard compares, batch by batch.

    Without ``continuations``: the next-token distributions at every real prompt position.
    With them: teacher-forced over ``prompt + continuation`` (the unsteered answer's tokens),
    at the positions that predict a continuation token. The prompt is first run alone so a
    steering hook restricted to generated positions recognises the continuation (see
    :mod:`crossling.steer.apply`) and steers exactly the tokens it steers when generating.

    Args:
        model: the (possibly hooked) causal LM.
        tokenizer: its tokenizer, padding on the left.
        prompts: raw prompts, rendered with the chat template here.
        system_prompt: the system prompt of the chat template (None: none).
        batch_size: prompts per forward pass.
        continuations: per prompt, the token ids of its unsteered continuation.

    Returns:
        Per batch: (mask ``[b, t]`` of measured positions, log-probs ``[b, t, vocab]``
        float32); ``t`` is the padded prompt length ``p`` without continuations, else the
        longest continuation ``w`` of the batch (a batch whose continuations are all empty
        is left out).
    """
    import torch

    from crossling.models.logprobs import final_states, log_softmax_at
    from crossling.steer.record import render_prompts

    texts = render_prompts(tokenizer, prompts, system_prompt)
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start : start + batch_size], return_tensors="pt",
                            padding=True, add_special_tokens=False).to(device)
            if continuations is None:
                fs = final_states(model, **enc, use_cache=False)  # states [b, p, d]
                mask = enc["attention_mask"].bool()
                out.append((mask, log_softmax_at(fs, mask)))  # [b, p, vocab]
                continue
            conts = continuations[start : start + batch_size]
            width = max((len(c) for c in conts), default=0)
            if width == 0:
                continue
            b, p = enc["input_ids"].shape
            cont = torch.full((b, width), int(tokenizer.pad_token_id), dtype=torch.long)
            cmask = torch.zeros((b, width), dtype=torch.long)
            for r, c in enumerate(conts):
                cont[r, : len(c)] = torch.tensor(c, dtype=torch.long)
                cmask[r, : len(c)] = 1
            cont, cmask = cont.to(device), cmask.to(device)
            final_states(model, **enc, use_cache=False)  # records the prompt for the hooks
            ids = torch.cat([enc["input_ids"], cont], dim=1)  # [b, p + w]
            mask = torch.cat([enc["attention_mask"], cmask], dim=1)
            fs = final_states(model, input_ids=ids, attention_mask=mask, use_cache=False)
            out.append((cmask.bool(), log_softmax_at(fs, cmask.bool(), start=p - 1)))  # [b, w, V]
    return out


def kl_all_positions(model: Any, tokenizer: Any, prompts: list[str], system_prompt: str | None,
                     batch_size: int, continuations: list[list[int]]) -> list[tuple[Any, Any]]:
    """Next-token log-probs at every real position of ``prompt + continuation``.

    Each sequence is the chat-rendered prompt followed by its continuation's tokens, left
    padded, with position ids counted from the first real token (as generation does); every
    non-padding position is measured, so a vector added at every position is measured at
    every position it is added to.

    Args:
        model, tokenizer, prompts, system_prompt, batch_size: as in :func:`kl_logprobs`.
        continuations: per prompt, the token ids of its unsteered continuation.

    Returns:
        Per batch: (mask ``[b, t]`` of measured positions, log-probs ``[b, t, vocab]``
        float32), ``t`` the longest prompt + continuation of the batch: the format
        :func:`mean_kl` takes.
    """
    import torch

    from crossling.models.logprobs import final_states, log_softmax_at
    from crossling.steer.record import render_prompts

    texts = render_prompts(tokenizer, prompts, system_prompt)
    seqs = [list(tokenizer(t, add_special_tokens=False)["input_ids"]) + list(c)
            for t, c in zip(texts, continuations, strict=True)]
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = []
    with torch.inference_mode():
        for b0 in range(0, len(seqs), batch_size):
            chunk = seqs[b0:b0 + batch_size]
            width = max(len(x) for x in chunk)
            ids = torch.full((len(chunk), width), int(pad), dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, x in enumerate(chunk):
                ids[r, width - len(x):] = torch.tensor(x, dtype=torch.long)
                mask[r, width - len(x):] = 1
            pos = (mask.cumsum(-1) - 1).clamp_min(0)
            fs = final_states(model, input_ids=ids.to(device), attention_mask=mask.to(device),
                              position_ids=pos.to(device), use_cache=False)  # states [b, t, d]
            keep = mask.bool().to(device)
            out.append((keep, log_softmax_at(fs, keep)))  # [b, t, vocab]
    return out


def mean_kl(base: list[tuple[Any, Any]], steered: list[tuple[Any, Any]]) -> float:
    """KL(base ‖ steered) in nats, averaged over the measured positions.

    Args:
        base: the unsteered model's batches, ``(mask [b, t], log-probs [b, t, vocab])``.
        steered: the steered model's batches on the same prompts (same shapes, same masks).

    Returns:
        The mean over every position where ``base``'s mask is set (0.0 when none is).
    """
    import torch

    from crossling.models.logprobs import chunk_size

    total, count = 0.0, 0
    for (mask, lp_b), (_, lp_s) in zip(base, steered, strict=True):
        vocab = int(lp_b.shape[-1])
        a, b = lp_b.reshape(-1, vocab), lp_s.reshape(-1, vocab)
        where = mask.reshape(-1).nonzero()[:, 0]  # [n] measured positions, row-major
        step = chunk_size(vocab)
        parts = []
        for s in range(0, int(where.shape[0]), step):  # [chunk, vocab] temporaries only
            x, y = a[where[s : s + step]], b[where[s : s + step]]
            parts.append((x.exp() * (x - y)).sum(-1))  # [chunk]
        if parts:
            total += float(torch.cat(parts).sum())
        count += int(where.shape[0])
    return total / max(count, 1)
