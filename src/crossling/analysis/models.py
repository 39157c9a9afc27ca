"""Several models in one study: each model's training effect, diagonal vs off-diagonal
transfer, and the differences between models, paired over prompt ids.

Why paired across models: every model is asked the same prompt ids (the data split does not
depend on the model), so a difference between two models' training effects is taken per
prompt and the prompts are resampled jointly, as the asymmetry test does across languages.

Every number here is a contrast ``Σ w_k · mean(cell_k)`` of transfer-matrix cells (an
adapter or the control of one model in one eval language). Its interval and p-value are
:func:`crossling.analysis.stats.estimate`'s: the paired sign-flip test over prompts; its
interval the test's inversion for scores, Newcombe's for the difference of two rates and,
for a contrast of more rates, the hull of the MOVER-Wilson and pseudo-prompt intervals
(``stats.PAIRED_RATES``); hierarchical over seeds with three or more, none with two; ``benchmarks/calibration.py`` checks them at crossling's
sizes (tests ``contrast4`` and ``contrast6``). With ``E_L(M)`` = adapter trained in L,
evaluated in M, minus the control in M (one model, task, prompt kind and scorer):

* ``diagonal[L] = E_L(L)``: the training effect in the training language;
* ``into[M]`` = mean over trained ``L ≠ M`` of ``E_L(M)``: the off-diagonal transfer into M;
* ``diagonal_mean`` = mean of the diagonal; ``off_diagonal_mean`` = mean of every ``E_L(M)``
  with ``L ≠ M``; ``gap`` = their difference: how much of the effect stays at home.

Between models a and b: ``diagonal L``, ``off-diagonal mean`` and ``gap`` of a minus b. The
p-values of every model's gap and every between-model difference of a task form one family,
Holm-adjusted together (:func:`crossling.analysis.stats.holm`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from crossling.analysis.stats import Bounds, Interval, estimate, holm
from crossling.analysis.transfer import PerSeed, per_seed_values, seed_matrix
from crossling.names import BASE_ADAPTER

#: (model label, matrix row: a training language or the control, eval language)
Cell = tuple[str, str, str]
#: A contrast: cell → weight.
Terms = dict[Cell, float]

DIAGONAL_MEAN, OFF_DIAGONAL_MEAN, GAP = "diagonal mean", "off-diagonal mean", "gap"


@dataclass(frozen=True)
class ModelEffects:
    """One model's training effects (each an :class:`Interval` with its p-value); a
    contrast whose cells were not all evaluated is left out."""

    diagonal: dict[str, Interval]
    into: dict[str, Interval]
    diagonal_mean: Interval | None
    off_diagonal_mean: Interval | None
    gap: Interval | None
    gap_p_holm: float | None = None


@dataclass(frozen=True)
class Difference:
    """Model ``a``'s contrast ``what`` minus model ``b``'s, paired over prompt ids."""

    a: str
    b: str
    what: str
    diff: Interval
    p_holm: float | None = None


@dataclass(frozen=True)
class Comparison:
    """Every model's effects and the between-model differences of one task, prompt kind
    and scorer; ``holm_family`` names the tests adjusted together."""

    models: dict[str, ModelEffects]
    differences: list[Difference] = field(default_factory=list)
    holm_family: str = ""


def effect(model: str, train: str, lang: str) -> Terms:
    """``E_train(lang)`` of ``model``: the adapter minus the control, in ``lang``."""
    return {(model, train, lang): 1.0, (model, BASE_ADAPTER, lang): -1.0}


def combine(*parts: tuple[float, Terms]) -> Terms:
    """``Σ c · terms``, with the weights of a cell that occurs in several parts summed (a
    control shared by two effects is one column of prompts, not two) and zeros dropped."""
    out: Terms = {}
    for c, terms in parts:
        for cell, w in terms.items():
            out[cell] = out.get(cell, 0.0) + c * w
    return {k: w for k, w in out.items() if abs(w) > 1e-12}


def model_contrasts(model: str, train_langs: Sequence[str],
                    eval_langs: Sequence[str]) -> dict[str, Terms]:
    """Every contrast of one model by name: ``diagonal <L>``, ``into <M>``, the diagonal
    and off-diagonal means and their ``gap`` (those the languages allow)."""
    diag = [effect(model, lang, lang) for lang in train_langs if lang in eval_langs]
    off = [effect(model, t, lang) for t in train_langs for lang in eval_langs if lang != t]
    out = {f"diagonal {lang}": effect(model, lang, lang)
           for lang in train_langs if lang in eval_langs}
    for lang in eval_langs:
        into = [effect(model, t, lang) for t in train_langs if t != lang]
        if into:
            out[f"into {lang}"] = combine(*((1 / len(into), e) for e in into))
    if diag:
        out[DIAGONAL_MEAN] = combine(*((1 / len(diag), e) for e in diag))
    if off:
        out[OFF_DIAGONAL_MEAN] = combine(*((1 / len(off), e) for e in off))
    if diag and off:
        out[GAP] = combine((1.0, out[DIAGONAL_MEAN]), (-1.0, out[OFF_DIAGONAL_MEAN]))
    return out


def shared_ids(cells: Sequence[dict[str, dict[str, float]]]) -> list[str]:
    """Prompt ids scored in every cell (by at least one seed each)."""
    sets = [set().union(*(set(v) for v in c.values())) for c in cells]
    return sorted(set.intersection(*sets)) if sets else []


def contrast(values: Mapping[str, PerSeed], terms: Terms, seed: int = 0, n_boot: int = 2000,
             rate: bool = False, bounds: Bounds | None = None) -> Interval | None:
    """The contrast's estimate, 95 % interval and p-value of "it is 0", paired over the ids
    every cell scored; None when a cell was not evaluated or no id is shared.

    Args:
        values: model label → its :func:`crossling.analysis.transfer.per_seed_values`.
        terms: cell → weight (:func:`effect`, :func:`combine`).
        seed, n_boot: Monte Carlo sign flips (more than 20 prompts).
        rate: the scorer is a 0/1 rate.
        bounds: the scorer's range.
    """
    cells = []
    for model, row, lang in terms:
        cell = values.get(model, {}).get((row, lang))
        if not cell:
            return None
        cells.append(cell)
    ids = shared_ids(cells)
    if not ids:
        return None
    return estimate([(w, seed_matrix(c, ids)) for w, c in zip(terms.values(), cells,
                                                             strict=True)],
                    seed, n_boot, rate=rate, test=True, bounds=bounds)


def _relabel(terms: Terms, model: str) -> Terms:
    return {(model, row, lang): w for (_, row, lang), w in terms.items()}


def compare_models(
    rows: Mapping[str, list[dict[str, Any]]], scorer: str, kind: str | None,
    train_langs: Sequence[str], eval_langs: Sequence[str], seed: int = 0,
    n_boot: int = 2000, rate: bool = False, bounds: Bounds | None = None,
) -> Comparison:
    """Each model's effects and every pair's differences for one task (see the module
    docstring), from the models' score rows.

    Args:
        rows: model label → that model's ``scores.jsonl`` rows of the task, in the order
            the models are listed (a pair's difference is the earlier minus the later).
        scorer: the scorer compared.
        kind: prompt kind (``task``, ``harmful`` …).
        train_langs, eval_langs: the task's languages (the same for every model).
        seed, n_boot, rate, bounds: as for :func:`contrast`.

    Returns:
        The comparison, Holm-adjusted over every model's gap and every difference.
    """
    values = {m: per_seed_values(r, scorer, kind) for m, r in rows.items()}

    def est(terms: Terms) -> Interval | None:
        return contrast(values, terms, seed, n_boot, rate, bounds)

    named = {m: model_contrasts(m, train_langs, eval_langs) for m in rows}
    models = {}
    for m, cs in named.items():
        got = {name: est(t) for name, t in cs.items()}
        models[m] = ModelEffects(
            diagonal={n.split(" ", 1)[1]: iv for n, iv in got.items()
                      if n.startswith("diagonal ") and n != DIAGONAL_MEAN and iv},
            into={n.split(" ", 1)[1]: iv for n, iv in got.items()
                  if n.startswith("into ") and iv},
            diagonal_mean=got.get(DIAGONAL_MEAN), off_diagonal_mean=got.get(OFF_DIAGONAL_MEAN),
            gap=got.get(GAP))
    labels = list(rows)
    diffs = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            tested: list[Terms] = []
            for what, terms in named[a].items():
                # 'into' is shown per model (the figure), not tested between models; a
                # contrast equal to one already tested (the mean of one diagonal cell) is
                # not tested twice
                if what.startswith("into ") or terms in tested:
                    continue
                tested.append(terms)
                iv = est(combine((1.0, terms), (-1.0, _relabel(terms, b))))
                if iv is not None:
                    diffs.append(Difference(a, b, what, iv))
    return holm_comparison(Comparison(models, diffs))


def holm_comparison(c: Comparison) -> Comparison:
    """``c`` with Holm-adjusted p-values over every model's gap and every difference."""
    gaps = [m for m, e in c.models.items() if e.gap is not None]
    ps = [_p(c.models[m].gap) for m in gaps] + [_p(d.diff) for d in c.differences]
    adj = holm(ps)
    models = dict(c.models)
    for m, p in zip(gaps, adj[:len(gaps)], strict=True):
        models[m] = replace(models[m], gap_p_holm=p)
    diffs = [replace(d, p_holm=p) for d, p in zip(c.differences, adj[len(gaps):], strict=True)]
    n = sum(p == p for p in ps)  # NaN (2 seeds: no test) does not count
    family = (f"Holm over {n} test{'s' if n != 1 else ''}: each model's gap and every "
              "between-model difference of the task")
    return Comparison(models, diffs, family)


def _p(iv: Interval | None) -> float:
    return float("nan") if iv is None or iv.p is None else iv.p
