"""``crossling run | report | demo | push``.

``run``'s options are generated from ``ExperimentConfig`` (``crossling.cli_gen``): every
key of a study can be given as a flag (e.g. ``--max-steps 5``, ``--steer-layers 4,8``);
the YAML file is still the place for a study, flags and ``--set`` are for a change.
"""

from __future__ import annotations

import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

import typer

from crossling.cli_gen import SET_OPTION, ConfigOptions
from crossling.runner.config import ExperimentConfig, default_label


def configs_dir() -> Path:
    """The shipped configs: ``configs/`` in a checkout (also packaged as crossling/configs)."""
    packaged = Path(__file__).resolve().parents[1] / "configs"
    return packaged


#: Every key of a study is an option; judge settings keep ``--judge-`` as in ``crossling eval``.
OPTIONS = ConfigOptions(ExperimentConfig, prefixed={"judge"})


@OPTIONS.command
def run(
    config: Path = typer.Argument(..., help="Experiment YAML (see configs/)."),
    out: Path | None = typer.Option(None, help="Run folder (default: runs/<config name>)."),
    force: bool = typer.Option(False, help="Reuse a folder made by a different config; "
                               "stale stages rerun."),
    shard: str | None = typer.Option(None, help="i/n: train only this slice of the "
                                        "(task, language, seed) jobs, then stop."),
    set_: list[str] | None = SET_OPTION,
    *,
    flags: dict[str, Any],
) -> None:
    """Run a whole study from one YAML config, resumably (rerun the same command to resume).

    The run folder's config.yaml records the resolved config, overrides included."""
    run_study_cli(config, out, force=force, shard=shard, flags=flags, sets=set_)


def run_study_cli(config: Path, out: Path | None, force: bool = False, shard: str | None = None,
                  flags: dict[str, Any] | None = None, sets: list[str] | None = None) -> None:
    """``crossling run`` once its command line is parsed (also what ``crossling demo`` runs)."""
    from crossling.overrides import resolve_config
    from crossling.runner.pipeline import run_study

    cfg = resolve_config(ExperimentConfig, config, flags, sets, command="crossling run")
    out = out or Path("runs") / config.stem
    if cfg.models is not None:
        from crossling.runner.pipeline import run_models

        done = run_models(cfg, out, force=force, shard=shard)
        if shard is None:
            _print_models_headline(done.run.root)
        if done.failed:
            print(f"crossling: {len(done.failed)} of {len(cfg.models)} models failed "
                  f"({', '.join(done.failed)}); the others' results are in {out}; tracebacks "
                  f"in {done.run.log}; rerun the same command to retry them.", file=sys.stderr)
            raise typer.Exit(1)
        return
    r = run_study(cfg, out, force=force, shard=shard)
    if shard is None:
        _print_headline(r.root)


