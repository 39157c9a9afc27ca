"""The analyze stage: cross-adapter statistics of every task, saved to ``analysis.json``.

Reads each task's ``scores.jsonl`` (never a model) and writes the transfer matrix, the
control-subtracted matrix, the per-seed table and the asymmetry tests per scorer and prompt
kind, plus their heatmaps under the report's figures. Each task and prompt kind also gets
its two axes (``two_axis``: damage and behaving-and-coherent matrices with their
control-subtracted versions, the reading of every cell on both, and the asymmetry tests on
``behaving_coherent`` as their own family), so a transfer made of broken answers is told
from a behaviour that moved (:mod:`crossling.analysis.two_axis`).

Multiplicity: the asymmetry tests of one scorer (every pair of training languages × every
prompt kind) form one family; their p-values are Holm-adjusted together (``p_holm``).

A study of several models (``models:``) reads each model's own ``analysis.json`` and scores
and compares them (:mod:`crossling.analysis.models`); each model keeps its own families.
"""

from __future__ import annotations

from typing import Any

from crossling.analysis.plots import (
    plot_model_transfer,
    plot_side_by_side,
    plot_transfer_heatmap,
    plot_two_axis,
)
from crossling.analysis.quality import (
    BEHAVING_COHERENT,
    MIN_COHERENT,
    QUALITY_SCORERS,
    quality_flags,
    reason_counts,
)
from crossling.analysis.results import (
    IntervalCell,
    ModelDifference,
    ModelTransfer,
    StudyAnalysis,
    TaskComparison,
)
from crossling.analysis.stats import Interval, finite_or_none
from crossling.analysis.transfer import (
    Asymmetry,
    all_asymmetries,
    control_subtracted,
    holm_adjust,
    na_counts,
    per_seed_table,
    transfer_matrix,
)
from crossling.analysis.two_axis import has_two_axes, two_axes
from crossling.io import read_jsonl
from crossling.names import BASE_ADAPTER
from crossling.paths import RunDir
from crossling.runner.config import ExperimentConfig
from crossling.tasks import get_task


def _as_rows(matrix: dict[str, dict[str, Interval]], scorer: str, kind: str) -> list[dict[str, Any]]:
    return [{"adapter": a, "lang": lang, "scorer": scorer, "kind": kind, "steer": "none",
             **cell.as_dict()} for a, cols in matrix.items() for lang, cell in cols.items()]


