"""Evaluation: generation backends, scorers, and the ``run_eval`` stage."""

from crossling.evaluate.backends import (
    BACKENDS,
    Backend,
    Generation,
    GenerationConfig,
    get_backend,
)
from crossling.evaluate.config import EvalConfig, JudgeConfig
from crossling.evaluate.records import BASE_ADAPTER, NO_STEER, gen_key, score_key
from crossling.evaluate.run import run_eval
from crossling.evaluate.scorers import SCORERS, ScorerContext, get_scorer
from crossling.evaluate.scoring import score_rows

__all__ = [
    "BACKENDS",
    "BASE_ADAPTER",
    "NO_STEER",
    "SCORERS",
    "Backend",
    "EvalConfig",
    "Generation",
    "GenerationConfig",
    "JudgeConfig",
    "ScorerContext",
    "gen_key",
    "get_backend",
    "get_scorer",
    "run_eval",
    "score_key",
    "score_rows",
]
