"""``crossling run | report | demo | push``.

``run``'s options are generated from ``ExperimentConfig`` (``crossling.cli_gen``): every
key of a study can be given as a flag (e.g. ``--max-steps 5``, ``--steer-layers 4,8``);
the YAML file is still the place for a study, flags and ``--set`` are for a change.
"""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path
from typing import Any

import typer

from crossling.cli_gen import SET_OPTION, ConfigOptions
from crossling.runner.config import ExperimentConfig


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


def report(run_dir: Path = typer.Argument(..., help="A folder made by 'crossling run'.")) -> None:
    """Write report.md and report.html for a run (reanalyzing its scores)."""
    from crossling.config_loader import load_config
    from crossling.errors import CrosslingError
    from crossling.paths import RunDir
    from crossling.runner.analyze import run_analyze
    from crossling.runner.report import write_report

    r = RunDir(run_dir)
    if not r.config.exists():
        raise CrosslingError(f"{run_dir} is not a crossling run folder (no config.yaml).")
    run_analyze(load_config(ExperimentConfig, r.config), r)
    print(write_report(r))


def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Run folder."),
    force: bool = typer.Option(False, help="Rerun in a folder made by another config."),
) -> None:
    """Run configs/demo.yaml: SmolLM2, built-in corpus, caps in EN and DE, a steering sweep."""
    t0 = time.monotonic()
    run_study_cli(configs_dir() / "demo.yaml", out, force=force)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB on Linux
    print(f"demo finished in {time.monotonic() - t0:.0f} s, peak memory {peak:.0f} MiB")


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
