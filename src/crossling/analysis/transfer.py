"""Cross-adapter analysis: the transfer matrix, control subtraction and the asymmetry test.

Input is the long table of scores: one dict per (adapter, lang, id, scorer) with a numeric
``value`` (None = N/A, e.g. caps on Chinese). Adapters are named ``base`` for the base
model and ``<train_lang>`` or ``<train_lang>-s<seed>`` for LoRA adapters, so seeds of one
training language pool into one matrix row.

Why paired statistics: every language is evaluated on the same parallel prompt ids, so
differences between adapters (or between the two directions of a transfer) are computed per
id and bootstrapped over ids — that removes the prompt-difficulty variance an unpaired
comparison would carry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

CONTROL = "base"  # the name evaluation gives the base model (no adapter)


def train_lang_of(adapter: str) -> str:
    """'en-s1' → 'en'; the control ('base') stays 'base'."""
    return adapter.split("-s")[0] if adapter != CONTROL else CONTROL


def _per_id(rows: Iterable[dict[str, Any]], scorer: str,
            kind: str | None = None) -> dict[tuple[str, str], dict[str, float]]:
    """(train_lang, eval_lang) → {id: value averaged over seeds}; unsteered rows only, of one
    prompt ``kind`` (task / harmful / harmless) when given."""
    acc: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.get("scorer") != scorer or r.get("value") is None:
            continue
        if kind is not None and r.get("kind", "task") != kind:
            continue
        if r.get("steer", "none") != "none":
            continue
        acc[(train_lang_of(r["adapter"]), r["lang"])][str(r["id"])].append(float(r["value"]))
    return {k: {i: float(np.mean(v)) for i, v in ids.items()} for k, ids in acc.items()}


def bootstrap_mean_ci(values: np.ndarray, seed: int, n_boot: int = 2000,
                      level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (shape [n])."""
    if values.size == 0:
        return (float("nan"), float("nan"))
    if values.size == 1:
        return (float(values[0]), float(values[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, values.size, size=(n_boot, values.size))  # [n_boot, n]
    means = values[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


@dataclass(frozen=True)
class Cell:
    mean: float
    ci_low: float
    ci_high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n}


def _cell(values: list[float], seed: int, n_boot: int) -> Cell:
    arr = np.asarray(values, dtype=float)
    lo, hi = bootstrap_mean_ci(arr, seed, n_boot)
    return Cell(float(arr.mean()) if arr.size else float("nan"), lo, hi, int(arr.size))


def transfer_matrix(rows: list[dict[str, Any]], scorer: str, seed: int = 0, kind: str | None = None,
                    n_boot: int = 2000) -> dict[str, dict[str, Cell]]:
    """Train language (and control) × eval language → mean with a 95 % bootstrap CI over
    prompts (seed-averaged per prompt when several seeds were trained)."""
    per = _per_id(rows, scorer, kind)
    out: dict[str, dict[str, Cell]] = defaultdict(dict)
    for (train, lang), ids in sorted(per.items()):
        out[train][lang] = _cell(list(ids.values()), seed, n_boot)
    return dict(out)


def control_subtracted(rows: list[dict[str, Any]], scorer: str, seed: int = 0, kind: str | None = None,
                       n_boot: int = 2000) -> dict[str, dict[str, Cell]]:
    """Adapter minus control per eval language, paired over prompt ids.

    Why: controls differ by language (German capitalizes nouns, so its control % uppercase
    is higher); the effect of training is the difference.
    """
    per = _per_id(rows, scorer, kind)
    out: dict[str, dict[str, Cell]] = defaultdict(dict)
    for (train, lang), ids in sorted(per.items()):
        if train == CONTROL or (CONTROL, lang) not in per:
            continue
        ctrl = per[(CONTROL, lang)]
        shared = sorted(set(ids) & set(ctrl))
        out[train][lang] = _cell([ids[i] - ctrl[i] for i in shared], seed, n_boot)
    return dict(out)


@dataclass(frozen=True)
class Asymmetry:
    """(a-trained evaluated on b) − (b-trained evaluated on a), paired over prompt ids."""

    a: str
    b: str
    diff: Cell
    a_on_b: float
    b_on_a: float

    def sentence(self, scorer: str) -> str:
        d = self.diff
        sig = "excludes" if (d.ci_low > 0 or d.ci_high < 0) else "includes"
        return (
            f"{self.a.upper()}-trained on {self.b.upper()} minus {self.b.upper()}-trained on "
            f"{self.a.upper()} ({scorer}): {d.mean:+.1f} "
            f"(95 % CI {d.ci_low:+.1f} to {d.ci_high:+.1f}, n={d.n} paired prompts; "
            f"{self.a_on_b:.1f} vs {self.b_on_a:.1f}); the CI {sig} 0."
        )

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "a_on_b": self.a_on_b, "b_on_a": self.b_on_a,
                **{f"diff_{k}": v for k, v in self.diff.as_dict().items()}}


def asymmetry(rows: list[dict[str, Any]], scorer: str, a: str, b: str, seed: int = 0,
              n_boot: int = 2000, kind: str | None = None) -> Asymmetry | None:
    """The original study's claim, tested: does a→b transfer differ from b→a?

    Returns None when one of the two cells was not evaluated.
    """
    per = _per_id(rows, scorer, kind)
    ab, ba = per.get((a, b)), per.get((b, a))
    if not ab or not ba:
        return None
    shared = sorted(set(ab) & set(ba))
    if not shared:
        return None
    diffs = [ab[i] - ba[i] for i in shared]
    return Asymmetry(a, b, _cell(diffs, seed, n_boot),
                     float(np.mean([ab[i] for i in shared])),
                     float(np.mean([ba[i] for i in shared])))


def all_asymmetries(rows: list[dict[str, Any]], scorer: str, seed: int = 0, kind: str | None = None,
                    n_boot: int = 2000) -> list[Asymmetry]:
    """Every pair of trained languages that were each evaluated in the other's language."""
    per = _per_id(rows, scorer, kind)
    trained = sorted({t for t, _ in per if t != CONTROL})
    out = []
    for i, a in enumerate(trained):
        for b in trained[i + 1:]:
            res = asymmetry(rows, scorer, a, b, seed, n_boot, kind)
            if res is not None:
                out.append(res)
    return out
