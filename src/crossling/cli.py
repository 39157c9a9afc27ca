"""The ``crossling`` command: thin — parse, build a config, call ``run_<stage>(cfg)``.

Stage commands live in ``crossling/<stage>/cli.py``; heavy imports (torch, transformers)
happen inside the commands so ``crossling --help`` stays fast.
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
)

# (module, attribute, name, help): sub-apps (typer.Typer) or single commands (functions).
_STAGES: list[tuple[str, str, str, str]] = [
    ("crossling.data.cli", "app", "data", "Build and inspect multilingual task datasets."),
    ("crossling.train.cli", "train", "train", "LoRA-fine-tune a chat model on one language."),
    ("crossling.evaluate.cli", "eval_cmd", "eval", "Evaluate base model and adapters in every language."),
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


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input → one line on stderr and exit code 2, never a traceback."""
    import os
    import warnings

    import click

    # Our own progress bars say what runs; the library's per-load bars and deprecation chatter
    # would bury them. Set HF_HUB_DISABLE_PROGRESS_BARS=0 to see download bars again.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        app(args=argv, standalone_mode=False)
    except CrosslingError as e:
        print(f"crossling: error: {e}", file=sys.stderr)
        return 2
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except click.exceptions.Abort:
        print("crossling: aborted", file=sys.stderr)
        return 130
    except click.ClickException as e:
        e.show()
        return 2
    except KeyboardInterrupt:
        print("crossling: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
