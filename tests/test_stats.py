"""crossling.analysis.stats against oracles: textbook values, brute-force enumeration, and a
fast run of benchmarks/calibration.py that must see both a calibrated and a broken test."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from conftest import load_benchmark
from crossling.analysis import stats
from crossling.analysis.stats import (
    BOUNDED,
    CLOPPER_PEARSON,
    HIERARCHICAL,
    NEWCOMBE_PAIRED,
    PAIRED_RATES,
    SEEDS2,
    SIGN_FLIP,
    SIGN_FLIP_MC,
    T_PROMPTS,
    beta_ppf,
    clopper_pearson,
    cohens_kappa,
    describe,
    estimate,
    fisher_exact,
    holm,
    min_detectable_effect,
    mover_rates,
    newcombe_paired,
    newcombe_unpaired,
    paired_rates_interval,
    pseudo_prompt_interval,
    sign_flip,
    summarize,
    t_ppf,
    unpaired,
    wilson_ci,
)


def test_distributions_match_tables() -> None:
    assert t_ppf(0.975, 5) == pytest.approx(2.570582, abs=1e-5)
    assert t_ppf(0.975, 2) == pytest.approx(4.302653, abs=1e-5)
    assert t_ppf(0.975, 1e7) == pytest.approx(1.959964, abs=1e-5)
    # Beta(1, 12) has CDF 1 − (1 − x)^12
    assert beta_ppf(0.025, 1, 12) == pytest.approx(1 - 0.975 ** (1 / 12), abs=1e-9)


def test_rate_intervals_oracles() -> None:
    # Clopper–Pearson 0 of 12: [0, 1 − 0.025^(1/12)]; 7 of 10: [0.3475, 0.9333]
    assert clopper_pearson(0, 12) == pytest.approx((0.0, 1 - 0.025 ** (1 / 12)), abs=1e-6)
    assert clopper_pearson(7, 10) == pytest.approx((0.3475, 0.9333), abs=1e-4)
    # Wilson 7 of 10 → [0.3968, 0.8922] (Newcombe 1998)
    assert wilson_ci(7, 10) == pytest.approx((0.3968, 0.8922), abs=1e-4)
    # Newcombe 1998, method 10: 56/70 − 48/80 → [0.0524, 0.3339]
    assert newcombe_unpaired(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    # Fisher's tea-tasting table (3 of 4 vs 1 of 4): two-sided p = 34/70
    assert fisher_exact(3, 4, 1, 4) == pytest.approx(34 / 70)
    d = describe([0.0] * 12, rate=True)
    assert d["mean"] == 0.0 and d["ci_high"] > d["ci_low"] == 0.0
    assert d["method"] == CLOPPER_PEARSON and d["approximate"] is True


def _brute_sign_flip(d: np.ndarray) -> float:
    obs = d.sum()
    totals = np.array([np.dot(s, d) for s in itertools.product((1, -1), repeat=d.size)])
    hi = np.mean(totals >= obs - 1e-12)
    lo = np.mean(totals <= obs + 1e-12)
    return min(1.0, 2 * min(hi, lo))


def test_sign_flip_is_the_exact_permutation_test_and_its_inversion() -> None:
    rng = np.random.default_rng(0)
    for n in (3, 6, 9):
        d = rng.normal(0.3, 1.0, size=n)
        assert sign_flip(d).p == pytest.approx(_brute_sign_flip(d))
    d = rng.normal(0.5, 1.0, size=10)
    res = sign_flip(d)
    assert res.exact and res.ci_low < d.mean() < res.ci_high
    # inversion: the shifted data are rejected just outside the interval, not inside
    assert sign_flip(d - (res.ci_low + 0.05)).p >= 0.05  # a mean just inside: kept
    assert sign_flip(d - (res.ci_low - 0.05)).p < 0.05  # just outside: rejected
    assert sign_flip(d - (res.ci_high + 0.05)).p < 0.05
    # 6 positive differences: p = 2 / 64, the smallest possible; fewer than 6 cannot bound
    assert sign_flip(np.ones(6)).p == pytest.approx(2 / 64)
    assert math.isinf(sign_flip(np.ones(5)).ci_low)
    # beyond MAX_EXACT: Monte Carlo, seeded, never below 1 / (B + 1) per tail
    big = rng.normal(size=40) + 5
    mc = sign_flip(big, seed=1, n_mc=999)
    assert not mc.exact and mc.p == pytest.approx(2 / 1000)
    assert sign_flip(big, seed=1, n_mc=999) == mc


def test_three_of_three_vs_none_is_not_significant() -> None:
    """The bootstrap gave [1, 1] and p = 0.001 here; the exact McNemar test gives 0.25."""
    diff = estimate([(1.0, np.ones(3)), (-1.0, np.zeros(3))], rate=True, test=True)
    assert diff.p == pytest.approx(0.25) and diff.method == NEWCOMBE_PAIRED
    assert diff.ci_low < 0.5 and diff.ci_high == 1.0
    assert newcombe_paired(np.ones(3), np.zeros(3))[0] > 0  # still of non-zero width
    # fractional (draw-averaged) rates are not 0/1: the sign-flip test takes them
    frac = estimate([(1.0, np.full(8, 0.5)), (-1.0, np.zeros(8))], rate=True, test=True)
    assert frac.method == SIGN_FLIP


def test_rate_contrast_intervals_generalise_the_paired_ones() -> None:
    """MOVER-Wilson with weights (1, −1) is Newcombe's paired interval; the pseudo-prompt
    interval is Agresti–Min's (0.5 added to each cell of the 2 × 2 table) with the sample
    variance's n − 1; neither gives zero width when every condition is 0 of 6."""
    rng = np.random.default_rng(5)
    for n in (6, 12, 40):
        x, y = (rng.random(n) < 0.3).astype(float), (rng.random(n) < 0.6).astype(float)
        assert mover_rates([x, y], (1.0, -1.0)) == pytest.approx(newcombe_paired(x, y))
    # 3 of 6 discordant (1, 0), none (0, 1): Agresti–Min cells 3.5 and 0.5 of N = 8
    x, y = np.array([1.0, 1, 1, 0, 0, 0]), np.zeros(6)
    big_n, p12, p21 = 8, 3.5 / 8, 0.5 / 8
    half = 1.959964 * math.sqrt((p12 + p21 - (p12 - p21) ** 2) / big_n * big_n / (big_n - 1))
    assert pseudo_prompt_interval([x, y], (1.0, -1.0)) == pytest.approx(
        (p12 - p21 - half, p12 - p21 + half), abs=1e-5)
    zeros = [np.zeros(6)] * 4
    assert sign_flip(np.zeros(6)).ci_low == sign_flip(np.zeros(6)).ci_high == 0.0  # the old
    lo, hi = paired_rates_interval(zeros, (1.0, -1.0, -1.0, 1.0))
    assert lo < -0.3 and hi > 0.3
    # the asymmetry contrast on a rate: rate=True, or only the bounds (0, 1) as
    # crossling.analysis.transfer.asymmetry passes them; the p-value stays the sign-flip's
    terms = [(w, (rng.random(6) < 0.5).astype(float)) for w in (1.0, -1.0, -1.0, 1.0)]
    by_rate = estimate(terms, rate=True, test=True)
    by_bounds = estimate(terms, test=True, bounds=(0.0, 1.0))
    assert by_rate.method == by_bounds.method == PAIRED_RATES
    assert (by_rate.ci_low, by_rate.ci_high) == (by_bounds.ci_low, by_bounds.ci_high)
    d = sum(w * m for w, m in terms)
    assert by_rate.p == pytest.approx(sign_flip(d).p)
    # all six prompts at the top of the range: the interval still holds the estimate
    top = estimate([(1.0, np.ones(6)), (-1.0, np.zeros(6)), (-1.0, np.zeros(6)),
                    (1.0, np.ones(6))], rate=True)
    assert top.ci_low < top.mean == top.ci_high == 2.0


