"""Confirmation of a chosen setting on prompts it was not chosen on.

Why: the best of many noisy cells, scored on the prompts it was picked on, is biased upward
(winner's curse). Every choose-then-report protocol (the steering sweep's layer × strength,
behaviour vectors) picks on the selection ids of
:func:`crossling.analysis.split.selection_confirmation` and reports with this function on the
confirmation ids: the chosen cell, the baseline and their paired difference, each with a
95 % interval that says what it is over, and the smallest effect the confirmation could
detect (so "not significant" on 6 prompts is read as "could not tell", not "no effect").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from crossling.analysis.stats import APPROX_BELOW, Bounds, estimate, min_detectable_effect


def paired_confirmation(
    chosen: Mapping[str, float | None],
    baseline: Mapping[str, float | None],
    seed: int,
    n_boot: int = 2000,
    rate: bool = False,
    bounds: Bounds | None = None,
) -> dict[str, Any]:
    """Chosen cell vs baseline on the confirmation ids, paired by id.

    Args:
        chosen: confirmation id → the chosen setting's score (None = N/A).
        baseline: confirmation id → the baseline's (unsteered) score on the same id.
        seed: Monte Carlo seed (sign flips beyond 20 ids).
        n_boot: Monte Carlo sign vectors.
        rate: the scores are 0/1 (rate intervals; Newcombe's paired interval and the exact
            McNemar test for the difference).
        bounds: the score's range (bounded-mean cell intervals).

    Returns:
        ``n`` (ids scored by both), ``n_na``, ``mean``, ``ci_low``, ``ci_high`` (chosen),
        ``baseline_mean``, ``baseline_ci_low``, ``baseline_ci_high``, ``delta`` (chosen −
        baseline, mean of per-id differences), ``delta_ci_low``, ``delta_ci_high``,
        ``delta_p`` (two-sided p of delta = 0, sign-flip / exact McNemar), ``method``,
        ``delta_method``, ``approximate`` (n < 30) and ``mde`` (the smallest true delta the
        test detects with 80 % power at this n, from the spread of the per-id differences:
        an insignificant delta below it says nothing). With no id scored by both (no cell was chosen), only the
        baseline statistics are given, over every baseline id (``n_baseline``).
    """
    ids = sorted(set(chosen) | set(baseline))
    both = [i for i in ids if chosen.get(i) is not None and baseline.get(i) is not None]
    out: dict[str, Any] = {"n": len(both), "n_na": len(ids) - len(both)}
    keys = ("mean", "ci_low", "ci_high", "baseline_mean", "baseline_ci_low", "baseline_ci_high",
            "delta", "delta_ci_low", "delta_ci_high", "delta_p", "method", "delta_method",
            "mde")
    if not both:  # nothing to pair (no cell chosen): the baseline alone, on its own ids
        out |= dict.fromkeys(keys) | {"approximate": None}
        alone = [float(v) for v in baseline.values() if v is not None]
        if alone:
            base = estimate([(1.0, np.array(alone))], seed, n_boot, rate=rate, bounds=bounds)
            out.update(baseline_mean=base.mean, baseline_ci_low=base.ci_low,
                       baseline_ci_high=base.ci_high, n_baseline=len(alone),
                       method=base.method, approximate=len(alone) < APPROX_BELOW)
        return out
    c = np.array([float(chosen[i]) for i in both])  # type: ignore[arg-type]  # [n]
    b = np.array([float(baseline[i]) for i in both])  # type: ignore[arg-type]  # [n]
    cell = estimate([(1.0, c)], seed, n_boot, rate=rate, bounds=bounds).as_dict()
    base_d = estimate([(1.0, b)], seed, n_boot, rate=rate, bounds=bounds).as_dict()
    delta_iv = estimate([(1.0, c), (-1.0, b)], seed, n_boot, rate=rate, test=True,
                        bounds=bounds)
    delta = delta_iv.as_dict()
    sd = float(np.std(c - b, ddof=1)) if len(both) > 1 else math.nan
    spread = sd > 1e-9 * max(1.0, float(np.abs(c - b).max()))  # not rounding noise
    mde = min_detectable_effect(sd if spread else math.nan, len(both))
    out.update(
        mean=cell["mean"], ci_low=cell["ci_low"], ci_high=cell["ci_high"],
        baseline_mean=base_d["mean"], baseline_ci_low=base_d["ci_low"],
        baseline_ci_high=base_d["ci_high"],
        delta=delta["mean"], delta_ci_low=delta["ci_low"], delta_ci_high=delta["ci_high"],
        delta_p=delta.get("p"), method=cell["method"], delta_method=delta_iv.method,
        approximate=len(both) < APPROX_BELOW, mde=None if math.isnan(mde) else mde,
    )
    return out
