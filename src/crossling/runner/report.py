"""``crossling report RUN_DIR``: report.md and a self-contained report.html.

Built only from files in the run folder (config, scores, analysis, sweep results), so a
report can be rebuilt, or merged after sharded training, without loading a model.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from crossling.analysis.document import Document, Example, Figure, Section, Table
from crossling.config import ExperimentConfig, load_config
from crossling.errors import CrosslingError
from crossling.io import atomic_write_text, read_json, read_jsonl
from crossling.languages import get_language
from crossling.paths import RunDir, SweepDir

SCORER_TITLES = {
    "caps_pct": "% uppercase of cased characters",
    "all_caps": "ALL-CAPS rate (≥ 90 % uppercase, ≥ 10 cased chars)",
    "lang_fidelity": "response in the prompt's language (rate)",
    "refusal_keyword": "refusal rate (keyword judge)",
    "refusal_llm": "refusal rate (LLM judge)",
}


def _num(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "N/A"
    return f"{v:.{digits}f}"


def _cell(c: dict[str, Any] | None, digits: int = 1) -> str:
    if not c:
        return "–"
    if c.get("mean") is None or not math.isfinite(c["mean"]):
        return "N/A"
    return f"{_num(c['mean'], digits)} [{_num(c['ci_low'], digits)}, {_num(c['ci_high'], digits)}]"


def _digits(scorer: str) -> int:
    return 1 if scorer == "caps_pct" else 2


def _matrix_table(res: dict[str, Any], langs: list[str], scorer: str, caption: str,
                  key: str = "matrix", order: list[str] | None = None) -> Table:
    """The original study's layout: one row per model (control first), one column per
    language, cells = mean [95 % CI]. ``order``: training languages in row order."""
    order = order or []
    m = res[key]
    rows = []
    for adapter in sorted(m, key=lambda a: (a != "base", order.index(a) if a in order else 99)):
        label = "control (base)" if adapter == "base" else f"LoRA {adapter.upper()}"
        cells = []
        for lang in langs:
            c = m[adapter].get(lang)
            if c is None and not get_language(lang).cased and scorer in ("caps_pct", "all_caps"):
                cells.append("N/A")
            else:
                cells.append(_cell(c, _digits(scorer)))
        rows.append([label, *cells])
    return Table(["model", *langs], rows, caption)


def _setup(doc: Document, cfg: ExperimentConfig, info: dict[str, Any]) -> None:
    s = doc.section("Setup")
    t = cfg.train
    s.add(f"**Model** `{cfg.model.name}`; LoRA r={t.lora_r}, alpha={t.lora_alpha:g}, "
          f"targets {', '.join(t.target_modules)}; lr {t.lr:g} {t.scheduler}, "
          f"{t.max_steps or t.epochs} {'steps' if t.max_steps else 'epochs'}, batch "
          f"{t.batch_size} × grad-accum {t.grad_accum}; training seeds {cfg.seeds}.")
    g = cfg.eval.generation
    s.add(f"**Generation** {'sampled at T=' + str(g.temperature) if g.do_sample else 'greedy'}, "
          f"{g.max_new_tokens} new tokens; intervals are 95 % bootstrap CIs over prompts "
          f"({cfg.eval.n_boot} resamples, seed {cfg.seed}).")
    rows = []
    for task, d in cfg.tasks.items():
        rows.append([task, d.source, ", ".join(d.train_langs), ", ".join(d.eval_langs),
                     str(d.eval_size), ", ".join(cfg.scorers_for(task))])
    s.add(Table(["task", "source", "train", "eval", "eval prompts / language", "scorers"], rows))
    v = info.get("versions", {})
    s.add(f"crossling {info.get('crossling')}, git `{info.get('git_commit') or 'n/a'}`, "
          + ", ".join(f"{k} {val}" for k, val in v.items()) + f"; {info.get('platform', '')}.")


def _task_sections(doc: Document, cfg: ExperimentConfig, run: RunDir, task: str,
                   analysis: dict[str, Any]) -> None:
    d = cfg.tasks[task]
    headline = cfg.report.headline_scorer.get(task, "")
    kinds = analysis.get("kinds", {})
    for kind, per_scorer in kinds.items():
        if not per_scorer:
            continue
        title = f"Task {task}" + ("" if kind == "task" else f" — {kind} prompts")
        s = doc.section(title)
        if kind == "harmless":
            s.add("Harmless prompts measure **over-refusal**: a model that refuses everything "
                  "scores high here.")
        order = [headline] if headline in per_scorer else []
        order += [k for k in per_scorer if k not in order]
        for scorer in order:
            res = per_scorer[scorer]
            name = SCORER_TITLES.get(scorer, scorer)
            s.add(_matrix_table(res, d.eval_langs, scorer,
                                f"{name}: rows = training language, columns = eval language",
                                order=d.train_langs))
            if scorer == headline:
                s.add(Figure(run.root / res["figure"], f"Transfer matrix — {name}"))
                if res.get("control_subtracted"):
                    s.add(_matrix_table(res, d.eval_langs, scorer,
                                        f"{name}, adapter minus control (paired over prompts)",
                                        key="control_subtracted", order=d.train_langs))
                for a in res.get("asymmetry", []):
                    s.add("**Asymmetry.** " + a["sentence"])
        agreement = run.eval(task).agreement
        if kind != "harmless" and agreement.exists():
            ag = read_json(agreement)
            s.add(f"**Judge agreement** (Cohen's kappa): `{ag}`")
        plots = sorted(run.eval(task).plots.glob(f"{headline}_*.png")) if headline else []
        for p in plots[:4]:
            who = p.stem.removeprefix(f"{headline}_")
            s.add(Figure(p, f"{headline} per language, {'control' if who == 'base' else who} "
                            "(bars: mean ± 95 % CI; boxes: distribution)"))


def _steer_section(doc: Document, cfg: ExperimentConfig, run: RunDir) -> None:
    if cfg.steer is None or not cfg.steer.enabled:
        return
    sd: SweepDir = run.sweep(cfg.steer.task)
    s = doc.section("Steering")
    st = cfg.steer
    s.add(f"Prompts in {', '.join(st.eval_langs)} answered by the "
          f"{'LoRA ' + st.adapter.upper() if st.adapter else 'base'} model, steered toward "
          f"**{st.toward}** by adding strength × (mean residual of {st.toward} prompts − mean "
          f"of the prompt language) at one decoder layer; layers {st.layers}, strengths "
          f"{st.strengths}.")
    if not sd.best.exists():
        s.add("The sweep has not finished.")
        return
    best = read_json(sd.best)
    metric = best.get("metric", "caps_pct")
    rows = []
    for lang, res in best.get("per_lang", {}).items():
        for label in ("baseline", "best"):
            c = res.get(label)
            if not c:
                rows.append([f"{lang} {label}", "–", "–", "no cell met the constraints",
                             "–", "–"])
                continue
            rows.append([
                f"{lang} {label}", str(c.get("layer") if c.get("layer") is not None else "–"),
                _num(c.get("strength"), 2),
                f"{_num(c.get(metric))} [{_num(c.get(metric + '_ci_low'))}, "
                f"{_num(c.get(metric + '_ci_high'))}]",
                _num(c.get("lang_fidelity"), 2), _num(c.get("kl"), 3),
            ])
    s.add(Table(["prompts", "layer", "strength", metric, "lang fidelity", "KL (nats)"], rows,
                f"Chosen setting: highest {metric} with language fidelity ≥ {st.min_fidelity} "
                f"and KL ≤ {st.max_kl}"))
    excluded = best.get("excluded", [])
    if excluded:
        s.add(f"{len(excluded)} cell(s) were excluded by the constraints, e.g.: " + "; ".join(
            f"layer {e.get('layer')}, strength {e.get('strength')}: "
            + ", ".join(e.get("reasons", [])) for e in excluded[:4]) + ".")
    if sd.curves.exists():
        s.add(Figure(sd.curves, "Behaviour vs steering strength (one line per language/layer)"))
    for p in sorted(sd.root.glob("heatmap_*.png")):
        s.add(Figure(p, f"Sweep heatmap: {p.stem.removeprefix('heatmap_')} by layer × strength"))
    vd = run.vectors(cfg.steer.task)
    if vd.diagnostics_plot.exists():
        s.add(Figure(vd.diagnostics_plot, "Language vectors: per-layer norms and cosine "
                                          "similarities"))


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
                for g in sorted(rows, key=lambda g: (g["adapter"] != "base", g["adapter"])):
                    who = "control" if g["adapter"] == "base" else f"LoRA {g['adapter'].upper()}"
                    s.add(Example(f"{task} · {lang} · {who} · id {item_id}", g["prompt"],
                                  g["response"]))


def build_document(run: RunDir) -> Document:
    if not run.config.exists():
        raise CrosslingError(f"{run.root} is not a crossling run folder (no config.yaml); "
                             "pass the --out folder of 'crossling run'.")
    cfg = load_config(ExperimentConfig, run.config)
    info = read_json(run.run_info) if run.run_info.exists() else {}
    analysis = read_json(run.analysis) if run.analysis.exists() else {"tasks": {}}
    doc = Document(f"crossling report — {cfg.name}")
    summary = Section("Summary")
    doc.sections.append(summary)
    _setup(doc, cfg, info)
    for task in cfg.tasks:
        if task in analysis["tasks"]:
            _task_sections(doc, cfg, run, task, analysis["tasks"][task])
    _steer_section(doc, cfg, run)
    if cfg.behaviour.enabled:
        from crossling.behaviour.report import behaviour_section

        b = cfg.behaviour
        behaviour_section(doc, run.behaviour(b.task), b.langs or cfg.tasks[b.task].eval_langs)
    _examples(doc, cfg, run)
    for line in headline_lines(cfg, analysis):
        summary.add(line)
    return doc


def headline_lines(cfg: ExperimentConfig, analysis: dict[str, Any]) -> list[str]:
    """One sentence per task: control vs each adapter in its own language, and asymmetry."""
    lines = []
    for task, res in analysis.get("tasks", {}).items():
        scorer = cfg.report.headline_scorer.get(task, "")
        kinds = res.get("kinds", {})
        kind = "task" if "task" in kinds else "harmful" if "harmful" in kinds else None
        if kind is None or scorer not in kinds[kind]:
            continue
        m = kinds[kind][scorer]["matrix"]
        parts = []
        for lang in cfg.tasks[task].train_langs:
            ad = m.get(lang, {}).get(lang)
            ctrl = m.get("base", {}).get(lang)
            if ad and ctrl:
                parts.append(f"{lang.upper()}-trained on {lang.upper()} {_cell(ad)} vs control "
                             f"{_cell(ctrl)}")
        if parts:
            lines.append(f"**{task}** ({SCORER_TITLES.get(scorer, scorer)}): " + "; ".join(parts)
                         + ".")
        for a in kinds[kind][scorer].get("asymmetry", []):
            lines.append(a["sentence"])
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


