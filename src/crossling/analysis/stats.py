"""Intervals and tests for crossling's numbers, calibrated at the sizes crossling runs.

crossling runs 6 to 100 prompts per cell and 1 to 5 training seeds. At those sizes the
percentile bootstrap is anti-conservative (a true null was rejected 13 % of the time at
n = 6) and gives a zero-width interval for 3 of 3 vs 0 of 3. Every p-value and interval
crossling prints comes from this module, and ``benchmarks/calibration.py`` measures each
one's false-positive rate and coverage by simulation at those sizes (the table is in the
README). What each one is, and why:

* **Paired differences of means** (chosen − baseline, adapter − control, the asymmetry
  contrast): per-prompt differences ``d``; the p-value is the *sign-flip permutation test*
  (exact over all ``2^n`` sign vectors up to :data:`MAX_EXACT` prompts, Monte Carlo with the
  +1 correction above), exact under the paired null whatever the distribution. The interval
  inverts the same test: its ends are order statistics of the means of subsets of ``d``
  (Hartigan 1969), so the interval excludes 0 exactly when the test rejects.
* **Paired differences of rates**: the same sign-flip test, which on differences in
  {−1, 0, 1} *is* the exact McNemar test; the interval is Newcombe's hybrid score interval for
  paired proportions (never of zero width at 3 of 3 vs 0 of 3).
* **Contrasts of three or more paired rates** (the asymmetry test, a model's gap): the same
  sign-flip test (exact when the conditions are exchangeable on each prompt under the
  null), but not its inversion, which assumes the per-prompt contrast symmetric about the
  truth: false under an effect on 0/1 data, and on 6 prompts its ends are the smallest and
  largest per-prompt value (coverage 0.92 in the benchmark, about 0.84 at a rate of 0.05
  with a +0.2 effect). The interval is :func:`paired_rates_interval`: below 30 prompts the hull
  of Newcombe's construction for K rates (MOVER-Wilson) and Agresti–Min's (a Wald interval
  with two pseudo-prompts of fair coins), each of which fails where the other holds; from
  30 prompts the latter alone.
* **Unpaired differences**: rates — Newcombe's hybrid score interval and Fisher's exact test;
  means — a label-permutation test, with Newcombe's MOVER combination of the two cell
  intervals for a bounded score (Welch's t interval for an unbounded one).
* **Cells**: a rate gets the Clopper–Pearson interval (Wilson's dips to 0.89 coverage near
  0 at small n); a bounded score (% uppercase in [0, 100]) gets, below
  :data:`SMALL_N` prompts, the same interval on its fractional sum — it assumes nothing but
  the bounds, the only thing 6 prompts can support when one answer in ten may be all caps
  — and from :data:`SMALL_N` the hull of the t interval and a dispersion-scaled Wilson
  interval; an unbounded score gets the t interval.
* **Seeds**: with S ≥ 3 training seeds, seed-level intervals and tests are hierarchical: the
  standard error adds the spread of the S per-seed means to the spread of the per-prompt
  means, with the t quantile of S − 1 degrees of freedom, held no narrower than the
  one-seed interval over prompts. With S = 2 seed variance is not
  estimable: no seed-level interval or p-value is given, only the two runs, each over
  prompts and conditional on its run. With one seed every interval is over prompts,
  conditional on that training run.

Multiple tests get Holm-adjusted p-values (:func:`holm`). Monte Carlo draws are seeded, so
reports are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

PERCENTILES = (25, 50, 75, 90, 95)
#: Below this many prompts an interval is marked approximate in reports.
APPROX_BELOW = 30
#: Below this many prompts a bounded score's cell interval uses only its bounds: with 30
#: prompts and one answer in ten all caps, the t / Wilson hull covered 0.92.
SMALL_N = 100
#: Up to this many prompts the sign-flip test enumerates every sign vector (2^20 ≈ 10^6).
MAX_EXACT = 20
#: Bounds of a rate (0/1 values).
UNIT = (0.0, 1.0)
#: Pseudo-prompts (every condition a fair coin) added by :func:`pseudo_prompt_interval`: two,
#: as Agresti and Min (2005) add 0.5 to each cell of the paired 2 × 2 table.
PSEUDO_PROMPTS = 2.0
#: Below this many prompts a contrast of three or more paired rates takes the hull of the
#: MOVER-Wilson and the pseudo-prompt intervals (each alone covered 0.86 to 0.88 somewhere at
#: 6 prompts); from here the pseudo-prompt interval alone covers, up to 10 % narrower.
HULL_BELOW = 30

#: ``method`` labels, saved next to every interval so a reader knows what it is over.
SIGN_FLIP = "paired sign-flip permutation test over prompts, interval by its inversion"
SIGN_FLIP_MC = "paired sign-flip permutation test over prompts (Monte Carlo), interval by its inversion"
NEWCOMBE_PAIRED = "paired rates over prompts: Newcombe score interval, exact McNemar test"
PAIRED_RATES = ("contrast of paired rates over prompts: hull of the MOVER-Wilson and "
                "pseudo-prompt intervals (pseudo-prompt alone from 30 prompts), sign-flip test")
NEWCOMBE = "unpaired rates over prompts: Newcombe score interval, Fisher exact test"
WELCH = "unpaired means over prompts: Welch t interval, permutation test"
MOVER = "unpaired bounded means over prompts: MOVER of the two cell intervals, permutation test"
CLOPPER_PEARSON = "Clopper-Pearson interval of a rate over prompts"
BOUNDED = "bounded-mean interval over prompts (assumes only the score's bounds)"
T_QUASI = "t / dispersion-scaled Wilson interval over prompts"
T_PROMPTS = "t interval over prompts"
HIERARCHICAL = "hierarchical t over seeds and prompts"
SEEDS2 = "no seed-level interval: seed variance is not estimable with 2 seeds"

Bounds = tuple[float, float]


# --- distributions (no scipy: a regularized incomplete beta and bisection suffice) --------

def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta (modified Lentz), converging for
    x < (a + 1) / (a + b + 2)."""
    tiny = 1e-300

    def guard(v: float) -> float:
        return tiny if abs(v) < tiny else v

    c, d = 1.0, 1.0 / guard(1.0 - (a + b) * x / (a + 1.0))
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((a - 1 + m2) * (a + m2)),
                    -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2))):
            d = 1.0 / guard(1.0 + num * d)
            c = guard(1.0 + num / c)
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta ``I_x(a, b)`` (the Beta(a, b) CDF at ``x``)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                 + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def _bisect(f: Callable[[float], float], q: float, lo: float, hi: float) -> float:
    """``x`` in [lo, hi] with ``f(x) = q`` for increasing ``f``."""
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if f(mid) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def beta_ppf(q: float, a: float, b: float) -> float:
    """Quantile of Beta(a, b)."""
    return _bisect(lambda x: betainc(a, b, x), q, 0.0, 1.0)


