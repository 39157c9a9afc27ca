"""Split by parallel item id, so no translation of a training item is ever an eval prompt."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from crossling.data.rows import SourceRow
from crossling.errors import CrosslingError


@dataclass(frozen=True)
class Split:
    eval_ids: list[str]
    train_ids: list[str]


def ids_by_lang(rows: list[SourceRow]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        out[r.lang].add(r.id)
    return out


def split_ids(
    rows: list[SourceRow], train_langs: list[str], eval_langs: list[str], eval_size: int,
    seed: int,
) -> Split:
    """Hold out ``eval_size`` ids present in every eval language; train on the rest.

    Eval ids are drawn from ids present in all eval languages (so every language is scored on
    the same items); training ids are all other ids, in any language, so an eval id can never
    reach training through a translation. Deterministic for a given seed.
    """
    by_lang = ids_by_lang(rows)
    for lang in dict.fromkeys([*train_langs, *eval_langs]):
        if not by_lang.get(lang):
            have = ", ".join(sorted(by_lang)) or "none"
            raise CrosslingError(
                f"the source has no rows in language '{lang}' (it has: {have}); "
                "drop the language or use a source that covers it."
            )
    common = set.intersection(*(by_lang[lang] for lang in eval_langs))
    if eval_size > len(common):
        raise CrosslingError(
            f"eval_size {eval_size} is larger than the {len(common)} ids available in all eval "
            f"languages ({', '.join(eval_langs)}); lower eval_size or drop a language."
        )
    pool = sorted(common)
    random.Random(seed).shuffle(pool)
    eval_ids = sorted(pool[:eval_size])
    held = set(eval_ids)
    all_ids = set().union(*(by_lang[lang] for lang in train_langs))
    train_ids = sorted(all_ids - held)
    return Split(eval_ids=eval_ids, train_ids=train_ids)
