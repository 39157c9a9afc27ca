"""The analyze stage: cross-adapter statistics of every task, saved to ``analysis.json``.

Reads each task's ``scores.jsonl`` (never a model) and writes the transfer matrix, the
control-subtracted matrix and the asymmetry tests per scorer and prompt kind, plus their
heatmaps under the report's figures.
"""

from __future__ import annotations

from typing import Any

from crossling.analysis.plots import plot_transfer_heatmap
from crossling.analysis.transfer import (
    CONTROL,
    Cell,
    all_asymmetries,
    control_subtracted,
    transfer_matrix,
)
from crossling.config import ExperimentConfig
from crossling.io import atomic_write_json, read_jsonl
from crossling.paths import RunDir


def _as_rows(matrix: dict[str, dict[str, Cell]], scorer: str, kind: str) -> list[dict[str, Any]]:
    return [{"adapter": a, "lang": lang, "scorer": scorer, "kind": kind, "steer": "none",
             **cell.as_dict()} for a, cols in matrix.items() for lang, cell in cols.items()]


def analyze_task(cfg: ExperimentConfig, run: RunDir, task: str) -> dict[str, Any]:
    """Statistics of one task's evaluation, keyed by prompt kind then scorer."""
    dcfg = cfg.tasks[task]
    scores = read_jsonl(run.eval(task).scores)
    kinds = list(dict.fromkeys(r.get("kind", "task") for r in scores))
    rows_order = [CONTROL, *dcfg.train_langs]
    out: dict[str, Any] = {"kinds": {}}
    n_boot = cfg.eval.n_boot
    for kind in kinds:
        per_scorer: dict[str, Any] = {}
        for scorer in cfg.scorers_for(task):
            matrix = transfer_matrix(scores, scorer, cfg.seed, kind, n_boot)
            if not matrix:
                continue
            delta = control_subtracted(scores, scorer, cfg.seed, kind, n_boot)
            asym = all_asymmetries(scores, scorer, cfg.seed, kind, n_boot)
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
            per_scorer[scorer] = {
                "matrix": {a: {lang: c.as_dict() for lang, c in cols.items()}
                           for a, cols in matrix.items()},
                "control_subtracted": {a: {lang: c.as_dict() for lang, c in cols.items()}
                                       for a, cols in delta.items()},
                "asymmetry": [x.as_dict() | {"sentence": x.sentence(scorer)} for x in asym],
                "figure": str(fig.relative_to(run.root)),
                "figure_delta": str(fig_delta.relative_to(run.root)) if fig_delta else None,
            }
        out["kinds"][kind] = per_scorer
    return out


def run_analyze(cfg: ExperimentConfig, run: RunDir) -> dict[str, Any]:
    """Analyze every task; cheap, so it always reruns (no stamp)."""
    from crossling.behaviour.run import analysis_entries

    result = {"tasks": {task: analyze_task(cfg, run, task) for task in cfg.tasks
                        if run.eval(task).scores.exists()}}
    if cfg.behaviour.enabled:
        result.update(analysis_entries(run.behaviour(cfg.behaviour.task)))
    atomic_write_json(run.analysis, result)
    return result
