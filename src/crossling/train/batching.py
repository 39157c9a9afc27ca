"""The batch schedule and collation: which rows go into which forward pass, for every step.

Why a precomputed schedule: the whole run's data order is a pure function of (seed, row
lengths, batch settings). A resumed run indexes the same schedule at the checkpoint's step
and sees exactly the rows the uninterrupted run would have seen, and every process of a
multi-GPU run knows the global number of assistant tokens of a step without communicating
(the loss of a step is a mean over all of its tokens, whatever the micro-batching).

Why length grouping: a batch is padded to its longest row, so rows of mixed lengths waste
compute on padding. Each epoch's seeded permutation is cut into groups of ``group_size``
steps' worth of rows; inside a group rows are sorted by length, then cut into steps, and the
steps are shuffled again within windows of ``group_size``, so step order stays random while
rows sharing a forward pass have similar lengths (the ``group_by_length`` idea of
transformers' Trainer, made epoch-aware).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from crossling.models.chat import IGNORE_INDEX

# A schedule: [step][micro-batch][row index]; micro-batch j of a step runs on process
# j % world_size, so every process runs exactly grad_accum forward passes per step.
Schedule = list[list[list[int]]]


def steps_for(n_rows: int, max_steps: int | None, epochs: float | None, per_step: int) -> int:
    """Number of optimizer steps: ``max_steps``, or enough steps for ``epochs`` passes."""
    if max_steps is not None:
        return max_steps
    assert epochs is not None
    return max(1, math.ceil(epochs * n_rows / per_step))


def build_schedule(
    lengths: Sequence[int],
    n_steps: int,
    batch_size: int,
    grad_accum: int,
    world_size: int = 1,
    seed: int = 0,
    group_by_length: bool = True,
    group_size: int = 16,
) -> Schedule:
    """Plan every forward pass of the run.

    Args:
        lengths: token length of each training row.
        n_steps: optimizer steps.
        batch_size: rows per forward pass.
        grad_accum: forward passes per process per step.
        world_size: number of processes (DDP).
        seed: seeds the epoch shuffles and the step order inside a group.
        group_by_length: sort rows by length inside groups of ``group_size`` steps.
        group_size: steps per length-sorted group.

    Returns:
        ``schedule[step][micro]`` = row indices; ``world_size * grad_accum`` micro-batches per
        step, each of ``batch_size`` rows, longest rows first inside a step.
    """
    n = len(lengths)
    if n == 0:
        raise ValueError("no rows to schedule")
    per_step = batch_size * grad_accum * world_size
    need = n_steps * per_step
    group = per_step * group_size

    def by_length(rows: list[int]) -> list[int]:
        return sorted(rows, key=lambda i: -lengths[i])  # stable: ties keep stream order

    # Each epoch is a seeded permutation; the stream is cut to the rows the run needs
    # *before* grouping, so grouping only reorders the rows an ungrouped run would see. With
    # grouping, each epoch's part of the stream is cut into groups sorted by length. Groups
    # never span two epochs, so a row cannot meet a copy of itself in a step (except in the
    # one step that straddles an epoch boundary, as without grouping).
    epochs: list[list[int]] = []
    total = 0
    while total < need:
        perm = list(range(n))
        random.Random(f"crossling-epoch-{seed}-{len(epochs)}").shuffle(perm)
        perm = perm[: need - total]
        epochs.append(perm)
        total += len(perm)
    stream: list[int] = []
    for perm in epochs:
        if group_by_length:
            perm = [i for g in range(0, len(perm), group) for i in by_length(perm[g : g + group])]
        stream.extend(perm)
    steps = [stream[i : i + per_step] for i in range(0, need, per_step)]
    if group_by_length:  # random step order again, within windows of group_size steps
        order_rng = random.Random(f"crossling-steps-{seed}")
        for w in range(0, len(steps), group_size):
            window = steps[w : w + group_size]
            order_rng.shuffle(window)
            steps[w : w + group_size] = window

    schedule: Schedule = []
    for rows in steps:
        rows = by_length(rows)  # inside one step the order does not change the gradient
        schedule.append([rows[i : i + batch_size] for i in range(0, per_step, batch_size)])
    return schedule


def collate(examples: Sequence[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-pad examples into tensors.

    Args:
        examples: rows with ``input_ids`` and ``labels``.
        pad_id: the tokenizer's pad token id.

    Returns:
        ``input_ids`` [batch, seq], ``attention_mask`` [batch, seq] (1 on real tokens) and
        ``labels`` [batch, seq] (-100 on the prompt and on padding), seq = longest row.
    """
    import torch

    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    for i, e in enumerate(examples):
        k = len(e["input_ids"])
        ids[i, :k] = torch.tensor(e["input_ids"])
        mask[i, :k] = 1
        labels[i, :k] = torch.tensor(e["labels"])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def label_tokens(example: dict[str, list[int]]) -> int:
    """Tokens that carry loss: labelled positions after the causal shift (all but position 0)."""
    return sum(1 for lab in example["labels"][1:] if lab != IGNORE_INDEX)
