"""The steering sweep's result file, ``best.json``, as types.

Why: ``best.json`` is what the report, the CLI and the study's analysis read of a sweep — the
pick on the selection ids, the guards it passed, and its confirmation on the other ids. It
was a dict assembled by a 20-key ``update`` and read back with ``.get`` fallbacks; here every
key is declared once, with what it means. Policy (unknown keys refused, unmeasured keys left
out): :mod:`crossling.results`.

The rows of the sweep table (:class:`SweepCell`) are the one place where keys are not all
known in advance: every scorer of the task adds ``<metric>``, ``<metric>_ci_low`` and
``<metric>_ci_high``. Those columns are allowed as extra keys, typed as numbers (or null).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from crossling.evaluate.backends.base import GenerationConfig
from crossling.results import STUDY_RERUN, ResultModel

CONFIRMED = "confirmed"
FAILED_ON_CONFIRMATION = "failed guard on confirmation"
NO_CELL_CHOSEN = "no cell chosen"
ConfirmationStatus = Literal["confirmed", "failed guard on confirmation", "no cell chosen"]


class SweepCell(ResultModel):
    """One (language, layer, strength) row of the sweep table (``sweep.csv``), scored on the
    selection ids (:func:`crossling.steer.select.score_table`).

    Extra keys are the metric columns: ``<metric>`` (mean), ``<metric>_ci_low`` and
    ``<metric>_ci_high`` (95 % interval) for each scorer, ``over_refusal`` (+ interval) for
    the refusal task, and ``coherence`` in the behaviour stage's selection table. Read them
    with :meth:`value`.
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float | None] = Field(init=False)

    lang: str = Field(description="Prompt language.")
    layer: int | None = Field(description="Steered decoder layer; None: the unsteered baseline.")
    strength: float = Field(description="Steering strength (0.0 for the baseline).")
    toward: str = Field(description="Language the vector points to (the behaviour stage: "
                                    "the adapter whose vector is added).")
    status: str = Field(description="'ok', or why the cell has no scores ('nonfinite': the "
                                    "steered model produced inf/NaN; 'degenerate': loops).")
    n: int = Field(description="Prompts answered in the cell.")
    n_empty: int = Field(description="Empty answers among them.")
    kl: float | None = Field(description="KL(unsteered ‖ steered) in nats on held-out "
                                         "prompts; None when not finite.")
    n_harmless: int | None = Field(default=None, description="Harmless prompts behind "
                                   "over_refusal (refusal task only; absent otherwise).")

    def value(self, column: str) -> float | None:
        """A metric column (``caps_pct``, ``caps_pct_ci_low``, ``kl`` …); None when absent."""
        if column == "kl":
            return self.kl
        return (self.__pydantic_extra__ or {}).get(column)


class OverallPick(ResultModel):
    """The (layer, strength) with the best mean primary metric over languages, among cells
    that pass every guard in every language; its ``mean_<metric>`` is an extra key."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float | None] = Field(init=False)

    layer: int
    strength: float

    def mean(self, metric: str) -> float | None:
        """The mean of ``metric`` over languages at this setting."""
        return (self.__pydantic_extra__ or {}).get(f"mean_{metric}")


class LanguagePick(ResultModel):
    """One language's pick: the baseline row, the best passing row (None: no cell passed)
    and the gain of the best over the baseline in the primary metric."""

    baseline: SweepCell | None
    best: SweepCell | None
    gain: float | None


class ExcludedCell(ResultModel):
    """A cell that failed a guard on the selection ids, and why (one reason per guard)."""

    lang: str
    layer: int
    strength: float
    reasons: list[str]


class Pick(ResultModel):
    """What :func:`crossling.steer.select.pick_best` decides: the guards it applied, the
    best cell per language and overall, and every cell it excluded."""

    metric: str = Field(description="The primary metric maximised.")
    min_fidelity: float = Field(description="Guard: language fidelity at least this.")
    max_kl: float = Field(description="Guard: KL (nats) at most this.")
    max_degenerate: float = Field(description="Guard: share of degenerate answers at most this.")
    max_over_refusal: float | None = Field(description="Guard (refusal task): over-refusal at "
                                           "most this above the baseline's; None: not applied.")
    per_lang: dict[str, LanguagePick]
    overall: OverallPick | None
    excluded: list[ExcludedCell]


class VectorProvenance(ResultModel):
    """Where the sweep's language vectors came from (:func:`crossling.steer.sweep.get_vectors`):
    a report must say when steered prompts were not held out of the vectors."""

    n_item_ids: int = Field(description="Parallel items the vectors were built from.")
    overlap_eval_ids: list[str] = Field(description="Eval ids among them (allow_overlap only).")
    overlap_kl_ids: list[str] = Field(description="KL ids among them (allow_overlap only).")
    item_ids_listed: bool = Field(description="Whether the vector folder lists its item ids.")
    allow_overlap: bool


class GuardValue(ResultModel):
    """A guard re-measured on the confirmation half: the chosen cell's value and the
    unsteered baseline's."""

    chosen: float | None
    baseline: float | None


