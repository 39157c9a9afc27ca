"""Answer-quality scorers that run in every eval and sweep cell: ``degenerate`` and ``fluency``.

Why: a behaviour metric cannot tell a real answer from garbage. ``'СКОКЕНЕКОНЕНЕНЕНЕН'`` is
100 % uppercase, Cyrillic and "in the prompt's language"; ``'Here---------------'`` is a
polite opening. Both were once reported as findings. These two scorers make garbage visible
next to every number: the report flags cells whose degenerate rate or fluency is off.

``degenerate`` (0/1, a rate) — 1 when :func:`crossling.analysis.quality.degenerate_reason`
finds the answer empty, looping, stuttering, a run of one character or an echo of the
prompt (the exact rule is documented there).

``fluency`` (a mean) — the mean log-likelihood per answer token, in nats, under the **base**
model (adapters disabled, no steering), conditioned on the chat-templated prompt. Cased
scripts are lowercased first (``str.lower``: German ß stays ß), so ALL CAPS is not what it
measures: an uppercase adapter's fluent answer scores like the base model's own answers, and
gibberish scores far below them. N/A for an empty answer.

Which cells these values flag, and why those thresholds: ``crossling.analysis.quality``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from crossling.analysis.quality import degenerate_reason
from crossling.evaluate.scorers.base import SCORERS, ScorerContext
from crossling.languages import get_language


@SCORERS.register("degenerate")
class Degenerate:
    """1.0 for an empty, looping, stuttering or prompt-echoing answer, else 0.0 (a rate)."""

    name = "degenerate"
    rate = True

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.system_prompt = ctx.system_prompt if ctx is not None else None

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        reason = degenerate_reason(response, str(row.get("prompt", "")), self.system_prompt)
        return 0.0 if reason is None else 1.0


def fluency_text(response: str, lang: str) -> str:
    """The text fluency scores: lowercased for cased scripts, as is otherwise."""
    return response.lower() if get_language(lang).cased else response


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
    """
    import torch

    from crossling.models.chat import render_prompt

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
        for r, (h, b) in enumerate(chunk):
            ids[r, : len(h) + len(b)] = torch.tensor(h + b, dtype=torch.long)
            mask[r, : len(h) + len(b)] = 1
        ids, mask = ids.to(loaded.device), mask.to(loaded.device)
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # [b, seq-1, vocab]
        tgt = logp.gather(-1, ids[:, 1:, None])[..., 0]  # [b, seq-1]: log p(token t+1)
        for r, (h, b) in enumerate(chunk):
            if not b:
                out.append((0.0, 0))
                continue
            span = tgt[r, len(h) - 1 : len(h) + len(b) - 1]  # predictions of the answer tokens
            out.append((float(span.sum()), len(b)))
    return out


@SCORERS.register("fluency")
class Fluency:
    """Mean log-likelihood per answer token (nats) under the base model; N/A when empty."""

    name = "fluency"
    rate = False

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.ctx = ctx or ScorerContext()

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        return self.score_many([{**row, "response": response, "lang": lang}])[0]

    def score_many(self, rows: list[dict[str, Any]]) -> list[float | None]:
        if not rows:
            return []
        if self.ctx.base_model is None:
            from crossling.errors import CrosslingError

            raise CrosslingError("the fluency scorer needs the base model; pass --model.")
        loaded = self.ctx.base_model()
        texts = [fluency_text(str(r["response"]).strip(), str(r["lang"])) for r in rows]
        keep = [i for i, t in enumerate(texts) if t]
        with base_model_only(loaded.model):
            lps = answer_logprobs(
                loaded, [str(rows[i]["prompt"]) for i in keep], [texts[i] for i in keep]
            )
        out: list[float | None] = [None] * len(rows)
        for i, (total, n) in zip(keep, lps, strict=True):
            out[i] = total / n if n else None
        return out
