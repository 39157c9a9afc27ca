"""``crossling data build`` and ``crossling data show``.

``data build`` takes its options from ``DataConfig`` (``crossling.cli_gen``); the column
names of a local source keep their section's name (``--columns-lang``), so that they are
not taken for the languages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from crossling.cli_gen import SET_OPTION, ConfigOptions
from crossling.data.config import DataConfig

app = typer.Typer(help="Build and inspect multilingual task datasets.", no_args_is_help=True)

OPTIONS = ConfigOptions(DataConfig, prefixed={"columns", "define"})


@app.command("build")
@OPTIONS.command
def build(
    config: Path | None = typer.Argument(None, help="YAML data config (flags override it)."),
    out: Path = typer.Option(..., help="Output folder (new, empty, or an earlier data dir)."),
    set_: list[str] | None = SET_OPTION,
    *,
    flags: dict[str, Any],
) -> None:
    """Build train_<lang>.jsonl, eval.jsonl and manifest.json for one task."""
    from crossling.data.build import run_data
    from crossling.overrides import resolve_config

    cfg = resolve_config(DataConfig, config, flags, set_, command="crossling data build")
    d = run_data(cfg, out)
    _show(d.root)


def _show(path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from crossling.data.build import load_data_dir

    m = load_data_dir(path)
    counts = m["counts"]
    langs = list(dict.fromkeys([*m["train_langs"], *m["eval_langs"]]))
    table = Table(title=f"{path}  task={m['task']}  source={m['source']}  seed={m['seed']}")
    table.add_column("split")
    for lang in langs:
        table.add_column(lang, justify="right")
    for split in ("train", "eval", "eval_harmless"):
        if counts.get(split):
            table.add_row(split, *(str(counts[split].get(lang, "-")) for lang in langs))
    Console().print(table)


@app.command("show")
def show(path: Path = typer.Argument(..., help="A folder made by 'crossling data build'.")) -> None:
    """Print counts per language and split of a data dir."""
    _show(path)
