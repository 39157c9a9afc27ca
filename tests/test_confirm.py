"""paired_confirmation: the chosen cell vs the baseline on held-out ids, against oracles."""

from __future__ import annotations

import numpy as np
import pytest

from crossling.analysis.confirm import paired_confirmation
from crossling.analysis.stats import CLOPPER_PEARSON


def test_paired_difference_removes_prompt_variance() -> None:
    noise = np.random.default_rng(0).normal(0, 10, size=40)
    base = {f"i{k}": float(v) for k, v in enumerate(noise)}
    chosen = {k: v + 2.0 for k, v in base.items()}
    c = paired_confirmation(chosen, base, seed=0, n_boot=500)
    assert c["n"] == 40 and c["n_na"] == 0 and c["approximate"] is False
    assert c["delta"] == pytest.approx(2.0)
    # paired: the per-id difference is constant, so its interval has no width, while the
    # cells' own intervals carry the prompt spread (sd 10)
    assert c["delta_ci_low"] == pytest.approx(2.0) and c["delta_ci_high"] == pytest.approx(2.0)
    assert c["ci_high"] - c["ci_low"] > 3.0
    assert c["mean"] == pytest.approx(noise.mean() + 2.0)
    assert c["baseline_mean"] == pytest.approx(noise.mean())
    assert c["delta_p"] is not None and c["delta_p"] < 0.01
    assert c["mde"] is None  # differences without spread: no power calculation to make


def test_minimum_detectable_effect_shrinks_with_the_confirmation() -> None:
    rng = np.random.default_rng(1)
    small = {f"i{k}": float(v) for k, v in enumerate(rng.normal(0, 10, size=10))}
    large = {f"i{k}": float(v) for k, v in enumerate(rng.normal(0, 10, size=60))}
    zero10 = dict.fromkeys(small, 0.0)
    zero60 = dict.fromkeys(large, 0.0)
    m10 = paired_confirmation(small, zero10, seed=0)["mde"]
    m60 = paired_confirmation(large, zero60, seed=0)["mde"]
    assert m10 is not None and m60 is not None and m10 > 2 * m60
    sd = float(np.std(list(small.values()), ddof=1))
    assert m10 == pytest.approx((2.262157 + 0.883457) * sd / np.sqrt(10), rel=1e-4)


def test_na_ids_are_dropped_pairwise_and_rates_get_wilson() -> None:
    base = {"a": 0.0, "b": 0.0, "c": None, "d": 0.0}
    chosen = {"a": 1.0, "b": 0.0, "c": 1.0}
    c = paired_confirmation(chosen, base, seed=0, n_boot=200, rate=True)
    assert c["n"] == 2 and c["n_na"] == 2  # c: N/A baseline, d: not generated steered
    assert c["method"] == CLOPPER_PEARSON and c["baseline_ci_high"] > 0  # 0 of 2 still has width
    assert c["delta"] == pytest.approx(0.5) and c["approximate"] is True
    empty = paired_confirmation({}, base, seed=0, rate=True)  # no cell chosen
    assert empty["n"] == 0 and empty["delta"] is None and empty["mean"] is None
    assert empty["baseline_mean"] == 0.0 and empty["n_baseline"] == 3
    assert empty["baseline_ci_high"] > 0
