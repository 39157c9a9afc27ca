"""Score ``generations.jsonl`` into ``scores.jsonl``, resumably.

Why separate from generation: scorers change (a new judge, a fixed marker list) far more
often than generations; rescoring old generations must not regenerate anything. Each
(generation, scorer) pair is scored once: a rerun skips pairs already in ``scores.jsonl``.
Rows a judge could not score are left out (never written as 0) and picked up next time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.evaluate.records import ScoreRow, gen_key, read_rows
from crossling.evaluate.scorers.base import Scorer, score_all
from crossling.io import JsonlAppender


@dataclass
class ScoringReport:
    """What one scoring pass did.

    Attributes:
        scored: new (row, scorer) pairs written, per scorer.
        skipped: pairs already present (resume), per scorer.
        failed: pairs left unscored, per scorer.
        errors: one message per scorer that failed (the first error seen).
    """

    scored: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def score_rows(
    generations: list[dict[str, Any]], scorers: list[Scorer], scores_path: Path
) -> ScoringReport:
    """Append the missing (generation, scorer) scores to ``scores_path``.

    Args:
        generations: generation rows (see ``crossling.evaluate.records``).
        scorers: built scorers; those with ``score_many`` get all their rows at once.
        scores_path: the ``scores.jsonl`` log (created or resumed).

    Returns:
        Counts of scored, skipped and failed pairs.
    """
    done = {r.score_key() for r in read_rows(scores_path, ScoreRow)}
    report = ScoringReport()
    lock = threading.Lock()
    with JsonlAppender(scores_path) as out:
        for scorer in scorers:
            todo = [g for g in generations if (*gen_key(g), scorer.name) not in done]
            report.skipped[scorer.name] = len(generations) - len(todo)
            report.scored[scorer.name] = 0
            report.failed[scorer.name] = 0

            def write(row: dict[str, Any], value: float | None, name: str = scorer.name) -> None:
                rec = ScoreRow(**gen_key(row)._asdict(), scorer=name, value=value,
                               empty=not str(row.get("response", "")).strip())
                with lock:
                    out.write(rec.dump())
                    report.scored[name] += 1

            for row, res in zip(todo, score_all(scorer, todo), strict=True):
                if isinstance(res, Exception):  # a judge left it unscored: never written as 0
                    report.failed[scorer.name] += 1
                    report.errors.setdefault(scorer.name, str(res))
                else:
                    write(row, res)
    return report