def analyze_task(cfg: ExperimentConfig, run: RunDir, task: str) -> dict[str, Any]:
    """Statistics of one task's evaluation, keyed by prompt kind then scorer."""
    from crossling.evaluate.scorers import rate_scorers, score_bounds

    dcfg = cfg.tasks[task]
    scores = read_jsonl(run.eval(task).scores)
    gens = read_jsonl(run.eval(task).generations)  # the rules that fired, per flagged cell
    kinds = list(dict.fromkeys(r.get("kind", "task") for r in scores))
    rows_order = [BASE_ADAPTER, *dcfg.train_langs]
    out: dict[str, Any] = {"kinds": {}, "seeds": cfg.seeds}
    n_boot = cfg.eval.n_boot
    rates, bounds = rate_scorers(), score_bounds()
    tests: dict[str, list[tuple[str, Asymmetry]]] = {}  # scorer -> (kind, test)
    bc_tests: list[tuple[str, Asymmetry]] = []  # (kind, test) on behaving_coherent
    for kind in kinds:
        per_scorer: dict[str, Any] = {}
        for scorer in cfg.scorers_for(task):
            rate, bound = scorer in rates, bounds.get(scorer)
            matrix = transfer_matrix(scores, scorer, cfg.seed, kind, n_boot, rate, bound)
            if not matrix:
                continue
            delta = control_subtracted(scores, scorer, cfg.seed, kind, n_boot, rate, bound)
            tests.setdefault(scorer, []).extend(
                (kind, a) for a in all_asymmetries(scores, scorer, cfg.seed, kind, n_boot,
                                                   bound))
            per_seed = per_seed_table(scores, scorer, kind)
            for r in per_seed:  # one-seed studies name adapters without '-s<seed>'
                if r["seed"] is None and r["adapter"] != BASE_ADAPTER:
                    r["seed"] = cfg.seeds[0]
            fig = run.figure(f"transfer_{task}_{kind}_{scorer}")
            plot_transfer_heatmap(_as_rows(matrix, scorer, kind), fig, scorer=scorer, kind=kind,
                                  adapters=[a for a in rows_order if a in matrix],
                                  langs=dcfg.eval_langs)
            fig_delta = None
            if delta:
                fig_delta = run.figure(f"delta_{task}_{kind}_{scorer}")
                plot_transfer_heatmap(_as_rows(delta, scorer, kind), fig_delta, scorer=scorer,
                                      kind=kind, adapters=[a for a in rows_order if a in delta],
                                      langs=dcfg.eval_langs)
            na: dict[str, dict[str, int]] = {}
            for (train, lang), k in na_counts(scores, scorer, kind).items():
                na.setdefault(train, {})[lang] = k
            per_scorer[scorer] = {
                "matrix": {a: {lang: c.as_dict() for lang, c in cols.items()}
                           for a, cols in matrix.items()},
                "n_na": na,
                "control_subtracted": {a: {lang: c.as_dict() for lang, c in cols.items()}
                                       for a, cols in delta.items()},
                "per_seed": per_seed,
                "rate": scorer in rates,
                "asymmetry": [],
                "figure": str(fig.relative_to(run.root)),
                "figure_delta": str(fig_delta.relative_to(run.root)) if fig_delta else None,
            }
        out["kinds"][kind] = per_scorer
        out.setdefault("quality", {})[kind] = quality_matrices(
            scores, cfg.seed, kind, n_boot, gens, cfg.model.system_prompt)
        headline = cfg.report.headline_scorer.get(task, get_task(task).primary_metric)
        if headline in per_scorer and has_two_axes(scores, kind):
            out.setdefault("two_axis", {})[kind] = two_axis_section(
                cfg, run, task, kind, scores, headline, bc_tests)
    for scorer, family in tests.items():
        adjusted = holm_adjust([a for _, a in family],
                               f"{scorer}, every training-language pair × prompt kind")
        for (kind, _), a in zip(family, adjusted, strict=True):
            flags = out["quality"][kind]["flags"]
            flagged = [f"{'control' if row == BASE_ADAPTER else row.upper() + '-trained'} on "
                       f"{lang.upper()}" for row, lang in a.cells()
                       if flags.get(row, {}).get(lang)]
            out["kinds"][kind][scorer]["asymmetry"].append(
                a.as_dict() | {"kind": kind, "flagged_cells": flagged,
                               "sentence": a.sentence(scorer, flagged)})
    _two_axis_tests(out, bc_tests)
    return out


def _two_axis_tests(out: dict[str, Any], tests: list[tuple[str, Asymmetry]]) -> None:
    """Holm-adjust the behaving_coherent asymmetry tests as one family and put them in
    their kinds' ``two_axis`` entries. Garbage counts as "not behaving" there, so the tests
    are read in flagged cells too."""
    adjusted = holm_adjust([a for _, a in tests], f"{BEHAVING_COHERENT}, every "
                           "training-language pair × prompt kind")
    for (kind, _), a in zip(tests, adjusted, strict=True):
        out["two_axis"][kind]["asymmetry"].append(
            a.as_dict() | {"kind": kind, "flagged_cells": [],
                           "sentence": a.sentence(BEHAVING_COHERENT)})


