"""Cross-adapter analysis: the transfer matrix, control subtraction and the asymmetry test.

Input is the long table of scores: one dict per (adapter, lang, id, scorer) with a numeric
``value`` (None = N/A, e.g. caps on Chinese). Adapters are named ``base`` for the base
model and ``<train_lang>`` or ``<train_lang>-s<seed>`` for LoRA adapters, so seeds of one
training language pool into one matrix row.

Why paired statistics: every language is evaluated on the same parallel prompt ids, so
differences between adapters (or between the two directions of a transfer) are computed per
id and the prompts are resampled jointly — that removes the prompt-difficulty variance an
unpaired comparison would carry.

Why seeds in the intervals: a training run is a random draw too. With three or more seeds
per training language, every interval here is hierarchical over seeds and prompts
(:func:`crossling.analysis.stats.estimate`); with two, seed variance is not estimable and
no seed-level interval or test is given — each run is reported over prompts; with one seed
the intervals are over prompts only, i.e. conditional on that one training run.

Why the asymmetry test subtracts controls: the raw scores of two languages are not
comparable (German capitalises nouns, so its control % uppercase is higher); the test
compares the *training effects* ``(a-trained on b − control on b) − (b-trained on a −
control on a)``, per prompt id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from crossling.analysis.stats import Bounds, Interval, estimate, finite_or_none, holm
from crossling.names import BASE_ADAPTER

# (train_lang, eval_lang) -> {adapter: {id: value}}
PerSeed = dict[tuple[str, str], dict[str, dict[str, float]]]


def train_lang_of(adapter: str) -> str:
    """'en-s1' → 'en'; the control ('base') stays 'base'."""
    return adapter.split("-s")[0] if adapter != BASE_ADAPTER else BASE_ADAPTER


def seed_of(adapter: str) -> int | None:
    """'en-s1' → 1; None for 'en' (a study with one seed) and for the control."""
    if adapter == BASE_ADAPTER or "-s" not in adapter:
        return None
    try:
        return int(adapter.rsplit("-s", 1)[1])
    except ValueError:
        return None


def per_seed_values(rows: Iterable[dict[str, Any]], scorer: str,
                    kind: str | None = None) -> PerSeed:
    """(train_lang, eval_lang) → adapter (one per seed) → {id: value}; unsteered rows of one
    prompt ``kind`` (task / harmful / harmless) when given, N/A values left out."""
    acc: PerSeed = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        if r.get("scorer") != scorer or r.get("value") is None:
            continue
        if kind is not None and r.get("kind", "task") != kind:
            continue
        if r.get("steer", "none") != "none":
            continue
        adapter = str(r["adapter"])
        acc[(train_lang_of(adapter), str(r["lang"]))][adapter][str(r["id"])] = float(r["value"])
    return {k: dict(v) for k, v in acc.items()}


def na_counts(rows: Iterable[dict[str, Any]], scorer: str,
              kind: str | None = None) -> dict[tuple[str, str], int]:
    """(train_lang, eval_lang) → answers the scorer could not read (N/A), unsteered rows of
    one prompt ``kind``: every matrix cell says how many answers its mean leaves out."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r.get("scorer") != scorer or r.get("value") is not None:
            continue
        if (kind is not None and r.get("kind", "task") != kind) or r.get("steer",
                                                                       "none") != "none":
            continue
        out[(train_lang_of(str(r["adapter"])), str(r["lang"]))] += 1
    return dict(out)


def seed_matrix(cell: dict[str, dict[str, float]], ids: Sequence[str]) -> np.ndarray:
    """``[n_seeds, len(ids)]`` values of one (train, eval) cell, NaN where a seed lacks an id."""
    return np.array([[by_id.get(i, np.nan) for i in ids] for _, by_id in sorted(cell.items())],
                    dtype=float)


def _ids(*cells: dict[str, dict[str, float]]) -> list[str]:
    """Ids scored in every one of ``cells`` (by at least one seed each)."""
    sets = [set().union(*(set(v) for v in c.values())) for c in cells]
    return sorted(set.intersection(*sets)) if sets else []