def t_cdf(t: float, df: float) -> float:
    """Student t CDF with ``df`` (real, > 0) degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


_T_CACHE: dict[tuple[float, float], float] = {}


def t_ppf(q: float, df: float) -> float:
    """Student t quantile (cached: calibration calls it with few distinct arguments)."""
    if math.isinf(df) or df > 1e6:
        return NormalDist().inv_cdf(q)
    key = (q, round(df, 6))
    if key not in _T_CACHE:
        _T_CACHE[key] = _bisect(lambda t: t_cdf(t, df), q, -1e4, 1e4)
    return _T_CACHE[key]


def t_sf2(t: float, df: float) -> float:
    """Two-sided p of a t statistic."""
    return 2.0 * (1.0 - t_cdf(abs(t), df)) if math.isfinite(t) else 0.0


# --- single rates and means -----------------------------------------------------------

def clopper_pearson(successes: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson ("exact") interval of a proportion; coverage ≥ ``level`` at every
    true rate. ``successes`` may be fractional (seed-averaged or bounded scores scaled to
    [0, 1]): the beta quantiles are continuous in it."""
    if n <= 0:
        return math.nan, math.nan
    a = (1.0 - level) / 2.0
    k = min(max(successes, 0.0), n)
    lo = 0.0 if k <= 0 else beta_ppf(a, k, n - k + 1.0)
    hi = 1.0 if k >= n else beta_ppf(1.0 - a, k + 1.0, n - k)
    return lo, hi


