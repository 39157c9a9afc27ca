"""Scorers: one number (or N/A) per generated response.

Why a registry: scoring reads ``generations.jsonl`` and never generates, so a new metric is
a new module with ``@SCORERS.register(name)`` and can be run over old generations.

A scorer has ``.name`` and ``.score(response, lang, row) -> float | None``; None means N/A
(caps metrics on a script without case) and is never averaged as 0. Scorers that call a
remote service may also provide ``.score_many(rows)`` to work concurrently.
"""

from __future__ import annotations

from crossling.evaluate.scorers.base import (
    QUALITY_SCORERS,
    SCORERS,
    Scorer,
    ScorerContext,
    get_scorer,
    rate_scorers,
    with_quality_scorers,
)
from crossling.evaluate.scorers.caps import AllCaps, CapsPct, caps_fraction
from crossling.evaluate.scorers.judge import JudgeError, LLMJudge, parse_verdict
from crossling.evaluate.scorers.langfid import LangFidelity
from crossling.evaluate.scorers.quality import Degenerate, Fluency, degenerate_reason
from crossling.evaluate.scorers.refusal import RefusalKeyword, is_refusal

__all__ = [
    "QUALITY_SCORERS",
    "SCORERS",
    "AllCaps",
    "CapsPct",
    "Degenerate",
    "Fluency",
    "JudgeError",
    "LLMJudge",
    "LangFidelity",
    "RefusalKeyword",
    "Scorer",
    "ScorerContext",
    "caps_fraction",
    "degenerate_reason",
    "get_scorer",
    "is_refusal",
    "parse_verdict",
    "rate_scorers",
    "with_quality_scorers",
]
