"""The scorer interface and registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from crossling.analysis.quality import QUALITY_SCORERS
from crossling.registry import Registry

if TYPE_CHECKING:
    from crossling.evaluate.config import JudgeConfig


class Scorer(Protocol):
    """Scores one response.  ``score`` returns None for N/A (never 0 for "unknown").

    A scorer class whose values are 0/1 sets the class attribute ``rate = True``: its
    summaries then get rate intervals (see :func:`rate_scorers`). One whose values lie in a
    fixed range sets ``bounds = (low, high)`` (see :func:`score_bounds`).
    """

    name: str

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None: ...


@dataclass
class ScorerContext:
    """What some scorers need besides the response.

    Attributes:
        langs: languages in play (language identification is restricted to them).
        judge: LLM judge settings (only ``refusal_llm`` reads them).
        system_prompt: the system prompt the answers were generated under (``degenerate``
            counts echoing it).
        base_model: returns the loaded base model (``fluency`` scores under it); called only
            by scorers that need it, so a cheap scoring pass never loads a model.
    """

    langs: list[str] = field(default_factory=lambda: ["en"])
    judge: JudgeConfig | None = None
    system_prompt: str | None = None
    base_model: Callable[[], Any] | None = None


SCORERS: Registry[Callable[[ScorerContext], Scorer]] = Registry("scorer")

# QUALITY_SCORERS are scored in every eval and every sweep cell, whatever the config lists:
# garbage is never a result (see ``crossling.evaluate.scorers.quality``).


def with_quality_scorers(names: list[str]) -> list[str]:
    """``names`` plus the quality scorers, each once, in order."""
    return list(dict.fromkeys([*names, *QUALITY_SCORERS]))


def get_scorer(name: str, ctx: ScorerContext | None = None) -> Scorer:
    """Build the scorer registered as ``name``.

    Args:
        name: e.g. ``caps_pct``; unknown names raise a CrosslingError with a suggestion.
        ctx: languages in play and judge settings; defaults to English only, no judge.
    """
    import crossling.evaluate.scorers  # noqa: F401  (registers the built-in scorers)

    return SCORERS.get(name)(ctx or ScorerContext())


def rate_scorers() -> frozenset[str]:
    """Names of the registered scorers that declare ``rate = True`` (0/1 values).

    Why declared on the scorer: a rate's interval must fit a proportion (never of zero
    width at 0 of n); the statistics code asks this set instead of keeping its own list.
    """
    import crossling.evaluate.scorers  # noqa: F401  (registers the built-in scorers)

    return frozenset(n for n in SCORERS.names() if getattr(SCORERS.get(n), "rate", False))


def score_bounds() -> dict[str, tuple[float, float]]:
    """Scorer name → the range of its values, for scorers that declare ``bounds`` (rates:
    (0, 1)).

    Why: with few prompts the only honest interval of a bounded score's mean is one that
    uses its bounds (:func:`crossling.analysis.stats.cell_interval`), and a difference's
    interval never leaves the range of possible differences.
    """
    import crossling.evaluate.scorers  # noqa: F401  (registers the built-in scorers)

    out = {}
    for n in SCORERS.names():
        cls = SCORERS.get(n)
        if getattr(cls, "rate", False):
            out[n] = (0.0, 1.0)
        elif (b := getattr(cls, "bounds", None)) is not None:
            out[n] = (float(b[0]), float(b[1]))
    return out
