"""Evaluation: generation backends, scorers, and the ``run_eval`` stage."""

from crossling.evaluate.backends import (
    BACKENDS,
    Backend,
    Generation,
    GenerationConfig,
    get_backend,
)
from crossling.evaluate.config import EvalConfig, JudgeConfig
from crossling.evaluate.records import (
    BASE_ADAPTER,
    NO_STEER,
    GenerationRow,
    ScoreRow,
    gen_key,
    read_rows,
    score_key,
)
from crossling.evaluate.run import run_eval
from crossling.evaluate.scorers import SCORERS, ScorerContext, get_scorer, score_all
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
    "GenerationRow",
    "JudgeConfig",
    "ScoreRow",
    "ScorerContext",
    "gen_key",
    "get_backend",
    "get_scorer",
    "read_rows",
    "run_eval",
    "score_all",
    "score_key",
    "score_rows",
]
