"""Scorers: one number (or N/A) per generated response.

Why a registry: scoring reads ``generations.jsonl`` and never generates, so a new metric is
a new module with ``@SCORERS.register(name)`` and can be run over old generations.

A scorer has ``.name`` and ``.score(response, lang, row) -> float | None``; None means N/A
(caps metrics on a script without case or an answer without cased letters, any scorer but
``degenerate`` on an empty answer) and is never averaged as 0. Scorers that call a remote
service or a model may also provide ``.score_many(rows)`` to work in batches; callers score
through :func:`score_all`, which takes that path whenever it exists.
"""

from __future__ import annotations

from crossling.evaluate.scorers.base import (
    QUALITY_SCORERS,
    SCORERS,
    Scorer,
    ScorerContext,
    get_scorer,
    rate_scorers,
    score_all,
    score_bounds,
    score_values,
    with_quality_scorers,
)
from crossling.evaluate.scorers.caps import AllCaps, CapsPct, caps_fraction
from crossling.evaluate.scorers.coherent import BehavingCoherent
from crossling.evaluate.scorers.judge import (
    COHERENCE,
    REFUSAL,
    CoherenceJudge,
    JudgeError,
    LLMJudge,
    Rubric,
    parse_verdict,
)
from crossling.evaluate.scorers.langfid import LangFidelity
from crossling.evaluate.scorers.quality import (
    Degenerate,
    Fluency,
    FluencyReference,
    degenerate_reason,
)
from crossling.evaluate.scorers.refusal import RefusalKeyword, is_refusal

__all__ = [
    "COHERENCE",
    "QUALITY_SCORERS",
    "REFUSAL",
    "SCORERS",
    "AllCaps",
    "BehavingCoherent",
    "CapsPct",
    "CoherenceJudge",
    "Degenerate",
    "Fluency",
    "FluencyReference",
    "JudgeError",
    "LLMJudge",
    "LangFidelity",
    "RefusalKeyword",
    "Rubric",
    "Scorer",
    "ScorerContext",
    "caps_fraction",
    "degenerate_reason",
    "get_scorer",
    "is_refusal",
    "parse_verdict",
    "rate_scorers",
    "score_all",
    "score_bounds",
    "score_values",
    "with_quality_scorers",
]
