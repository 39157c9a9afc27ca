"""describe / bootstrap_ci / summarize / cohens_kappa against numpy and hand oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossling.analysis.stats import bootstrap_ci, cohens_kappa, describe, summarize


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


def test_all_na_cell_is_none_not_zero() -> None:
    d = describe([None, None], seed=0)
    assert d["n"] == 0 and d["n_na"] == 2
    assert d["mean"] is None and d["ci_low"] is None and d["p95"] is None


def test_summarize_groups() -> None:
    rows = [
        {"adapter": "base", "lang": "en", "kind": "task", "id": str(i), "steer": "none",
         "scorer": "caps_pct", "value": float(i)} for i in range(10)
    ] + [
        {"adapter": "en", "lang": "zh", "kind": "task", "id": "0", "steer": "none",
         "scorer": "caps_pct", "value": None},
    ]
    s = summarize(rows, seed=0, n_boot=200)
    assert [(r["adapter"], r["lang"]) for r in s] == [("base", "en"), ("en", "zh")]
    assert s[0]["mean"] == pytest.approx(4.5) and s[0]["n"] == 10
    assert s[1]["mean"] is None and s[1]["n_na"] == 1


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
