"""The study runner: one config → data, adapters, evaluation, steering, analysis, report."""

from crossling.runner.pipeline import run_study

__all__ = ["run_study"]
