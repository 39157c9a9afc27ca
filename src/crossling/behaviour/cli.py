"""``crossling behaviour vectors|transfer|ablate``: parse → config → ``run_behaviour``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Where a LoRA behaviour lives: behaviour vectors, their transfer across "
                  "languages, ablation and adapter geometry.", no_args_is_help=True)

_CONFIG = typer.Argument(None, help="YAML config of the stage (flags override it).")
_MODEL = typer.Option(None, help="Base model: alias, hub id or folder.")
_ADAPTER = typer.Option(None, "--adapter", help="NAME=DIR, repeatable (e.g. en=runs/en/adapter).")
_DATA = typer.Option(None, help="Data dir whose eval.jsonl holds the prompts.")
_OUT = typer.Option(None, help="Output folder (reruns resume).")
_LANGS = typer.Option(None, help="Languages, e.g. en,de,ru (default: the data's eval languages).")
_LAYERS = typer.Option(None, help="Layers tried, 4:24:2 (stop exclusive) or 4,8,12.")
_STRENGTHS = typer.Option(None, help="Strengths tried (multiples of the vector), e.g. 1,2,4.")
_MAX_EVAL = typer.Option(None, help="Eval prompts per language before the split.")
_SEED = typer.Option(None, help="Seed of the split, bootstrap and generation.")


def _config(config: Path | None, model: str | None, adapter: list[str] | None,
            **flags: Any) -> Any:
    from crossling.behaviour.config import BehaviourConfig
    from crossling.errors import CrosslingError
    from crossling.overrides import resolve_config
    from crossling.steer.cli import parse_adapter, parse_layers, parse_strengths

    adapters = {}
    for value in adapter or []:
        name, path = parse_adapter(value)
        if name is None:
            raise CrosslingError(f"--adapter '{value}' needs a name: write NAME=DIR, e.g. "
                                 "en=runs/en/adapter.")
        adapters[name] = path
    if flags.get("layers"):
        flags["layers"] = parse_layers(flags["layers"])
    if flags.get("strengths"):
        flags["strengths"] = parse_strengths(flags["strengths"])
    flags.update(model={"name": model} if model else None, adapters=adapters or None)
    return resolve_config(BehaviourConfig, config, flags,
                          required={"adapters": "--adapter", "data": "--data"},
                          command="crossling behaviour")


def _run(steps: tuple[str, ...], cfg: Any) -> None:
    from rich.console import Console

    from crossling.behaviour.run import run_behaviour

    bdir = run_behaviour(cfg, steps)
    Console().print(f"[green]behaviour {'/'.join(steps)} written to {bdir.root}[/green]")


@app.command("vectors")
def vectors_cmd(config: Path | None = _CONFIG, model: str | None = _MODEL,
                adapter: list[str] | None = _ADAPTER, data: str | None = _DATA,
                out: str | None = _OUT, langs: str | None = _LANGS,
                max_prompts: int | None = typer.Option(None, help="Prompts per vector."),
                seed: int | None = _SEED) -> None:
    """Behaviour vectors (adapter − base residual) per adapter, language and layer, and their
    geometry (cosines across languages, with language vectors, LoRA ΔW across adapters)."""
    _run(("vectors", "geometry"), _config(config, model, adapter, data=data, out=out,
                                          langs=langs, max_prompts=max_prompts, seed=seed))


@app.command("transfer")
def transfer_cmd(config: Path | None = _CONFIG, model: str | None = _MODEL,
                 adapter: list[str] | None = _ADAPTER, data: str | None = _DATA,
                 out: str | None = _OUT, langs: str | None = _LANGS,
                 layers: str | None = _LAYERS, strengths: str | None = _STRENGTHS,
                 max_eval: int | None = _MAX_EVAL, seed: int | None = _SEED) -> None:
    """Add each adapter's behaviour vector from language X to the base model on prompts of
    language Y: layer and strength chosen on selection ids pooled over languages, reported
    on confirmation ids beside random directions of the same norm."""
    _run(("transfer",), _config(config, model, adapter, data=data, out=out, langs=langs,
                                layers=layers, strengths=strengths, max_eval=max_eval,
                                seed=seed))


@app.command("ablate")
def ablate_cmd(config: Path | None = _CONFIG, model: str | None = _MODEL,
               adapter: list[str] | None = _ADAPTER, data: str | None = _DATA,
               out: str | None = _OUT, langs: str | None = _LANGS,
               max_eval: int | None = _MAX_EVAL,
               direction: str | None = typer.Option(
                   None, help="train (the training language's vector) or lang (each "
                   "prompt language's own)."),
               seed: int | None = _SEED) -> None:
    """Project the behaviour direction out of each adapter model's residual stream and
    measure how much of the behaviour is left, per language, beside random directions
    projected out instead, with language fidelity and garbage rate."""
    _run(("ablate",), _config(config, model, adapter, data=data, out=out, langs=langs,
                              max_eval=max_eval, ablation_direction=direction, seed=seed))
