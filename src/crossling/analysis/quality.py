"""Garbage: which answers are degenerate, and which cells rest on degenerate or disfluent
answers.

Why here: every place that reports scores (eval summary, run report, sweep) and the
``responses: self`` training targets must apply the same rule, so the rule and its
thresholds live in one place, below every stage.

An answer is degenerate (:func:`degenerate_reason`) when, casefolded and split into tokens
(words in spaced scripts, single characters in Han, kana and Thai), it is

1. empty (nothing but white space);
2. a run of one character: the same non-space, non-digit character ≥ 10 times in a row
   (``'Here---------------'``);
3. a stutter: a 2–8 letter unit repeated back to back ≥ 3 times, ≥ 12 letters in all
   (``'НЕНЕНЕНЕНЕНЕ'``, ``'РАСКАЗРАСКАЗРАСКАЗ'``);
4. one word ≥ 4 times in a row (``'very very very very'``);
5. mostly one n-gram (answers of ≥ 8 tokens): some n-gram, n = 1…8, occurs ≥ 3 times and its
   occurrences cover ≥ 50 % of the tokens (a sentence repeated 15 times, ``'как викинги,
   как викинги, …'``);
6. mostly the prompt (answers of ≥ 4 tokens): ≥ 60 % of the answer's token trigrams occur
   in the user prompt or the system prompt (a base model echoing its input).

The thresholds keep ordinary answers out: markdown rules are 3 characters, digits are exempt
from rule 2, and a list's repeated bullet word covers far less than half an answer.

A cell is flagged when

* more than ``MAX_DEGENERATE`` (20 %) of its answers are degenerate (``degenerate`` scorer:
  empty, loops, stutters, character runs, prompt echoes) — one answer in five is already
  enough to move a 12-prompt mean by 20 points; or
* its mean ``fluency`` (log-likelihood per token under the base model, lowercased text) is
  more than ``FLUENCY_DROP`` nats/token below the base model's own answers in the same
  language and prompt kind. Measured on SmolLM2-135M (the demo model; 10 built-in prompts
  per language, greedy, 48 new tokens): the base model's own answers average −1.14 (en),
  −1.38 (de), −0.54 (ru), −0.86 (bg), −0.86 (es) and −1.14 (fr) nats/token (single answers
  −2.08 … −0.28), while the Cyrillic gibberish an RU caps adapter once produced
  (``'СКОКЕНЕКОНЕНЕНЕНЕНЕНЕН'``, ``'ТАЧЕТЕНЕНИЕ ИДЕНЕНИЕ ИДЕНЕ'``, ``'НАРОСКАЗРАСКАЗРАСКАЗРАСК'``)
  scores −3.2 … −4.4 on Russian prompts. A drop of 1 nat/token below the cell's base mean —
  every token e times less likely than the base model's own text — sits between the two
  groups with room on both sides. Loops are fluent token by token (the base model's
  repeated German phrases score −1.0 to −1.9); ``degenerate`` catches those instead.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from typing import Any

_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")
_CHAR_RUN = re.compile(r"([^\s\d])\1{9,}")
_STUTTER = re.compile(r"([^\W\d_]{2,8}?)\1{2,}")
MIN_STUTTER_CHARS = 12
MIN_WORD_REPEATS = 4
NGRAM_MIN_TOKENS, NGRAM_MAX_N, NGRAM_MIN_COUNT, NGRAM_COVERAGE = 8, 8, 3, 0.5
ECHO_MIN_TOKENS, ECHO_OVERLAP = 4, 0.6


def tokens(text: str) -> list[str]:
    """Casefolded word tokens; characters for scripts written without spaces."""
    return _TOKEN.findall(text.casefold())


def _trigrams(toks: list[str]) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]


def degenerate_reason(response: str, prompt: str = "", system_prompt: str | None = None) -> str | None:
    """Why ``response`` is degenerate (see the module docstring), or None when it is not.

    Returns:
        ``'empty'``, ``'char_run'``, ``'stutter'``, ``'word_run'``, ``'repeated_ngram'``,
        ``'prompt_echo'`` or None.
    """
    text = response.strip()
    if not text:
        return "empty"
    if _CHAR_RUN.search(text):
        return "char_run"
    if any(len(m.group(0)) >= MIN_STUTTER_CHARS for m in _STUTTER.finditer(text.casefold())):
        return "stutter"
    toks = tokens(text)
    run = 1
    for a, b in pairwise(toks):
        run = run + 1 if a == b else 1
        if run >= MIN_WORD_REPEATS:
            return "word_run"
    if len(toks) >= NGRAM_MIN_TOKENS:
        for n in range(1, NGRAM_MAX_N + 1):
            grams = Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))
            count = grams.most_common(1)[0][1] if grams else 0
            if count >= NGRAM_MIN_COUNT and count * n >= NGRAM_COVERAGE * len(toks):
                return "repeated_ngram"
    if len(toks) >= ECHO_MIN_TOKENS:
        source = set(_trigrams(tokens(prompt))) | set(_trigrams(tokens(system_prompt or "")))
        tri = _trigrams(toks)
        if tri and sum(t in source for t in tri) >= ECHO_OVERLAP * len(tri):
            return "prompt_echo"
    return None


MAX_DEGENERATE = 0.2
FLUENCY_DROP = 1.0
QUALITY_SCORERS = ("degenerate", "fluency")
CONTROL = "base"


def _mean(cell: dict[str, Any] | None) -> float | None:
    if not cell:
        return None
    m = cell.get("mean")
    return None if m is None else float(m)


def cell_flags(
    degenerate: dict[str, Any] | None,
    fluency: dict[str, Any] | None,
    base_fluency: dict[str, Any] | None,
) -> list[str]:
    """Flags of one cell, from its ``degenerate`` and ``fluency`` summaries (``mean`` keys)
    and the base model's ``fluency`` summary in the same language (None for the control)."""
    flags = []
    deg = _mean(degenerate)
    if deg is not None and deg > MAX_DEGENERATE:
        flags.append(f"{deg:.0%} degenerate answers")
    flu, ref = _mean(fluency), _mean(base_fluency)
    if flu is not None and ref is not None and flu < ref - FLUENCY_DROP:
        flags.append(f"fluency {flu:.2f} vs base {ref:.2f} nats/token")
    return flags


def quality_flags(
    degenerate: dict[str, dict[str, Any]], fluency: dict[str, dict[str, Any]]
) -> dict[str, dict[str, list[str]]]:
    """Flags of every cell of two matrices (adapter → lang → summary with ``mean``).

    Returns:
        adapter → lang → flags (empty list: nothing wrong); the control's fluency is the
        reference, so the control is flagged only for degenerate answers.
    """
    base = fluency.get(CONTROL, {})
    out: dict[str, dict[str, list[str]]] = {}
    for adapter in dict.fromkeys([*degenerate, *fluency]):
        langs = dict.fromkeys([*degenerate.get(adapter, {}), *fluency.get(adapter, {})])
        out[adapter] = {
            lang: cell_flags(
                degenerate.get(adapter, {}).get(lang),
                fluency.get(adapter, {}).get(lang),
                None if adapter == CONTROL else base.get(lang),
            )
            for lang in langs
        }
    return out
