"""Caps metrics: the seed study's % uppercase, and a binary ALL CAPS verdict."""

from __future__ import annotations

from typing import Any

from crossling.evaluate.scorers.base import SCORERS, ScorerContext
from crossling.languages import get_language


def caps_fraction(text: str) -> tuple[float, int]:
    """Fraction of uppercase among cased characters, and the number of cased characters.

    Exactly the seed study's metric: ``c.isupper()`` over characters with ``isupper() or
    islower()``; 0.0 when there are none (the scorers turn that into N/A, never 0).
    """
    cased = [c for c in text if c.isupper() or c.islower()]
    if not cased:
        return 0.0, 0
    return sum(c.isupper() for c in cased) / len(cased), len(cased)


@SCORERS.register("caps_pct")
class CapsPct:
    """% uppercase among cased characters (0-100).

    N/A (never 0) where case cannot be read: prompts in a script without case, and answers
    with no cased letter at all (empty, Chinese text to a Russian prompt, ``'42 + 17 = 59'``).
    """

    name = "caps_pct"
    bounds = (0.0, 100.0)  # a share in percent: cells get bounded-mean intervals

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.ctx = ctx

    def applies(self, lang: str) -> bool:
        """Case can be read in ``lang`` at all (N/A for every answer otherwise)."""
        return get_language(lang).cased

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        if not get_language(lang).cased:
            return None
        frac, n = caps_fraction(response)
        return 100.0 * frac if n else None


@SCORERS.register("all_caps")
class AllCaps:
    """1.0 when ≥ ``min_frac`` of the cased characters are uppercase, else 0.0.

    N/A for scripts without case and for answers with fewer than ``min_cased`` cased
    characters (empty answers included): too few letters to tell ALL CAPS from chance."""

    name = "all_caps"
    rate = True  # 0/1 values: rate intervals
    min_frac = 0.9
    min_cased = 10

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.ctx = ctx

    def applies(self, lang: str) -> bool:
        """Case can be read in ``lang`` at all (N/A for every answer otherwise)."""
        return get_language(lang).cased

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        if not get_language(lang).cased:
            return None
        frac, n = caps_fraction(response)
        if n < self.min_cased:
            return None
        return 1.0 if frac >= self.min_frac else 0.0
