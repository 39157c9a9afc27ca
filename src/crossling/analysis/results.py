"""The study's ``analysis.json`` as types, section by section.

Why: the report, the model card and the terminal headline read the transfer matrices, the
control-subtracted cells, the asymmetry tests and the quality flags from this file; each
section is declared once here with what it means, instead of being rebuilt from
``.get(...)`` chains in every reader. Policy (unknown keys refused, unmeasured keys left
out): :mod:`crossling.results`.

Layout::

    tasks.<task>.kinds.<kind>.<scorer>   ScorerAnalysis (matrix, control_subtracted, tests …)
    tasks.<task>.quality.<kind>          QualityMatrices (degenerate, fluency, flags …)
    tasks.<task>.two_axis.<kind>         TwoAxis (damage, behaving_coherent, readings …)
    behaviour_transfer / _ablation / _geometry / _protocol   the behaviour stage's results

A study of several models (``models:``) writes ``tasks: {}`` and instead::

    by_model.<label>                     that model's StudyAnalysis
    model_comparison.<task>              TaskComparison (effects, gaps, differences)
    failed.<label>                       why a model has no results
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from crossling.behaviour.results import (
    AblationEntry,
    BehaviourProtocol,
    GeometryRow,
    TransferEntry,
)
from crossling.results import ResultModel


class IntervalCell(ResultModel):
    """A mean (or difference) with its 95 % interval and what it is over
    (:meth:`crossling.analysis.stats.Interval.as_dict`)."""

    mean: float | None
    ci_low: float | None = Field(description="None: no interval (e.g. 2 seeds).")
    ci_high: float | None
    n: int = Field(description="Prompts.")
    n_seeds: int = Field(description="Training seeds pooled.")
    method: str = Field(description="What the interval (and p) is.")
    approximate: bool = Field(description="Fewer than 30 prompts.")
    p: float | None = Field(default=None, description="Two-sided p of 'no difference' "
                            "(tests only; absent for plain cells).")
    runs: list[IntervalCell] = Field(default_factory=list, description="With 2 seeds: each "
                                     "run's interval over prompts (absent otherwise).")


#: adapter (the control is 'base') → eval language → cell
Matrix = dict[str, dict[str, IntervalCell]]


class PerSeedMean(ResultModel):
    """Mean over prompts of one adapter × eval language × training seed."""

    adapter: str
    train_lang: str
    seed: int | None = Field(description="None for the control.")
    lang: str
    mean: float
    n: int


class AsymmetryTest(ResultModel):
    """Training effect of a-trained on b minus that of b-trained on a, each minus the
    control, paired over prompts (:class:`crossling.analysis.transfer.Asymmetry`), with its
    Holm-adjusted p over the scorer's family of tests and a sentence for the report."""

    a: str
    b: str
    a_on_b: float
    b_on_a: float
    control_a: float
    control_b: float
    p: float | None
    p_holm: float | None
    holm_family: str | None
    diff_mean: float | None
    diff_ci_low: float | None
    diff_ci_high: float | None
    diff_n: int
    diff_n_seeds: int
    diff_method: str
    diff_approximate: bool
    diff_runs: list[IntervalCell] = Field(default_factory=list,
                                          description="With 2 seeds only (else absent).")
    kind: str = Field(description="Prompt kind tested.")
    flagged_cells: list[str] = Field(description="Cells of the test flagged for quality.")
    sentence: str


class ScorerAnalysis(ResultModel):
    """One scorer on one prompt kind: the transfer matrix and what is computed from it."""

    matrix: Matrix = Field(description="Training language (and control) × eval language.")
    n_na: dict[str, dict[str, int]] = Field(description="Answers the scorer could not read, "
                                            "per cell (left out of its mean).")
    control_subtracted: Matrix = Field(description="Adapter − control, paired over prompts.")
    per_seed: list[PerSeedMean]
    rate: bool = Field(description="The scorer is a 0/1 rate.")
    asymmetry: list[AsymmetryTest]
    figure: str = Field(description="Heatmap, relative to the run folder.")
    figure_delta: str | None


