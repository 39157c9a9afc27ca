"""describe / bootstrap / Wilson / Holm / summarize / cohens_kappa against oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossling.analysis.stats import (
    BOOT_PROMPTS,
    BOOT_SEEDS_PROMPTS,
    WILSON,
    bootstrap_ci,
    bootstrap_distribution,
    bootstrap_p,
    cohens_kappa,
    describe,
    estimate,
    holm,
    summarize,
    wilson_ci,
)


def test_describe_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, size=57).tolist()
    d = describe([*x, None], seed=1)
    assert d["n"] == 57 and d["n_na"] == 1
    assert d["mean"] == pytest.approx(np.mean(x))
    assert d["std"] == pytest.approx(np.std(x, ddof=1))
    assert d["median"] == pytest.approx(np.median(x)) == d["p50"]
    for p in (25, 75, 90, 95):
        assert d[f"p{p}"] == pytest.approx(np.percentile(x, p))
    assert d["ci_low"] < d["mean"] < d["ci_high"]
    assert d["method"] == BOOT_PROMPTS and d["approximate"] is False


def test_bootstrap_ci_seeded_and_covers_mean() -> None:
    x = [0.0] * 30 + [100.0] * 70
    a = bootstrap_ci(x, seed=3)
    assert a == bootstrap_ci(x, seed=3)
    assert a != bootstrap_ci(x, seed=4)
    lo, hi = a
    # normal-approximation oracle: 70 ± 1.96 * sqrt(.7*.3/100)*100 ≈ [61, 79]
    assert 58 < lo < 64 and 76 < hi < 82
    assert bootstrap_ci([5.0], seed=0) == (5.0, 5.0)
    assert all(math.isnan(v) for v in bootstrap_ci([], seed=0))


def test_wilson_oracle_and_zero_of_n_has_width() -> None:
    # textbook value: 0 of 12 at 95 % → [0, 0.2425]
    lo, hi = wilson_ci(0, 12)
    assert lo == 0.0 and hi == pytest.approx(0.2425, abs=1e-4)
    lo, hi = wilson_ci(12, 12)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.2425, abs=1e-4)
    # 7 of 10 → [0.3968, 0.8922] (Wilson 1927 / Newcombe 1998 table)
    assert wilson_ci(7, 10) == pytest.approx((0.3968, 0.8922), abs=1e-4)
    d = describe([0.0] * 12, seed=0, rate=True)
    assert d["mean"] == 0.0 and d["ci_high"] > d["ci_low"] == 0.0
    assert d["method"] == WILSON and d["approximate"] is True
    # the bootstrap gives the zero-width interval the Wilson interval replaces
    assert describe([0.0] * 12, seed=0)["ci_high"] == 0.0


def test_two_level_bootstrap_is_wider_when_seeds_differ() -> None:
    rng = np.random.default_rng(0)
    prompts = rng.normal(size=40)
    same = np.stack([prompts, prompts])  # [2 seeds, 40]: seeds agree
    apart = np.stack([prompts, prompts + 3.0])  # seeds differ by 3 on every prompt
    w_same = np.subtract(*bootstrap_ci(same, seed=1)[::-1])
    w_apart = np.subtract(*bootstrap_ci(apart, seed=1)[::-1])
    assert w_apart > w_same + 1.0  # the seed spread is in the interval
    # one seed: the two-level bootstrap is exactly the prompt bootstrap
    one = estimate([(1.0, prompts)], seed=2, n_boot=500)
    assert one.method == BOOT_PROMPTS and one.n_seeds == 1
    two = estimate([(1.0, apart)], seed=2, n_boot=500)
    assert two.method == BOOT_SEEDS_PROMPTS and two.n_seeds == 2
    assert two.mean == pytest.approx(prompts.mean() + 1.5)


def test_paired_terms_share_prompt_draws() -> None:
    # b = a + 1 exactly: the paired difference has no prompt variance
    a = np.random.default_rng(3).normal(size=30)
    dist = bootstrap_distribution([(1.0, a + 1.0), (-1.0, a)], seed=0, n_boot=300)
    assert np.allclose(dist, 1.0)


def test_bootstrap_p_and_holm() -> None:
    assert bootstrap_p(np.array([1.0, 2.0, 3.0])) == pytest.approx(2 / 4)
    centred = np.linspace(-1, 1, 1001)
    assert bootstrap_p(centred) == pytest.approx(1.0)
    # Holm: sorted p (0.01, 0.02, 0.04) × (3, 2, 1) → (0.03, 0.04, 0.04), input order kept
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    adj = holm([0.01, float("nan")])
    assert adj[0] == pytest.approx(0.01) and math.isnan(adj[1])


def test_all_na_cell_is_none_not_zero() -> None:
    d = describe([None, None], seed=0)
    assert d["n"] == 0 and d["n_na"] == 2
    assert d["mean"] is None and d["ci_low"] is None and d["p95"] is None


def test_summarize_groups_rates_and_empties() -> None:
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
    s = summarize(rows, seed=0, n_boot=200, rates={"all_caps"})
    assert [(r["adapter"], r["lang"], r["scorer"]) for r in s] == [
        ("base", "en", "caps_pct"), ("en", "zh", "caps_pct"), ("base", "en", "all_caps")]
    assert s[0]["mean"] == pytest.approx(4.5) and s[0]["n"] == 10 and s[0]["n_empty"] == 2
    assert s[1]["mean"] is None and s[1]["n_na"] == 1 and s[1]["n_empty"] == 0
    assert s[2]["method"] == WILSON and s[2]["ci_high"] > 0


def test_rate_scorers_are_declared_on_the_scorer() -> None:
    from crossling.evaluate.scorers import rate_scorers

    rates = rate_scorers()
    assert {"all_caps", "lang_fidelity", "refusal_keyword", "refusal_llm"} <= rates
    assert "caps_pct" not in rates


def test_cohens_kappa_oracle() -> None:
    # 2x2 table: both 1: 20, a1 b0: 5, a0 b1: 10, both 0: 15 → po=.7, pe=.5*.6+.5*.4=.5 → .4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohens_kappa(a, b) == pytest.approx(0.4)
    assert cohens_kappa([1, 0, 1], [1, 0, 1]) == 1.0
    assert cohens_kappa([1, 1], [1, 1]) == 1.0
    assert cohens_kappa([], []) is None
    with pytest.raises(ValueError):
        cohens_kappa([1], [1, 0])
