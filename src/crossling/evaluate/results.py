"""The evaluation's ``summary.json`` as types: one :class:`SummaryCell` per (adapter,
language, prompt kind, steering setting, scorer).

Why: the report, the trackers and the plots read these cells; declaring their keys once
(with what they mean) replaces ``r.get("n_empty")``-style reads that quietly yield nothing
when a key is renamed. Policy (unknown keys refused, unmeasured keys left out):
:mod:`crossling.results`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, RootModel

from crossling.io import atomic_write_json
from crossling.results import STUDY_RERUN, ResultModel, read_result


class SummaryCell(ResultModel):
    """One cell of scores (:func:`crossling.analysis.stats.summarize`): counts, mean,
    spread, percentiles and the 95 % interval over prompts. Statistics are None for a cell
    where no answer could be scored (never 0)."""

    adapter: str = Field(description="Adapter name; the control (base model) is 'base'.")
    lang: str
    kind: str = Field(description="Prompt kind: task, harmful or harmless.")
    steer: str = Field(description="Steering setting; 'none' when unsteered.")
    scorer: str
    n: int = Field(description="Answers scored (N/A ones excluded).")
    n_na: int = Field(description="Answers the scorer could not read.")
    mean: float | None
    std: float | None
    median: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p90: float | None
    p95: float | None
    ci_low: float | None
    ci_high: float | None
    method: str | None = Field(description="What the interval is.")
    approximate: bool | None = Field(description="Fewer than 30 prompts behind the interval.")
    n_empty: int = Field(description="Empty answers (N/A for every scorer but degenerate).")


class EvalSummary(RootModel[list[SummaryCell]]):
    """``summary.json``: the list of cells, in first-seen order of the scores."""

    rebuild: ClassVar[str] = (
        "delete it and rerun the evaluation: " + STUDY_RERUN + ", or `crossling eval` with "
        "the same --out (it is rebuilt from generations.jsonl and scores.jsonl)")

    def to_json(self) -> list[dict[str, Any]]:
        """The file's content (see :meth:`crossling.results.ResultModel.to_json`)."""
        return [c.to_json() for c in self.root]

    def write(self, path: str | Path) -> None:
        """Write the file atomically."""
        atomic_write_json(path, self.to_json())

    @classmethod
    def read(cls, path: str | Path) -> EvalSummary:
        """Read and validate ``summary.json``.

        Raises:
            CrosslingError: the file does not match (one line saying how to rebuild it).
        """
        return read_result(cls, path, cls.rebuild)