class QualityMatrices(ResultModel):
    """Answer quality of one prompt kind per cell, and the flags that make a cell's scores
    not a finding."""

    degenerate: Matrix
    fluency: Matrix
    fluency_ref: Matrix
    reasons: dict[str, dict[str, dict[str, int]]] = Field(description="adapter → lang → "
                                                           "degeneracy rule → answers.")
    flags: dict[str, dict[str, list[str]]] = Field(description="adapter → lang → flags.")


class AxisMatrices(ResultModel):
    """One axis of the transfer cells: the matrix and its control-subtracted version."""

    matrix: Matrix = Field(description="Training language (and control) × eval language.")
    control_subtracted: Matrix = Field(description="Adapter − control, paired over prompts.")


class TwoAxisCell(ResultModel):
    """One adapter × language cell read on both axes
    (:class:`crossling.analysis.two_axis.CellReadings`)."""

    adapter: str
    lang: str
    diagonal: bool = Field(description="The adapter's own training language.")
    behaviour: float | None = Field(description="The headline metric's mean.")
    behaviour_control: float | None
    damage: float | None = Field(description="Share of answers marked garbage.")
    damage_control: float | None
    behaving_coherent: float | None = Field(description="Share of answers that show the "
                                            "behaviour (in the prompt's language) and are not "
                                            "garbage.")
    behaving_coherent_control: float | None
    among_coherent: float | None = Field(description="Share behaving among the coherent "
                                         "answers; None under min_coherent of them.")
    n_coherent: int = Field(description="Coherent answers the pass rule read (fewest over "
                            "seeds).")
    raw_reading: str | None = Field(description="Headline metric minus control: rises, falls "
                                    "or no clear change (95 % interval vs 0); None: no "
                                    "interval.")
    two_axis_reading: str | None = Field(description="The same for behaving_coherent.")
    agree: bool | None = Field(description="The two readings say the same.")
    sentence: str
    disagreement: str | None = Field(description="Why the readings differ (None: they "
                                     "agree or cannot be read).")


class TwoAxis(ResultModel):
    """Behaviour and damage of every cell of one prompt kind (:mod:`crossling.analysis.
    two_axis`): the transfer net of the damage."""

    behaviour: str = Field(description="The headline scorer (the raw reading).")
    pass_rule: str = Field(description="When an answer counts as showing the behaviour.")
    damage: AxisMatrices = Field(description="Share of answers the garbage verdict marks.")
    behaving_coherent: AxisMatrices = Field(description="Share of answers that pass the rule "
                                            "(pass_rule) and are not garbage.")
    among_coherent: Matrix = Field(description="Pass rate among coherent answers; cells with "
                                   "fewer than min_coherent of them are left out (N/A).")
    n_coherent: dict[str, dict[str, int]]
    min_coherent: int
    asymmetry: list[AsymmetryTest] = Field(description="The asymmetry tests on "
                                           "behaving_coherent (Holm over their own family).")
    cells: list[TwoAxisCell]
    figure: str | None = Field(description="Damage vs behaviour figure, relative to the run "
                               "folder.")

    def disagreements(self) -> list[TwoAxisCell]:
        """Cells whose two readings differ."""
        return [c for c in self.cells if c.agree is False]


class TaskAnalysis(ResultModel):
    """Everything analysed for one task."""

    kinds: dict[str, dict[str, ScorerAnalysis]] = Field(description="kind → scorer → result.")
    seeds: list[int]
    quality: dict[str, QualityMatrices] = Field(default_factory=dict,
                                                description="kind → answer quality.")
    two_axis: dict[str, TwoAxis] = Field(
        default_factory=dict, description="kind → behaviour and damage of every cell (absent "
        "for scores without behaving_coherent: rerun the eval stage).")

    def flagged(self, kind: str) -> dict[tuple[str, str], list[str]]:
        """(adapter, lang) → flags of one prompt kind (empty: none flagged)."""
        q = self.quality.get(kind)
        if q is None:
            return {}
        return {(a, lang): f for a, cols in q.flags.items() for lang, f in cols.items() if f}


