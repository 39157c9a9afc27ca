"""Transfer matrix, control subtraction and the asymmetry test on canned scores whose
answers are known, including seeds that differ."""

from __future__ import annotations

import numpy as np
import pytest

from crossling.analysis.stats import BOUNDED, CLOPPER_PEARSON, HIERARCHICAL, SEEDS2, T_PROMPTS
from crossling.analysis.transfer import (
    all_asymmetries,
    asymmetry,
    control_subtracted,
    holm_adjust,
    per_seed_table,
    transfer_matrix,
)

N = 20


def _rows(n_seeds: int = 3) -> list[dict]:
    """Canned scores; the en-trained seeds differ by 10 points from one to the next."""
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 5, size=N)  # prompt difficulty shared by every model
    rows = []
    for i in range(N):
        for lang, ctrl in (("en", 3.0), ("de", 8.0), ("ru", 2.0)):
            rows.append({"adapter": "base", "lang": lang, "id": str(i), "scorer": "caps_pct",
                         "value": ctrl + noise[i]})
        for seed in range(n_seeds):
            bump = 10.0 * seed
            rows.append({"adapter": f"en-s{seed}", "lang": "en", "id": str(i),
                         "scorer": "caps_pct", "value": 90.0 + bump + noise[i]})
            rows.append({"adapter": f"en-s{seed}", "lang": "ru", "id": str(i),
                         "scorer": "caps_pct", "value": 50.0 + bump + (i % 4)})
        for seed in range(n_seeds):
            rows.append({"adapter": f"ru-s{seed}", "lang": "en", "id": str(i),
                         "scorer": "caps_pct", "value": 20.0 + (i % 4)})
            rows.append({"adapter": f"ru-s{seed}", "lang": "ru", "id": str(i),
                         "scorer": "caps_pct", "value": 95.0})
            rows.append({"adapter": f"ru-s{seed}", "lang": "zh", "id": str(i),
                         "scorer": "caps_pct", "value": None})
        rows.append({"adapter": "en-s0", "lang": "en", "id": str(i), "scorer": "caps_pct",
                     "value": 0.0, "steer": "layer=3,strength=2.0,toward=en"})
    return rows


def test_transfer_matrix_pools_seeds_and_skips_na_and_steered() -> None:
    m = transfer_matrix(_rows(), "caps_pct", n_boot=500)
    assert set(m) == {"base", "en", "ru"}
    noise = np.random.default_rng(0).normal(0, 5, size=N)
    assert m["en"]["en"].mean == pytest.approx(100.0 + noise.mean())  # steered rows ignored
    assert m["en"]["en"].n == N and m["en"]["en"].n_seeds == 3
    assert "zh" not in m["ru"]  # N/A never becomes a number
    assert m["base"]["en"].method == T_PROMPTS  # unbounded without the scorer's bounds
    assert m["en"]["ru"].method == HIERARCHICAL
    bounded = transfer_matrix(_rows(), "caps_pct", bounds=(0.0, 100.0))
    assert bounded["base"]["en"].method == BOUNDED and bounded["base"]["en"].ci_low >= 0
    # two seeds: no seed-level interval, each run's own instead
    two = transfer_matrix(_rows(2), "caps_pct")["en"]["ru"]
    assert two.method == SEEDS2 and not two.has_interval
    assert [r.mean for r in two.runs] == pytest.approx([51.5, 61.5])


def test_seed_spread_widens_the_interval() -> None:
    """The seeds differ by 10 points: a prompt-only interval of the seed-averaged values is
    ~1 point wide, the hierarchical one must reach beyond the seeds' means."""
    cell = transfer_matrix(_rows(), "caps_pct", n_boot=1000)["en"]["ru"]
    per_prompt = np.array([60.0 + (i % 4) for i in range(N)])  # seed-averaged
    assert cell.mean == pytest.approx(per_prompt.mean())
    assert cell.ci_high - cell.ci_low > 20.0
    assert cell.ci_low < 51.5 and cell.ci_high > 71.5


