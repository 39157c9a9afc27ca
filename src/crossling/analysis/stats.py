"""Intervals and tests for crossling's numbers: one bootstrap, Wilson for rates, Holm.

Why a bootstrap for means: per-language means over ~100 prompts of bounded, skewed metrics
(% caps is piled up at 0 and 100) have no trustworthy normal-theory interval; a percentile
bootstrap needs no distributional assumption. It is seeded, so reports are reproducible.

Why two levels: with several training seeds, a difference between adapters varies with the
seed as well as with the prompts. Resampling prompts only treats one training run as the
population and gives intervals that are too narrow. :func:`bootstrap_distribution` resamples
seeds (within each training language, i.e. within each term) and then prompts (shared by
all terms, so paired comparisons stay paired). With one seed it is the ordinary bootstrap
over prompts, and the interval is conditional on that training run.

Why Wilson for rates: a 0-of-12 rate has a bootstrap interval of [0, 0] (every resample is
0); the Wilson score interval is never of zero width and keeps its coverage near 0 and 1.

This is the only bootstrap in crossling: the eval summary, the transfer analysis and the
steering sweep all call it.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PERCENTILES = (25, 50, 75, 90, 95)
#: Below this many prompts an interval is marked approximate in reports.
APPROX_BELOW = 30

#: ``method`` labels, saved next to every interval so a reader knows what it is over.
BOOT_PROMPTS = "bootstrap over prompts"
BOOT_SEEDS_PROMPTS = "two-level bootstrap over seeds and prompts"
WILSON = "Wilson score interval over prompts"
WILSON_SEEDS = "Wilson score interval over prompts, widened to the two-level bootstrap"


def _quantiles(stats: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap_distribution(
    terms: Sequence[tuple[float, np.ndarray]], seed: int, n_boot: int = 2000
) -> np.ndarray:
    """Bootstrap distribution of ``Σ_k w_k · mean(M_k)``, resampling seeds then prompts.

    Args:
        terms: ``(weight, M)`` pairs; ``M`` is ``[n_seeds_k, n_prompts]`` (or ``[n_prompts]``
            for one seed), NaN where a value is missing. Every ``M`` has the same prompt
            columns in the same order: prompts are resampled once per replicate for all
            terms (paired), seeds independently per term.
        seed: seed of the resampling generator.
        n_boot: replicates.

    Returns:
        ``[n_boot]`` replicate statistics (NaN-aware means).
    """
    rng = np.random.default_rng(seed)
    mats = [np.atleast_2d(np.asarray(m, dtype=float)) for _, m in terms]
    n = mats[0].shape[1]
    if any(m.shape[1] != n for m in mats):
        raise ValueError("every term needs the same prompt columns")
    cols = rng.integers(0, n, size=(n_boot, n))  # [B, n]
    out = np.zeros(n_boot)
    for (w, _), m in zip(terms, mats, strict=True):
        s = m.shape[0]
        if s == 1:
            picked = m[0][cols]  # [B, n]
        else:
            rows = rng.integers(0, s, size=(n_boot, s))  # [B, s]
            picked = m[rows[:, :, None], cols[:, None, :]].reshape(n_boot, -1)  # [B, s*n]
        with _quiet():  # a replicate that drew only missing cells is NaN, dropped later
            out += w * np.nanmean(picked, axis=1)
    return out


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's all-NaN-slice warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def bootstrap_ci(
    values: Sequence[float] | np.ndarray, seed: int, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean.

    Args:
        values: ``[n]`` one value per prompt, or ``[n_seeds, n]`` (seeds × prompts, NaN for
            missing): then seeds and prompts are both resampled.
        seed: seed of the resampling generator.
        n_boot: number of resamples.
        level: coverage of the interval.

    Returns:
        (low, high); (nan, nan) for an empty sample, (x, x) for a single value.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        return float(x.flat[0]), float(x.flat[0])
    return _quantiles(bootstrap_distribution([(1.0, x)], seed, n_boot), level)


def bootstrap_p(stats: np.ndarray) -> float:
    """Two-sided p-value of "the statistic is 0" from its bootstrap distribution.

    It inverts the percentile interval: p ≤ α exactly when the (1 − α) percentile interval
    excludes 0, so the p-value and the printed CI never disagree. ``(k + 1) / (B + 1)``
    keeps it above 0 (a finite bootstrap cannot show a smaller p).
    """
    stats = stats[np.isfinite(stats)]
    b = stats.size
    if b == 0:
        return math.nan
    tail = min(int((stats <= 0).sum()), int((stats >= 0).sum()))
    return float(min(1.0, 2 * (tail + 1) / (b + 1)))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone), in the input order.

    Controls the family-wise error rate over all the tests given, with no assumption about
    their dependence. NaN p-values are left NaN and do not count as tests.
    """
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(idx)
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def wilson_ci(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion.

    Args:
        successes: count of 1s (may be fractional when per-prompt values are seed means).
        n: trials; (nan, nan) when 0.
        level: coverage.

    Returns:
        (low, high) in [0, 1]; of non-zero width for every n ≥ 1, 0-of-n included.
    """
    if n <= 0:
        return math.nan, math.nan
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Interval:
    """A mean with its 95 % interval and what the interval is over.

    Attributes:
        mean: point estimate (mean over seeds of the per-seed mean over prompts).
        ci_low: lower bound.
        ci_high: upper bound.
        n: prompts.
        n_seeds: training seeds (1 for the control or a single run).
        method: how the interval was made (one of the ``BOOT_*`` / ``WILSON*`` labels).
        p: two-sided bootstrap p-value of mean = 0 (differences only; else None).
    """

    mean: float
    ci_low: float
    ci_high: float
    n: int
    n_seeds: int
    method: str
    p: float | None = None

    @property
    def approximate(self) -> bool:
        """Fewer than :data:`APPROX_BELOW` prompts: the interval's coverage is approximate."""
        return self.n < APPROX_BELOW

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mean": self.mean, "ci_low": self.ci_low,
                               "ci_high": self.ci_high, "n": self.n, "n_seeds": self.n_seeds,
                               "method": self.method, "approximate": self.approximate}
        if self.p is not None:
            out["p"] = self.p
        return out