def wilson_ci(successes: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (a part of Newcombe's difference intervals).

    Returns:
        (low, high) in [0, 1], of non-zero width for every n ≥ 1; (nan, nan) when n = 0.
    """
    if n <= 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _t_interval(x: np.ndarray, level: float) -> tuple[float, float]:
    n = x.size
    if n < 2:
        return float(x.mean()), float(x.mean())
    half = t_ppf(1 - (1 - level) / 2, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return float(x.mean()) - half, float(x.mean()) + half


def _quasi_wilson(u: np.ndarray, level: float) -> tuple[float, float]:
    """Wilson interval of the mean of ``u`` in [0, 1] with the binomial variance scaled by
    the observed dispersion ``s² / (m (1 − m))`` (≤ 1 for any [0, 1] variable) and a t
    quantile: as wide as Wilson for 0/1 data, as narrow as t for concentrated data."""
    n, m = u.size, float(u.mean())
    v = m * (1 - m)
    c = 1.0 if v <= 1e-12 else min(1.0, float(u.var(ddof=1)) / v)
    if c <= 0:
        return m, m
    n_eff = n / c
    z = t_ppf(1 - (1 - level) / 2, n - 1)
    denom = 1 + z * z / n_eff
    centre = (m + z * z / (2 * n_eff)) / denom
    half = z * math.sqrt(v / n_eff + z * z / (4 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def cell_interval(x: np.ndarray, level: float = 0.95, rate: bool = False,
                  bounds: Bounds | None = None) -> tuple[float, float, str]:
    """Interval of one cell's mean over prompts, ``x`` ``[n]`` (no NaN).

    Rates: Clopper–Pearson. Bounded scores: below :data:`SMALL_N` prompts Clopper–Pearson on
    the fractional sum of the values scaled to [0, 1] (valid for any distribution on the
    bounds, as a 0/1 variable is the most spread one), else the hull of the t interval and
    :func:`_quasi_wilson`. Unbounded scores: t.

    Returns:
        (low, high, method label).
    """
    n = x.size
    if rate or bounds is not None:
        lo_b, hi_b = UNIT if rate else bounds  # type: ignore[misc]
        span = hi_b - lo_b
        u = np.clip((x - lo_b) / span, 0.0, 1.0)
        if rate or n < SMALL_N:
            lo, hi = clopper_pearson(float(u.sum()), n, level)
            method = CLOPPER_PEARSON if rate else BOUNDED
        else:
            ql, qh = _quasi_wilson(u, level)
            tl, th = _t_interval(u, level)
            lo, hi, method = max(0.0, min(ql, tl)), min(1.0, max(qh, th)), T_QUASI
        return lo_b + span * lo, lo_b + span * hi, method
    lo, hi = _t_interval(x, level)
    return lo, hi, T_PROMPTS


# --- paired differences: the sign-flip test and its inversion ---------------------------

@dataclass(frozen=True)
class SignFlip:
    """A sign-flip test of "the mean of ``d`` is 0" and the interval that inverts it.

    Attributes:
        p: two-sided p (twice the smaller one-sided p, capped at 1).
        ci_low, ci_high: ends of the interval (± inf when n is too small to bound it:
            fewer than 6 prompts at 95 %).
        exact: every sign vector was enumerated.
    """

    p: float
    ci_low: float
    ci_high: float
    exact: bool


def sign_flip(d: np.ndarray, seed: int = 0, n_mc: int = 2000, level: float = 0.95,
              max_exact: int = MAX_EXACT) -> SignFlip:
    """Sign-flip permutation test and interval for the mean of paired differences.

    Why it is exact: under the paired null each difference is as likely to be ``+d`` as
    ``−d``, so all ``2^n`` sign vectors are equally likely. Flipping the subset ``F``
    changes the sum by ``−2 Σ_F d``; the test counts subsets with ``Σ_F d ≤ 0`` (and
    ``≥ 0``). Shifting ``d`` by ``δ`` and inverting gives the interval: its ends are order
    statistics of the means of the non-empty subsets of ``d`` (Hartigan 1969), so the
    interval excludes 0 exactly when ``p < 1 − level``.

    Args:
        d: ``[n]`` per-prompt differences.
        seed: seed of the Monte Carlo subsets (n > ``max_exact``).
        n_mc: random subsets when not exact; the p-value is ``(k + 1) / (n_mc + 1)``.
        level: coverage of the interval.
        max_exact: enumerate every subset up to this n.
    """
    d = np.asarray(d, dtype=float)
    n = d.size
    if n == 0:
        return SignFlip(math.nan, math.nan, math.nan, True)
    tol = 1e-9 * max(1.0, float(np.abs(d).max()))
    exact = n <= max_exact
    if exact:
        sums, sizes = np.zeros(1), np.zeros(1)
        for x in d:  # all 2^n subset sums and sizes, the empty subset first
            sums = np.concatenate([sums, sums + x])
            sizes = np.concatenate([sizes, sizes + 1])
        total = sums.size
        le = int((sums <= tol).sum())
        ge = int((sums >= -tol).sum())
    else:
        rng = np.random.default_rng(seed)
        masks = rng.random((n_mc, n)) < 0.5  # [n_mc, n] random subsets
        sums, sizes = masks @ d, masks.sum(axis=1).astype(float)
        total = n_mc + 1  # the observed sign vector (empty subset) counts once
        le = 1 + int((sums <= tol).sum())
        ge = 1 + int((sums >= -tol).sum())
    p = min(1.0, 2.0 * min(le, ge) / total)
    nonempty = sizes > 0
    means = sums[nonempty] / sizes[nonempty]
    k = math.floor((1.0 - level) / 2.0 * total + 1e-9)
    if k < 1 or means.size < 2 * k:
        return SignFlip(p, -math.inf, math.inf, exact)
    lo = float(np.partition(means, k - 1)[k - 1])
    hi = float(np.partition(means, means.size - k)[means.size - k])
    return SignFlip(p, lo, hi, exact)


def newcombe_paired(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) of ``mean(x) − mean(y)`` for
    paired 0/1 values ``x``, ``y`` ``[n]``: Wilson intervals of the two rates combined with
    their correlation. Never of zero width (3 of 3 vs 0 of 3 gives [0.06, 1])."""
    n = x.size
    a = float(((x == 1) & (y == 1)).sum())
    b = float(((x == 1) & (y == 0)).sum())
    c = float(((x == 0) & (y == 1)).sum())
    dd = float(n) - a - b - c
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_ci(a + b, n, level)
    l2, u2 = wilson_ci(a + c, n, level)
    den = (a + b) * (c + dd) * (a + c) * (b + dd)
    phi = (a * dd - b * c) / math.sqrt(den) if den > 0 else 0.0
    delta = p1 - p2
    lo = delta - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)
                               + (u2 - p2) ** 2))
    hi = delta + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2)
                               + (p2 - l2) ** 2))
    return max(-1.0, lo), min(1.0, hi)


