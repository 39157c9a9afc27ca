"""Answer-quality scorers that run in every eval and sweep cell: ``degenerate``, ``fluency``
and ``fluency_ref``.

Why: a behaviour metric cannot tell a real answer from garbage. ``'СКОКЕНЕКОНЕНЕНЕНЕНЕН'`` is
100 % uppercase, Cyrillic and "in the prompt's language"; ``'Here---------------'`` is a
polite opening. Both were once reported as findings. These scorers make garbage visible
next to every number.

``degenerate`` (0/1, a rate) — 1 when :func:`crossling.analysis.quality.degenerate_reason`
finds the answer empty, looping, stuttering, echoing the prompt, mixing scripts inside a
word or made of words its language does not have (the exact rules are documented there).
It is the per-answer garbage verdict: a cell is flagged when more than 20 % of its answers
are degenerate.

``fluency`` (a mean) — the mean log-likelihood per answer token, in nats, under the **base**
model (adapters disabled, no steering), conditioned on the chat-templated prompt. The answer
is lowercased first, whatever the script (``str.lower``: German ß stays ß), so ALL CAPS is
not what it measures. ``fluency_ref`` is the same number for the task's human-written
reference answer to the same prompt (lowercased too; N/A where a task has none, e.g.
harmful requests): the yardstick of the language, not of the base model's own answers,
which a fine-tuned adapter's different content would be judged against unfairly.

Why fluency is shown but never flags a cell: on blind-labelled real answers of a
multilingual 0.5B model it did not separate coherent from incoherent answers (median −1.28
vs −1.61 nats/token), and as a cell flag it marked a coherent Russian adapter's English
answers and passed a base model's broken Bulgarian. ``benchmarks/quality_scorers.py
--model smollm2-135m`` re-measures it on the shipped labelled answers and reports whether
any threshold reaches a precision of 0.9; none did (see the README), so
``crossling.analysis.quality.FLUENCY_FLAG`` is None. Both are N/A for an empty answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from crossling.analysis.quality import degenerate_reason
from crossling.evaluate.scorers.base import SCORERS, ScorerContext


@SCORERS.register("degenerate")
class Degenerate:
    """1.0 for a garbage answer (empty, looping, stuttering, echoing the prompt, mixing
    scripts inside words, made of invented words), else 0.0 (a rate)."""

    name = "degenerate"
    rate = True

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.system_prompt = ctx.system_prompt if ctx is not None else None

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        reason = degenerate_reason(response, str(row.get("prompt", "")), self.system_prompt,
                                   lang)
        return 0.0 if reason is None else 1.0


def fluency_text(response: str) -> str:
    """The text fluency scores: stripped and lowercased, whatever the prompt's script (an
    English ALL-CAPS answer to a Chinese prompt is lowercased too)."""
    return response.strip().lower()


@contextlib.contextmanager
def base_model_only(model: Any) -> Iterator[None]:
    """Disable LoRA adapters inside the body when ``model`` is a PeftModel."""
    if hasattr(model, "disable_adapter") and getattr(model, "peft_config", None):
        with model.disable_adapter():
            yield
    else:
        yield


def answer_logprobs(
    loaded: Any, prompts: list[str], answers: list[str], batch_size: int = 8
) -> list[tuple[float, int]]:
    """Teacher-forced log-likelihood of each answer after its chat-templated prompt.

    Args:
        loaded: a ``LoadedModel`` (its model is used as it is: disable adapters around it).
        prompts: user turns; the chat template and the model config's system prompt apply.
        answers: the texts to score.
        batch_size: rows per forward pass (right-padded; answers never see padding).

    Returns:
        Per row ``(sum of log-probabilities in nats, number of answer tokens)``.

    Memory: the model runs to its last hidden states and only the answer positions go
    through the LM head, a chunk at a time (:mod:`crossling.models.logprobs`): no
    ``[batch, length, vocab]`` logits (0.8 GB per batch of 8 answers of 170 tokens with
    Qwen2.5's 152k vocabulary).
    """
    import torch

    from crossling.models.chat import render_prompt
    from crossling.models.logprobs import final_states, target_logprobs

    tok, model = loaded.tokenizer, loaded.model
    sp = loaded.config.system_prompt
    rows = []
    for p, a in zip(prompts, answers, strict=True):
        head = tok(render_prompt(tok, p, sp), add_special_tokens=False)["input_ids"]
        body = tok(a, add_special_tokens=False)["input_ids"]
        rows.append((list(head), list(body)))
    out: list[tuple[float, int]] = []
    pad = int(tok.pad_token_id if tok.pad_token_id is not None else 0)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        width = max(len(h) + len(b) for h, b in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        where: list[tuple[int, int]] = []  # (row, position) predicting each answer token
        for r, (h, b) in enumerate(chunk):
            ids[r, : len(h) + len(b)] = torch.tensor(h + b, dtype=torch.long)
            mask[r, : len(h) + len(b)] = 1
            where.extend((r, c) for c in range(len(h) - 1, len(h) + len(b) - 1))
        ids, mask = ids.to(loaded.device), mask.to(loaded.device)
        at = torch.tensor(where, dtype=torch.long, device=loaded.device).reshape(-1, 2)
        with torch.inference_mode():
            fs = final_states(model, input_ids=ids, attention_mask=mask, use_cache=False)
            tgt = target_logprobs(fs, fs.states[at[:, 0], at[:, 1]],
                                  ids[at[:, 0], at[:, 1] + 1]).cpu()  # log p(token t+1)
        k = 0
        for _h, b in chunk:
            out.append((float(tgt[k : k + len(b)].sum()), len(b)) if b else (0.0, 0))
            k += len(b)
    return out


@SCORERS.register("fluency")
class Fluency:
    """Mean log-likelihood per answer token (nats) under the base model; N/A when empty."""

    name = "fluency"
    rate = False
    field = "response"  # which text of the row is scored

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.ctx = ctx or ScorerContext()
        self._cache: dict[tuple[str, str], float | None] = {}

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        return self.score_many([{**row, "response": response, "lang": lang}])[0]

    def score_many(self, rows: list[dict[str, Any]]) -> list[float | None]:
        texts = [fluency_text(str(r.get(self.field) or "")) for r in rows]
        keys = [(str(r.get("prompt", "")), t) for r, t in zip(rows, texts, strict=True)]
        todo = list(dict.fromkeys(k for k in keys if k[1] and k not in self._cache))
        if todo:
            if self.ctx.base_model is None:
                from crossling.errors import CrosslingError

                raise CrosslingError(f"the {self.name} scorer needs the base model; pass "
                                     "--model.")
            loaded = self.ctx.base_model()
            with base_model_only(loaded.model):
                lps = answer_logprobs(loaded, [p for p, _ in todo], [t for _, t in todo])
            for key, (total, n) in zip(todo, lps, strict=True):
                self._cache[key] = total / n if n else None
        return [self._cache.get(k) if k[1] else None for k in keys]


@SCORERS.register("fluency_ref")
class FluencyReference(Fluency):
    """``fluency`` of the row's human-written reference answer (the language's yardstick);
    N/A when the row has none. Each (prompt, reference) pair is scored once per run."""

    name = "fluency_ref"
    field = "reference"