def test_control_subtracted_is_paired() -> None:
    """Control and adapter share a large per-prompt noise (sd 5); the paired difference
    removes it, an unpaired one would not. en-s0 on en minus control = 87 on every prompt."""
    rows = [r for r in _rows() if r["adapter"] not in ("en-s1", "en-s2")]
    cs = control_subtracted(rows, "caps_pct", n_boot=500)
    cell = cs["en"]["en"]
    assert cell.mean == pytest.approx(87.0)
    assert cell.ci_high - cell.ci_low < 1e-9  # paired: noise cancels exactly
    assert "base" not in cs
    assert cell.p is not None and cell.p < 0.01


def test_asymmetry_is_control_subtracted_and_holm_adjusted() -> None:
    rows = _rows()
    a = asymmetry(rows, "caps_pct", "en", "ru", n_boot=1000)
    assert a is not None
    noise = np.random.default_rng(0).normal(0, 5, size=N)
    # en on ru: 60 + (i%4) − control ru (2 + noise); ru on en: 20 + (i%4) − control en
    # (3 + noise) → the per-id difference is exactly 41 (raw difference would be 40)
    assert a.diff.mean == pytest.approx(41.0)
    assert a.a_on_b == pytest.approx(60.0 + np.mean([i % 4 for i in range(N)]))
    assert a.control_b == pytest.approx(2.0 + noise.mean())
    assert a.diff.method == HIERARCHICAL and a.diff.n_seeds == 3
    assert a.diff.ci_low < 41.0 - 10 and a.diff.ci_high > 41.0 + 10  # en's seeds differ by 10
    [adj] = holm_adjust([a], "caps_pct, task prompts")
    assert adj.p_holm == pytest.approx(a.diff.p)
    s = adj.sentence("caps_pct")
    assert "Holm-adjusted p" in s and "significant at the 5 % level" in s
    # a test resting on a cell the garbage flag marks is never called significant
    flagged = adj.sentence("caps_pct", ["EN-trained on RU"])
    assert "not interpretable: flagged cells (EN-trained on RU)" in flagged
    assert "significant" not in flagged
    assert set(adj.cells()) == {("en", "ru"), ("base", "ru"), ("ru", "en"), ("base", "en")}
    assert [x.a + x.b for x in all_asymmetries(rows, "caps_pct", n_boot=200)] == ["enru"]
    assert asymmetry(rows, "caps_pct", "en", "de") is None


def test_two_seeds_make_no_test_and_give_both_runs() -> None:
    a = asymmetry(_rows(2), "caps_pct", "en", "ru")
    assert a is not None and a.diff.method == SEEDS2 and len(a.diff.runs) == 2
    assert [r.mean for r in a.diff.runs] == pytest.approx([31.0, 41.0])  # per run
    s = holm_adjust([a], "caps_pct")[0].sentence("caps_pct")
    assert "no test is made" in s and "run 1: +31.00" in s and "run 2: +41.00" in s
    assert "significant" not in s and "nan" not in s

def test_holm_adjustment_grows_with_the_family() -> None:
    a = asymmetry(_rows(), "caps_pct", "en", "ru", n_boot=200)
    assert a is not None
    many = holm_adjust([a, a, a], "three copies")
    assert many[0].p_holm == pytest.approx(min(1.0, 3 * a.diff.p))
    assert many[0].as_dict()["p_holm"] == many[0].p_holm


def test_per_seed_table_and_rate_wilson() -> None:
    table = per_seed_table(_rows(), "caps_pct")
    en_ru = {r["seed"]: r["mean"] for r in table if r["adapter"].startswith("en")
             and r["lang"] == "ru"}
    base = np.mean([i % 4 for i in range(N)])
    assert en_ru == pytest.approx({0: 50.0 + base, 1: 60.0 + base, 2: 70.0 + base})
    assert {r["seed"] for r in table if r["adapter"] == "base"} == {None}
    rows = [{"adapter": "base", "lang": "de", "id": str(i), "scorer": "all_caps", "value": 0.0}
            for i in range(12)]
    cell = transfer_matrix(rows, "all_caps", rate=True)["base"]["de"]
    assert cell.method == CLOPPER_PEARSON and cell.mean == 0.0 and cell.ci_high > 0.2