def mover_rates(rows: Sequence[np.ndarray], weights: Sequence[float],
                level: float = 0.95) -> tuple[float, float]:
    """MOVER interval (Zou & Donner 2008) of ``Σ w_k mean(x_k)`` for paired 0/1 rows ``x_k``
    ``[n]``: Newcombe's paired interval (method 10) generalised to K rates, and equal to
    :func:`newcombe_paired` for weights (1, −1).

    Why: each rate's Wilson interval knows the rate's bounds, so with few events (rates near
    0 or 1, where the sign-flip inversion covered 0.92 at 6 prompts) the interval stays
    honest. Its weakness is the plug-in correlations: at rates near 0.5 on 6 prompts they
    are so noisy that the interval covered 0.86, which :func:`paired_rates_interval` fixes.

    Each term's distance to its own Wilson limit on the side that lowers (raises) the sum,
    ``e_k``, is combined as ``sqrt(Σ_jk s_j s_k φ_jk e_j e_k)`` with ``s`` the weights' signs
    and ``φ`` the phi correlations of the rows (0 for a constant row).
    """
    x = np.stack([np.asarray(r, dtype=float) for r in rows])  # [K, n]
    w = np.asarray(weights, dtype=float)  # [K]
    n = x.shape[1]
    p = x.mean(axis=1)  # [K]
    lim = np.array([wilson_ci(float(k), n, level) for k in x.sum(axis=1)])  # [K, 2]
    below, above = p - lim[:, 0], lim[:, 1] - p  # [K] distances to the Wilson limits
    down = np.abs(w) * np.where(w > 0, below, above)  # how far each term can lower the sum
    up = np.abs(w) * np.where(w > 0, above, below)
    with np.errstate(all="ignore"):
        phi = np.nan_to_num(np.atleast_2d(np.corrcoef(x)))  # [K, K]; NaN: a constant row
    np.fill_diagonal(phi, 1.0)
    signed = phi * np.outer(np.sign(w), np.sign(w))
    est = float(w @ p)
    return (est - math.sqrt(max(0.0, float(down @ signed @ down))),
            est + math.sqrt(max(0.0, float(up @ signed @ up))))


