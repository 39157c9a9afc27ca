"""``crossling eval`` and ``crossling score``: thin CLIs over ``run_eval`` and ``run_score``.

Their options are generated from ``EvalConfig`` and ``ScoreConfig`` (``crossling.cli_gen``);
this module adds only older option names (aliases) and the ``--adapters NAME=DIR`` syntax.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from crossling.cli_gen import SET_OPTION, ConfigOptions
from crossling.errors import CrosslingError
from crossling.evaluate.config import EvalConfig
from crossling.evaluate.score_file import ScoreConfig


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


#: Older or shorter option names → config keys (``crossling eval``).
EVAL_ALIASES = {
    "--model": "model.name",
    "--batch-size": "generation.batch_size",
    "--sample/--greedy": "generation.do_sample",
    "/--no-base": "include_base",
}
#: ``crossling score``.
SCORE_ALIASES = {"--model": "model.name"}

EVAL_OPTIONS = ConfigOptions(
    EvalConfig, aliases=EVAL_ALIASES, prefixed={"judge"},
    parsers={"adapters": (parse_adapters, "NAME=DIR,...")},
)
SCORE_OPTIONS = ConfigOptions(ScoreConfig, aliases=SCORE_ALIASES, prefixed={"judge"},
                              exclude={"input"})


@EVAL_OPTIONS.command
def eval_cmd(
    config: Path | None = typer.Argument(None, help="YAML eval config (flags override it)."),
    set_: list[str] | None = SET_OPTION,
    *,
    flags: dict[str, Any],
) -> None:
    """Evaluate a base model and adapters in every language: generate, score, summarize, plot."""
    from rich.console import Console

    from crossling.evaluate.run import run_eval
    from crossling.overrides import resolve_config

    if "seed" in flags:  # --seed also seeds sampling, as it always did
        flags.setdefault("generation", {}).setdefault("seed", flags["seed"])
    cfg = resolve_config(EvalConfig, config, flags, set_,
                         required={"data": "--data", "out": "--out"}, command="crossling eval")
    d = run_eval(cfg)
    Console().print(f"[green]eval written to {d.root}[/green] (summary: {d.summary_csv})")
    Console().print(d.report_txt.read_text(encoding="utf-8").split("\n\nDETAIL")[0])


@SCORE_OPTIONS.command
def score_cmd(
    input: Path = typer.Argument(..., help="JSONL of rows {id, lang, prompt, response}."),
    *,
    flags: dict[str, Any],
) -> None:
    """Score any file of answers; write each row with one field per scorer (null = N/A)."""
    from crossling.evaluate.score_file import format_summary, run_score
    from crossling.overrides import resolve_config

    flags["input"] = str(input)
    flags.setdefault("out", str(input.with_suffix("")) + ".scored.jsonl")
    cfg = resolve_config(ScoreConfig, None, flags, command="crossling score")
    res = run_score(cfg)
    names = [k for k in res.rows[0] if k in cfg.scorers]
    print(format_summary(res.summary, names))
    print(f"scores written to {res.out}")


app = typer.Typer(help="Evaluate base model and adapters in every language.")
app.command("eval")(eval_cmd)
