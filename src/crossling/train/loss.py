"""The SFT loss as one ``nn.Module``: summed cross-entropy over the assistant tokens.

Why a module: under DDP (``accelerate launch``) the forward pass must go through the
DistributedDataParallel wrapper for gradients to be synchronised, so the whole loss is the
wrapped module's forward.

Why not ``model(labels=...)``: that projects *every* position onto the vocabulary (for
SmolLM2 a 576 x 49152 matmul and a 49k-way softmax per token) and then ignores the prompt
positions. Here the decoder runs once and only positions whose next token is labelled go
through the LM head — same loss, a good part of the compute saved when prompts are long.
The loss is a *sum*; the trainer divides by the step's label-token count, so the mean is
over all tokens of an optimizer step however it is split into micro-batches and processes.

Memory: the labelled positions go through the LM head in chunks of about 64 MB of float32
logits (:func:`crossling.models.logprobs.cross_entropy_sum`), each recomputed in the
backward instead of kept: with Qwen2.5's 152k vocabulary, 600 labelled tokens were 0.36 GB
of logits, held 3-4 times over (logits, log-softmax, their gradients).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from crossling.models.chat import IGNORE_INDEX


class SFTLoss(nn.Module):
    """Wraps a (peft) causal LM; ``forward`` returns the summed token loss.

    Args:
        model: a transformers causal LM or a PeftModel around one.
    """

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor,
        attention_mask: Any = None,
        position_ids: torch.Tensor | None = None,
        **attn_kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed next-token cross-entropy over labelled positions.

        Args:
            input_ids: [batch, seq] token ids (a packed batch: [1, total tokens]).
            labels: [batch, seq], -100 where no loss (packed: also at every row start).
            attention_mask: padded batch: [batch, seq], 1 on real tokens. Packed batch: a
                block-diagonal [1, 1, T, T] mask (or a dict per layer type), or None for
                flash varlen (``crossling.train.packing.attention_inputs``).
            position_ids: packed batch: [1, T], restarting at 0 for every row.
            **attn_kwargs: flash varlen boundaries (``cu_seq_lens_q/k``, ``max_length_q/k``).

        Returns:
            (loss_sum, n_tokens): scalar fp32 loss summed over the labelled tokens, and their
            count.
        """
        from crossling.models.logprobs import cross_entropy_sum, final_states

        targets = labels[:, 1:]  # [batch, seq-1]: token t+1 is predicted at position t
        keep = targets != IGNORE_INDEX  # [batch, seq-1]
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "use_cache": False}
        if position_ids is not None:
            inputs["position_ids"] = position_ids
        fs = final_states(self.model, **inputs, **attn_kwargs)  # states [batch, seq, d_model]
        loss = cross_entropy_sum(fs, fs.states[:, :-1][keep], targets[keep])  # [n_tokens, d]
        return loss, keep.sum()
