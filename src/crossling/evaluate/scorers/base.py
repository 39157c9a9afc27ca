"""The scorer interface and registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from crossling.analysis.quality import QUALITY_SCORERS
from crossling.errors import CrosslingError
from crossling.registry import Registry

if TYPE_CHECKING:
    from crossling.evaluate.config import JudgeConfig


class Scorer(Protocol):
    """Scores one response.  ``score`` returns None for N/A (never 0 for "unknown").

    A scorer class whose values are 0/1 sets the class attribute ``rate = True``: its
    summaries then get rate intervals (see :func:`rate_scorers`). One whose values lie in a
    fixed range sets ``bounds = (low, high)`` (see :func:`score_bounds`). One that cannot
    read any answer in some languages (caps on a script without case) may say so with
    ``applies(lang) -> bool``: then a garbage answer there is N/A for ``behaving_coherent``
    too, not 0 (:mod:`crossling.evaluate.scorers.coherent`).
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
        task: the task the answers belong to (``behaving_coherent`` applies its pass rule);
            None where no task is known (``crossling score`` on a file).
    """

    langs: list[str] = field(default_factory=lambda: ["en"])
    judge: JudgeConfig | None = None
    system_prompt: str | None = None
    base_model: Callable[[], Any] | None = None
    task: str | None = None


SCORERS: Registry[Callable[[ScorerContext], Scorer]] = Registry("scorer", "crossling.scorers")


def score_all(scorer: Scorer, rows: Sequence[dict[str, Any]]) -> list[float | Exception | None]:
    """Every row's value: one ``scorer.score_many(rows)`` call when the scorer has it, else
    ``scorer.score(response, lang, row)`` per row.

    Why one function: a judge or a model scores far faster in batches, and every caller (eval
    scoring, ``crossling score``, the sweep's table, the behaviour logs) must take the batch
    path whenever a scorer offers it — never re-decide it.

    Args:
        scorer: a built scorer.
        rows: generation rows (``response``, ``lang``, and whatever the scorer reads).

    Returns:
        Per row its value (None: N/A) or, from a batching judge, the exception that left
        the row unscored (a scorer without ``score_many`` raises instead).
    """
    many = getattr(scorer, "score_many", None)
    if many is not None:
        return list(many(list(rows)))
    return [scorer.score(str(r["response"]), str(r["lang"]), r) for r in rows]


def score_values(scorer: Scorer, rows: Sequence[dict[str, Any]]) -> list[float | None]:
    """:func:`score_all` for callers that cannot leave a row unscored.

    Raises:
        CrosslingError: a judge left rows unscored (verdicts obtained are cached, so a rerun
            asks only for the rest).
    """
    values = score_all(scorer, rows)
    errors = [v for v in values if isinstance(v, Exception)]
    if errors:
        raise CrosslingError(
            f"{scorer.name} left {len(errors)} of {len(values)} rows unscored ({errors[0]}); "
            "rerun to finish (verdicts obtained so far are cached).")
    return [None if isinstance(v, Exception) else v for v in values]

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


def _loadable() -> list[tuple[str, Any]]:
    """Every registered scorer that loads: a broken plugin scorer is left out with a
    warning here (using it by name still fails with its one-line error), so it cannot
    break studies that never use it."""
    import logging

    out = []
    for n in SCORERS.names():
        try:
            out.append((n, SCORERS.get(n)))
        except CrosslingError as e:
            logging.getLogger(__name__).warning("scorer %s left out: %s", n, e)
    return out


def rate_scorers() -> frozenset[str]:
    """Names of the registered scorers that declare ``rate = True`` (0/1 values).

    Why declared on the scorer: a rate's interval must fit a proportion (never of zero
    width at 0 of n); the statistics code asks this set instead of keeping its own list.
    """
    import crossling.evaluate.scorers  # noqa: F401  (registers the built-in scorers)

    return frozenset(n for n, cls in _loadable() if getattr(cls, "rate", False))


def score_bounds() -> dict[str, tuple[float, float]]:
    """Scorer name → the range of its values, for scorers that declare ``bounds`` (rates:
    (0, 1)).

    Why: with few prompts the only honest interval of a bounded score's mean is one that
    uses its bounds (:func:`crossling.analysis.stats.cell_interval`), and a difference's
    interval never leaves the range of possible differences.
    """
    import crossling.evaluate.scorers  # noqa: F401  (registers the built-in scorers)

    out = {}
    for n, cls in _loadable():
        if getattr(cls, "rate", False):
            out[n] = (0.0, 1.0)
        elif (b := getattr(cls, "bounds", None)) is not None:
            out[n] = (float(b[0]), float(b[1]))
    return out