def two_axis_section(cfg: ExperimentConfig, run: RunDir, task: str, kind: str,
                     scores: list[dict[str, Any]], headline: str,
                     tests: list[tuple[str, Asymmetry]]) -> dict[str, Any]:
    """Both axes of one task and prompt kind (:mod:`crossling.analysis.two_axis`) as the
    ``two_axis`` entry of ``analysis.json`` (asymmetry filled in after Holm), with its
    figure; the unadjusted behaving_coherent tests are appended to ``tests``."""
    from crossling.evaluate.scorers import rate_scorers, score_bounds

    d = cfg.tasks[task]
    rate, bound = headline in rate_scorers(), score_bounds().get(headline)
    behaviour = transfer_matrix(scores, headline, cfg.seed, kind, cfg.eval.n_boot, rate, bound)
    behaviour_delta = control_subtracted(scores, headline, cfg.seed, kind, cfg.eval.n_boot,
                                         rate, bound)
    res = two_axes(scores, kind, behaviour, behaviour_delta, cfg.seed, cfg.eval.n_boot)
    tests.extend((kind, a) for a in res.asymmetry)
    percent = bound == (0.0, 100.0)

    def cells(m: dict[str, dict[str, Interval]]) -> dict[str, Any]:
        return {a: {lang: c.as_dict() for lang, c in cols.items()} for a, cols in m.items()}

    def ivd(c: Interval | None) -> dict[str, Any] | None:
        return None if c is None else c.as_dict()

    rows = [{"adapter": c.adapter, "lang": c.lang, "diagonal": c.diagonal,
             "damage_delta": ivd(c.damage_delta), "behaviour_delta": ivd(c.behaviour_delta),
             "behaving_coherent_delta": ivd(c.behaving_coherent_delta)} for c in res.cells]
    fig = run.figure(f"two_axis_{task}_{kind}")
    plot_two_axis(rows, fig, scorer=headline, langs=d.eval_langs,
                  title=f"{task} ({kind} prompts): behaviour vs damage per adapter × language "
                        "(minus the control, 95% CI)")
    return {
        "behaviour": headline,
        "pass_rule": get_task(task).pass_description(),
        "damage": {"matrix": cells(res.damage), "control_subtracted": cells(res.damage_delta)},
        "behaving_coherent": {"matrix": cells(res.behaving_coherent),
                              "control_subtracted": cells(res.behaving_coherent_delta)},
        "among_coherent": cells(res.among_coherent), "n_coherent": res.n_coherent,
        "min_coherent": MIN_COHERENT, "asymmetry": [],
        "cells": [{
            "adapter": c.adapter, "lang": c.lang, "diagonal": c.diagonal,
            **{k: _mean(getattr(c, k)) for k in (
                "behaviour", "behaviour_control", "damage", "damage_control",
                "behaving_coherent", "behaving_coherent_control", "among_coherent")},
            "n_coherent": c.n_coherent, "raw_reading": c.raw_reading,
            "two_axis_reading": c.two_axis_reading, "agree": c.agree,
            "sentence": c.sentence(headline, rate, percent),
            "disagreement": c.disagreement(headline)} for c in res.cells],
        "figure": str(fig.relative_to(run.root)),
    }


def _mean(c: Interval | None) -> float | None:
    return None if c is None else finite_or_none(c.mean)


def quality_matrices(
    scores: list[dict[str, Any]], seed: int, kind: str, n_boot: int,
    generations: list[dict[str, Any]] | None = None, system_prompt: str | None = None,
) -> dict[str, Any]:
    """``degenerate``, ``fluency`` and ``fluency_ref`` matrices (adapter × language), the
    rules that fired per cell (``reasons``, from the generations) and each cell's flags."""
    from crossling.evaluate.scorers import rate_scorers, score_bounds

    rates, bounds = rate_scorers(), score_bounds()
    mats = {
        scorer: {a: {lang: c.as_dict() for lang, c in cols.items()}
                 for a, cols in transfer_matrix(scores, scorer, seed, kind, n_boot,
                                                scorer in rates, bounds.get(scorer)).items()}
        for scorer in QUALITY_SCORERS
    }
    reasons = reason_counts(generations or [], system_prompt, kind)
    flags = quality_flags(mats["degenerate"], reasons, mats["fluency"], mats["fluency_ref"])
    return {**mats, "reasons": reasons, "flags": flags}


def run_analyze(cfg: ExperimentConfig, run: RunDir,
                failed: dict[str, str] | None = None) -> dict[str, Any]:
    """Analyze every task and write ``analysis.json`` (:class:`StudyAnalysis`); cheap, so it
    always reruns (no stamp). A study of several models compares their own analyses
    (:func:`analyze_models`).

    Args:
        cfg: the study config.
        run: its folder.
        failed: several models only: label → why that model's run failed this time.

    Returns:
        The file's content, as written.
    """
    from crossling.behaviour.run import analysis_entries

    if cfg.models is not None:
        models = analyze_models(cfg, run, failed or {})
        models.write(run.analysis)
        return models.to_json()

    behaviour = (analysis_entries(run.behaviour(cfg.behaviour.task))
                 if cfg.behaviour.enabled else {})
    result = StudyAnalysis(
        tasks={task: analyze_task(cfg, run, task) for task in cfg.tasks
               if run.eval(task).scores.exists()},
        **behaviour)
    result.write(run.analysis)
    return result.to_json()


