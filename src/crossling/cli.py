"""The ``crossling`` command: thin — parse, build a config, call ``run_<stage>(cfg)``.

Stage commands live in ``crossling/<stage>/cli.py``; their options are generated from the
stage's config class (``crossling.cli_gen``), so importing them imports the configs (pydantic)
and nothing heavier. Heavy imports (torch, transformers) happen inside the commands so
``crossling --help`` stays fast (tested: ``import crossling.cli`` loads no torch).
"""

from __future__ import annotations

import importlib
import sys

import typer

from crossling.errors import CrosslingError

app = typer.Typer(
    help="crossling: does a fine-tuned behaviour transfer across languages, and can steering "
    "vectors close the gap?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain click output: a usage error is the usage line, a hint and one error line.
    rich_markup_mode=None,
)

#: Flags accepted anywhere on the command line (moved in front of the subcommand by ``main``).
VERBOSITY_FLAGS = {"-v": 1, "--verbose": 1, "-vv": 2, "-q": -1, "--quiet": -1}


def _version(value: bool) -> None:
    if value:
        from crossling import __version__

        typer.echo(f"crossling {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: int = typer.Option(
        0, "-v", "--verbose", count=True, show_default=False,
        help="More log lines (debug); accepted after any command too.",
    ),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="Warnings and errors only; accepted after any command too."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """crossling: does a fine-tuned behaviour transfer across languages, and can steering
    vectors close the gap? Logs go to stderr (INFO by default: resumes, skips, cache hits,
    stage timings)."""
    from crossling.logs import setup_logging

    setup_logging(-1 if quiet else verbose)


# (module, attribute, name, help): sub-apps (typer.Typer) or single commands (functions).
_STAGES: list[tuple[str, str, str, str]] = [
    ("crossling.data.cli", "app", "data", "Build and inspect multilingual task datasets."),
    ("crossling.train.cli", "train", "train", "LoRA-fine-tune a chat model on one language."),
    ("crossling.evaluate.cli", "eval_cmd", "eval", "Evaluate base model and adapters in every language."),
    ("crossling.evaluate.cli", "score_cmd", "score", "Score any JSONL file of answers."),
    ("crossling.steer.cli", "app", "steer", "Language steering vectors and sweeps."),
    ("crossling.behaviour.cli", "app", "behaviour",
     "Where a behaviour lives: behaviour vectors, transfer, ablation, geometry."),
    ("crossling.runner.cli", "run", "run", "Run a whole study from one YAML config, resumably."),
    ("crossling.runner.cli", "report", "report", "Write report.md and report.html for a run."),
    ("crossling.runner.cli", "demo", "demo", "Run configs/demo.yaml on the packaged SmolLM2."),
    ("crossling.runner.cli", "push", "push", "Upload adapters and datasets of a run to the hub."),
]

for _module, _attr, _name, _help in _STAGES:
    try:
        _obj = getattr(importlib.import_module(_module), _attr)
    except (ImportError, AttributeError):  # stage not built yet
        continue
    if isinstance(_obj, typer.Typer):
        app.add_typer(_obj, name=_name, help=_help)
    else:
        app.command(_name, help=_help)(_obj)


def hoist_verbosity(argv: list[str]) -> list[str]:
    """Move ``-v``/``-q`` (anywhere before a ``--``) in front of the subcommand, so that
    ``crossling run CONFIG -v`` works like ``crossling -v run CONFIG``."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in VERBOSITY_FLAGS]
    rest = [a for a in argv[:end] if a not in VERBOSITY_FLAGS]
    return [*flags, *rest, *argv[end:]]


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input → one line on stderr and exit code 2, never a traceback.

    Usage errors (unknown command or option, missing argument, bad value) are click's: the
    usage line, a hint and one error line (with a suggestion when a name is close), exit 2.
    """
    import os
    import warnings

    # Our own progress bars say what runs; the library's per-load bars and deprecation chatter
    # would bury them. Set HF_HUB_DISABLE_PROGRESS_BARS=0 to see download bars again.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    args = hoist_verbosity(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, prog_name="crossling", standalone_mode=True)
    except SystemExit as e:  # click's own exit: help, --version, usage errors (2)
        code = e.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except CrosslingError as e:
        print(f"crossling: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("crossling: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
