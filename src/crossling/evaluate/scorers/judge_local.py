"""In-process LLM judge (``judge.backend: local``): any model crossling can load, offline.

Why in-process: a researcher with a GPU and an open model, or with no API key at all,
still gets an LLM judge. For bigger judges behind a server use ``judge.backend: openai``
with ``vllm serve MODEL`` or ``transformers serve`` and ``judge.base_url``.

How a verdict is read: the judge prompt (the same file the remote judge gets) is
chat-templated, and the model's probability of answering each verdict word, followed by
its end-of-turn token, is computed (one batched prompt pass, the KV cache reused for the
three words); the most probable word
is the answer, which then goes through the same strict parser. This is greedy decoding
restricted to the three valid answers: a judge that would answer with a verdict word
answers the same here, and a weak judge that would ramble ("The response is ...") still
has to commit to one of the three instead of leaving rows unscored forever (greedy
decoding gives the same bad answer on every retry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crossling.errors import CrosslingError
from crossling.evaluate.scorers.judge import (
    JUDGE_BACKENDS,
    VERDICTS,
    JudgeError,
    parse_verdict,
)

if TYPE_CHECKING:
    from crossling.evaluate.config import JudgeConfig
    from crossling.models.loading import LoadedModel


@JUDGE_BACKENDS.register("local")
class LocalJudge:
    """Verdicts from a causal LM loaded in this process.

    The model is loaded on the first verdict, not when the scorer is built, so an eval
    never holds the generating model and the judge in memory at once.

    Args:
        cfg: judge settings; ``cfg.model`` is an alias, hub id or folder, ``cfg.device``
            and ``cfg.batch_size`` place and batch it.
        loaded: an already-loaded model (tests); else ``cfg.model`` is loaded when needed.
    """

    def __init__(self, cfg: JudgeConfig, loaded: LoadedModel | None = None) -> None:
        self.cfg = cfg
        self._loaded = loaded
        self._labels: dict[tuple[str, ...], list[list[int]]] = {}
        self.usage = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}

    @property
    def loaded(self) -> LoadedModel:
        """The judge model (loaded on first use)."""
        if self._loaded is None:
            from crossling.models import load_model
            from crossling.models.config import ModelConfig

            self._loaded = load_model(ModelConfig(name=self.cfg.model, device=self.cfg.device,
                                                  system_prompt=None))
        return self._loaded

    def labels(self, choices: tuple[str, ...] = VERDICTS) -> list[list[int]]:
        """Token ids of each verdict word, followed by the end-of-turn token."""
        if choices not in self._labels:
            from crossling.models.chat import end_of_turn_id

            tok = self.loaded.tokenizer
            try:
                eot: list[int] = [int(end_of_turn_id(tok))]
            except CrosslingError:
                eot = []  # a template without an end-of-turn token: the bare word
            self._labels[choices] = [list(tok(v, add_special_tokens=False)["input_ids"]) + eot
                                     for v in choices]
        return self._labels[choices]

    def verdicts(
        self, prompts: list[str], on_result: Callable[[int, Any], None] | None = None,
        choices: tuple[str, ...] = VERDICTS,
    ) -> list[tuple[str, str] | JudgeError]:
        """Verdict (one of ``choices``) and a raw record (the word and its
        log-probabilities) per prompt."""
        from crossling.models.chat import render_prompt

        tok = self.loaded.tokenizer
        texts = [render_prompt(tok, p, None) for p in prompts]
        encoded = [list(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
        out: list[tuple[str, str] | JudgeError] = []
        bs = self.cfg.batch_size
        for start in range(0, len(encoded), bs):
            scores = self.label_logprobs(encoded[start : start + bs], choices)
            for j, row in enumerate(scores):
                best = max(range(len(choices)), key=lambda k: row[k])
                word = choices[best]
                verdict = parse_verdict(word, choices)  # the same parser as the remote judge
                raw = word + " " + " ".join(f"{v}={lp:.3f}" for v, lp in zip(choices, row,
                                                                               strict=True))
                res: tuple[str, str] | JudgeError = (
                    (verdict, raw) if verdict else JudgeError(f"bad verdict {word!r}"))
                out.append(res)
                if on_result is not None:
                    on_result(start + j, res)
        self.usage["requests"] += len(encoded)
        self.usage["prompt_tokens"] += sum(len(e) for e in encoded)
        return out

    def label_logprobs(self, prompts: list[list[int]],
                       choices: tuple[str, ...] = VERDICTS) -> list[list[float]]:
        """Log-probability of each verdict's (``choices``) tokens after each prompt.

        The prompts run once (left-padded, KV cache kept); each verdict's remaining tokens
        then run on a copy of that cache, so judging costs one prompt pass, not three.

        Args:
            prompts: chat-templated prompt token ids, one list per prompt.

        Returns:
            ``[len(prompts)][len(choices)]`` summed token log-probabilities.
        """
        import copy

        import torch
        from transformers import DynamicCache

        from crossling.evaluate.backends.hf import cache_argument

        b = len(prompts)
        width = max(len(p) for p in prompts)
        pad = int(self.loaded.tokenizer.pad_token_id)
        ids = torch.full((b, width), pad, dtype=torch.long)
        mask = torch.zeros((b, width), dtype=torch.long)
        for r, p in enumerate(prompts):
            ids[r, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            mask[r, width - len(p) :] = 1
        device = self.loaded.device
        ids, mask = ids.to(device), mask.to(device)  # [b, seq]
        pos = (mask.cumsum(-1) - 1).clamp(min=0)  # [b, seq]; left padding shifts positions
        model = self.loaded.model
        cache_kw = cache_argument(model)  # the forward's name for the KV cache
        cache = DynamicCache(config=model.config)  # filled in place by the prompt pass
        labels = self.labels(choices)
        scores = torch.zeros((b, len(labels)), dtype=torch.float32, device=device)
        with torch.inference_mode():
            out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True,
                        logits_to_keep=1, **{cache_kw: cache})
            first = out.logits[:, -1, :].float().log_softmax(-1)  # [b, vocab]
            for k, lab in enumerate(labels):
                scores[:, k] = first[:, lab[0]]
                rest = len(lab) - 1
                if rest == 0:
                    continue
                step = torch.tensor(lab[:-1], device=device).expand(b, rest)  # [b, rest]
                m2 = torch.cat([mask, mask.new_ones((b, rest))], dim=1)  # [b, seq + rest]
                p2 = pos[:, -1:] + torch.arange(1, rest + 1, device=device)  # [b, rest]
                logits = model(input_ids=step, attention_mask=m2, position_ids=p2,
                               use_cache=True, **{cache_kw: copy.deepcopy(cache)}).logits.float().log_softmax(-1)  # [b, rest, V]
                target = torch.tensor(lab[1:], device=device)  # [rest]
                scores[:, k] += logits[:, torch.arange(rest, device=device), target].sum(-1)
        return scores.tolist()