def pseudo_prompt_interval(rows: Sequence[np.ndarray], weights: Sequence[float],
                           level: float = 0.95) -> tuple[float, float]:
    """Wald interval of the mean per-prompt contrast ``d = Σ w_k x_k`` of paired 0/1 rows,
    after adding :data:`PSEUDO_PROMPTS` prompts on which every condition is a fair coin:
    Agresti and Min's (2005) paired interval (0.5 added to each cell) generalised to K
    rates, with the sample variance of the augmented ``d`` (divisor ``n + c − 1``).

    Why: it estimates the variance of ``d`` directly, so it needs no correlations and holds
    at rates near 0.5 where :func:`mover_rates` does not; the pseudo-prompts keep it off
    zero width when every ``d`` is equal (the sign-flip inversion gave [0, 0] for 0 of 6 in
    every condition) and pull the centre toward the middle of the range, as Agresti–Min do.
    With few events and small weights (``(x_1 + x_2) / 2 − x_3``) it covered 0.88 on 6
    prompts, which :func:`paired_rates_interval` fixes. The pseudo-prompts' ``d`` has mean
    ``Σ w / 2`` and variance ``Σ w² / 4``; no 2^K table is enumerated.
    """
    x = np.stack([np.asarray(r, dtype=float) for r in rows])  # [K, n]
    w = np.asarray(weights, dtype=float)
    n, c = x.shape[1], PSEUDO_PROMPTS
    d = w @ x  # [n]
    mu0, v0 = 0.5 * float(w.sum()), 0.25 * float(w @ w)
    centre = (float(d.sum()) + c * mu0) / (n + c)
    ss = float(((d - centre) ** 2).sum()) + c * (v0 + (mu0 - centre) ** 2)
    half = NormalDist().inv_cdf(1 - (1 - level) / 2) * math.sqrt(ss / (n + c - 1) / (n + c))
    return centre - half, centre + half


def paired_rates_interval(rows: Sequence[np.ndarray], weights: Sequence[float],
                          level: float = 0.95) -> tuple[float, float]:
    """Interval of a contrast ``Σ w_k mean(x_k)`` of three or more paired 0/1 rows ``[n]``
    (the asymmetry test on a rate, a model's gap): below :data:`HULL_BELOW` prompts the
    hull of :func:`mover_rates` and :func:`pseudo_prompt_interval`, from it the latter.

    Why: the sign-flip inversion assumes ``d − δ`` symmetric about 0, true under the null but
    not under an effect on 0/1 data, and on 6 prompts its ends are ``min d`` and ``max d``:
    with rates near 0.95 and a −0.3 effect, all six ``d`` often lie on one side of the truth
    (coverage 0.92 in ``benchmarks/calibration.py``; about 0.84 at a rate of 0.05 and a +0.2
    effect). Each of the two intervals here fails where the other holds (few events: MOVER
    holds; rates near 0.5: pseudo-prompt holds), so their hull covers wherever either does:
    simulated like the benchmark with 3, 4 and 6 conditions at rates 0.02 to 0.95 and
    contrasts up to ±0.8, the hull covered at least 0.939 on 6 and 12 prompts, and from 30
    prompts the pseudo-prompt interval alone at least 0.93, where MOVER-Wilson is up to
    10 % wider. The sign-flip p-value is kept: it is exact under the exchangeable null.
    """
    lo, hi = pseudo_prompt_interval(rows, weights, level)
    if np.asarray(rows[0]).size < HULL_BELOW:
        mlo, mhi = mover_rates(rows, weights, level)
        lo, hi = min(lo, mlo), max(hi, mhi)
    return lo, hi


