"""The behaviour stage's result files as types: ``selection.json``, ``transfer.json``,
``ablation.json``, ``geometry.json``, and the ``behaviour_*`` sections of ``analysis.json``.

Why: the report, the figures and the study's analysis read these files; with a model per
file a renamed key fails in the tests rather than turning into a silent ``.get`` fallback, and
an old file is refused in one line. Policy (unknown keys refused, unmeasured keys left out):
:mod:`crossling.results`.
"""

from __future__ import annotations

from pydantic import Field

from crossling.results import STUDY_RERUN, ResultModel
from crossling.steer.results import Pick, SweepCell

_REBUILD = ("delete transfer.json and ablation.json in the behaviour folder and rerun "
            + STUDY_RERUN + ", or rerun `crossling behaviour transfer` / `ablate` with the "
            "same --out")


class RandomControl(ResultModel):
    """The random-direction control of a result entry
    (:func:`crossling.behaviour.controls.control_fields`): the same intervention with random
    directions of the same size, so an effect any direction would have is not read as the
    behaviour's."""

    control_draws: int = Field(description="Random directions drawn.")
    control_mean: float | None = Field(description="The draw-averaged control's mean.")
    control_ci_low: float | None
    control_ci_high: float | None
    control_draw_means: list[float | None] = Field(description="Each draw's mean.")
    control_delta: float | None = Field(description="Entry − control, paired over prompts.")
    control_delta_ci_low: float | None
    control_delta_ci_high: float | None
    control_delta_p: float | None = Field(description="Sign-flip p of control_delta = 0.")


class TransferEntry(RandomControl):
    """One cell of the behaviour-transfer matrix: adapter A's behaviour vector measured in
    language X, added to the base model at the chosen layer and strength, on prompts in Y
    (confirmation ids); beside the unsteered base model (``baseline_*``), the adapter itself
    (``lora_*``) and the random-direction control. Intervals: 95 % over prompts."""

    adapter: str
    adapter_lang: str = Field(description="The adapter's training language.")
    from_lang: str = Field(description="X: language the vector was measured in.")
    to_lang: str = Field(description="Y: language of the prompts.")
    layer: int
    strength: float
    metric: str
    mean: float | None = Field(description="Steered base model.")
    ci_low: float | None
    ci_high: float | None
    n: int
    baseline_mean: float | None
    baseline_ci_low: float | None
    baseline_ci_high: float | None
    delta: float | None = Field(description="Steered − base, paired over prompts.")
    delta_ci_low: float | None
    delta_ci_high: float | None
    lora_mean: float | None
    lora_ci_low: float | None
    lora_ci_high: float | None
    lang_fidelity: float | None = Field(description="Share of steered answers in Y.")
    coherence: float | None = Field(description="Share of steered answers without loops.")
    lora_coherence: float | None
    control_lang_fidelity: float | None
    control_coherence: float | None


class SelectionInfo(ResultModel):
    """How the transfer setting was chosen (pooled over languages, each its own vector)."""

    mode: str
    vector: str
    langs: list[str]
    rule: str


class ControlInfo(ResultModel):
    """What the random-direction control of a file is."""

    kind: str
    draws: int
    seed: int
    what: str


class SkippedAdapter(ResultModel):
    """An adapter without a transfer matrix, and why."""

    adapter: str
    reason: str


class VectorPromptCounts(ResultModel):
    """How many shared parallel ids each exclusion removed before the behaviour vectors
    were recorded, and how many were used (:func:`crossling.behaviour.stage.vector_ids`)."""

    shared: int
    excluded_eval: int
    excluded_kl: int
    excluded_train: int
    available: int
    used: int
    train_files: list[str] = Field(description="Languages of the data's training files.")
    trained_on_this_data: dict[str, bool] = Field(description="Adapter → whether it was "
                                                  "trained on this data dir.")


class TransferFile(ResultModel):
    """``transfer.json``: the behaviour-transfer matrix of every adapter."""

    rebuild = _REBUILD

    metric: str
    confirmation_ids: list[str] = Field(description="Ids every cell is reported on.")
    selection_ids: list[str] = Field(description="Ids the setting was chosen on.")
    selection: SelectionInfo
    control: ControlInfo
    vector_prompts: VectorPromptCounts
    interval: str = Field(description="What every interval is over, in words.")
    entries: list[TransferEntry]
    skipped: list[SkippedAdapter]


class ChosenSetting(ResultModel):
    """The (layer, strength) an adapter's vectors are applied at."""

    layer: int
    strength: float


class AdapterSelection(ResultModel):
    """One adapter's choice on the selection ids: every candidate's row, the pick and its
    own KL (the scale a full behaviour change has)."""

    adapter: str
    adapter_lang: str
    mode: str
    vector: str
    langs: list[str]
    adapter_kl: dict[str, float | None] = Field(description="Language → the adapter's own KL.")
    chosen: ChosenSetting | None = Field(description="None: no setting passed every guard.")
    table: list[SweepCell]
    pick: Pick


class SelectionFile(ResultModel):
    """``selection.json``: how each adapter's (layer, strength) was chosen."""

    rebuild = _REBUILD

    metric: str
    selection_ids: list[str]
    min_fidelity: float
    min_coherence: float
    max_kl: float
    kl_prompts: int
    kl_positions: str
    selection: SelectionInfo
    adapters: dict[str, AdapterSelection]


