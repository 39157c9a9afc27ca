"""The row type every source returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceRow:
    """One item in one language. ``id`` is the parallel item id: the same id in two
    languages means the two texts are translations of each other."""

    id: str
    lang: str
    instruction: str
    input: str | None = None
    output: str | None = None