def newcombe_unpaired(k1: float, n1: int, k2: float, n2: int,
                      level: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) of ``k1/n1 − k2/n2``."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_ci(k1, n1, level)
    l2, u2 = wilson_ci(k2, n2, level)
    return (p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact p of equal rates (tables no more likely than the observed)."""
    m, total = k1 + k2, n1 + n2

    def prob(x: int) -> float:
        return math.comb(n1, x) * math.comb(n2, m - x) / math.comb(total, m)

    observed = prob(k1)
    lo, hi = max(0, m - n2), min(n1, m)
    return min(1.0, sum(p for x in range(lo, hi + 1) if (p := prob(x)) <= observed * (1 + 1e-9)))


def permutation_unpaired(x: np.ndarray, y: np.ndarray, seed: int = 0,
                         n_mc: int = 2000) -> float:
    """Two-sided label-permutation p of equal means (Monte Carlo, +1 corrected)."""
    pooled = np.concatenate([x, y])
    obs = abs(float(x.mean() - y.mean()))
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(pooled, (n_mc, 1)), axis=1)  # [n_mc, n1 + n2]
    diffs = np.abs(perms[:, :x.size].mean(axis=1) - perms[:, x.size:].mean(axis=1))
    return float((1 + (diffs >= obs - 1e-12).sum()) / (n_mc + 1))


def welch_interval(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Welch t interval of ``mean(x) − mean(y)`` (Satterthwaite degrees of freedom)."""
    vx, vy = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    se = math.sqrt(vx + vy)
    diff = float(x.mean() - y.mean())
    if se == 0:
        return diff, diff
    df = (vx + vy) ** 2 / (vx ** 2 / (x.size - 1) + vy ** 2 / (y.size - 1))
    half = t_ppf(1 - (1 - level) / 2, df) * se
    return diff - half, diff + half


def min_detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true paired mean difference a two-sided level-``alpha`` test detects with
    probability ``power`` on ``n`` prompts whose differences have standard deviation
    ``sd`` (t approximation): ``(t_{1−α/2} + t_{power}) · sd / √n``."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    return (t_ppf(1 - alpha / 2, n - 1) + t_ppf(power, n - 1)) * sd / math.sqrt(n)


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


# --- what reports print -----------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """A mean (or difference) with its 95 % interval and what the interval is over.

    Attributes:
        mean: point estimate (mean over seeds of the per-seed mean over prompts).
        ci_low: lower bound (NaN when none is given, e.g. with 2 seeds).
        ci_high: upper bound.
        n: prompts.
        n_seeds: training seeds (1 for the control or a single run).
        method: what the interval (and p) is: one of the labels above.
        p: two-sided p-value of "the difference is 0" (tests only; else None).
        runs: with 2 seeds, one interval per run, each over prompts and conditional on it.
    """

    mean: float
    ci_low: float
    ci_high: float
    n: int
    n_seeds: int
    method: str
    p: float | None = None
    runs: tuple[Interval, ...] = field(default=())

    @property
    def approximate(self) -> bool:
        """Fewer than :data:`APPROX_BELOW` prompts: reports mark the interval."""
        return self.n < APPROX_BELOW

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)

    def as_dict(self) -> dict[str, Any]:
        num = finite_or_none
        out: dict[str, Any] = {"mean": num(self.mean), "ci_low": num(self.ci_low),
                               "ci_high": num(self.ci_high), "n": self.n,
                               "n_seeds": self.n_seeds, "method": self.method,
                               "approximate": self.approximate}
        if self.p is not None:
            out["p"] = finite_or_none(self.p)
        if self.runs:
            out["runs"] = [r.as_dict() for r in self.runs]
        return out


def finite_or_none(x: float | None) -> float | None:
    """JSON-safe: NaN and ±inf (no interval) become None."""
    return None if x is None or not math.isfinite(x) else float(x)


def _range_of(weights: Sequence[float], bounds: Bounds | None) -> tuple[float, float]:
    """Smallest and largest possible ``Σ w_k x_k`` for ``x_k`` within ``bounds``."""
    if bounds is None:
        return -math.inf, math.inf
    lo_b, hi_b = bounds
    lo = sum(w * (lo_b if w > 0 else hi_b) for w in weights)
    hi = sum(w * (hi_b if w > 0 else lo_b) for w in weights)
    return lo, hi


def _one_run(terms: Sequence[tuple[float, np.ndarray]], seed: int, n_mc: int, rate: bool,
             test: bool, level: float, bounds: Bounds | None) -> Interval:
    """One seed per term: every interval is over prompts. ``terms``' matrices are ``[n]``."""
    rows = [np.asarray(m, dtype=float).reshape(-1) for _, m in terms]
    weights = [w for w, _ in terms]
    keep = np.all(np.isfinite(np.stack(rows)), axis=0)  # [n] prompts every term scored
    rows = [r[keep] for r in rows]
    n = int(keep.sum())
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, 1, T_PROMPTS, math.nan if test else None)
    d = sum(w * r for w, r in zip(weights, rows, strict=True))  # [n]
    mean = float(np.mean(d))
    if len(terms) == 1 and not test:
        lo, hi, method = cell_interval(rows[0] * weights[0], level, rate, bounds)
        return Interval(mean, lo, hi, n, 1, method)
    sf = sign_flip(np.asarray(d), seed, n_mc, level)
    lo, hi = sf.ci_low, sf.ci_high
    method = SIGN_FLIP if sf.exact else SIGN_FLIP_MC
    binary = all(bool(np.isin(r, (0.0, 1.0)).all()) for r in rows)
    if rate and binary and len(terms) == 2 and weights[0] == -weights[1] == 1.0:
        lo, hi = newcombe_paired(rows[0], rows[1], level)
        method = NEWCOMBE_PAIRED
    elif (rate or bounds == UNIT) and binary and len(terms) >= 3:
        # 0/1 values in [0, 1] are rates even when the caller passed only the bounds
        # (crossling.analysis.transfer.asymmetry does)
        lo, hi = paired_rates_interval(rows, weights, level)
        method = PAIRED_RATES
    rlo, rhi = _range_of(weights, UNIT if rate else bounds)
    lo, hi = max(lo, rlo), min(hi, rhi)  # a sign-flip interval on < 6 prompts is unbounded
    return Interval(mean, lo, hi, n, 1, method, sf.p if test else None)