# --------------------------------------------------------------------------- several models
def analyze_models(cfg: ExperimentConfig, run: RunDir, failed: dict[str, str]) -> StudyAnalysis:
    """The analysis of a study of several models: each model's ``analysis.json`` (its
    folder's, written by its own study) in ``by_model``, the comparison of every task in
    ``model_comparison``, and the models without results in ``failed``."""
    by_model: dict[str, StudyAnalysis] = {}
    why: dict[str, str] = {}
    for label in cfg.model_studies():
        sub = run.model_run(label)
        if label in failed:
            why[label] = failed[label]
        elif not sub.analysis.exists():
            why[label] = (f"no results in models/{label}/ (not run yet, or its run failed: "
                          f"see {run.log.name})")
        else:
            by_model[label] = StudyAnalysis.read(sub.analysis)
    comparison = {}
    for task in cfg.tasks:
        c = compare_task(cfg, run, task, by_model)
        if c is not None:
            comparison[task] = c
    return StudyAnalysis(tasks={}, by_model=by_model, model_comparison=comparison,
                         failed=why)


def compare_task(cfg: ExperimentConfig, run: RunDir, task: str,
                 by_model: dict[str, StudyAnalysis]) -> TaskComparison | None:
    """Every model's effects and the between-model differences on ``task`` (its headline
    scorer on its eval prompts), with the model × language figure and the models' heatmaps
    side by side; None when no model has the task's scores."""
    from crossling.analysis.models import compare_models
    from crossling.evaluate.scorers import rate_scorers, score_bounds
    from crossling.tasks import get_task

    scorer, kind = cfg.report.headline_scorer.get(task, ""), get_task(task).eval_kind
    heads = {label: a.headline(task, kind, scorer) for label, a in by_model.items()}
    labels = [label for label, h in heads.items()
              if h is not None and run.model_run(label).eval(task).scores.exists()]
    if not labels:
        return None
    d, rate = cfg.tasks[task], scorer in rate_scorers()
    c = compare_models({label: read_jsonl(run.model_run(label).eval(task).scores)
                        for label in labels}, scorer, kind, d.train_langs, d.eval_langs,
                       cfg.seed, cfg.eval.n_boot, rate, score_bounds().get(scorer))

    def cell(iv: Interval | None) -> IntervalCell | None:
        return None if iv is None else IntervalCell.model_validate(iv.as_dict())

    models = {}
    for label, e in c.models.items():
        head = heads[label]
        assert head is not None
        models[label] = ModelTransfer(
            diagonal={lang: IntervalCell.model_validate(iv.as_dict())
                      for lang, iv in e.diagonal.items()},
            into={lang: IntervalCell.model_validate(iv.as_dict()) for lang, iv in e.into.items()},
            diagonal_mean=cell(e.diagonal_mean), off_diagonal_mean=cell(e.off_diagonal_mean),
            gap=cell(e.gap), gap_p_holm=finite_or_none(e.gap_p_holm), asymmetry=head.asymmetry)
    fig = run.figure(f"models_into_{task}_{kind}_{scorer}")
    plot_model_transfer({label: {lang: iv.as_dict() for lang, iv in e.into.items()}
                         for label, e in c.models.items()}, fig, langs=d.eval_langs,
                        scorer=scorer, title=f"{task}: transfer into each language by model "
                        f"(adapter − control, off-diagonal mean, 95% CI; {scorer})")
    fig_m = run.figure(f"models_transfer_{task}_{kind}_{scorer}")
    plot_side_by_side([run.model_run(label).root / h.figure
                       for label, h in heads.items() if h is not None and label in labels],
                      labels, fig_m, title=f"{task}: transfer matrix of each model ({scorer})")
    return TaskComparison(
        kind=kind, scorer=scorer, rate=rate, models=models,
        differences=[ModelDifference(a=x.a, b=x.b, what=x.what,
                                     diff=IntervalCell.model_validate(x.diff.as_dict()),
                                     p_holm=finite_or_none(x.p_holm)) for x in c.differences],
        holm_family=c.holm_family, figure=str(fig.relative_to(run.root)),
        figure_matrices=str(fig_m.relative_to(run.root)))
