"""``crossling train``: LoRA-fine-tune a chat model on one language's task data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from crossling.overrides import SET_HELP


def train(
    config: Path | None = typer.Argument(
        None, help="YAML job config (keys: data_dir, lang, out_dir, model, seed, train); "
        "flags override it."
    ),
    data: Path | None = typer.Option(None, "--data", help="Folder from 'crossling data build'."),
    lang: str | None = typer.Option(None, help="Training language, e.g. de."),
    model: str | None = typer.Option(None, help="Alias, hub id or local folder."),
    out: Path | None = typer.Option(None, help="Output folder for the adapter and logs."),
    seed: int | None = typer.Option(None, help="Seed (LoRA init, data order)."),
    max_steps: int | None = typer.Option(None, help="Optimizer steps."),
    epochs: float | None = typer.Option(None, help="Train for N epochs instead of max_steps."),
    lr: float | None = typer.Option(None, help="Peak learning rate."),
    batch_size: int | None = typer.Option(None, help="Rows per forward pass."),
    grad_accum: int | None = typer.Option(None, help="Forward passes per step."),
    warmup_steps: int | None = typer.Option(None, help="Linear warmup steps."),
    lora_r: int | None = typer.Option(None, help="LoRA rank."),
    save_every: int | None = typer.Option(None, help="Checkpoint every N steps."),
    device: str | None = typer.Option(None, help="auto, cpu, cuda, ..."),
    threads: int | None = typer.Option(None, help="torch CPU threads."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    report_to: str | None = typer.Option(
        None, help="Experiment trackers, comma-separated: tensorboard, wandb, mlflow."
    ),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Train one LoRA adapter; rerun with --resume after a crash."""
    from crossling.overrides import resolve_config
    from crossling.train.config import TrainJobConfig
    from crossling.train.trainer import run_train

    flags: dict[str, Any] = {
        "data_dir": data, "lang": lang, "out_dir": out, "seed": seed,
        "resume": True if resume else None, "report_to": report_to,
        "model": {"name": model, "device": device, "threads": threads},
        "train": {
            "max_steps": max_steps, "epochs": epochs, "lr": lr, "batch_size": batch_size,
            "grad_accum": grad_accum, "warmup_steps": warmup_steps, "lora_r": lora_r,
            "save_every": save_every, "progress": None if progress else False,
        },
    }
    # --epochs replaces the default max_steps (a flag of None means "not given").
    sets = (["train.max_steps=null"] if epochs is not None and max_steps is None else [])
    cfg = resolve_config(
        TrainJobConfig, config, flags, [*sets, *(set_ or [])],
        required={"data_dir": "--data", "lang": "--lang", "out_dir": "--out"},
        command="crossling train",
    )
    adapter = run_train(cfg)
    typer.echo(f"adapter: {adapter}")
