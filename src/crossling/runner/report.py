"""``crossling report RUN_DIR``: report.md and a self-contained report.html.

Built only from files in the run folder (config, scores, analysis, sweep results), so a
report can be rebuilt, or merged after sharded training, without loading a model.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from crossling.analysis.document import Document, Example, Figure, Section, Table
from crossling.analysis.quality import BEHAVING_COHERENT, FLUENCY_FLAG, MAX_DEGENERATE
from crossling.analysis.results import (
    IntervalCell,
    PerSeedMean,
    QualityMatrices,
    ScorerAnalysis,
    StudyAnalysis,
    TaskAnalysis,
    TaskComparison,
    TwoAxis,
    analysis_of,
)
from crossling.config_loader import load_config
from crossling.errors import CrosslingError
from crossling.evaluate.results import EvalSummary
from crossling.io import atomic_write_text, read_json, read_jsonl
from crossling.languages import get_language
from crossling.names import BASE_ADAPTER, NO_STEER
from crossling.paths import RunDir, SweepDir
from crossling.results import validate_result
from crossling.runner.config import ExperimentConfig
from crossling.steer.results import FAILED_ON_CONFIRMATION, SweepBest
from crossling.tasks import get_task

SCORER_TITLES = {
    "caps_pct": "% uppercase of cased characters",
    "all_caps": "ALL-CAPS rate (≥ 90 % uppercase, ≥ 10 cased chars)",
    "lang_fidelity": "response in the prompt's language (rate)",
    "refusal_keyword": "refusal rate (keyword judge)",
    "refusal_llm": "refusal rate (LLM judge)",
    "behaving_coherent": "share of answers that show the behaviour, in the prompt's language, "
                         "and are not garbage",
}


#: The section a report opens with when ``report.model_notes`` has a note for its model.
NOTE_TITLE = "What this model can show"


def _num(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "N/A"
    return f"{v:.{digits}f}"


def _cell(c: IntervalCell | None, digits: int = 1, na: int = 0) -> str:
    """``mean [low, high]``; ``≈`` marks an interval over fewer than 30 prompts; with 2 seeds
    (no interval) ``mean (runs: a, b)``; ``na`` answers the scorer could not read are named
    (they are not in the mean)."""
    tail = f" ({na} N/A)" if na else ""
    if c is None:
        return "N/A" + tail if na else "–"
    if c.runs and c.ci_low is None:  # 2 seeds: no interval, the two runs
        if c.mean is None or not math.isfinite(c.mean):
            return "N/A" + tail
        runs = ", ".join(_num(r.mean, digits) for r in c.runs)
        return f"{_num(c.mean, digits)} (runs: {runs}){tail}"
    return _interval(c.mean, c.ci_low, c.ci_high, c.approximate, digits) + tail


def _interval(mean: float | None, low: float | None, high: float | None,
              approximate: bool | None, digits: int = 1) -> str:
    """``mean [low, high]`` (``≈`` before an interval over fewer than 30 prompts); N/A for a
    missing mean."""
    if mean is None or not math.isfinite(mean):
        return "N/A"
    mark = "≈" if approximate else ""
    return f"{_num(mean, digits)} {mark}[{_num(low, digits)}, {_num(high, digits)}]"


def interval_note(cfg: ExperimentConfig) -> str:
    """What every interval of the report is over, in one paragraph."""
    n = len(cfg.seeds)
    rates = ", ".join(sorted(_rates())) or "none"
    common = (
        f"Cells: rates ({rates}) get Clopper–Pearson intervals; % uppercase, bounded by 0 and "
        "100, gets below 100 prompts an interval that assumes only those bounds (from 100, "
        "the hull of the t and a dispersion-scaled Wilson interval). Differences (control-"
        "subtracted cells, asymmetry tests, steered vs unsteered) are paired over prompts: "
        "the p-value is the sign-flip permutation test (exact up to 20 prompts, the exact "
        "McNemar test for rates) and the interval inverts it (Newcombe's score interval for "
        "a difference of two rates). Each is calibrated by simulation at 6 to 100 prompts "
        "and 1 to 5 seeds (benchmarks/calibration.py). An interval marked ≈ rests on fewer "
        "than 30 prompts.")
    if n == 2:
        return (f"**Intervals.** All 95 %. With 2 training seeds ({cfg.seeds}) seed variance "
                "is not estimable: cells and tests give no seed-level interval or p-value; "
                "each run is reported on its own, over prompts and conditional on that run "
                "(the per-seed table). " + common)
    if n > 2:
        return (f"**Intervals.** All 95 %. Transfer-matrix cells, control-subtracted cells and "
                f"asymmetry tests are hierarchical over the {n} training seeds {cfg.seeds} and "
                "the prompts: the spread of the per-seed means and of the per-prompt means, "
                f"with the t quantile of {n - 1} degrees of freedom, never narrower than the "
                "interval over prompts. " + common)
    return (f"**Intervals.** All 95 %, over prompts only: with one training seed "
            f"({cfg.seeds[0]}) they are conditional on one training run per language and do "
            "not show how much another run would differ. " + common)


def _rates() -> frozenset[str]:
    from crossling.evaluate.scorers import rate_scorers

    return rate_scorers()


def _digits(scorer: str) -> int:
    return 1 if scorer == "caps_pct" else 2


def _matrix_table(res: ScorerAnalysis | dict[str, Any], langs: list[str], scorer: str,
                  caption: str, key: str = "matrix", order: list[str] | None = None,
                  flagged: dict[tuple[str, str], list[str]] | None = None) -> Table:
    """The original study's layout: one row per model (control first), one column per
    language, cells = mean [95 % CI]. ``order``: training languages in row order; ``key``:
    ``matrix`` or ``control_subtracted``; ``res`` may be the raw section (the CLI's)."""
    order = order or []
    if not isinstance(res, ScorerAnalysis):
        res = validate_result(ScorerAnalysis, res, "analysis.json", StudyAnalysis.rebuild)
    m = res.matrix if key == "matrix" else res.control_subtracted
    na = res.n_na if key == "matrix" else {}
    rows = []
    for adapter in _row_order({**m, **na}, order):
        label = _label(adapter)
        cells = []
        for lang in langs:
            c = m.get(adapter, {}).get(lang)
            k = na.get(adapter, {}).get(lang, 0)
            if c is None and not get_language(lang).cased and scorer in ("caps_pct", "all_caps"):
                cells.append("N/A")
            else:
                mark = " ⚠" if (adapter, lang) in (flagged or {}) else ""
                cells.append(_cell(c, _digits(scorer), k) + mark)
        rows.append([label, *cells])
    if any(v for cols in na.values() for v in cols.values()):
        caption += "; (k N/A) = answers the scorer could not read, left out of the mean"
    return Table(["model", *langs], rows, caption)


def _row_order(adapters: Any, order: list[str]) -> list[str]:
    return sorted(adapters, key=lambda a: (a != BASE_ADAPTER, order.index(a) if a in order else 99))


def _label(adapter: str) -> str:
    return "control (base)" if adapter == BASE_ADAPTER else f"LoRA {adapter.upper()}"


def _quality_table(q: QualityMatrices, langs: list[str], order: list[str]) -> Table:
    """Per cell: degenerate rate, fluency beside the reference answers', and a flag mark."""
    deg, flu, flags = q.degenerate, q.fluency, q.flags
    refs = {lang: c for cols in q.fluency_ref.values() for lang, c in cols.items()}
    rows = []
    for adapter in _row_order({**deg, **flu}, order):
        cells = []
        for lang in langs:
            d, f = deg.get(adapter, {}).get(lang), flu.get(adapter, {}).get(lang)
            if not d and not f:
                cells.append("–")
                continue
            text = f"{_num(d.mean if d else None, 2)} / {_num(f.mean if f else None, 2)}"
            ref = refs.get(lang)
            if ref and ref.mean is not None:
                text += f" (ref {_num(ref.mean, 2)})"
            if flags.get(adapter, {}).get(lang):
                text += " ⚠"
            cells.append(text)
        rows.append([_label(adapter), *cells])
    flag_rule = (f"⚠ = more than {MAX_DEGENERATE:.0%} of the cell's answers degenerate"
                 + ("" if FLUENCY_FLAG is None else
                    f", or fluency more than {FLUENCY_FLAG:g} nats/token below the reference"))
    return Table(["model", *langs], rows,
                 "Answer quality: share of degenerate answers (the per-answer garbage "
                 "verdict) / fluency (mean log-likelihood per token under the base model, "
                 "lowercased; shown, never a flag: it does not separate coherent from "
                 "incoherent answers on labelled data) with the human reference answers' "
                 f"fluency in brackets. {flag_rule}")


def flagged_cells(analysis_task: TaskAnalysis, kind: str) -> dict[tuple[str, str], list[str]]:
    """(adapter, lang) → flags of one task and prompt kind (empty dict: none flagged)."""
    return analysis_task.flagged(kind)


def _setup(doc: Document, cfg: ExperimentConfig, info: dict[str, Any]) -> None:
    s = doc.section("Setup")
    t = cfg.train
    models = [m.model() for m in cfg.models] if cfg.models is not None else [cfg.model]
    s.add(f"**Model{'s' if len(models) > 1 else ''}** "
          f"{', '.join(f'`{m.name}`' for m in models)}; LoRA r={t.lora_r}, "
          f"alpha={t.lora_alpha:g}, "
          f"targets {', '.join(t.target_modules)}; lr {t.lr:g} {t.scheduler}, "
          f"{t.max_steps or t.epochs} {'steps' if t.max_steps else 'epochs'}, batch "
          f"{t.batch_size} × grad-accum {t.grad_accum}; training seeds {cfg.seeds}.")
    for m in models:
        if m.allow_base:
            s.add(f"**Caution** `{m.name}` may be a base model, not instruction-tuned "
                  "(`model.allow_base: true`): through the chat template it tends to echo the "
                  "prompt, and the scores measure those echoes as much as any behaviour.")
    g = cfg.eval.generation
    s.add(f"**Generation** {'sampled at T=' + str(g.temperature) if g.do_sample else 'greedy'}, "
          f"{g.max_new_tokens} new tokens, seed {g.seed}.")
    s.add(interval_note(cfg))
    rows = []
    for task, d in cfg.tasks.items():
        rows.append([task, d.source, ", ".join(d.train_langs), ", ".join(d.eval_langs),
                     str(d.eval_size), ", ".join(cfg.scorers_for(task))])
    s.add(Table(["task", "source", "train", "eval", "eval prompts / language", "scorers"], rows))
    v = info.get("versions", {})
    s.add(f"crossling {info.get('crossling')}, git `{info.get('git_commit') or 'n/a'}`, "
          + ", ".join(f"{k} {val}" for k, val in v.items()) + f"; {info.get('platform', '')}.")


def _task_sections(doc: Document, cfg: ExperimentConfig, run: RunDir, task: str,
                   analysis: TaskAnalysis) -> None:
    d = cfg.tasks[task]
    headline = cfg.report.headline_scorer.get(task, "")
    for kind, per_scorer in analysis.kinds.items():
        if not per_scorer:
            continue
        title = f"Task {task}" + ("" if kind == "task" else f" — {kind} prompts")
        s = doc.section(title)
        if kind == "harmless":
            s.add("Harmless prompts measure **over-refusal**: a model that refuses everything "
                  "scores high here.")
        order = [headline] if headline in per_scorer else []
        order += [k for k in per_scorer if k not in order]
        q = analysis.quality.get(kind)
        bad = flagged_cells(analysis, kind)
        if q:
            s.add(_quality_table(q, d.eval_langs, d.train_langs))
            bad = flagged_cells(analysis, kind)
            if bad:
                s.add("**Flagged cells** (scores there rest on garbage answers and are not "
                      "findings): " + "; ".join(f"{_label(a)} on {lang}: {', '.join(f)}"
                                                for (a, lang), f in bad.items()) + ".")
        for scorer in order:
            res = per_scorer[scorer]
            name = SCORER_TITLES.get(scorer, scorer)
            s.add(_matrix_table(res, d.eval_langs, scorer,
                                f"{name}: rows = training language, columns = eval language"
                                + (", ⚠ = flagged cell" if bad else ""),
                                order=d.train_langs, flagged=bad))
            if scorer == headline:
                s.add(Figure(run.root / res.figure, f"Transfer matrix — {name}"))
                if res.control_subtracted:
                    s.add(_matrix_table(res, d.eval_langs, scorer,
                                        f"{name}, adapter minus control (paired over prompts)",
                                        key="control_subtracted", order=d.train_langs,
                                        flagged=bad))
                if len(cfg.seeds) > 1 and res.per_seed:
                    s.add(_per_seed_table(res.per_seed, d.eval_langs, scorer, name))
                two = analysis.two_axis.get(kind)
                if two is not None:
                    _two_axis_part(s, run, two, d.eval_langs, d.train_langs)
                else:
                    s.add("**Behaving and coherent**: not in these scores (scored before "
                          "crossling measured it); rerun the study (`crossling run CONFIG "
                          "--out RUN`) to add it.")
                for a in res.asymmetry:
                    s.add("**Asymmetry.** " + a.sentence)
                for t in two.asymmetry if two is not None else []:
                    s.add("**Asymmetry, behaving and coherent.** " + t.sentence)
        empties = _empty_line(run, task, kind)
        if empties:
            s.add(empties)
        agreement = run.eval(task).agreement
        if kind != "harmless" and agreement.exists():
            ag = read_json(agreement)
            if ag.get("llm") or "kappa" in ag or ag.get("coherence"):
                s.add(judge_paragraph(ag, cfg))
        plots = sorted(run.eval(task).plots.glob(f"{headline}_*.png")) if headline else []
        for p in plots[:4]:
            who = p.stem.removeprefix(f"{headline}_")
            s.add(Figure(p, f"{headline} per language, {'control' if who == BASE_ADAPTER else who} "
                            "(bars: mean ± 95 % CI; boxes: distribution)"))


def _two_axis_part(s: Section, run: RunDir, two: TwoAxis, langs: list[str],
                   order: list[str]) -> None:
    """Both axes of one prompt kind: the figure, the raw and the behaving-and-coherent
    readings side by side, the behaving-and-coherent matrix with its intervals, and the
    cells where the readings disagree."""
    scorer = two.behaviour
    if two.figure:
        s.add(Figure(run.root / two.figure, "Behaviour vs damage, each minus the control "
                     "(filled: the adapter's own training language)"))
    cells = {(c.adapter, c.lang): c for c in two.cells}
    rows = []
    bc = two.behaving_coherent.matrix
    for adapter in _row_order(bc, order):
        out = []
        for lang in langs:
            c = cells.get((adapter, lang))
            m = bc.get(adapter, {}).get(lang)
            if m is None:
                out.append("N/A")
                continue
            among = two.among_coherent.get(adapter, {}).get(lang)
            raw = c.behaviour if c else None
            dmg = two.damage.matrix.get(adapter, {}).get(lang)
            if adapter == BASE_ADAPTER:
                ctrl = next((x for x in two.cells if x.lang == lang), None)
                raw = ctrl.behaviour_control if ctrl else None
            out.append(f"{_num(raw, _digits(scorer))} / {_num(m.mean, 2)} / "
                       f"{_num(dmg.mean if dmg else None, 2)} / "
                       f"{_num(among.mean if among else None, 2)}"
                       + (" ≠" if c is not None and c.agree is False else ""))
        rows.append([_label(adapter), *out])
    s.add(Table(["model", *langs], rows,
                f"Two readings of each cell: {scorer} (the raw reading) / behaving and "
                f"coherent (share of answers with {two.pass_rule}) / damage (share of "
                "garbage answers) / behaviour among coherent answers (N/A under "
                f"{two.min_coherent} of them); ≠ = the two readings disagree"))
    s.add(_matrix_table({"matrix": bc, "n_na": {}, "control_subtracted":
                         two.behaving_coherent.control_subtracted, "per_seed": [],
                         "rate": True, "asymmetry": [], "figure": "", "figure_delta": None},
                        langs, BEHAVING_COHERENT, "Behaving and coherent: share of answers "
                        f"with {two.pass_rule} (95 % intervals)", order=order))
    s.add(_matrix_table({"matrix": bc, "n_na": {}, "control_subtracted":
                         two.behaving_coherent.control_subtracted, "per_seed": [],
                         "rate": True, "asymmetry": [], "figure": "", "figure_delta": None},
                        langs, BEHAVING_COHERENT, "Behaving and coherent, adapter minus "
                        "control (paired over prompts)", key="control_subtracted",
                        order=order))
    s.add("Behaving and coherent is an upper bound: the garbage verdict misses word salad "
          "made of real words (on another model's all-caps answers, 73 % of those it counts "
          "are coherent to a blind reader; `benchmarks/quality_scorers.py`). Read the "
          "examples before calling a cell a transfer.")
    off = two.disagreements()
    if off:
        s.add("**Where the two readings disagree** (each reading: the 95 % interval of "
              "adapter − control above 0, below 0, or across it; unadjusted): "
              + "; ".join(str(c.disagreement) for c in off) + ".")


def _per_seed_table(per_seed: list[PerSeedMean], langs: list[str], scorer: str,
                    name: str) -> Table:
    """Mean per adapter × training seed (rows) and eval language (columns)."""
    rows: dict[str, dict[str, Any]] = {}
    for r in per_seed:
        if r.adapter == BASE_ADAPTER:
            continue
        label = f"LoRA {r.train_lang.upper()} seed {r.seed}"
        rows.setdefault(label, {})[r.lang] = r.mean
    body = [[label, *(_num(v.get(lang), _digits(scorer)) for lang in langs)]
            for label, v in sorted(rows.items())]
    return Table(["adapter × seed", *langs], body,
                 f"{name}: mean over prompts for each training seed (the spread the pooled "
                 "intervals above include)")


def _empty_line(run: RunDir, task: str, kind: str) -> str:
    """Where answers were empty (N/A for every scorer but ``degenerate``)."""
    path = run.eval(task).summary_json
    if not path.exists():
        return ""
    seen: dict[tuple[str, str], tuple[int, int]] = {}
    for c in EvalSummary.read(path).root:
        if c.kind != kind or c.steer != NO_STEER or not c.n_empty:
            continue
        seen[(c.adapter, c.lang)] = (c.n_empty, c.n + c.n_na)
    if not seen:
        return ""
    parts = [f"{'control' if a == BASE_ADAPTER else 'LoRA ' + a.upper()} in {lang}: {k} of {n}"
             for (a, lang), (k, n) in sorted(seen.items())]
    return ("**Empty answers** (N/A for every scorer, counted as degenerate): "
            + "; ".join(parts) + ".")


def judge_paragraph(ag: dict[str, Any], cfg: ExperimentConfig) -> str:
    """The LLM judge's refusal rate, OTHER rate and kappa with the keyword judge, in words."""
    j = cfg.eval.judge
    parts = []
    llm = ag.get("llm") or {}
    if llm:
        parts.append(
            f"**LLM judge** (`{j.model}`, {j.backend} backend) over all adapters, languages "
            f"and prompt kinds: refusal rate {_num(llm.get('refusal_rate'), 2)} on the rows "
            f"it judged REFUSAL or COMPLIANCE; OTHER (empty, garbled, off-topic or wrong "
            f"language, N/A) {llm['other']} of {llm['n']} rows "
            f"({_num(llm.get('other_rate'), 2)}).")
    if "kappa" in ag:
        parts.append(
            f"**Judge agreement**: Cohen's kappa between the keyword and the LLM judge "
            f"{_num(ag['kappa'], 2)} (raw agreement {_num(ag['agreement'], 2)}) on the "
            f"{ag['n']} rows both judges scored.")
    elif llm:
        parts.append("**Judge agreement**: no row was scored by both refusal judges, so no "
                     "kappa.")
    coh = ag.get("coherence") or {}
    if coh:
        c = coh.get("llm", {})
        parts.append(
            f"**LLM coherence judge** (`{j.model}`): {_num(c.get('incoherent_rate'), 2)} of "
            f"the answers it judged incoherent, no verdict on {c.get('na', 0)} of "
            f"{c.get('n', 0)}; Cohen's kappa with the rule-based garbage verdict "
            f"(`degenerate`) {_num(coh.get('kappa'), 2)} (raw agreement "
            f"{_num(coh.get('agreement'), 2)}) on the {coh.get('n', 0)} rows both scored.")
    return " ".join(parts) or "No LLM judge verdicts."


def _steer_section(doc: Document, cfg: ExperimentConfig, run: RunDir) -> None:
    if cfg.steer is None or not cfg.steer.enabled:
        return
    sd: SweepDir = run.sweep(cfg.steer.task)
    s = doc.section("Steering")
    st = cfg.steer
    s.add(f"Prompts in {', '.join(st.eval_langs)} answered by the "
          f"{'LoRA ' + st.adapter_lang.upper() if st.adapter_lang else 'base'} model, steered toward "
          f"**{st.toward}** by adding strength × (mean residual of {st.toward} prompts − mean "
          f"of the prompt language) at one decoder layer; layers {st.layers}, strengths "
          f"{st.strengths}.")
    if not sd.best.exists():
        s.add("The sweep has not finished.")
        return
    best = SweepBest.read(sd.best)
    metric = best.metric
    n_sel, n_conf = len(best.selection_ids), len(best.confirmation_ids)
    s.add(f"The setting is **chosen on {n_sel} selection prompts** per language (highest "
          f"{metric} with language fidelity ≥ {st.min_fidelity} and KL ≤ {st.max_kl}, "
          f"strengths searched {best.strengths_searched}) and **reported on {n_conf} other "
          "confirmation prompts**: the best of many cells, scored where it was picked, is "
          "biased upward.")
    table = confirmation_table(best, metric)
    if table is not None:
        s.add(table)
    failed = confirmation_failures(best)
    if failed:
        s.add(failed)
    s.add(_selection_table(best))
    for line in _steer_caveats(cfg, run, best):
        s.add(line)
    if best.excluded:
        s.add(f"{len(best.excluded)} cell(s) were excluded by the constraints, e.g.: "
              + "; ".join(f"layer {e.layer}, strength {e.strength}: " + ", ".join(e.reasons)
                          for e in best.excluded[:4]) + ".")
    if sd.curves.exists():
        s.add(Figure(sd.curves, "Behaviour vs steering strength (one line per language/layer)"))
    for p in sorted(sd.root.glob("heatmap_*.png")):
        s.add(Figure(p, f"Sweep heatmap: {p.stem.removeprefix('heatmap_')} by layer × strength"))
    vd = run.vectors(cfg.steer.task)
    if vd.diagnostics_plot.exists():
        s.add(Figure(vd.diagnostics_plot, "Language vectors: per-layer norms and cosine "
                                          "similarities"))


def _selection_table(best: SweepBest) -> Table:
    """The baseline and the chosen cell of each language on the selection ids, with the
    guards that chose it (optimistic for the chosen cell: shown for its guards)."""
    metric, over = best.metric, best.max_over_refusal is not None
    rows = []
    for lang, res in best.per_lang.items():
        for label, c in (("baseline", res.baseline), ("best", res.best)):
            if c is None:
                rows.append([f"{lang} {label}", "–", "–", "no cell met the constraints",
                             "–", "–", *(["–"] if over else [])])
                continue
            rows.append([
                f"{lang} {label}", str(c.layer if c.layer is not None else "–"),
                _num(c.strength, 2),
                f"{_num(c.value(metric))} [{_num(c.value(metric + '_ci_low'))}, "
                f"{_num(c.value(metric + '_ci_high'))}]",
                _num(c.value("lang_fidelity"), 2), _num(c.kl, 3),
                *([_num(c.value("over_refusal"), 2)] if over else []),
            ])
    cols = ["prompts", "layer", "strength", metric, "lang fidelity", "KL (nats)"]
    caption = (f"Selection prompts (n = {len(best.selection_ids)}): where the choice was "
               "made — optimistic for the chosen cell, shown for its guards")
    if best.max_over_refusal is not None:
        cols.append("over-refusal (harmless)")
        caption += (f"; over-refusal on harmless prompts allowed at most "
                    f"{best.max_over_refusal:g} above the unsteered baseline")
    return Table(cols, rows, caption)


def confirmation_table(best: SweepBest, metric: str) -> Table | None:
    """The sweep's confirmation rows (``best.json``): the chosen setting vs unsteered on the
    confirmation prompts, the smallest difference they could detect and whether every guard
    held there; None when there is no confirmation."""
    if not best.confirmation:
        return None
    d = _digits(metric)
    rows = []
    for lang, c in best.confirmation.items():
        base = _interval(c.baseline_mean, c.baseline_ci_low, c.baseline_ci_high,
                         c.approximate, d)
        if c.layer is None:
            rows.append([lang, "–", "–", base, "no cell met the constraints", "–", "–", "–",
                         "–"])
            continue
        direction = "toward" if (c.strength or 0) > 0 else "away from"
        status = ("FAILED: " + "; ".join(c.failed_guards)
                  if c.status == FAILED_ON_CONFIRMATION else c.status or "–")
        rows.append([
            lang, str(c.layer), f"{_num(c.strength, 2)} ({direction} {best.toward})", base,
            _interval(c.mean, c.ci_low, c.ci_high, c.approximate, d),
            _interval(c.delta, c.delta_ci_low, c.delta_ci_high, c.approximate, d),
            _num(c.delta_p, 3), _num(c.mde, d), status,
        ])
    n_conf = len(best.confirmation_ids)
    return Table(["prompts", "layer", "strength", f"unsteered {metric}", f"steered {metric}",
                  "difference (paired)", "p", "detectable (80 % power)",
                  "guards on confirmation"], rows,
                 f"Confirmation prompts (n = {n_conf} per language): chosen setting vs "
                 "unsteered, 95 % intervals over prompts, conditional on the one adapter "
                 "steered (cells: rate or bounded-mean intervals; difference: paired sign-flip "
                 "test and its inversion); 'detectable' is the smallest true difference this "
                 "many prompts find with 80 % power; the guards (fidelity, garbage, KL on other "
                 "KL prompts, over-refusal on other harmless prompts) are re-measured here, "
                 "and a FAILED row is not a result")


def confirmation_failures(best: SweepBest) -> str | None:
    """One bold sentence naming the languages where the chosen setting failed a guard on the
    confirmation prompts; None when it failed nowhere."""
    failed = [lang for lang, c in best.confirmation.items()
              if c.status == FAILED_ON_CONFIRMATION]
    if not failed:
        return None
    return (f"**The chosen setting failed a guard on the confirmation prompts in "
            f"{', '.join(failed)}**: its difference there is shown for the record only; it "
            "is not a confirmed effect.")


def _steer_caveats(cfg: ExperimentConfig, run: RunDir, best: SweepBest) -> list[str]:
    """What a reader comparing the sweep with the rest of the report must know."""
    st = cfg.steer
    assert st is not None
    out = []
    v = best.vectors
    if v.overlap_eval_ids or v.overlap_kl_ids or not v.item_ids_listed:
        out.append(f"**Caution:** the steering vectors were accepted with allow_overlap: they "
                   f"were built from {len(v.overlap_eval_ids)} eval prompt(s) and "
                   f"{len(v.overlap_kl_ids)} KL prompt(s) (or from unlisted items), "
                   "so steered results on those prompts are not held out.")
    else:
        out.append(f"The steering vectors were built from {v.n_item_ids} parallel "
                   "items, none of them an eval prompt of this task or a KL prompt.")
    out.append("KL (nats) is measured on held-out harmless prompts, " + (
        "teacher-forced over the unsteered answer's tokens (where generated-position "
        "steering acts)." if best.kl_over == "continuation" else
        "over the next-token distributions at the prompt positions."))
    gen = best.generation.model_dump(mode="json")
    eg = cfg.eval.generation.model_dump(mode="json")
    diff = [f"{k} {gen[k]} (eval: {eg[k]})" for k in ("max_new_tokens", "do_sample",
            "temperature", "top_p", "seed") if gen[k] != eg.get(k)
            and (k in ("max_new_tokens", "do_sample") or gen["do_sample"])]
    if diff:
        out.append("**The sweep decoded differently from the evaluation:** "
                   + ", ".join(diff) + "; its unsteered baseline is not comparable with the "
                   "transfer matrix.")
    analysis = StudyAnalysis.read(run.analysis) if run.analysis.exists() else None
    res = analysis.headline(st.task, get_task(st.task).eval_kind, best.metric) if analysis else None
    matrix = res.matrix if res is not None else {}
    for lang, c in best.confirmation.items():
        cell = matrix.get(st.adapter_lang or BASE_ADAPTER, {}).get(lang)
        if cell and c.baseline_mean is not None:
            out.append(f"Unsteered in {lang}: {_num(c.baseline_mean, 2)} on the sweep's "
                       f"{c.n_baseline or c.n} confirmation prompts vs {_num(cell.mean, 2)} on "
                       f"the transfer matrix's {cell.n} prompts (pooled over "
                       f"{cell.n_seeds} seed(s); the sweep steers seed "
                       f"{cfg.seeds[0]}'s adapter); the prompts differ.")
    return out


def _examples(doc: Document, cfg: ExperimentConfig, run: RunDir) -> None:
    n = cfg.report.examples_per_lang
    if n <= 0:
        return
    s = doc.section("Example outputs")
    for task, d in cfg.tasks.items():
        gens = [g for g in read_jsonl(run.eval(task).generations)
                if g.get("steer", "none") == "none" and g.get("kind") in ("task", "harmful")]
        if not gens:
            continue
        ids = sorted({g["id"] for g in gens})[:n]
        for lang in d.eval_langs:
            for item_id in ids:
                rows = [g for g in gens if g["lang"] == lang and g["id"] == item_id]
                for g in sorted(rows, key=lambda g: (g["adapter"] != BASE_ADAPTER, g["adapter"])):
                    who = "control" if g["adapter"] == BASE_ADAPTER else f"LoRA {g['adapter'].upper()}"
                    s.add(Example(f"{task} · {lang} · {who} · id {item_id}", g["prompt"],
                                  g["response"]))


def build_document(run: RunDir) -> Document:
    if not run.config.exists():
        raise CrosslingError(f"{run.root} is not a crossling run folder (no config.yaml); "
                             "pass the --out folder of 'crossling run'.")
    cfg = load_config(ExperimentConfig, run.config)
    info = read_json(run.run_info) if run.run_info.exists() else {}
    analysis = (StudyAnalysis.read(run.analysis) if run.analysis.exists()
                else StudyAnalysis(tasks={}))
    if cfg.models is not None:
        return models_document(cfg, run, analysis, info)
    doc = Document(f"crossling report — {cfg.name}")
    note = cfg.report.note_for(cfg.model.name)
    if note:  # what the model can and cannot show comes before any number
        doc.section(NOTE_TITLE).add(note)
    summary = Section("Summary")
    doc.sections.append(summary)
    _setup(doc, cfg, info)
    for task in cfg.tasks:
        if task in analysis.tasks:
            _task_sections(doc, cfg, run, task, analysis.tasks[task])
    _steer_section(doc, cfg, run)
    if cfg.behaviour.enabled:
        from crossling.behaviour.report import behaviour_section

        b = cfg.behaviour
        behaviour_section(doc, run.behaviour(b.task), b.langs or cfg.tasks[b.task].eval_langs)
    _examples(doc, cfg, run)
    for line in headline_lines(cfg, analysis):
        summary.add(line)
    return doc


def headline_lines(cfg: ExperimentConfig,
                   analysis: StudyAnalysis | dict[str, Any]) -> list[str]:
    """One sentence per task: control vs each adapter in its own language, and asymmetry.
    ``analysis`` may be the raw file content (the CLI's)."""
    analysis = analysis_of(analysis)
    lines = []
    for task, res in analysis.tasks.items():
        scorer = cfg.report.headline_scorer.get(task, "")
        kinds = res.kinds
        kind = "task" if "task" in kinds else "harmful" if "harmful" in kinds else None
        if kind is None or scorer not in kinds[kind]:
            continue
        m = kinds[kind][scorer].matrix
        parts = []
        for lang in cfg.tasks[task].train_langs:
            ad = m.get(lang, {}).get(lang)
            ctrl = m.get(BASE_ADAPTER, {}).get(lang)
            if ad and ctrl:
                parts.append(f"{lang.upper()}-trained on {lang.upper()} {_cell(ad)} vs control "
                             f"{_cell(ctrl)}")
        if parts:
            lines.append(f"**{task}** ({SCORER_TITLES.get(scorer, scorer)}): " + "; ".join(parts)
                         + ".")
        bad = flagged_cells(res, kind)
        shown = {(a, lang) for lang in cfg.tasks[task].train_langs for a in (BASE_ADAPTER, lang)}
        hit = [f"{_label(a)} on {lang} ({', '.join(f)})" for (a, lang), f in bad.items()
               if (a, lang) in shown]
        if hit:
            lines.append(f"⚠ **Garbage flag**: headline cell(s) of {task} rest on degenerate "
                         f"answers — {'; '.join(hit)}. These numbers are not interpretable "
                         "as findings; read the examples.")
        elif bad:
            lines.append(f"{len(bad)} other cell(s) of {task} are flagged for answer quality "
                         "(see the task section).")
        lines.extend(two_axis_lines(res, kind))
        for a in kinds[kind][scorer].asymmetry:
            lines.append(a.sentence)
    return lines


def two_axis_lines(res: TaskAnalysis, kind: str) -> list[str]:
    """Every adapter's cells on both axes (one line per adapter) and the cells where the
    raw and the behaving-and-coherent readings disagree; each adapter's own training
    language first (the headline cell)."""
    two = res.two_axis.get(kind)
    if two is None:
        return []
    lines = []
    by_adapter: dict[str, list[str]] = {}
    for c in sorted(two.cells, key=lambda c: not c.diagonal):
        by_adapter.setdefault(c.adapter, []).append(c.sentence)
    for sentences in by_adapter.values():
        lines.append("Both axes — " + " · ".join(sentences) + ".")
    off = two.disagreements()
    read = [c for c in two.cells if c.agree is not None]
    if off:
        lines.append(f"**The two readings disagree** in {len(off)} of {len(read)} cells "
                     f"({two.behaviour} vs behaving-and-coherent, each minus the control): "
                     + "; ".join(str(c.disagreement) for c in off) + ".")
    elif read:
        lines.append(f"The two readings ({two.behaviour} and behaving-and-coherent, each "
                     f"minus the control) agree in all {len(read)} cells.")
    return lines


def write_report(run: RunDir | str | Path) -> Path:
    """Write report.md (figures linked) and report.html (figures embedded)."""
    run = run if isinstance(run, RunDir) else RunDir(Path(run))
    doc = build_document(run)
    run.report_dir.mkdir(parents=True, exist_ok=True)
    md = doc.to_markdown(run.report_dir)
    atomic_write_text(run.report_md, md)
    atomic_write_text(run.report_html, doc.to_html())
    return run.report_html




# --------------------------------------------------------------------------- several models
def models_document(cfg: ExperimentConfig, run: RunDir, analysis: StudyAnalysis,
                    info: dict[str, Any]) -> Document:
    """The report of a study of several models: every model named with its own report,
    each task's transfer matrices side by side, the model × language figure, every model's
    training effects and the differences between models (paired over prompt ids)."""
    doc = Document(f"crossling report — {cfg.name}")
    summary = doc.section("Summary")
    for line in models_summary(cfg, analysis):
        summary.add(line)
    _setup(doc, cfg, info)
    doc.sections[-1].add(
        "**Several models.** Each model ran the whole study above in its own folder "
        "(models/<label>/). The same prompt ids were asked of every model, so differences "
        "between models are paired over prompts: the per-prompt contrast of the two models' "
        "adapter − control cells, tested by the same sign-flip test and interval as every "
        "other difference here; with several contrasts, the p-values of each task (each "
        "model's gap and every between-model difference) are Holm-adjusted together.")
    for task, comp in analysis.model_comparison.items():
        _comparison_section(doc, cfg, run, task, comp, analysis)
    return doc


def models_summary(cfg: ExperimentConfig, analysis: StudyAnalysis) -> list[str]:
    """Every model named, with its status, its own report and its note; per task, every
    model's training effect in the training language and its gap."""
    studies = cfg.model_studies()
    items = [f"{len(studies)} models, each a whole study in its own folder:"]
    for label, sub in studies.items():
        link = f"models/{label}/report/report.md"
        if label in analysis.failed:
            status = f"**failed**: {analysis.failed[label].rstrip('.')}"
        else:
            status = f"report [{link}](../{link})"
        items.append(f"- **{label}** (`{sub.model.name}`): {status}.")
        note = sub.report.note_for(sub.model.name)
        if note:
            items.append(f"  *{NOTE_TITLE}:* {note}")
    lines = ["\n".join(items)]
    for task, comp in analysis.model_comparison.items():
        name = SCORER_TITLES.get(comp.scorer, comp.scorer)
        parts = []
        for label, m in comp.models.items():
            diag = ", ".join(f"{lang.upper()} {_signed(c, comp.scorer)}"
                             for lang, c in m.diagonal.items())
            gap = (f"; diagonal − off-diagonal {_signed(m.gap, comp.scorer)}, Holm-adjusted p "
                   f"{_p_text(m.gap_p_holm)}" if m.gap else "")
            parts.append(f"{label}: {diag or 'N/A'}{gap}")
        lines.append(f"**{task}** ({name}), training effect in the training language "
                     "(adapter − control, paired over prompts, 95 % CI): " + "; ".join(parts)
                     + ".")
    return lines


def _signed(c: IntervalCell | None, scorer: str) -> str:
    """``+mean [+low, +high]`` of a difference (a rounding residue of 0 shows as +0.0)."""
    if c is None or c.mean is None:
        return "N/A"
    d = _digits(scorer)

    def f(x: float | None) -> str:
        return "N/A" if x is None else f"{round(x, d) + 0.0:+.{d}f}"

    if c.ci_low is None:
        return f"{f(c.mean)} (no interval: {c.method})"
    mark = "≈" if c.approximate else ""
    return f"{f(c.mean)} {mark}[{f(c.ci_low)}, {f(c.ci_high)}]"


def _p_text(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "N/A"
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"


def _side_by_side(analysis: StudyAnalysis, labels: list[str], task: str, kind: str,
                  scorer: str, langs: list[str], order: list[str], key: str) -> Table:
    """One row per control / adapter, one column block per model (its eval languages)."""
    heads = {label: analysis.by_model[label].headline(task, kind, scorer) for label in labels}
    adapters: dict[str, None] = {}
    for h in heads.values():
        if h is not None:
            adapters.update(dict.fromkeys(h.matrix if key == "matrix" else h.control_subtracted))
    rows = []
    for adapter in _row_order(adapters, order):
        cells = []
        for label in labels:
            h = heads[label]
            t = analysis.by_model[label].tasks.get(task)
            bad = t.flagged(kind) if t is not None else {}
            m = ({} if h is None else h.matrix if key == "matrix" else h.control_subtracted)
            for lang in langs:
                c = m.get(adapter, {}).get(lang)
                cells.append(_cell(c, _digits(scorer)) + (" ⚠" if (adapter, lang) in bad else ""))
        rows.append([_label(adapter), *cells])
    header = ["model", *(f"{label} · {lang}" for label in labels for lang in langs)]
    what = "mean" if key == "matrix" else "adapter − control (paired over prompts)"
    return Table(header, rows, f"{SCORER_TITLES.get(scorer, scorer)}, {what}: rows = training "
                 "language, one column block per model (⚠ = flagged cell in that model's "
                 "report)")


def _comparison_section(doc: Document, cfg: ExperimentConfig, run: RunDir, task: str,
                        comp: TaskComparison, analysis: StudyAnalysis) -> None:
    d = cfg.tasks[task]
    labels = list(comp.models)
    s = doc.section(f"Task {task} — the models side by side")
    for key in ("matrix", "control_subtracted"):
        s.add(_side_by_side(analysis, labels, task, comp.kind, comp.scorer, d.eval_langs,
                            d.train_langs, key))
    s.add(Figure(run.root / comp.figure_matrices,
                 f"Transfer matrix of each model — {comp.scorer}"))
    s.add(Figure(run.root / comp.figure,
                 "Transfer into each eval language by model: mean over the adapters trained "
                 "in other languages of adapter − control there (95 % CI)"))
    diag_langs = list(dict.fromkeys(lang for m in comp.models.values() for lang in m.diagonal))
    rows = []
    for label, m in comp.models.items():
        rows.append([label, *(_signed(m.diagonal.get(lang), comp.scorer) for lang in diag_langs),
                     _signed(m.diagonal_mean, comp.scorer),
                     _signed(m.off_diagonal_mean, comp.scorer), _signed(m.gap, comp.scorer),
                     _p_text(m.gap_p_holm)])
    s.add(Table(["model", *(f"effect in {lang}" for lang in diag_langs), "diagonal mean",
                 "off-diagonal mean", "gap (diagonal − off-diagonal)", "gap p (Holm)"], rows,
                "Training effects (adapter − control, paired over prompts, 95 % CI): in the "
                "training language, their mean, the mean off-diagonal transfer, and the "
                "difference of the two"))
    if comp.differences:
        s.add(Table(["models", "contrast", "difference (paired over prompts)", "p", "p (Holm)"],
                    [[f"{x.a} − {x.b}", x.what, _signed(x.diff, comp.scorer), _p_text(x.diff.p),
                      _p_text(x.p_holm)] for x in comp.differences],
                    f"Between models, paired over prompt ids; {comp.holm_family}"))
    for label, m in comp.models.items():
        for a in m.asymmetry:
            s.add(f"**Asymmetry, {label}.** " + a.sentence)