def _hierarchical(terms: Sequence[tuple[float, np.ndarray]], seed: int, n_mc: int,
                  rate: bool, test: bool, level: float, bounds: Bounds | None) -> Interval:
    """≥ 3 seeds in every term that has several: the standard error of ``Σ w_k mean(M_k)``
    adds ``w_k² var(per-seed means) / S_k`` (seed spread; it also carries the seed × prompt
    spread) and ``var(per-prompt seed-averaged contrast) / n`` (prompt spread), with the
    t quantile of the fewest seeds' S − 1 degrees of freedom; the interval is held no narrower than the one-run
    interval on the seed-averaged values, and the p-value no smaller than that run's."""
    mats = [np.atleast_2d(np.asarray(m, dtype=float)) for _, m in terms]
    weights = [w for w, _ in terms]
    with np.errstate(all="ignore"):
        cols = [np.nanmean(m, axis=0) for m in mats]  # [n] seed-averaged per term
        keep = np.all(np.isfinite(np.stack(cols)), axis=0)
        mats = [m[:, keep] for m in mats]
        n = int(keep.sum())
        n_seeds = max(m.shape[0] for m in mats)
        if n < 2:
            return Interval(math.nan, math.nan, math.nan, n, n_seeds, HIERARCHICAL,
                            math.nan if test else None)
        mean = float(sum(w * np.nanmean(np.nanmean(m, axis=1))
                         for w, m in zip(weights, mats, strict=True)))
        parts: list[tuple[float, float]] = []
        for w, m in zip(weights, mats, strict=True):
            if m.shape[0] > 1:
                seed_means = np.nanmean(m, axis=1)  # [S]
                parts.append((w * w * float(seed_means.var(ddof=1)) / m.shape[0],
                              m.shape[0] - 1.0))
        contrast = sum(w * np.nanmean(m, axis=0) for w, m in zip(weights, mats, strict=True))
    parts.append((float(np.var(contrast, ddof=1)) / n, n - 1.0))
    var = sum(v for v, _ in parts)
    se = math.sqrt(var)
    # The smallest degrees of freedom of any part (S − 1 when some term has seeds), not
    # Satterthwaite's: the estimated df is random and correlated with the standard error,
    # which made 3-seed intervals cover 0.90 in benchmarks/calibration.py.
    df = min(k for _, k in parts)
    tq = t_ppf(1 - (1 - level) / 2, df)
    lo, hi = mean - tq * se, mean + tq * se
    p = t_sf2(mean / se, df) if se > 0 else (1.0 if mean == 0 else 0.0)
    floor = _one_run([(w, np.nanmean(m, axis=0)) for w, m in zip(weights, mats, strict=True)],
                     seed, n_mc, False, test, level, UNIT if rate else bounds)
    lo, hi = min(lo, floor.ci_low), max(hi, floor.ci_high)
    if floor.p is not None:
        p = max(p, floor.p)
    return Interval(mean, lo, hi, n, n_seeds, HIERARCHICAL, p if test else None)


def estimate(
    terms: Sequence[tuple[float, np.ndarray]], seed: int = 0, n_boot: int = 2000,
    rate: bool = False, test: bool = False, level: float = 0.95,
    bounds: Bounds | None = None,
) -> Interval:
    """Point estimate, interval (and p-value) of ``Σ_k w_k · mean(M_k)``.

    Args:
        terms: ``(weight, M)`` pairs; ``M`` is ``[n_seeds_k, n_prompts]`` (or ``[n_prompts]``
            for one seed), NaN where a value is missing; every ``M`` has the same prompt
            columns in the same order (paired). One term is a cell; several a contrast.
        seed: seed of the Monte Carlo sign flips (more than :data:`MAX_EXACT` prompts).
        n_boot: Monte Carlo sign vectors.
        rate: the values are 0/1.
        test: also give the two-sided p-value of "the estimate is 0".
        level: coverage.
        bounds: the score's range (e.g. (0, 100) for % uppercase), used by cells and to
            bound a difference's interval.

    Returns:
        The :class:`Interval`; with 2 seeds in some term, no interval or p-value (NaN) and
        ``runs`` holding each run's interval over prompts.
    """
    mats = [np.atleast_2d(np.asarray(m, dtype=float)) for _, m in terms]
    if not mats or mats[0].size == 0:
        return Interval(math.nan, math.nan, math.nan, 0, 0, T_PROMPTS, math.nan if test else None)
    n_prompts = mats[0].shape[1]
    if any(m.shape[1] != n_prompts for m in mats):
        raise ValueError("every term needs the same prompt columns")
    seeds = [m.shape[0] for m in mats]
    if max(seeds) == 1:
        return _one_run([(w, m[0]) for (w, _), m in zip(terms, mats, strict=True)], seed,
                        n_boot, rate, test, level, bounds)
    if min(s for s in seeds if s > 1) >= 3:
        return _hierarchical(terms, seed, n_boot, rate, test, level, bounds)
    runs = tuple(
        _one_run([(w, m[min(j, m.shape[0] - 1)]) for (w, _), m in zip(terms, mats, strict=True)],
                 seed, n_boot, rate, test, level, bounds) for j in range(2))
    with np.errstate(all="ignore"):
        mean = float(sum(w * np.nanmean(np.nanmean(m, axis=1))
                         for (w, _), m in zip(terms, mats, strict=True)))
    return Interval(mean, math.nan, math.nan, max(r.n for r in runs), 2, SEEDS2,
                    math.nan if test else None, runs)


