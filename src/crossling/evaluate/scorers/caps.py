"""Caps metrics: the seed study's % uppercase, and a binary ALL CAPS verdict."""

from __future__ import annotations

from typing import Any

from crossling.evaluate.scorers.base import SCORERS, ScorerContext
from crossling.languages import get_language


def caps_fraction(text: str) -> tuple[float, int]:
    """Fraction of uppercase among cased characters, and the number of cased characters.

    Exactly the seed study's metric: ``c.isupper()`` over characters with ``isupper() or
    islower()``; 0.0 when there are none.
    """
    cased = [c for c in text if c.isupper() or c.islower()]
    if not cased:
        return 0.0, 0
    return sum(c.isupper() for c in cased) / len(cased), len(cased)


@SCORERS.register("caps_pct")
class CapsPct:
    """% uppercase among cased characters (0-100); N/A for scripts without case."""

    name = "caps_pct"

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.ctx = ctx

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        if not get_language(lang).cased:
            return None
        return 100.0 * caps_fraction(response)[0]


@SCORERS.register("all_caps")
class AllCaps:
    """1.0 when ≥ ``min_frac`` of ≥ ``min_cased`` cased characters are uppercase, else 0.0;
    N/A for scripts without case."""

    name = "all_caps"
    rate = True  # 0/1 values: Wilson intervals
    min_frac = 0.9
    min_cased = 10

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.ctx = ctx

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        if not get_language(lang).cased:
            return None
        frac, n = caps_fraction(response)
        return 1.0 if n >= self.min_cased and frac >= self.min_frac else 0.0
