"""Two axes per transfer cell: how much of the behaviour, and how much damage.

Why: a transfer cell read off one number cannot tell a behaviour that moved into a language
from a language the fine-tune broke. An English-trained caps adapter scored 89 % uppercase
on Russian prompts whose answers were invented upper-case words; the same cell read per
answer is mostly garbage. So every (adapter, language) cell, and the control, gets:

* **behaviour** — the task's headline metric, as the transfer matrix has it;
* **damage** — the share of answers the per-answer garbage verdict marks (``degenerate``),
  and its paired difference from the control in that language;
* **behaving and coherent** — the share of answers that pass the task's rule, are in the
  prompt's language *and* are not garbage (``behaving_coherent``,
  :mod:`crossling.evaluate.scorers.coherent`), with its control-subtracted cell and the
  asymmetry tests;
* **behaviour among coherent answers** — the pass rate over the answers that are not
  garbage; N/A when a cell has fewer than :data:`~crossling.analysis.quality.MIN_COHERENT`
  of them (per training seed), since one answer would then move it by 25 points or more.

The two readings of a cell are the headline metric's control-subtracted interval and the
behaving-and-coherent one: each "rises" (interval above 0), "falls" (below 0) or shows "no
clear change" (interval covers 0; unadjusted, one reading per cell, so a description of the
cells and not a family of tests). Where they differ the cell is a *disagreement*: e.g. caps
rises but behaving-and-coherent does not, because the answers that got caps are broken.

Every interval here is the one the transfer matrix uses (:func:`estimate`: rates get
Clopper–Pearson cells and paired Newcombe / McNemar differences, hierarchical over ≥ 3
seeds), calibrated by ``benchmarks/calibration.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crossling.analysis.quality import BEHAVING_COHERENT, MIN_COHERENT
from crossling.analysis.stats import Bounds, Interval
from crossling.analysis.transfer import (
    Asymmetry,
    all_asymmetries,
    control_subtracted,
    per_seed_values,
    train_lang_of,
    transfer_matrix,
)
from crossling.names import BASE_ADAPTER, NO_STEER

DAMAGE = "degenerate"
#: Scorer name of the derived rows: ``behaving_coherent`` of answers that are not garbage.
AMONG_COHERENT = "among_coherent"
RISES, FALLS, FLAT = "rises", "falls", "no clear change"

Matrix = dict[str, dict[str, Interval]]


def _key(r: dict[str, Any]) -> tuple[str, str, str, str, str]:
    return (str(r["adapter"]), str(r["lang"]), str(r.get("kind", "task")), str(r["id"]),
            str(r.get("steer", NO_STEER)))


def has_two_axes(scores: Iterable[dict[str, Any]], kind: str) -> bool:
    """The scores of ``kind`` include the behaving-and-coherent verdicts (studies scored
    before it existed do not: rerunning their eval stage adds them)."""
    return any(r.get("scorer") == BEHAVING_COHERENT and r.get("kind", "task") == kind
               for r in scores)


def among_coherent_rows(scores: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The ``behaving_coherent`` rows of ``kind`` whose answer the garbage verdict passed,
    renamed :data:`AMONG_COHERENT`: among coherent answers, behaving-and-coherent is the
    pass rule itself."""
    coherent = {_key(r) for r in scores if r.get("scorer") == DAMAGE and r.get("value") == 0.0
                and r.get("kind", "task") == kind}
    return [{**r, "scorer": AMONG_COHERENT} for r in scores
            if r.get("scorer") == BEHAVING_COHERENT and r.get("kind", "task") == kind
            and _key(r) in coherent]


def coherent_counts(rows: list[dict[str, Any]], kind: str) -> dict[str, dict[str, int]]:
    """Row (training language or control) → language → coherent answers the pass rule
    could read, in the seed that has fewest (each seed's mean rests on at least that)."""
    out: dict[str, dict[str, int]] = {}
    for (train, lang), cell in per_seed_values(rows, AMONG_COHERENT, kind).items():
        out.setdefault(train, {})[lang] = min(len(v) for v in cell.values())
    return out


def reading(c: Interval | None) -> str | None:
    """What a control-subtracted cell says: rises, falls, no clear change; None without an
    interval (2 seeds, or no paired prompts)."""
    if c is None or not c.has_interval:
        return None
    if c.ci_low > 0:
        return RISES
    if c.ci_high < 0:
        return FALLS
    return FLAT


