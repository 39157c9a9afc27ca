"""Score the behaviour stage's generation log and summarise cells with intervals.

Why paired intervals: every cell of the stage answers the same prompt ids (a steered base
model, the plain base model, the adapter, the ablated adapter), so a difference between two
cells is taken per prompt; the prompt-difficulty variance an unpaired comparison would
carry cancels. Every interval here is over prompts and comes from
:mod:`crossling.analysis.stats` (calibrated by ``benchmarks/calibration.py``): a cell gets
the interval that fits its metric (rates and bounded scores), a paired difference the
sign-flip test and its inversion (Newcombe's interval for rates).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from crossling.analysis.stats import estimate

Values = Mapping[str, float | None]  # prompt id -> score (None = N/A)


def repetition(text: str, n: int = 5) -> float:
    """Share of repeated character ``n``-grams (casefolded, whitespace collapsed): 0 for
    text that never repeats itself, near 1 for a loop such as "THEY ARE THEY ARE ...".

    Why: steering too hard makes a small model loop; such answers can be all caps and in the
    right language, so neither the behaviour metric nor language fidelity flags them.
    """
    t = " ".join(text.casefold().split())
    grams = [t[i:i + n] for i in range(len(t) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def coherent(text: str, max_repetition: float = 0.5) -> float:
    """1.0 when the answer is neither degenerate by the shared rule
    (:func:`crossling.analysis.quality.degenerate_reason`: empty, runs, stutters, loops) nor
    repeats more than ``max_repetition`` of its character 5-grams, else 0.0."""
    from crossling.analysis.quality import degenerate_reason

    if degenerate_reason(text) is not None:
        return 0.0
    return 1.0 if repetition(text) <= max_repetition else 0.0


def coherence_log(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], float | None]:
    """``(setting, lang, id) → coherent(response)`` of every logged row."""
    return {(r["setting"], r["lang"], r["id"]): (
        coherent(r["response"]) if r.get("status", "ok") == "ok" else None) for r in rows}


def garbage_log(rows: list[dict[str, Any]],
                system_prompt: str | None = None) -> dict[tuple[str, str, str], float | None]:
    """``(setting, lang, id) → 1.0`` when the logged answer is degenerate by the shared rule
    (:func:`crossling.analysis.quality.degenerate_reason` with the row's prompt and language,
    as the ``degenerate`` scorer judges it), else 0.0; None for a failed row."""
    from crossling.analysis.quality import degenerate_reason

    return {(r["setting"], r["lang"], r["id"]): (
        (0.0 if degenerate_reason(r["response"], str(r.get("prompt", "")), system_prompt,
                                  r["lang"]) is None else 1.0)
        if r.get("status", "ok") == "ok" else None) for r in rows}


def score_log(rows: list[dict[str, Any]], metrics: list[str], langs: list[str],
              task: str | None = None, system_prompt: str | None = None
              ) -> dict[str, dict[tuple[str, str, str], float | None]]:
    """Per metric: ``(setting, lang, id) → score`` of every logged row (``task``: whose
    pass rule ``behaving_coherent`` applies).

    Rows whose status is not 'ok' score None (N/A), never 0.
    """
    from crossling.evaluate.scorers import ScorerContext, get_scorer, score_values

    ok = [r for r in rows if r.get("status", "ok") == "ok"]
    out: dict[str, dict[tuple[str, str, str], float | None]] = {}
    ctx = ScorerContext(langs=langs, task=task, system_prompt=system_prompt)
    for m in metrics:
        values = score_values(get_scorer(m, ctx), ok)
        out[m] = {(r["setting"], r["lang"], r["id"]): None for r in rows}
        out[m].update({(r["setting"], r["lang"], r["id"]): v
                       for r, v in zip(ok, values, strict=True)})
    return out


def cell_values(scores: dict[tuple[str, str, str], float | None], setting: str, lang: str,
                ids: list[str]) -> dict[str, float | None]:
    """``id → score`` of one cell, restricted to ``ids`` that were logged."""
    return {i: scores[(setting, lang, i)] for i in ids if (setting, lang, i) in scores}


def _kept(v: Values) -> dict[str, float]:
    return {i: float(x) for i, x in v.items() if x is not None and math.isfinite(float(x))}


def _scale(metric: str | None) -> tuple[bool, tuple[float, float] | None]:
    """(rate, bounds) of a metric by its scorer's declaration; a metric no scorer declares
    gets the intervals of an unbounded score."""
    if metric is None:
        return False, None
    from crossling.evaluate.scorers import rate_scorers, score_bounds

    return metric in rate_scorers(), score_bounds().get(metric)


def summary(values: Values, seed: int, n_boot: int, metric: str | None = None
            ) -> dict[str, Any]:
    """``mean, ci_low, ci_high, n, method`` of one cell over prompts (None when no prompt
    has a value); ``metric`` names the scorer, so its interval fits (rate, bounded)."""
    kept = list(_kept(values).values())
    if not kept:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0, "method": None}
    rate, bounds = _scale(metric)
    iv = estimate([(1.0, np.asarray(kept))], seed, n_boot, rate=rate, bounds=bounds)
    d = iv.as_dict()
    return {"mean": d["mean"], "ci_low": d["ci_low"], "ci_high": d["ci_high"], "n": len(kept),
            "method": iv.method}


def paired_delta(a: Values, b: Values, seed: int, n_boot: int, metric: str | None = None
                 ) -> dict[str, Any]:
    """Mean of ``a[id] − b[id]`` over ids scored in both, with its interval and two-sided
    p-value (sign-flip test; Newcombe interval and exact McNemar test for rates)."""
    ka, kb = _kept(a), _kept(b)
    shared = sorted(set(ka) & set(kb))
    if not shared:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0, "p": None,
                "method": None}
    rate, bounds = _scale(metric)
    iv = estimate([(1.0, np.array([ka[i] for i in shared])),
                   (-1.0, np.array([kb[i] for i in shared]))], seed, n_boot, rate=rate,
                  test=True, bounds=bounds)
    d = iv.as_dict()
    return {"mean": d["mean"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
            "n": len(shared), "p": d.get("p"), "method": iv.method}


def mean_of(values: Values) -> float | None:
    kept = list(_kept(values).values())
    return sum(kept) / len(kept) if kept else None
