"""``crossling train``: LoRA-fine-tune a chat model on one language's task data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


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
) -> None:
    """Train one LoRA adapter; rerun with --resume after a crash."""
    from crossling.config import read_yaml, validate_config
    from crossling.train.config import TrainJobConfig
    from crossling.train.trainer import run_train

    raw: dict[str, Any] = read_yaml(config) if config is not None else {}
    top = {"data_dir": data, "lang": lang, "out_dir": out, "seed": seed}
    nested: dict[str, dict[str, Any]] = {
        "model": {"name": model, "device": device, "threads": threads},
        "train": {
            "max_steps": max_steps, "epochs": epochs, "lr": lr, "batch_size": batch_size,
            "grad_accum": grad_accum, "warmup_steps": warmup_steps, "lora_r": lora_r,
            "save_every": save_every,
        },
    }
    raw.update({k: (str(v) if isinstance(v, Path) else v) for k, v in top.items() if v is not None})
    for section, values in nested.items():
        given = {k: v for k, v in values.items() if v is not None}
        if section == "train" and epochs is not None and max_steps is None:
            given["max_steps"] = None  # --epochs replaces the default max_steps
        if given:
            raw[section] = {**(raw.get(section) or {}), **given}
    if not progress:
        raw["train"] = {**(raw.get("train") or {}), "progress": False}
    if resume:
        raw["resume"] = True
    origin = str(config) if config is not None else "flags"
    missing = [f for f, k in (("--data", "data_dir"), ("--lang", "lang"), ("--out", "out_dir"))
               if k not in raw]
    if missing:
        from crossling.errors import CrosslingError

        raise CrosslingError(
            f"crossling train needs {', '.join(missing)} (as flags or in the YAML config), "
            "e.g. crossling train --data runs/data --lang de --out runs/train-de."
        )
    cfg = validate_config(TrainJobConfig, raw, origin)
    adapter = run_train(cfg)
    typer.echo(f"adapter: {adapter}")