class ModelTransfer(ResultModel):
    """One model's training effects on one task (:mod:`crossling.analysis.models`): every
    cell is adapter minus control, paired over prompts, with its p-value."""

    diagonal: dict[str, IntervalCell] = Field(description="Training language L → the "
                                              "L-trained adapter minus the control, in L.")
    into: dict[str, IntervalCell] = Field(description="Eval language M → mean over the "
                                          "adapters trained in other languages of adapter "
                                          "minus control in M: the off-diagonal transfer "
                                          "into M.")
    diagonal_mean: IntervalCell | None = Field(description="Mean of the diagonal.")
    off_diagonal_mean: IntervalCell | None = Field(description="Mean of every off-diagonal "
                                                   "adapter − control cell.")
    gap: IntervalCell | None = Field(description="diagonal_mean − off_diagonal_mean: how much "
                                     "of the effect stays in the training language.")
    gap_p_holm: float | None = Field(description="The gap's p, Holm-adjusted over the "
                                     "task's family (TaskComparison.holm_family).")
    asymmetry: list[AsymmetryTest] = Field(description="The model's own asymmetry tests (its "
                                           "analysis; Holm-adjusted within the model).")


class ModelDifference(ResultModel):
    """Model ``a``'s contrast ``what`` minus model ``b``'s, paired over prompt ids."""

    a: str
    b: str
    what: str = Field(description="'diagonal <L>', 'off-diagonal mean' or 'gap'.")
    diff: IntervalCell
    p_holm: float | None = Field(description="Holm-adjusted over the task's family.")


class TaskComparison(ResultModel):
    """The models of a study compared on one task: its headline scorer on its eval prompts."""

    kind: str = Field(description="Prompt kind compared.")
    scorer: str = Field(description="The task's headline scorer.")
    rate: bool = Field(description="The scorer is a 0/1 rate.")
    models: dict[str, ModelTransfer] = Field(description="Label → that model's effects.")
    differences: list[ModelDifference] = Field(description="Every pair (earlier − later).")
    holm_family: str = Field(description="The tests whose p-values are adjusted together.")
    figure: str = Field(description="Model × eval language figure of `into`, relative to "
                        "the run folder.")
    figure_matrices: str = Field(description="Every model's transfer heatmap side by side, "
                                 "relative to the run folder.")


class StudyAnalysis(ResultModel):
    """``analysis.json``: the analysis of every task, plus the behaviour stage's results
    when it ran (absent otherwise); a study of several models has each model's analysis in
    ``by_model`` and their comparison instead (absent in a single-model study)."""

    rebuild = ("rerun `crossling report RUN` (it rewrites analysis.json from the scores) or "
               "`crossling run CONFIG --out RUN`")

    tasks: dict[str, TaskAnalysis]
    behaviour_transfer: list[TransferEntry] = Field(default_factory=list)
    behaviour_ablation: list[AblationEntry] = Field(default_factory=list)
    behaviour_geometry: list[GeometryRow] = Field(default_factory=list)
    behaviour_protocol: BehaviourProtocol | None = None
    by_model: dict[str, StudyAnalysis] = Field(
        default_factory=dict, description="Several models: label → that model's analysis "
        "(RUN/models/<label>/analysis.json).")
    model_comparison: dict[str, TaskComparison] = Field(
        default_factory=dict, description="Several models: task → the models compared.")
    failed: dict[str, str] = Field(
        default_factory=dict, description="Several models: label → why the model has no "
        "results (left out of by_model and the comparison).")

    def headline(self, task: str, kind: str, scorer: str) -> ScorerAnalysis | None:
        """One scorer's result, None when that task, kind or scorer was not analysed."""
        t = self.tasks.get(task)
        return t.kinds.get(kind, {}).get(scorer) if t is not None else None


StudyAnalysis.model_rebuild()


def analysis_of(data: Any, source: str = "analysis.json") -> StudyAnalysis:
    """``data`` as a :class:`StudyAnalysis`: a typed one as it is, a raw dict (what the CLI
    reads) validated, refused in one line when it does not match."""
    if isinstance(data, StudyAnalysis):
        return data
    return StudyAnalysis.parse_file_content(data, source)
