"""Descriptive statistics with seeded bootstrap confidence intervals, and judge agreement.

Why bootstrap: per-language means over ~100 prompts of bounded, skewed metrics (% caps is
piled up at 0 and 100) have no trustworthy normal-theory interval; a percentile bootstrap
needs no distributional assumption. It is seeded, so reports are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

PERCENTILES = (25, 50, 75, 90, 95)


def bootstrap_ci(
    values: Sequence[float], seed: int, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean.

    Args:
        values: the sample (N/A values already removed).
        seed: seed of the resampling generator.
        n_boot: number of resamples.
        level: coverage of the interval.

    Returns:
        (low, high); (nan, nan) for an empty sample, (x, x) for a single value.
    """
    import numpy as np

    x = np.asarray(values, dtype=float)  # [n]
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))  # [n_boot, n]
    means = x[idx].mean(axis=1)  # [n_boot]
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(lo), float(hi)


def describe(values: Sequence[float | None], seed: int, n_boot: int = 2000) -> dict[str, Any]:
    """Summary of one (adapter, language, scorer) cell.

    Args:
        values: per-row scores; None (N/A) entries are counted in ``n_na`` and left out.
        seed: bootstrap seed.
        n_boot: bootstrap resamples.

    Returns:
        ``n, n_na, mean, std, median, p25, p50, p75, p90, p95, ci_low, ci_high``; statistics
        are None when no value is available (an all-N/A cell), never 0.
    """
    import numpy as np

    kept = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    out: dict[str, Any] = {"n": len(kept), "n_na": len(values) - len(kept)}
    keys = ["mean", "std", "median", *[f"p{p}" for p in PERCENTILES], "ci_low", "ci_high"]
    if not kept:
        out.update(dict.fromkeys(keys))
        return out
    x = np.asarray(kept)  # [n]
    out["mean"] = float(x.mean())
    out["std"] = float(x.std(ddof=1)) if x.size > 1 else 0.0
    out["median"] = float(np.median(x))
    for p in PERCENTILES:
        out[f"p{p}"] = float(np.percentile(x, p))
    out["ci_low"], out["ci_high"] = bootstrap_ci(kept, seed, n_boot)
    return out


def cohens_kappa(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Cohen's kappa of two binary raters over the same items.

    Returns:
        kappa in [-1, 1]; 1.0 when both raters agree everywhere, None for no items.
    """
    if len(a) != len(b):
        raise ValueError("cohens_kappa needs two ratings per item")
    n = len(a)
    if n == 0:
        return None
    a1 = [round(v) for v in a]
    b1 = [round(v) for v in b]
    po = sum(x == y for x, y in zip(a1, b1, strict=True)) / n
    pa, pb = sum(a1) / n, sum(b1) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    if pe >= 1.0:
        return 1.0 if po == 1.0 else 0.0
    return (po - pe) / (1 - pe)


GROUP_FIELDS = ("adapter", "lang", "kind", "steer", "scorer")


def summarize(
    scores: Sequence[dict[str, Any]], seed: int, n_boot: int = 2000
) -> list[dict[str, Any]]:
    """One summary row per (adapter, lang, kind, steer, scorer) group of score rows.

    Args:
        scores: rows of ``scores.jsonl`` (``value`` None = N/A).
        seed: bootstrap seed (each group gets the same seed, so a group's CI does not
            depend on which other groups exist).
        n_boot: bootstrap resamples.

    Returns:
        Rows of the group fields plus :func:`describe`'s statistics, in first-seen order.
    """
    groups: dict[tuple[str, ...], list[float | None]] = {}
    for row in scores:
        key = tuple(str(row.get(f, "none" if f == "steer" else "task")) for f in GROUP_FIELDS)
        groups.setdefault(key, []).append(row.get("value"))
    out = []
    for key, values in groups.items():
        out.append({**dict(zip(GROUP_FIELDS, key, strict=True)), **describe(values, seed, n_boot)})
    return out
