"""``crossling data build`` and ``crossling data show``."""

from __future__ import annotations

from pathlib import Path

import typer

from crossling.overrides import SET_HELP

app = typer.Typer(help="Build and inspect multilingual task datasets.", no_args_is_help=True)


@app.command("build")
def build(
    config: Path | None = typer.Argument(None, help="YAML data config (flags override it)."),
    task: str | None = typer.Option(None, help="caps or refusal."),
    source: str | None = typer.Option(None, help="builtin, alpaca, sorry-bench, hf:NAME or a file."),
    train_langs: str | None = typer.Option(None, help="e.g. en,de,ru"),
    eval_langs: str | None = typer.Option(None, help="e.g. en,de,ru,bg,es,fr"),
    eval_size: int | None = typer.Option(None, help="Parallel ids held out in every language."),
    train_size: int | None = typer.Option(None, help="Cap on training rows per language."),
    responses: str | None = typer.Option(None, help="caps targets: source or self."),
    seed: int | None = typer.Option(None, help="Split seed."),
    out: Path = typer.Option(..., help="Output folder (new, empty, or an earlier data dir)."),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Build train_<lang>.jsonl, eval.jsonl and manifest.json for one task."""
    from crossling.data.build import run_data
    from crossling.data.config import DataConfig
    from crossling.overrides import resolve_config

    flags = dict(task=task, source=source, train_langs=train_langs, eval_langs=eval_langs,
                 eval_size=eval_size, train_size=train_size, responses=responses, seed=seed)
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
