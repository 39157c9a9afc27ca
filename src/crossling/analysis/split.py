"""Selection / confirmation split of eval ids.

Why: a setting (layer, strength) chosen as the best of many cells on some prompts is biased
upward on those prompts; it is reported honestly only on prompts it was not chosen on. Every
choose-then-report protocol in crossling (steering sweeps, behaviour transfer) splits its ids
with this one function, so the same seed gives the same halves everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def selection_confirmation(
    ids: Sequence[str], seed: int, selection_fraction: float = 0.5
) -> tuple[list[str], list[str]]:
    """Split ids into disjoint, seeded selection and confirmation sets.

    Args:
        ids: parallel item ids (duplicates are dropped; order does not matter).
        seed: seed of the shuffle.
        selection_fraction: share of ids used to choose; the rest confirm.

    Returns:
        (selection_ids, confirmation_ids), each sorted; both non-empty when there are ≥ 2 ids.
    """
    pool = sorted(set(ids))
    random.Random(seed).shuffle(pool)
    k = round(len(pool) * selection_fraction)
    if len(pool) >= 2:
        k = min(max(k, 1), len(pool) - 1)
    return sorted(pool[:k]), sorted(pool[k:])