def _print_headline(root: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from crossling.config_loader import load_config
    from crossling.io import read_json
    from crossling.paths import RunDir
    from crossling.runner.report import _matrix_table, headline_lines

    run_dir = RunDir(root)
    cfg = load_config(ExperimentConfig, run_dir.config)
    analysis = read_json(run_dir.analysis)
    console = Console()
    for task, res in analysis["tasks"].items():
        scorer = cfg.report.headline_scorer.get(task, "")
        for kind, per in res["kinds"].items():
            if scorer not in per:
                continue
            t = _matrix_table(per[scorer], cfg.tasks[task].eval_langs, scorer,
                              f"{task} · {kind} · mean {scorer} (95 % CIs in the report)",
                              order=cfg.tasks[task].train_langs)
            table = Table(title=t.caption)
            for h in t.header:
                table.add_column(h, justify="right", no_wrap=True)
            for row in t.rows:
                # means only in the terminal; the CIs are in the report
                table.add_row(*(re.sub(r" \[.*\]$", "", c) for c in row))
            console.print(table)
    for line in headline_lines(cfg, analysis):
        console.print(line.replace("**", ""))
    console.print(f"report: {run_dir.report_html}")
    console.print(f"        {run_dir.report_md}")


def _print_models_headline(root: Path) -> None:
    """Every model's status and the summary lines of the comparison."""
    from crossling.analysis.results import StudyAnalysis
    from crossling.config_loader import load_config
    from crossling.paths import RunDir
    from crossling.runner.report import models_summary

    run_dir = RunDir(root)
    cfg = load_config(ExperimentConfig, run_dir.config)
    for line in models_summary(cfg, StudyAnalysis.read(run_dir.analysis)):
        print(line.replace("**", ""))
    print(f"report: {run_dir.report_html}")
    print(f"        {run_dir.report_md}")


def report(run_dir: Path = typer.Argument(..., help="A folder made by 'crossling run'.")) -> None:
    """Write report.md and report.html for a run (reanalyzing its scores; with several
    models, each model's folder first)."""
    from crossling.config_loader import load_config
    from crossling.errors import CrosslingError
    from crossling.paths import RunDir
    from crossling.runner.analyze import run_analyze
    from crossling.runner.report import write_report

    r = RunDir(run_dir)
    if not r.config.exists():
        raise CrosslingError(f"{run_dir} is not a crossling run folder (no config.yaml).")
    cfg = load_config(ExperimentConfig, r.config)
    for label in cfg.model_studies():
        sub = r.model_run(label)
        if sub.config.exists() and sub.analysis.exists():
            run_analyze(load_config(ExperimentConfig, sub.config), sub)
            write_report(sub)
    run_analyze(cfg, r)
    print(write_report(r))


def demo(
    model: str | None = typer.Option(
        None, "--model", help="Run the demo on this model instead of the packaged SmolLM2: an "
        "alias, hub id (e.g. Qwen/Qwen2.5-0.5B-Instruct, a multilingual chat model), local "
        "folder or .gguf file."),
    out: Path | None = typer.Option(None, help="Run folder (default: runs/demo, or "
                                    "runs/demo-<model label> with --model)."),
    force: bool = typer.Option(False, help="Rerun in a folder made by another config."),
) -> None:
    """Run configs/demo.yaml: SmolLM2, built-in corpus, caps in EN and DE, a steering sweep
    (--model: the same study on another model)."""
    t0 = time.monotonic()
    config = configs_dir() / "demo.yaml"
    flags: dict[str, Any] = {}
    if model is not None:
        flags = demo_flags(config, model)
        out = out or Path("runs") / f"demo-{default_label(model)}"
    run_study_cli(config, out or Path("runs/demo"), force=force, flags=flags)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB on Linux
    print(f"demo finished in {time.monotonic() - t0:.0f} s, peak memory {peak:.0f} MiB")


def demo_flags(config: Path, model: str) -> dict[str, Any]:
    """The demo's overrides for ``model``: its name, checked before anything is written, and
    the steering layers the model has (the demo's are SmolLM2's, 30 deep: a layer past the
    model's last is left out, and with none left the middle layer is used).

    Raises:
        CrosslingError: a model that cannot load (one line).
    """
    from crossling.models.loading import check_model
    from crossling.overrides import resolve_config

    flags: dict[str, Any] = {"model": {"name": model}}
    cfg = resolve_config(ExperimentConfig, config, flags, command="crossling demo")
    check_model(cfg.model)
    depth = model_depth(model)
    if depth is not None and cfg.steer is not None and max(cfg.steer.layers) >= depth:
        layers = [x for x in cfg.steer.layers if x < depth] or [depth // 2]
        print(f"{model} has {depth} decoder layers: steering layers {layers} "
              f"(the demo's are {cfg.steer.layers})", file=sys.stderr)
        flags["steer"] = {"layers": layers}
    return flags


def model_depth(name: str) -> int | None:
    """Decoder layers of model ``name``, read from its config (None when it cannot be read
    without loading the model, e.g. a hub id offline)."""
    from transformers import AutoConfig

    from crossling.models.layers import text_config
    from crossling.models.packaged import PACKAGED, ensure_converted

    try:
        if name in PACKAGED:
            hf = AutoConfig.from_pretrained(ensure_converted(name))
        elif name.endswith(".gguf"):
            path = Path(name).expanduser()
            hf = AutoConfig.from_pretrained(path.parent, gguf_file=path.name)
        else:
            hf = AutoConfig.from_pretrained(Path(name).expanduser() if Path(name).expanduser()
                                            .exists() else name)
    except Exception:
        return None
    n = getattr(text_config(hf), "num_hidden_layers", None)
    return n if isinstance(n, int) else None


def push(
    run_dir: Path = typer.Argument(..., help="A folder made by 'crossling run'."),
    repo: str = typer.Option(..., help="Hub repo USER/NAME."),
    public: bool = typer.Option(False, help="Create the repo public (default private)."),
    dry_run: bool = typer.Option(False, help="Only stage the upload in RUN/push."),
) -> None:
    """Upload adapters (with a model card), datasets and the report to the HF hub."""
    from crossling.runner.push import push as do_push

    staging = do_push(run_dir, repo, private=not public, dry_run=dry_run)
    print(("staged in " if dry_run else "uploaded from ") + str(staging))