def estimate(
    terms: Sequence[tuple[float, np.ndarray]], seed: int, n_boot: int = 2000,
    rate: bool = False, test: bool = False, level: float = 0.95,
) -> Interval:
    """Point estimate and interval of ``Σ_k w_k · mean(M_k)`` (see
    :func:`bootstrap_distribution` for ``terms``).

    Args:
        terms: weighted seeds × prompts matrices sharing prompt columns.
        seed: bootstrap seed.
        n_boot: replicates.
        rate: a single term of 0/1 values: Wilson interval (with ≥ 2 seeds, widened to the
            two-level bootstrap interval so seed variance is not lost).
        test: also compute the bootstrap p-value of "the estimate is 0".
        level: coverage.
    """
    mats = [np.atleast_2d(np.asarray(m, dtype=float)) for _, m in terms]
    n = int(mats[0].shape[1]) if mats[0].size else 0
    n_seeds = max(int(m.shape[0]) for m in mats) if mats[0].size else 0
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, n_seeds, BOOT_PROMPTS)
    with _quiet():
        mean = float(sum(w * np.nanmean(np.nanmean(m, axis=1)) for (w, _), m in
                         zip(terms, mats, strict=True)))
    dist = bootstrap_distribution(terms, seed, n_boot) if n > 1 or n_seeds > 1 else None
    multi = n_seeds > 1
    finite = dist[np.isfinite(dist)] if dist is not None else None
    if finite is None:
        lo = hi = mean
    elif finite.size == 0:
        lo = hi = math.nan
    else:
        lo, hi = _quantiles(finite, level)
    method = BOOT_SEEDS_PROMPTS if multi else BOOT_PROMPTS
    if rate and len(terms) == 1:
        with _quiet():
            per_prompt = np.nanmean(mats[0], axis=0)  # [n] seed-averaged
        kept = per_prompt[np.isfinite(per_prompt)]
        wl, wh = wilson_ci(float(kept.sum()), int(kept.size), level)
        lo, hi = (min(wl, lo), max(wh, hi)) if multi else (wl, wh)
        method = WILSON_SEEDS if multi else WILSON
    p = None
    if test:
        p = bootstrap_p(dist) if dist is not None else math.nan
    return Interval(mean, lo, hi, n, n_seeds, method, p)


def describe(
    values: Sequence[float | None], seed: int, n_boot: int = 2000, rate: bool = False
) -> dict[str, Any]:
    """Summary of one (adapter, language, scorer) cell.

    Args:
        values: per-prompt scores; None (N/A) entries are counted in ``n_na`` and left out.
        seed: bootstrap seed.
        n_boot: bootstrap resamples.
        rate: the values are 0/1 (a rate): Wilson interval instead of the bootstrap.

    Returns:
        ``n, n_na, mean, std, median, p25, p50, p75, p90, p95, ci_low, ci_high, method,
        approximate``; statistics are None when no value is available (an all-N/A cell),
        never 0.
    """
    kept = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    out: dict[str, Any] = {"n": len(kept), "n_na": len(values) - len(kept)}
    keys = ["mean", "std", "median", *[f"p{p}" for p in PERCENTILES], "ci_low", "ci_high"]
    if not kept:
        out.update(dict.fromkeys(keys))
        out.update(method=None, approximate=None)
        return out
    x = np.asarray(kept)  # [n]
    out["mean"] = float(x.mean())
    out["std"] = float(x.std(ddof=1)) if x.size > 1 else 0.0
    out["median"] = float(np.median(x))
    for p in PERCENTILES:
        out[f"p{p}"] = float(np.percentile(x, p))
    if rate:
        out["ci_low"], out["ci_high"] = wilson_ci(float(x.sum()), int(x.size))
    else:
        out["ci_low"], out["ci_high"] = bootstrap_ci(kept, seed, n_boot)
    out["method"] = WILSON if rate else BOOT_PROMPTS
    out["approximate"] = len(kept) < APPROX_BELOW
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
    scores: Sequence[dict[str, Any]], seed: int, n_boot: int = 2000,
    rates: Collection[str] = (),
) -> list[dict[str, Any]]:
    """One summary row per (adapter, lang, kind, steer, scorer) group of score rows.

    Args:
        scores: rows of ``scores.jsonl`` (``value`` None = N/A; ``empty`` True when the
            answer was empty, counted in ``n_empty``).
        seed: bootstrap seed (each group gets the same seed, so a group's CI does not
            depend on which other groups exist).
        n_boot: bootstrap resamples.
        rates: scorer names whose values are 0/1 rates (Wilson intervals).

    Returns:
        Rows of the group fields plus :func:`describe`'s statistics and ``n_empty``, in
        first-seen order.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in scores:
        key = tuple(str(row.get(f, "none" if f == "steer" else "task")) for f in GROUP_FIELDS)
        groups.setdefault(key, []).append(row)
    out = []
    for key, rows in groups.items():
        fields = dict(zip(GROUP_FIELDS, key, strict=True))
        stats = describe([r.get("value") for r in rows], seed, n_boot,
                         rate=fields["scorer"] in rates)
        stats["n_empty"] = sum(bool(r.get("empty")) for r in rows)
        out.append({**fields, **stats})
    return out