@dataclass(frozen=True)
class CellReadings:
    """One adapter × language cell on both axes (means; ``*_delta``: minus the control,
    paired over prompts)."""

    adapter: str
    lang: str
    behaviour: Interval | None
    behaviour_control: Interval | None
    behaviour_delta: Interval | None
    damage: Interval | None
    damage_control: Interval | None
    damage_delta: Interval | None
    behaving_coherent: Interval | None
    behaving_coherent_control: Interval | None
    behaving_coherent_delta: Interval | None
    among_coherent: Interval | None
    n_coherent: int

    @property
    def diagonal(self) -> bool:
        """The adapter's own training language."""
        return train_lang_of(self.adapter) == self.lang

    @property
    def raw_reading(self) -> str | None:
        return reading(self.behaviour_delta)

    @property
    def two_axis_reading(self) -> str | None:
        return reading(self.behaving_coherent_delta)

    @property
    def agree(self) -> bool | None:
        """Both readings say the same (None: one of them has no interval)."""
        a, b = self.raw_reading, self.two_axis_reading
        return None if a is None or b is None else a == b

    def sentence(self, scorer: str, rate: bool, percent: bool) -> str:
        """The cell in words, both axes: ``EN-trained on RU: caps_pct 89 % (control 5 %),
        70 % of answers damaged (control 0 %); behaving-and-coherent 12 % (control 0 %)``."""

        def pct(c: Interval | None) -> str:
            return "N/A" if c is None or not math.isfinite(c.mean) else f"{100 * c.mean:.0f} %"

        def raw(c: Interval | None) -> str:
            if c is None or not math.isfinite(c.mean):
                return "N/A"
            if rate:
                return f"{100 * c.mean:.0f} %"
            return f"{c.mean:.0f} %" if percent else f"{c.mean:.2f}"

        head = f"{self.adapter.upper()}-trained on {self.lang.upper()}"
        out = (f"{head}: {scorer} {raw(self.behaviour)} (control {raw(self.behaviour_control)}),"
               f" {pct(self.damage)} of answers damaged (control {pct(self.damage_control)}); "
               f"behaving-and-coherent {pct(self.behaving_coherent)} (control "
               f"{pct(self.behaving_coherent_control)})")
        if self.among_coherent is None:
            out += (f"; behaviour among coherent answers N/A ({self.n_coherent} coherent, "
                    f"fewer than {MIN_COHERENT})")
        else:
            out += (f"; among its {self.n_coherent} coherent answers "
                    f"{pct(self.among_coherent)} behave")
        return out

    def disagreement(self, scorer: str) -> str | None:
        """Why the two readings differ, in words (None when they agree or cannot be read)."""
        if self.agree is not False:
            return None

        def d(c: Interval | None) -> str:
            assert c is not None
            return f"{c.mean:+.2f} [{c.ci_low:+.2f}, {c.ci_high:+.2f}]"

        return (f"{self.adapter.upper()}-trained on {self.lang.upper()}: {scorer} "
                f"{self.raw_reading} vs control ({d(self.behaviour_delta)}), "
                f"behaving-and-coherent {self.two_axis_reading} ({d(self.behaving_coherent_delta)}"
                f"; damage {d(self.damage_delta)})")


@dataclass(frozen=True)
class TwoAxisResult:
    """Every matrix of both axes for one task and prompt kind, and the cells read on both."""

    damage: Matrix
    damage_delta: Matrix
    behaving_coherent: Matrix
    behaving_coherent_delta: Matrix
    among_coherent: Matrix
    n_coherent: dict[str, dict[str, int]]
    cells: list[CellReadings]
    asymmetry: list[Asymmetry]


def two_axes(scores: list[dict[str, Any]], kind: str, behaviour: Matrix,
             behaviour_delta: Matrix, seed: int = 0, n_boot: int = 2000) -> TwoAxisResult:
    """Both axes of every cell of one prompt kind.

    Args:
        scores: the task's score rows (with ``degenerate`` and ``behaving_coherent``).
        kind: prompt kind.
        behaviour, behaviour_delta: the headline metric's transfer matrix and its
            control-subtracted matrix (as analysed for the raw reading).
        seed, n_boot: the statistics' seed and Monte Carlo draws.

    Returns:
        The matrices (damage and behaving-and-coherent with their control-subtracted
        versions, behaviour among coherent answers where a cell has enough of them), the
        cells read on both axes and the unadjusted asymmetry tests on behaving-and-coherent.
    """
    bounds: Bounds = (0.0, 1.0)

    def matrices(rows: list[dict[str, Any]], scorer: str) -> tuple[Matrix, Matrix]:
        return (transfer_matrix(rows, scorer, seed, kind, n_boot, True, bounds),
                control_subtracted(rows, scorer, seed, kind, n_boot, True, bounds))

    damage, damage_delta = matrices(scores, DAMAGE)
    bc, bc_delta = matrices(scores, BEHAVING_COHERENT)
    among_rows = among_coherent_rows(scores, kind)
    found = coherent_counts(among_rows, kind)
    counts = {a: {lang: found.get(a, {}).get(lang, 0) for lang in cols}
              for a, cols in bc.items()}
    among = {a: {lang: c for lang, c in cols.items()
                 if counts.get(a, {}).get(lang, 0) >= MIN_COHERENT}
             for a, cols in transfer_matrix(among_rows, AMONG_COHERENT, seed, kind, n_boot,
                                            True, bounds).items()}
    cells = []
    for adapter in sorted(bc):
        if adapter == BASE_ADAPTER:
            continue
        for lang in bc[adapter]:
            cells.append(CellReadings(
                adapter, lang,
                behaviour.get(adapter, {}).get(lang), behaviour.get(BASE_ADAPTER, {}).get(lang),
                behaviour_delta.get(adapter, {}).get(lang),
                damage.get(adapter, {}).get(lang), damage.get(BASE_ADAPTER, {}).get(lang),
                damage_delta.get(adapter, {}).get(lang),
                bc[adapter][lang], bc.get(BASE_ADAPTER, {}).get(lang),
                bc_delta.get(adapter, {}).get(lang),
                among.get(adapter, {}).get(lang), counts.get(adapter, {}).get(lang, 0)))
    tests = all_asymmetries(scores, BEHAVING_COHERENT, seed, kind, n_boot, bounds)
    return TwoAxisResult(damage, damage_delta, bc, bc_delta, among, counts, cells, tests)