def unpaired(x: Sequence[float], y: Sequence[float], seed: int = 0, n_boot: int = 2000,
             rate: bool = False, level: float = 0.95, bounds: Bounds | None = None
             ) -> Interval:
    """``mean(x) − mean(y)`` for two independent samples of prompts, with p-value: rates by
    Newcombe's interval and Fisher's exact test; means by a label-permutation test and, for
    a bounded score, the MOVER combination of the two cells' intervals (Newcombe's
    construction with :func:`cell_interval`; Welch's t covered 0.93 at 6 prompts when one
    answer in ten is all caps), else Welch's interval."""
    a = np.asarray([v for v in x if v is not None and math.isfinite(v)], dtype=float)
    b = np.asarray([v for v in y if v is not None and math.isfinite(v)], dtype=float)
    if a.size < 2 or b.size < 2:
        return Interval(math.nan, math.nan, math.nan, int(min(a.size, b.size)), 1, WELCH,
                        math.nan)
    diff = float(a.mean() - b.mean())
    if rate:
        k1, k2 = round(float(a.sum())), round(float(b.sum()))
        lo, hi = newcombe_unpaired(k1, a.size, k2, b.size, level)
        return Interval(diff, lo, hi, int(min(a.size, b.size)), 1, NEWCOMBE,
                        fisher_exact(k1, a.size, k2, b.size))
    p = permutation_unpaired(a, b, seed, n_boot)
    if bounds is not None:
        l1, u1, _ = cell_interval(a, level, bounds=bounds)
        l2, u2, _ = cell_interval(b, level, bounds=bounds)
        m1, m2 = float(a.mean()), float(b.mean())
        lo = diff - math.sqrt((m1 - l1) ** 2 + (u2 - m2) ** 2)
        hi = diff + math.sqrt((u1 - m1) ** 2 + (m2 - l2) ** 2)
        return Interval(diff, lo, hi, int(min(a.size, b.size)), 1, MOVER, p)
    lo, hi = welch_interval(a, b, level)
    return Interval(diff, lo, hi, int(min(a.size, b.size)), 1, WELCH, p)


def describe(
    values: Sequence[float | None], seed: int = 0, n_boot: int = 2000, rate: bool = False,
    bounds: Bounds | None = None,
) -> dict[str, Any]:
    """Summary of one (adapter, language, scorer) cell.

    Args:
        values: per-prompt scores; None (N/A) entries are counted in ``n_na`` and left out.
        seed: kept for a uniform signature (cell intervals draw nothing at random).
        n_boot: likewise.
        rate: the values are 0/1 (Clopper–Pearson interval).
        bounds: the score's range, when it has one (see :func:`cell_interval`).

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
    cell = estimate([(1.0, x)], seed, n_boot, rate=rate, bounds=bounds)
    out["ci_low"], out["ci_high"] = finite_or_none(cell.ci_low), finite_or_none(cell.ci_high)
    out["method"] = cell.method
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
    scores: Sequence[dict[str, Any]], seed: int = 0, n_boot: int = 2000,
    rates: Collection[str] = (), bounds: dict[str, Bounds] | None = None,
) -> list[dict[str, Any]]:
    """One summary row per (adapter, lang, kind, steer, scorer) group of score rows.

    Args:
        scores: rows of ``scores.jsonl`` (``value`` None = N/A; ``empty`` True when the
            answer was empty, counted in ``n_empty``).
        seed: Monte Carlo seed (each group gets the same one).
        n_boot: Monte Carlo draws.
        rates: scorer names whose values are 0/1 rates.
        bounds: scorer name → the range of its values (bounded-mean intervals).

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
                         rate=fields["scorer"] in rates,
                         bounds=(bounds or {}).get(fields["scorer"]))
        stats["n_empty"] = sum(bool(r.get("empty")) for r in rows)
        out.append({**fields, **stats})
    return out


