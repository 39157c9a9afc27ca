"""``crossling behaviour vectors|transfer|ablate``: parse → config → ``run_behaviour``.

The three commands share one config, ``BehaviourConfig``, and so one set of options
generated from it (``crossling.cli_gen``); this module adds older option names (aliases),
``--adapter NAME=DIR`` (repeatable) and the syntaxes of ``--layers`` and ``--strengths``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from crossling.behaviour.config import BehaviourConfig
from crossling.cli_gen import SET_OPTION, ConfigOptions
from crossling.evaluate.cli import parse_adapters
from crossling.steer.cli import LAYERS_SYNTAX, parse_layers, parse_strengths

app = typer.Typer(help="Where a LoRA behaviour lives: behaviour vectors, their transfer across "
                  "languages, ablation and adapter geometry.", no_args_is_help=True)

#: Older or shorter option names → config keys.
ALIASES = {"--model": "model.name", "--max-prompts": "vector_prompts",
           "--direction": "ablation_direction"}

OPTIONS = ConfigOptions(
    BehaviourConfig, aliases=ALIASES,
    parsers={"layers": (parse_layers, LAYERS_SYNTAX), "strengths": (parse_strengths, "float,..."),
             "adapters": (parse_adapters, "NAME=DIR,...")},
)

_CONFIG = typer.Argument(None, help="YAML config of the stage (flags override it).")
_ADAPTER = typer.Option(None, "--adapter", help="NAME=DIR, repeatable (e.g. en=runs/en/adapter); "
                        "added to --adapters.")


def _config(config: Path | None, adapter: list[str] | None, sets: list[str] | None,
            flags: dict[str, Any]) -> Any:
    from crossling.errors import CrosslingError
    from crossling.overrides import resolve_config
    from crossling.steer.cli import parse_adapter

    adapters = dict(flags.get("adapters") or {})
    for value in adapter or []:
        name, path = parse_adapter(value)
        if name is None:
            raise CrosslingError(f"--adapter '{value}' needs a name: write NAME=DIR, e.g. "
                                 "en=runs/en/adapter.")
        adapters[name] = path
    if adapters:
        flags["adapters"] = adapters
    return resolve_config(BehaviourConfig, config, flags, sets,
                          required={"adapters": "--adapter", "data": "--data"},
                          command="crossling behaviour")


def _run(steps: tuple[str, ...], cfg: Any) -> None:
    from rich.console import Console

    from crossling.behaviour.run import run_behaviour

    bdir = run_behaviour(cfg, steps)
    Console().print(f"[green]behaviour {'/'.join(steps)} written to {bdir.root}[/green]")


@app.command("vectors")
@OPTIONS.command
def vectors_cmd(config: Path | None = _CONFIG, adapter: list[str] | None = _ADAPTER,
                set_: list[str] | None = SET_OPTION, *, flags: dict[str, Any]) -> None:
    """Behaviour vectors (adapter − base residual) per adapter, language and layer, and their
    geometry (cosines across languages, with language vectors, LoRA ΔW across adapters)."""
    _run(("vectors", "geometry"), _config(config, adapter, set_, flags))


@app.command("transfer")
@OPTIONS.command
def transfer_cmd(config: Path | None = _CONFIG, adapter: list[str] | None = _ADAPTER,
                 set_: list[str] | None = SET_OPTION, *, flags: dict[str, Any]) -> None:
    """Add each adapter's behaviour vector from language X to the base model on prompts of
    language Y: layer and strength chosen on selection ids pooled over languages, reported
    on confirmation ids beside random directions of the same norm."""
    _run(("transfer",), _config(config, adapter, set_, flags))


@app.command("ablate")
@OPTIONS.command
def ablate_cmd(config: Path | None = _CONFIG, adapter: list[str] | None = _ADAPTER,
               set_: list[str] | None = SET_OPTION, *, flags: dict[str, Any]) -> None:
    """Project the behaviour direction out of each adapter model's residual stream and
    measure how much of the behaviour is left, per language, beside random directions
    projected out instead, with language fidelity and garbage rate."""
    _run(("ablate",), _config(config, adapter, set_, flags))