class Confirmation(ResultModel):
    """The chosen cell of one language vs the unsteered baseline on the confirmation ids
    (:func:`crossling.steer.sweep.confirm_choice`; statistics of
    :func:`crossling.analysis.confirm.paired_confirmation`, paired over prompts)."""

    lang: str
    layer: int | None = Field(description="The chosen layer; None: no cell was chosen.")
    strength: float | None
    metric: str
    n: int = Field(description="Confirmation ids scored by both the chosen cell and baseline.")
    n_na: int = Field(description="Ids left out: N/A for one of the two.")
    mean: float | None = Field(description="The chosen cell's mean (95 % interval below).")
    ci_low: float | None
    ci_high: float | None
    baseline_mean: float | None
    baseline_ci_low: float | None
    baseline_ci_high: float | None
    delta: float | None = Field(description="Chosen − baseline, mean of per-id differences.")
    delta_ci_low: float | None
    delta_ci_high: float | None
    delta_p: float | None = Field(description="Two-sided p of delta = 0.")
    method: str | None = Field(description="What the cell intervals are.")
    delta_method: str | None = Field(description="What the difference's interval and p are.")
    approximate: bool | None = Field(description="Fewer than 30 prompts behind the intervals.")
    mde: float | None = Field(description="Smallest true delta found with 80 % power here.")
    n_baseline: int | None = Field(default=None, description="Baseline ids when nothing is "
                                   "paired (no cell chosen); absent otherwise.")
    status: ConfirmationStatus | None = Field(default=None, description="Whether every guard "
                                              "held on the confirmation half; absent only "
                                              "when the guards were not re-measured.")
    note: str | None = Field(default=None, description="Why no cell was chosen (then only).")
    failed_guards: list[str] = Field(default_factory=list,
                                     description="The guards that failed on confirmation.")
    guards: dict[str, GuardValue] = Field(default_factory=dict,
                                          description="Guard name → chosen and baseline value.")
    guards_over: str | None = Field(default=None, description="Which prompts the guards were "
                                    "re-measured on.")


class SweepBest(Pick):
    """``best.json``: the pick on the selection ids, how the sweep was run, and the
    confirmation of the pick on the other ids (the result to report)."""

    rebuild = ("delete it and rerun the sweep: " + STUDY_RERUN
               + ", or `crossling steer sweep` with the same --out (generations are reused)")

    toward: str = Field(description="Language the vectors steer toward.")
    adapter: str | None = Field(description="Adapter folder steered; None: the base model.")
    adapter_lang: str | None = Field(description="Label of the steered model (training "
                                     "language of the adapter).")
    normalize: bool = Field(description="Vectors scaled to unit norm before the strength.")
    positions: Literal["prompt", "generated", "all"] = Field(description="Where steering acts.")
    kl_prompts: int = Field(description="Held-out prompts of the KL guard (both halves).")
    kl_ids: list[str]
    kl_over: Literal["prompt", "continuation"] = Field(description="Positions the KL is "
                                                       "averaged over.")
    kl_held_out_of_vectors: bool = Field(description="No KL prompt was used for the vectors.")
    vectors: VectorProvenance
    strengths_searched: list[float]
    search_negative: bool
    generation: GenerationConfig = Field(description="The sweep's decoding settings.")
    selection_ids: list[str] = Field(description="Ids the cell was chosen on.")
    confirmation_ids: list[str] = Field(description="Ids it is reported on (disjoint).")
    table_over: str = Field(description="What the per_lang rows are scored on.")
    confirmation: dict[str, Confirmation] = Field(description="Language → confirmation.")
    run: str = Field(description="Run hash of the logged rows the file was scored from.")

    def chosen_layers(self) -> dict[str, int]:
        """Language → chosen layer, for languages where a cell passed."""
        return {lang: p.best.layer for lang, p in self.per_lang.items()
                if p.best is not None and p.best.layer is not None}
