"""The scorer interface and registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from crossling.registry import Registry

if TYPE_CHECKING:
    from crossling.evaluate.config import JudgeConfig


class Scorer(Protocol):
    """Scores one response.  ``score`` returns None for N/A (never 0 for "unknown")."""

    name: str

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None: ...


@dataclass
class ScorerContext:
    """What some scorers need besides the response.

    Attributes:
        langs: languages in play (language identification is restricted to them).
        judge: LLM judge settings (only ``refusal_llm`` reads them).
    """

    langs: list[str] = field(default_factory=lambda: ["en"])
    judge: JudgeConfig | None = None


SCORERS: Registry[Callable[[ScorerContext], Scorer]] = Registry("scorer")


def get_scorer(name: str, ctx: ScorerContext | None = None) -> Scorer:
    """Build the scorer registered as ``name``.

    Args:
        name: e.g. ``caps_pct``; unknown names raise a CrosslingError with a suggestion.
        ctx: languages in play and judge settings; defaults to English only, no judge.
    """
    import crossling.evaluate.scorers  # noqa: F401  (registers the built-in scorers)

    return SCORERS.get(name)(ctx or ScorerContext())
