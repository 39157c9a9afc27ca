"""``crossling steer vectors`` and ``crossling steer sweep``: parse → config → run."""

from __future__ import annotations

from pathlib import Path

import typer

from crossling.errors import CrosslingError
from crossling.overrides import SET_HELP

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


@app.command("vectors")
def vectors_cmd(
    config: Path | None = typer.Argument(None, help="YAML config (flags override it)."),
    model: str | None = typer.Option(None, help="Base model: alias, hub id or folder."),
    langs: str | None = typer.Option(None, help="Languages, e.g. en,ru,de (every pair)."),
    data: str | None = typer.Option(
        None, help="Parallel prompts: builtin, a data dir, or a long/wide .jsonl."
    ),
    out: str | None = typer.Option(None, help="Output folder (reruns resume)."),
    builder: str | None = typer.Option(None, help="mean_diff or pca."),
    position: str | None = typer.Option(None, help="Pooling: mean or last."),
    max_prompts: int | None = typer.Option(None, help="At most this many parallel prompts."),
    min_prompts: int | None = typer.Option(None, help="Fail below this many parallel prompts."),
    batch_size: int | None = typer.Option(None, help="Prompts per forward pass."),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Compute per-layer language vectors (target ← source) for every ordered pair."""
    from rich.console import Console

    from crossling.overrides import resolve_config
    from crossling.steer.build import run_vectors
    from crossling.steer.config import VectorsConfig

    flags = dict(
        model={"name": model}, langs=langs, data=data, out=out,
        builder=builder, position=position, max_prompts=max_prompts, min_prompts=min_prompts,
        batch_size=batch_size,
    )
    cfg = resolve_config(VectorsConfig, config, flags, set_, required={"out": "--out"},
                         command="crossling steer vectors")
    vdir = run_vectors(cfg)
    Console().print(f"[green]vectors written to {vdir.root}[/green] "
                    f"(diagnostics: {vdir.diagnostics_plot})")


@app.command("sweep")
def sweep_cmd(
    config: Path | None = typer.Argument(None, help="YAML config (flags override it)."),
    model: str | None = typer.Option(None, help="Base model of the adapter."),
    adapter: str | None = typer.Option(None, help="LANG=DIR (e.g. ru=runs/ru/adapter) or DIR."),
    data: str | None = typer.Option(None, help="Data dir whose eval.jsonl holds the prompts."),
    eval_lang: str | None = typer.Option(None, help="Language(s) of the steered prompts."),
    toward: str | None = typer.Option(None, help="Steer toward this language."),
    layers: str | None = typer.Option(None, help="4:24:2 (stop exclusive) or 4,8,12."),
    strengths: str | None = typer.Option(None, help="e.g. 0,2,4,8 (0 = unsteered)."),
    search_negative: bool | None = typer.Option(
        None, "--search-negative/--positive-only",
        help="Also search negative strengths (away from --toward)."),
    allow_overlap: bool | None = typer.Option(
        None, "--allow-overlap/--no-overlap",
        help="Accept --vectors built from eval or KL prompts (the report says so)."),
    vectors: str | None = typer.Option(None, help="Load vectors from this VectorDir."),
    vector_data: str | None = typer.Option(None, help="Parallel prompts for new vectors."),
    task: str | None = typer.Option(None, help="caps or refusal."),
    normalize: bool | None = typer.Option(
        None, "--normalize/--raw", help="Strength in units of the mean residual norm."
    ),
    positions: str | None = typer.Option(None, help="prompt, generated or all."),
    max_eval: int | None = typer.Option(
        None, help="Prompts per language, split into selection and confirmation halves."),
    max_new_tokens: int | None = typer.Option(None, help="Tokens generated per answer."),
    batch_size: int | None = typer.Option(None, help="Prompts per generation batch."),
    min_fidelity: float | None = typer.Option(None, help="Fidelity floor for the best cell."),
    max_kl: float | None = typer.Option(None, help="KL ceiling (nats) for the best cell."),
    kl_prompts: int | None = typer.Option(None, help="Held-out prompts for the KL guard."),
    seed: int | None = typer.Option(None, help="Seed."),
    out: str | None = typer.Option(None, help="Output folder (reruns resume)."),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Sweep layers × strengths: behaviour, language fidelity and KL; pick the best cell."""
    import json

    from rich.console import Console

    from crossling.overrides import resolve_config
    from crossling.steer.config import SweepConfig
    from crossling.steer.sweep import run_sweep

    adapter_lang, adapter_dir = parse_adapter(adapter) if adapter else (None, None)
    flags = dict(
        model={"name": model}, adapter=adapter_dir, adapter_lang=adapter_lang,
        data=data, eval_langs=eval_lang, toward=toward,
        layers=parse_layers(layers) if layers else None,
        strengths=parse_strengths(strengths) if strengths else None,
        vectors=vectors, vector_data=vector_data, task=task, normalize=normalize,
        positions=positions, max_eval=max_eval, max_new_tokens=max_new_tokens,
        batch_size=batch_size, min_fidelity=min_fidelity, max_kl=max_kl, kl_prompts=kl_prompts,
        seed=seed, out=out, search_negative=search_negative, allow_overlap=allow_overlap,
    )
    cfg = resolve_config(SweepConfig, config, flags, set_,
                         required={"data": "--data", "out": "--out"},
                         command="crossling steer sweep")
    sdir = run_sweep(cfg)
    best = json.loads(sdir.best.read_text(encoding="utf-8"))
    console = Console()
    console.print(f"[green]sweep written to {sdir.root}[/green] (table: {sdir.sweep_csv})")
    n_sel = len(best["selection_ids"])
    for lang, info in best["per_lang"].items():
        b, c = info["best"], best["confirmation"][lang]
        if b is None:
            console.print(f"{lang}: no cell passed the guards on the {n_sel} selection prompts "
                          "(see best.json 'excluded')")
            continue
        console.print(
            f"{lang}: chosen on {n_sel} selection prompts: layer={b['layer']} "
            f"strength={b['strength']:g} (lang_fidelity={b['lang_fidelity']:.2f}, "
            f"kl={b['kl']:.3g}); on {c['n']} confirmation prompts {best['metric']} "
            f"{_fmt(c['mean'])} vs unsteered {_fmt(c['baseline_mean'])}: difference "
            f"{_fmt(c['delta'])} (95 % CI {_fmt(c['delta_ci_low'])} to "
            f"{_fmt(c['delta_ci_high'])}, paired over prompts)"
        )


def _fmt(v: float | None) -> str:
    return "N/A" if v is None else f"{v:.3g}"