def transfer_matrix(rows: list[dict[str, Any]], scorer: str, seed: int = 0,
                    kind: str | None = None, n_boot: int = 2000,
                    rate: bool = False, bounds: Bounds | None = None
                    ) -> dict[str, dict[str, Interval]]:
    """Train language (and control) × eval language → mean with a 95 % interval.

    The mean is over seeds of each seed's mean over prompts; the interval is the one
    :func:`crossling.analysis.stats.estimate` gives a cell (rate, bounded or unbounded
    score; hierarchical over ≥ 3 seeds; none with 2 seeds, each run's instead).
    """
    per = per_seed_values(rows, scorer, kind)
    out: dict[str, dict[str, Interval]] = defaultdict(dict)
    for (train, lang), cell in sorted(per.items()):
        ids = _ids(cell)
        out[train][lang] = estimate([(1.0, seed_matrix(cell, ids))], seed, n_boot, rate=rate,
                                    bounds=bounds)
    return dict(out)


def control_subtracted(rows: list[dict[str, Any]], scorer: str, seed: int = 0,
                       kind: str | None = None, n_boot: int = 2000, rate: bool = False,
                       bounds: Bounds | None = None) -> dict[str, dict[str, Interval]]:
    """Adapter minus control per eval language, paired over prompt ids, with the p-value of
    "no effect" (sign-flip test, exact McNemar for rates; hierarchical over ≥ 3 seeds).

    Why: controls differ by language (German capitalizes nouns, so its control % uppercase
    is higher); the effect of training is the difference.
    """
    per = per_seed_values(rows, scorer, kind)
    out: dict[str, dict[str, Interval]] = defaultdict(dict)
    for (train, lang), cell in sorted(per.items()):
        if train == BASE_ADAPTER or (BASE_ADAPTER, lang) not in per:
            continue
        ctrl = per[(BASE_ADAPTER, lang)]
        ids = _ids(cell, ctrl)
        if not ids:
            continue
        out[train][lang] = estimate(
            [(1.0, seed_matrix(cell, ids)), (-1.0, seed_matrix(ctrl, ids))], seed, n_boot,
            rate=rate, test=True, bounds=bounds)
    return dict(out)


@dataclass(frozen=True)
class Asymmetry:
    """Training effect of a-trained on b minus that of b-trained on a, paired over ids.

    Attributes:
        a, b: the two training languages (a < b).
        diff: ``(a on b − control on b) − (b on a − control on a)`` with its interval and
            unadjusted p-value (sign-flip test over prompts; hierarchical with ≥ 3 seeds;
            none with 2 seeds, whose two runs are in ``diff.runs``).
        a_on_b, b_on_a: raw means of the two transfer cells on the shared ids.
        control_a, control_b: control means in a and b on the shared ids.
        p_holm: Holm-adjusted p over the family named by ``holm_family`` (None until
            :func:`holm_adjust` is applied).
        holm_family: how many tests the adjustment covered, and which.
    """

    a: str
    b: str
    diff: Interval
    a_on_b: float
    b_on_a: float
    control_a: float
    control_b: float
    p_holm: float | None = None
    holm_family: str | None = None

    def cells(self) -> list[tuple[str, str]]:
        """The (row, eval language) cells the test rests on: both transfer cells and both
        controls."""
        return [(self.a, self.b), (BASE_ADAPTER, self.b), (self.b, self.a), (BASE_ADAPTER, self.a)]

    def sentence(self, scorer: str, flagged: Sequence[str] = ()) -> str:
        """The test in words. "Significant" only from a p-value of the calibrated test, and
        never when a cell it rests on is flagged (``flagged``: descriptions of those cells);
        with 2 seeds no test is made and the two runs are given instead."""
        d = self.diff
        A, B = self.a.upper(), self.b.upper()
        approx = ", approximate: n < 30" if d.approximate else ""
        head = (f"Training effect of {A}-trained on {B} minus that of {B}-trained on {A} "
                f"(each minus the control in that language; {scorer}): {d.mean:+.2f}")
        tail = (f"raw {self.a_on_b:.2f} vs {self.b_on_a:.2f}, controls {self.control_b:.2f} "
                f"in {B} and {self.control_a:.2f} in {A}")
        if d.runs:
            runs = "; ".join(
                f"run {k + 1}: {r.mean:+.2f} (95 % CI {r.ci_low:+.2f} to {r.ci_high:+.2f} over "
                f"prompts, p = {_p(r.p)})" for k, r in enumerate(d.runs))
            return (f"{head} (mean of 2 runs per language, n={d.n} paired prompts{approx}; "
                    f"{tail}); {d.method}, so no test is made. Each run, conditional on it: "
                    f"{runs}.")
        over = (f"{d.method}, {d.n_seeds} seeds per language" if d.n_seeds > 1 else
                f"{d.method}; conditional on one training run per language")
        p = self.p_holm if self.p_holm is not None else d.p
        which = "Holm-adjusted p" if self.p_holm is not None else "unadjusted p"
        if flagged:
            verdict = f"not interpretable: flagged cells ({'; '.join(flagged)})"
        elif p is None or p != p:
            verdict = "no test"
        else:
            verdict = ("significant" if p < 0.05 else "not significant") + " at the 5 % level"
        family = f" ({self.holm_family})" if self.holm_family else ""
        return (
            f"{head} (95 % CI {d.ci_low:+.2f} to {d.ci_high:+.2f}, {over}, n={d.n} paired "
            f"prompts{approx}; {tail}); {which} = {_p(p)}{family}: {verdict}."
        )

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "a_on_b": self.a_on_b, "b_on_a": self.b_on_a,
                "control_a": self.control_a, "control_b": self.control_b,
                "p": finite_or_none(self.diff.p), "p_holm": finite_or_none(self.p_holm),
                "holm_family": self.holm_family,
                **{f"diff_{k}": v for k, v in self.diff.as_dict().items() if k != "p"}}