def test_rate_contrast_covers_at_six_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed-seed run of benchmarks/calibration.py's contrast4 (the asymmetry test's
    shape) on 6 prompts: the sign-flip inversion the rate contrasts used to get covers 0.84
    at a rate of 0.05 with a +0.2 effect, MOVER-Wilson alone 0.84 at rates of 0.5; their
    replacement covers both."""
    cal = load_benchmark("calibration")
    rare = cal.Scenario("p05+0.2", "rate", 0.05, effect=0.2)
    mid = cal.Scenario("p50", "rate", 0.5)
    _, cov_rare = cal.simulate("contrast4", rare, n=6, seeds=1, sims=300, seed=1)
    _, cov_mid = cal.simulate("contrast4", mid, n=6, seeds=1, sims=300, seed=0)
    assert cov_rare >= 0.95 and cov_mid >= 0.95

    def sign_flip_inversion(rows, weights, level=0.95):  # type: ignore[no-untyped-def]
        sf = sign_flip(sum(w * np.asarray(r) for w, r in zip(weights, rows, strict=True)),
                       level=level)
        return sf.ci_low, sf.ci_high

    monkeypatch.setattr(stats, "paired_rates_interval", sign_flip_inversion)
    _, cov = cal.simulate("contrast4", rare, n=6, seeds=1, sims=300, seed=1)
    assert cov < 0.88
    monkeypatch.setattr(stats, "paired_rates_interval", mover_rates)
    _, cov = cal.simulate("contrast4", mid, n=6, seeds=1, sims=300, seed=0)
    assert cov < 0.88


def test_paired_difference_removes_prompt_variance() -> None:
    a = np.random.default_rng(3).normal(size=30)
    diff = estimate([(1.0, a + 1.0), (-1.0, a)], seed=0, n_boot=300, test=True)
    assert diff.ci_low == pytest.approx(1.0) and diff.ci_high == pytest.approx(1.0)
    assert diff.method == SIGN_FLIP_MC and diff.p is not None and diff.p < 0.01


def test_bounded_cells_and_unbounded_cells() -> None:
    x = np.array([100.0] * 5 + [80.0])
    cell = estimate([(1.0, x)], bounds=(0.0, 100.0))
    assert cell.method == BOUNDED and cell.ci_high == pytest.approx(100.0, abs=1e-3)
    assert cell.ci_low < 80
    unb = estimate([(1.0, x)])
    assert unb.method == T_PROMPTS and unb.ci_high > 100.0  # t does not know the bound


def test_seeds_three_are_hierarchical_two_are_declined() -> None:
    rng = np.random.default_rng(0)
    prompts = rng.normal(size=40)
    agree = np.stack([prompts, prompts, prompts])  # [3 seeds, 40]
    apart = np.stack([prompts, prompts + 3.0, prompts - 3.0])
    a, b = estimate([(1.0, agree)]), estimate([(1.0, apart)])
    assert a.method == b.method == HIERARCHICAL and a.n_seeds == 3
    assert (b.ci_high - b.ci_low) > 5 * (a.ci_high - a.ci_low)  # the seed spread is in it
    two = estimate([(1.0, apart[:2]), (-1.0, agree[:2])], test=True)
    assert two.method == SEEDS2 and not two.has_interval and math.isnan(two.p or math.nan)
    assert len(two.runs) == 2 and two.runs[1].mean == pytest.approx(3.0)
    assert two.as_dict()["ci_low"] is None and len(two.as_dict()["runs"]) == 2


def test_unpaired_rates_and_means() -> None:
    r = unpaired([1.0] * 8 + [0.0] * 2, [0.0] * 9 + [1.0], rate=True)
    assert r.mean == pytest.approx(0.7) and r.p == pytest.approx(fisher_exact(8, 10, 1, 10))
    m = unpaired(list(np.arange(10.0)), list(np.arange(10.0) + 20), seed=0)
    assert m.p is not None and m.p < 0.01 and m.ci_high < 0


def test_minimum_detectable_effect() -> None:
    # (t_.975 + t_.8) · sd / √n with 49 df ≈ (2.0096 + 0.8490) · 10 / √50
    assert min_detectable_effect(10.0, 50) == pytest.approx(4.0427, abs=1e-3)
    assert min_detectable_effect(10.0, 10) > min_detectable_effect(10.0, 50)


def test_holm() -> None:
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    adj = holm([0.01, float("nan")])
    assert adj[0] == pytest.approx(0.01) and math.isnan(adj[1])


def test_all_na_cell_is_none_not_zero() -> None:
    d = describe([None, None], seed=0)
    assert d["n"] == 0 and d["n_na"] == 2
    assert d["mean"] is None and d["ci_low"] is None and d["p95"] is None


def test_summarize_groups_rates_bounds_and_empties() -> None:
    rows = [
        {"adapter": "base", "lang": "en", "kind": "task", "id": str(i), "steer": "none",
         "scorer": "caps_pct", "value": float(i), "empty": i < 2} for i in range(10)
    ] + [
        {"adapter": "en", "lang": "zh", "kind": "task", "id": "0", "steer": "none",
         "scorer": "caps_pct", "value": None},
    ] + [
        {"adapter": "base", "lang": "en", "kind": "task", "id": str(i), "steer": "none",
         "scorer": "all_caps", "value": 0.0} for i in range(10)
    ]
    s = summarize(rows, seed=0, n_boot=200, rates={"all_caps"},
                  bounds={"caps_pct": (0.0, 100.0)})
    assert [(r["adapter"], r["lang"], r["scorer"]) for r in s] == [
        ("base", "en", "caps_pct"), ("en", "zh", "caps_pct"), ("base", "en", "all_caps")]
    assert s[0]["mean"] == pytest.approx(4.5) and s[0]["n"] == 10 and s[0]["n_empty"] == 2
    assert s[0]["method"] == BOUNDED
    assert s[1]["mean"] is None and s[1]["n_na"] == 1 and s[1]["n_empty"] == 0
    assert s[2]["method"] == CLOPPER_PEARSON and s[2]["ci_high"] > 0


def test_rate_and_bounded_scorers_are_declared_on_the_scorer() -> None:
    from crossling.evaluate.scorers import rate_scorers, score_bounds

    rates = rate_scorers()
    assert {"all_caps", "lang_fidelity", "refusal_keyword", "refusal_llm"} <= rates
    assert "caps_pct" not in rates
    bounds = score_bounds()
    assert bounds["caps_pct"] == (0.0, 100.0) and bounds["all_caps"] == (0.0, 1.0)
    assert "fluency" not in bounds


def test_cohens_kappa_oracle() -> None:
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohens_kappa(a, b) == pytest.approx(0.4)
    assert cohens_kappa([1, 0, 1], [1, 0, 1]) == 1.0
    assert cohens_kappa([], []) is None
    with pytest.raises(ValueError):
        cohens_kappa([1], [1, 0])


def test_calibration_harness_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fast run of benchmarks/calibration.py at the smallest sizes: crossling's paired test
    holds its level and its interval covers, and the same harness catches a broken one."""
    cal = load_benchmark("calibration")
    null = cal.Scenario("mix10", "mean", 0.1, True)
    fpr, cov = cal.simulate("paired", null, n=6, seeds=1, sims=300, seed=0)
    assert fpr is not None and fpr <= 0.08 and cov >= 0.9
    _, cov = cal.simulate("cell", cal.Scenario("p05", "rate", 0.05), n=6, seeds=1, sims=300,
                          seed=1)
    assert cov >= 0.9
    fpr, cov = cal.simulate("paired", cal.Scenario("mid", "mean", 0.5), n=6, seeds=3,
                            sims=200, seed=2)
    assert fpr is not None and fpr <= 0.08 and cov >= 0.9
    assert cal.Design(6, 2, "mean", "paired").declined  # 2 seeds: no seed-level interval

    def normal_theory(terms, seed=0, n_boot=2000, rate=False, test=False, bounds=None):  # type: ignore[no-untyped-def]
        """A z test with the sd of the differences: anti-conservative at n = 6."""
        d = sum(w * np.asarray(m, dtype=float)[0] for w, m in terms)
        se = float(np.std(d, ddof=1)) / math.sqrt(d.size) or 1e-12
        z = float(np.mean(d)) / se
        p = math.erfc(abs(z) / math.sqrt(2))
        return stats.Interval(float(np.mean(d)), float(np.mean(d)) - 1.96 * se,
                              float(np.mean(d)) + 1.96 * se, d.size, 1, "z", p)

    monkeypatch.setattr(cal, "estimate", normal_theory)
    fpr, cov = cal.simulate("paired", cal.Scenario("mid", "mean", 0.5), n=6, seeds=1,
                            sims=400, seed=3)
    assert fpr is not None and fpr > 0.08 and cov < 0.92