class AblationEntry(RandomControl):
    """One adapter × language of the ablation: the adapter, the adapter with its behaviour
    direction projected out (``ablated_*``), the base model, the random-direction control,
    and the side effects (coherence, language fidelity, garbage) of each."""

    adapter: str
    adapter_lang: str
    lang: str = Field(description="Prompt language.")
    direction_lang: str = Field(description="Language the ablated direction was measured in.")
    metric: str
    mean: float | None = Field(description="The adapter.")
    ci_low: float | None
    ci_high: float | None
    ablated_mean: float | None
    ablated_ci_low: float | None
    ablated_ci_high: float | None
    delta: float | None = Field(description="Ablated − adapter, paired over prompts.")
    delta_ci_low: float | None
    delta_ci_high: float | None
    baseline_mean: float | None = Field(description="The base model on the same prompts.")
    removed_fraction: float | None = Field(description="−delta / (adapter − base), only "
                                           "where adapter − base lies above 0.")
    n: int
    coherence: float | None
    ablated_coherence: float | None
    lang_fidelity: float | None
    ablated_lang_fidelity: float | None
    garbage_rate: float | None
    ablated_garbage_rate: float | None
    control_lang_fidelity: float | None
    control_garbage_rate: float | None
    control_coherence: float | None


class AblationFile(ResultModel):
    """``ablation.json``: directional ablation of every adapter in every language."""

    rebuild = _REBUILD

    metric: str
    layers: list[int] = Field(description="Layers the direction is projected out of.")
    direction: str = Field(description="'train': the training language's vector; 'lang': "
                                       "the prompt language's.")
    control: ControlInfo
    garbage: str = Field(description="What the garbage rate counts.")
    interval: str
    entries: list[AblationEntry]


class CosineGrid(ResultModel):
    """Cosines per row × layer; ``ceiling``: each row's noise ceiling per layer (None where a
    vector has no split halves; absent for comparisons without a ceiling)."""

    rows: list[str]
    cos: list[list[float]]
    ceiling: list[list[float] | None] = Field(default_factory=list)


class VectorGeometry(ResultModel):
    """Per-layer cosines between behaviour vectors and with language vectors."""

    layers: list[int]
    across_langs: dict[str, CosineGrid] = Field(description="Adapter → its vectors in two "
                                                "languages.")
    across_adapters: dict[str, CosineGrid] = Field(description="'a·b' → two adapters' "
                                                   "vectors in one language.")
    vs_lang: CosineGrid = Field(description="Behaviour vs language vectors.")
    relative_norm: dict[str, list[float]] = Field(description="'adapter in lang' → ‖vector‖ / "
                                                  "residual norm per layer.")


class SplitHalf(ResultModel):
    """Split-half reliability of one behaviour vector (:func:`geometry.split_half`)."""

    split_half_cos: list[float]
    reliability: list[float] = Field(description="Spearman–Brown 2r/(1+r) per layer.")
    n_half: list[int]


class NoiseCeiling(ResultModel):
    """How the noise ceilings were computed, and each vector's split-half reliability
    ('adapter in lang' → :class:`SplitHalf`; None for a vector without halves)."""

    method: str
    per_vector: dict[str, SplitHalf | None]


class SharedInit(ResultModel):
    """Whether two adapters started from the same LoRA A (:func:`geometry.shared_init`)."""

    seeds: list[int | None]
    same_seed: bool
    same_lora_config: bool
    identical_lora_a_init: bool


class DeltaW(ResultModel):
    """Cosines of two adapters' LoRA updates per module × layer
    (:func:`geometry.delta_w_cosines`); None where a module is missing in one of them."""

    modules: list[str]
    layers: list[int]
    cos: list[list[float | None]]
    out_cos: list[list[float | None]]
    a_cos: list[list[float | None]]
    norm_a: list[list[float | None]]
    norm_b: list[list[float | None]]
    shared_init: SharedInit


class GeometryRow(ResultModel):
    """One comparison of the compact geometry table: mean cosine over layers (and modules),
    the layer where it peaks; vector comparisons also carry their noise ceiling (null without
    split halves), LoRA comparisons whether the adapters shared their A init. Keys that do
    not apply to a row's kind are absent."""

    kind: str
    what: str
    mean_cos: float
    peak_layer: int
    peak_cos: float
    ceiling_mean: float | None = None
    ceiling_at_peak: float | None = None
    identical_lora_a_init: bool | None = None


class GeometryFile(ResultModel):
    """``geometry.json``: cosines of behaviour vectors, language vectors and LoRA updates."""

    rebuild = _REBUILD

    vectors: VectorGeometry
    noise_ceiling: NoiseCeiling
    delta_w: dict[str, DeltaW] = Field(description="'a·b' → the two adapters' ΔW cosines.")
    table: list[GeometryRow]
    figures: dict[str, str] = Field(description="Figure name → path.")


class ChosenForProtocol(ResultModel):
    """An adapter's chosen setting in ``behaviour_protocol`` (no layer and strength when no
    setting passed)."""

    langs: list[str]
    layer: int | None = None
    strength: float | None = None


class BehaviourProtocol(ResultModel):
    """``analysis.json``'s ``behaviour_protocol``: chosen settings, ids and what the
    intervals are over. Keys of a step that has not run (no transfer.json, no ablation.json)
    are absent."""

    transfer_interval: str | None = None
    skipped: list[SkippedAdapter] = Field(default_factory=list)
    selection_ids: list[str] = Field(default_factory=list)
    confirmation_ids: list[str] = Field(default_factory=list)
    transfer_control: ControlInfo | None = None
    vector_prompts: VectorPromptCounts | None = None
    chosen: dict[str, ChosenForProtocol] = Field(default_factory=dict)
    min_fidelity: float | None = None
    max_kl: float | None = None
    selection: SelectionInfo | None = None
    ablation_interval: str | None = None
    ablation_layers: list[int] = Field(default_factory=list)
    ablation_direction: str | None = None
    ablation_control: ControlInfo | None = None