def _p(p: float | None) -> str:
    if p is None or p != p:
        return "N/A"
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"


def asymmetry(rows: list[dict[str, Any]], scorer: str, a: str, b: str, seed: int = 0,
              n_boot: int = 2000, kind: str | None = None,
              bounds: Bounds | None = None) -> Asymmetry | None:
    """The original study's claim, tested: is a→b transfer of the training effect different
    from b→a?

    Returns None when a transfer cell or a control cell was not evaluated.
    """
    per = per_seed_values(rows, scorer, kind)
    cells = [per.get(k) for k in ((a, b), (BASE_ADAPTER, b), (b, a), (BASE_ADAPTER, a))]
    if any(not c for c in cells):
        return None
    ab, cb, ba, ca = (c for c in cells if c)
    ids = _ids(ab, cb, ba, ca)
    if not ids:
        return None
    m = [seed_matrix(c, ids) for c in (ab, cb, ba, ca)]
    diff = estimate(list(zip((1.0, -1.0, -1.0, 1.0), m, strict=True)), seed, n_boot, test=True,
                    bounds=bounds)
    means = [float(np.nanmean(np.nanmean(x, axis=1))) for x in m]
    return Asymmetry(a, b, diff, a_on_b=means[0], b_on_a=means[2], control_a=means[3],
                     control_b=means[1])


def all_asymmetries(rows: list[dict[str, Any]], scorer: str, seed: int = 0,
                    kind: str | None = None, n_boot: int = 2000,
                    bounds: Bounds | None = None) -> list[Asymmetry]:
    """Every pair of trained languages that were each evaluated in the other's language
    (unadjusted; adjust the whole family with :func:`holm_adjust`)."""
    per = per_seed_values(rows, scorer, kind)
    trained = sorted({t for t, _ in per if t != BASE_ADAPTER})
    out = []
    for i, a in enumerate(trained):
        for b in trained[i + 1:]:
            res = asymmetry(rows, scorer, a, b, seed, n_boot, kind, bounds)
            if res is not None:
                out.append(res)
    return out


def holm_adjust(tests: list[Asymmetry], family: str) -> list[Asymmetry]:
    """The same tests with Holm-adjusted p-values over all of them (one family)."""
    adj = holm([t.diff.p if t.diff.p is not None else float("nan") for t in tests])
    label = f"Holm over {len(tests)} test{'s' if len(tests) != 1 else ''}: {family}"
    return [replace(t, p_holm=p, holm_family=label) for t, p in zip(tests, adj, strict=True)]


def per_seed_table(rows: list[dict[str, Any]], scorer: str, kind: str | None = None
                   ) -> list[dict[str, Any]]:
    """Mean per adapter × eval language × training seed (the control has seed None).

    Why: the pooled matrix hides how much one training run differs from the next; this
    table shows it.
    """
    per = per_seed_values(rows, scorer, kind)
    out = []
    for (train, lang), cell in sorted(per.items()):
        for adapter, by_id in sorted(cell.items()):
            out.append({"adapter": adapter, "train_lang": train, "seed": seed_of(adapter),
                        "lang": lang, "mean": float(np.mean(list(by_id.values()))),
                        "n": len(by_id)})
    return out
