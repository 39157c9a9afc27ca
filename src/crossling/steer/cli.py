"""``crossling steer vectors`` and ``crossling steer sweep``: parse → config → run.

Their options are generated from ``VectorsConfig`` and ``SweepConfig``
(``crossling.cli_gen``); this module adds older option names (aliases) and the syntaxes of
``--layers 4:24:2``, ``--strengths`` and ``--adapter LANG=DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from crossling.cli_gen import SET_OPTION, ConfigOptions
from crossling.errors import CrosslingError
from crossling.steer.config import SweepConfig, VectorsConfig

app = typer.Typer(help="Language steering vectors and sweeps.", no_args_is_help=True)


def parse_layers(value: str) -> list[int]:
    """'4:24:2' (start:stop:step, stop exclusive like Python), '4:8' or '4,8,12' → indices.

    Raises:
        CrosslingError: anything else.
    """
    try:
        if ":" in value:
            parts = [int(p) for p in value.split(":")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] <= 0):
                raise ValueError
            layers = list(range(*parts))
        else:
            layers = [int(p) for p in value.split(",") if p.strip()]
    except ValueError:
        raise CrosslingError(
            f"--layers '{value}' is not START:STOP[:STEP] or a comma list; write e.g. "
            "--layers 4:24:2 or --layers 4,8,12."
        ) from None
    if not layers:
        raise CrosslingError(f"--layers '{value}' selects no layer; write e.g. --layers 4:24:2.")
    return layers


def parse_strengths(value: str) -> list[float]:
    """'-4,-2,0,2,4,8' → floats; rejects non-numbers and inf/nan with a fix."""
    try:
        out = [float(p) for p in value.split(",") if p.strip()]
    except ValueError:
        raise CrosslingError(
            f"--strengths '{value}' must be comma-separated numbers, e.g. -4,-2,0,2,4,8."
        ) from None
    if not out or any(x != x or x in (float("inf"), float("-inf")) for x in out):
        raise CrosslingError(f"--strengths '{value}' must be finite numbers, e.g. -4,-2,0,2,4,8.")
    return out


def parse_adapter(value: str) -> tuple[str | None, str]:
    """'ru=runs/ru/adapter' → ('ru', 'runs/ru/adapter'); a bare folder has no language."""
    name, sep, path = value.partition("=")
    if sep and name.strip() and path.strip():
        return name.strip(), path.strip()
    if sep:
        raise CrosslingError(f"--adapter '{value}' is not LANG=DIR; write e.g. ru=runs/ru/adapter.")
    return None, value


#: Older or shorter option names → config keys (``crossling steer vectors``).
VECTORS_ALIASES = {"--model": "model.name", "--data": "vector_data",
                   "--max-prompts": "vector_prompts"}
#: ``crossling steer sweep``.
SWEEP_ALIASES = {
    "--model": "model.name",
    "--eval-lang": "eval_langs",
    "/--positive-only": "search_negative",
    "/--no-overlap": "allow_overlap",
    "/--raw": "normalize",
}
LAYERS_SYNTAX = "4:24:2|4,8,12"

VECTORS_OPTIONS = ConfigOptions(VectorsConfig, aliases=VECTORS_ALIASES)
SWEEP_OPTIONS = ConfigOptions(
    SweepConfig, aliases=SWEEP_ALIASES,
    parsers={"layers": (parse_layers, LAYERS_SYNTAX),
             "strengths": (parse_strengths, "float,..."),
             "adapter": (parse_adapter, "LANG=DIR|DIR")},
)


@app.command("vectors")
@VECTORS_OPTIONS.command
def vectors_cmd(
    config: Path | None = typer.Argument(None, help="YAML config (flags override it)."),
    set_: list[str] | None = SET_OPTION,
    *,
    flags: dict[str, Any],
) -> None:
    """Compute per-layer language vectors (target ← source) for every ordered pair."""
    from rich.console import Console

    from crossling.overrides import resolve_config
    from crossling.steer.build import run_vectors

    cfg = resolve_config(VectorsConfig, config, flags, set_, required={"out": "--out"},
                         command="crossling steer vectors")
    vdir = run_vectors(cfg)
    Console().print(f"[green]vectors written to {vdir.root}[/green] "
                    f"(diagnostics: {vdir.diagnostics_plot})")


@app.command("sweep")
@SWEEP_OPTIONS.command
def sweep_cmd(
    config: Path | None = typer.Argument(None, help="YAML config (flags override it)."),
    set_: list[str] | None = SET_OPTION,
    *,
    flags: dict[str, Any],
) -> None:
    """Sweep layers × strengths: behaviour, language fidelity and KL; pick the best cell."""
    from crossling.overrides import resolve_config
    from crossling.steer.sweep import run_sweep

    if isinstance(flags.get("adapter"), tuple):  # --adapter LANG=DIR also names the language
        lang, flags["adapter"] = flags["adapter"]
        if lang is not None:
            flags.setdefault("adapter_lang", lang)
    cfg = resolve_config(SweepConfig, config, flags, set_,
                         required={"data": "--data", "out": "--out"},
                         command="crossling steer sweep")
    sdir = run_sweep(cfg)
    _print_best(sdir.best, sdir.root, sdir.sweep_csv)


def _print_best(best_json: Path, root: Path, table: Path) -> None:
    """The chosen cell per language and its confirmation, one line each."""
    from rich.console import Console

    from crossling.steer.results import SweepBest

    best = SweepBest.read(best_json)
    console = Console()
    console.print(f"[green]sweep written to {root}[/green] (table: {table})")
    n_sel = len(best.selection_ids)
    for lang, info in best.per_lang.items():
        b, c = info.best, best.confirmation[lang]
        if b is None:
            console.print(f"{lang}: no cell passed the guards on the {n_sel} selection prompts "
                          "(see best.json 'excluded')")
            continue
        over = b.value("over_refusal")
        console.print(
            f"{lang}: chosen on {n_sel} selection prompts: layer={b.layer} "
            f"strength={b.strength:g} (lang_fidelity={_fmt(b.value('lang_fidelity'))}, "
            f"kl={_fmt(b.kl)}); on {c.n} confirmation prompts {best.metric} "
            f"{_fmt(c.mean)} vs unsteered {_fmt(c.baseline_mean)}: difference "
            f"{_fmt(c.delta)} (95 % CI {_fmt(c.delta_ci_low)} to "
            f"{_fmt(c.delta_ci_high)}, paired over prompts)"
            + (f"; over_refusal={over:.2f} (limit: baseline + {best.max_over_refusal:g})"
               if over is not None and best.max_over_refusal is not None else "")
        )


def _fmt(v: float | None) -> str:
    return "N/A" if v is None else f"{v:.3g}"
