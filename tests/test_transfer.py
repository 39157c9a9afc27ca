"""Transfer matrix, control subtraction and the paired asymmetry test on canned scores."""

from __future__ import annotations

import numpy as np

from crossling.analysis.transfer import (
    all_asymmetries,
    asymmetry,
    bootstrap_mean_ci,
    control_subtracted,
    transfer_matrix,
)


def _rows() -> list[dict]:
    rows = []
    for i in range(20):
        for lang, ctrl in (("en", 3.0), ("de", 8.0), ("ru", 2.0)):
            rows.append({"adapter": "base", "lang": lang, "id": str(i), "scorer": "caps_pct",
                         "value": ctrl + (i % 3)})
        # en-trained: strong on en, weaker on ru; two seeds averaged per id
        for seed, bump in ((0, 0.0), (1, 2.0)):
            rows.append({"adapter": f"en-s{seed}", "lang": "en", "id": str(i),
                         "scorer": "caps_pct", "value": 90.0 + bump})
            rows.append({"adapter": f"en-s{seed}", "lang": "ru", "id": str(i),
                         "scorer": "caps_pct", "value": 50.0 + bump + (i % 4)})
        rows.append({"adapter": "ru", "lang": "en", "id": str(i), "scorer": "caps_pct",
                     "value": 20.0 + (i % 4)})
        rows.append({"adapter": "ru", "lang": "ru", "id": str(i), "scorer": "caps_pct",
                     "value": 95.0})
        rows.append({"adapter": "ru", "lang": "zh", "id": str(i), "scorer": "caps_pct",
                     "value": None})
        rows.append({"adapter": "en-s0", "lang": "en", "id": str(i), "scorer": "caps_pct",
                     "value": 0.0, "steer": "layer=3,strength=2.0,toward=en"})
    return rows


def test_transfer_matrix_pools_seeds_and_skips_na_and_steered() -> None:
    m = transfer_matrix(_rows(), "caps_pct")
    assert set(m) == {"base", "en", "ru"}
    assert m["en"]["en"].mean == 91.0  # (90 + 92) / 2, steered rows ignored
    assert m["en"]["en"].n == 20
    assert "zh" not in m["ru"]  # N/A never becomes a number
    cell = m["en"]["ru"]
    assert cell.ci_low < cell.mean < cell.ci_high


def test_control_subtracted_is_paired() -> None:
    cs = control_subtracted(_rows(), "caps_pct")
    ctrl_en = np.mean([3.0 + (i % 3) for i in range(20)])
    assert abs(cs["en"]["en"].mean - (91.0 - ctrl_en)) < 1e-9
    assert "base" not in cs


def test_asymmetry_direction_and_ci() -> None:
    a = asymmetry(_rows(), "caps_pct", "en", "ru")
    assert a is not None
    # en-on-ru = 51 + (i%4); ru-on-en = 20 + (i%4): paired diff is exactly 31 for every id
    assert abs(a.diff.mean - 31.0) < 1e-9 and a.diff.ci_low == a.diff.ci_high == 31.0
    assert "excludes 0" in a.sentence("caps_pct")
    assert [x.a + x.b for x in all_asymmetries(_rows(), "caps_pct")] == ["enru"]
    assert asymmetry(_rows(), "caps_pct", "en", "de") is None


def test_bootstrap_ci_is_seeded() -> None:
    v = np.random.default_rng(0).normal(size=50)
    assert bootstrap_mean_ci(v, 1) == bootstrap_mean_ci(v, 1)
    assert bootstrap_mean_ci(v, 1) != bootstrap_mean_ci(v, 2)
    lo, hi = bootstrap_mean_ci(v, 1)
    assert lo < v.mean() < hi
