"""``crossling eval``: thin CLI over ``run_eval``."""

from __future__ import annotations

from pathlib import Path

import typer

from crossling.errors import CrosslingError
from crossling.overrides import SET_HELP


def parse_adapters(value: str | None) -> dict[str, str]:
    """'en=runs/a/adapter,de=runs/b' → {'en': 'runs/a/adapter', 'de': 'runs/b'}.

    Raises:
        CrosslingError: an item without ``NAME=DIR`` or a name given twice.
    """
    out: dict[str, str] = {}
    if not value:
        return out
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise CrosslingError(
                f"--adapters item '{item}' is not NAME=DIR; write e.g. "
                "--adapters en=runs/en/adapter."
            )
        if name.strip() in out:
            raise CrosslingError(f"adapter name '{name.strip()}' is given twice in --adapters.")
        out[name.strip()] = path.strip()
    return out


def eval_cmd(
    config: Path | None = typer.Argument(None, help="YAML eval config (flags override it)."),
    model: str | None = typer.Option(None, help="Base model: alias, hub id or folder."),
    adapters: str | None = typer.Option(None, help="NAME=DIR,... e.g. en=runs/en/adapter."),
    data: str | None = typer.Option(None, help="Data folder from `crossling data build`."),
    langs: str | None = typer.Option(None, help="Eval languages, e.g. en,de,ru (default: all)."),
    scorers: str | None = typer.Option(None, help="e.g. caps_pct,all_caps,lang_fidelity."),
    out: str | None = typer.Option(None, help="Output folder (reruns resume)."),
    limit: int | None = typer.Option(None, help="At most N prompts per language and kind."),
    max_new_tokens: int | None = typer.Option(None, help="Tokens per answer at most."),
    batch_size: int | None = typer.Option(None, help="Prompts decoded together."),
    sample: bool | None = typer.Option(None, "--sample/--greedy", help="Sampling or greedy."),
    temperature: float | None = typer.Option(None, help="Sampling temperature."),
    top_p: float | None = typer.Option(None, help="Nucleus sampling mass."),
    seed: int | None = typer.Option(None, help="Sampling and bootstrap seed."),
    backend: str | None = typer.Option(None, help="hf or vllm."),
    no_base: bool = typer.Option(False, "--no-base", help="Skip the base-model control."),
    judge_model: str | None = typer.Option(None, help="LLM judge model (refusal_llm)."),
    judge_base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint."),
    judge_api_key_env: str | None = typer.Option(None, help="NAME of the API key env var."),
    report_to: str | None = typer.Option(
        None, help="Experiment trackers, comma-separated: tensorboard, wandb, mlflow."
    ),
    set_: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Evaluate a base model and adapters in every language: generate, score, summarize, plot."""
    from rich.console import Console

    from crossling.evaluate.config import EvalConfig
    from crossling.evaluate.run import run_eval
    from crossling.overrides import resolve_config

    flags: dict[str, object] = dict(
        data=data, langs=langs, scorers=scorers, out=out, limit=limit, seed=seed, backend=backend,
        adapters=parse_adapters(adapters) or None, include_base=False if no_base else None,
        report_to=report_to, model={"name": model},
        generation=dict(max_new_tokens=max_new_tokens, batch_size=batch_size, do_sample=sample,
                        temperature=temperature, top_p=top_p, seed=seed),
        judge=dict(model=judge_model, base_url=judge_base_url, api_key_env=judge_api_key_env),
    )
    cfg = resolve_config(EvalConfig, config, flags, set_,
                         required={"data": "--data", "out": "--out"}, command="crossling eval")
    d = run_eval(cfg)
    Console().print(f"[green]eval written to {d.root}[/green] (summary: {d.summary_csv})")
    Console().print(d.report_txt.read_text(encoding="utf-8").split("\n\nDETAIL")[0])


app = typer.Typer(help="Evaluate base model and adapters in every language.")
app.command("eval")(eval_cmd)
