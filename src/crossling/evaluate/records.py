"""Row keys of ``generations.jsonl`` and ``scores.jsonl``.

Why one place: resuming means "skip every row whose key is already in the log", and the
eval run, the steering sweep and scoring must agree on what a key is.

A generation row::

    {"adapter": "en", "lang": "de", "kind": "task", "id": "alpaca-0007", "steer": "none",
     "prompt": "...", "response": "...", "prompt_tokens": 41, "new_tokens": 100,
     "stopped": false, "reference": "..."}

A score row is the generation key plus ``{"scorer": "caps_pct", "value": 87.5, "empty":
false}`` (value None = N/A for this row, e.g. caps on Chinese; ``empty`` marks an empty
answer, which some scorers cannot tell from a real one — caps_pct scores it 0 — so summaries
count them in ``n_empty``).
"""

from __future__ import annotations

from typing import Any

BASE_ADAPTER = "base"  # adapter name of the control: the base model without LoRA
NO_STEER = "none"  # steer value of unsteered rows

KEY_FIELDS = ("adapter", "lang", "kind", "id", "steer")


def gen_key(row: dict[str, Any]) -> tuple[str, ...]:
    """(adapter, lang, kind, prompt id, steer) of a generation or score row."""
    return (
        str(row["adapter"]), str(row["lang"]), str(row.get("kind", "task")), str(row["id"]),
        str(row.get("steer", NO_STEER)),
    )


def score_key(row: dict[str, Any]) -> tuple[str, ...]:
    """The generation key plus the scorer name."""
    return (*gen_key(row), str(row["scorer"]))
