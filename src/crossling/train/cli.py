"""``crossling train``: LoRA-fine-tune a chat model on one language's task data.

Its options are generated from ``TrainJobConfig`` (``crossling.cli_gen``); this module adds
only the names users typed before that (aliases) and the ``--epochs`` rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from crossling.cli_gen import SET_OPTION, ConfigOptions
from crossling.train.config import TrainJobConfig

#: Older or shorter option names → config keys.
ALIASES = {"--data": "data_dir", "--out": "out_dir", "--model": "model.name"}

OPTIONS = ConfigOptions(TrainJobConfig, aliases=ALIASES)


@OPTIONS.command
def train(
    config: Path | None = typer.Argument(
        None, help="YAML job config (keys: data_dir, lang, out_dir, model, seed, train); "
        "flags override it."
    ),
    set_: list[str] | None = SET_OPTION,
    *,
    flags: dict[str, Any],
) -> None:
    """Train one LoRA adapter; rerun with --resume after a crash."""
    from crossling.overrides import NULL, resolve_config
    from crossling.train.trainer import run_train

    hyper = flags.get("train", {})
    if "epochs" in hyper and "max_steps" not in hyper:
        hyper["max_steps"] = NULL  # --epochs replaces the default max_steps
    cfg = resolve_config(
        TrainJobConfig, config, flags, set_,
        required={"data_dir": "--data", "lang": "--lang", "out_dir": "--out"},
        command="crossling train",
    )
    adapter = run_train(cfg)
    typer.echo(f"adapter: {adapter}")
