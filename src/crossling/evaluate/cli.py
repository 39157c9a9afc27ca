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


def judge_flags(model: str | None, base_url: str | None, api_key_env: str | None,
                backend: str | None) -> dict[str, object]:
    """The ``--judge-*`` flags that were given, as ``judge`` config fields (shared by
    ``crossling eval`` and ``crossling score`` so both take the same options)."""
    given = dict(model=model, base_url=base_url, api_key_env=api_key_env, backend=backend)
    return {k: v for k, v in given.items() if v is not None}


JUDGE_MODEL_HELP = ("LLM judge model (refusal_llm, coherence_llm): endpoint model name, or "
                    "alias/hub id/folder.")
JUDGE_BACKEND_HELP = "openai (any OpenAI-compatible server) or local (in-process, offline)."


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
    batch_size: str | None = typer.Option(
        None, help="Prompts decoded together: a number, or auto (as many as fit)."),
    sample: bool | None = typer.Option(None, "--sample/--greedy", help="Sampling or greedy."),
    temperature: float | None = typer.Option(None, help="Sampling temperature."),
    top_p: float | None = typer.Option(None, help="Nucleus sampling mass."),
    seed: int | None = typer.Option(None, help="Sampling and bootstrap seed."),
    backend: str | None = typer.Option(None, help="hf or vllm."),
    no_base: bool = typer.Option(False, "--no-base", help="Skip the base-model control."),
    judge_model: str | None = typer.Option(None, help=JUDGE_MODEL_HELP),
    judge_base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint."),
    judge_api_key_env: str | None = typer.Option(None, help="NAME of the API key env var."),
    judge_backend: str | None = typer.Option(None, help=JUDGE_BACKEND_HELP),
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
        judge=judge_flags(judge_model, judge_base_url, judge_api_key_env, judge_backend),
    )
    cfg = resolve_config(EvalConfig, config, flags, set_,
                         required={"data": "--data", "out": "--out"}, command="crossling eval")
    d = run_eval(cfg)
    Console().print(f"[green]eval written to {d.root}[/green] (summary: {d.summary_csv})")
    Console().print(d.report_txt.read_text(encoding="utf-8").split("\n\nDETAIL")[0])


def score_cmd(
    input: Path = typer.Argument(..., help="JSONL of rows {id, lang, prompt, response}."),
    scorers: str = typer.Option(
        "refusal_keyword", help="e.g. refusal_keyword,refusal_llm,degenerate,coherence_llm,"
        "fluency (with --model)."),
    out: str | None = typer.Option(None, help="Output JSONL (default: INPUT.scored.jsonl)."),
    judge_model: str | None = typer.Option(None, help=JUDGE_MODEL_HELP),
    judge_base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint."),
    judge_api_key_env: str | None = typer.Option(None, help="NAME of the API key env var."),
    judge_backend: str | None = typer.Option(None, help=JUDGE_BACKEND_HELP),
    model: str | None = typer.Option(
        None, help="Base model the fluency scorers read the answers with (alias, hub id, "
        "folder or .gguf)."),
) -> None:
    """Score any file of answers; write each row with one field per scorer (null = N/A)."""
    from crossling.config_loader import validate_config
    from crossling.evaluate.score_file import ScoreConfig, format_summary, run_score

    fields: dict[str, object] = {
        "input": str(input), "scorers": scorers,
        "out": out or str(input.with_suffix("")) + ".scored.jsonl",
    }
    judge = judge_flags(judge_model, judge_base_url, judge_api_key_env, judge_backend)
    if judge:
        fields["judge"] = judge
    if model:
        fields["model"] = {"name": model}
    cfg = validate_config(ScoreConfig, fields, "flags")
    res = run_score(cfg)
    names = [k for k in res.rows[0] if k in cfg.scorers]
    print(format_summary(res.summary, names))
    print(f"scores written to {res.out}")


app = typer.Typer(help="Evaluate base model and adapters in every language.")
app.command("eval")(eval_cmd)
