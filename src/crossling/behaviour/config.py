"""Configs of the behaviour stage: where a LoRA-trained behaviour lives in the residual stream.

Why two classes over one set of knobs: ``BehaviourSettings`` holds every knob of the
experiment (documented once); the study's ``behaviour:`` block adds ``enabled`` and the task
(``StudyBehaviourConfig``), and the stand-alone stage (``crossling behaviour ...``) adds the
model, adapters, data dir and output folder (``BehaviourConfig``). The study config composes
the stage, never the other way round.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crossling.config_marks import SPEED_ONLY
from crossling.languages import parse_langs
from crossling.models.config import ModelConfig
from crossling.steer.config import check_layer_list, check_strengths

Position = Literal["mean", "last", "answer"]
AblationDirection = Literal["train", "lang"]


class BehaviourSettings(BaseModel):
    """The knobs of the behaviour experiment (shared by the study block and the CLI)."""

    model_config = ConfigDict(extra="forbid")

    langs: list[str] | None = Field(
        None,
        description="Languages of the behaviour vectors and of the prompts steered (the X and "
        "Y of the transfer matrix); null uses every eval language of the task.",
    )
    layers: list[int] = Field(
        [6, 15, 24],
        description="Decoder layers (0-based) tried when choosing where to add a behaviour "
        "vector to the base model.",
    )
    strengths: list[float] = Field(
        [1.0, 2.0, 4.0],
        description="Strengths tried, in multiples of the raw behaviour vector (1 = the mean "
        "residual shift the adapter causes at that layer).",
    )
    vector_data: str = Field(
        "builtin",
        description="Parallel prompts the vectors are recorded on (as for language vectors); "
        "eval ids of the task, the KL prompts and every id in the data dir's training files "
        "(train_<lang>.jsonl: what the adapters were trained on) are always excluded.",
    )
    max_prompts: int = Field(
        32, ge=2, description="At most this many parallel prompts per behaviour vector."
    )
    min_prompts: int = Field(
        8, ge=2, description="Fail when fewer parallel prompts are left for the vectors."
    )
    position: Position = Field(
        "mean",
        description="Pooling of the residual difference: mean over prompt tokens after the "
        "shared chat-template prefix, the last prompt token, or 'answer': mean over the "
        "tokens of the corpus's reference answer fed to both models (built-in corpus only).",
    )
    selection_fraction: float = Field(
        0.4, gt=0, lt=1,
        description="Share of eval ids used to choose layer and strength; the rest confirm.",
    )
    max_eval: int | None = Field(
        None, ge=2, description="Eval prompts per language (first by id; null: every eval "
        "id), before the split."
    )
    max_new_tokens: int = Field(32, ge=1, description="Tokens generated per answer (greedy).")
    batch_size: int = Field(16, ge=1, description="Prompts per forward pass / generate call.",
        json_schema_extra=SPEED_ONLY)
    kl_prompts: int = Field(
        8, ge=1, description="Held-out harmless prompts for the KL guard (never in vectors)."
    )
    min_fidelity: float = Field(
        0.5, ge=0, le=1,
        description="The chosen cell must keep language fidelity at least this high (in every "
        "language: layer and strength are chosen pooled over the languages).",
    )
    max_kl: float = Field(
        2.0, ge=0,
        description="The chosen cell must keep next-token KL (nats, base ‖ steered base) at "
        "most this; measured at every position the vector is added to: each KL prompt and "
        "the base model's greedy answer to it, teacher-forced.",
    )
    min_coherence: float = Field(
        0.8, ge=0, le=1,
        description="The chosen cell must keep at least this share of answers that are not "
        "degenerate loops (≤ 50 % repeated character 5-grams); strong steering makes small "
        "models repeat themselves in caps.",
    )
    ablation_layers: list[int] | None = Field(
        None,
        description="Layers the behaviour direction is projected out of (null: every layer, "
        "each with its own direction).",
    )
    ablation_direction: AblationDirection = Field(
        "train",
        description="Direction ablated on prompts of every language: 'train' = the vector "
        "measured in the adapter's training language (one shared direction); 'lang' = the "
        "vector measured in the prompt's own language.",
    )
    random_draws: int = Field(
        3, ge=1,
        description="Random-direction controls per cell, seeded from the config seed: in the "
        "transfer matrix the base model is also steered by a random direction with the norm "
        "of the behaviour vector at the chosen layer and strength; in ablation a random unit "
        "direction is projected out at the same layers. Cells report the mean over draws and "
        "their paired difference from it.",
    )
    n_boot: int = Field(2000, ge=100, description="Monte Carlo draws per test (sign flips "
                        "beyond 20 prompts).")

    @field_validator("langs", mode="before")
    @classmethod
    def _langs(cls, v: object) -> list[str] | None:
        return None if v is None else parse_langs(v)  # type: ignore[arg-type]

    @field_validator("strengths")
    @classmethod
    def _strengths(cls, v: list[float]) -> list[float]:
        return check_strengths(v, allow_zero=False)

    @field_validator("layers")
    @classmethod
    def _layers(cls, v: list[int]) -> list[int]:
        return check_layer_list(v)


class StudyBehaviourConfig(BehaviourSettings):
    """The study's ``behaviour:`` block: behaviour vectors, transfer, ablation, geometry."""

    enabled: bool = Field(False, description="Run the behaviour stage (after eval and steer).")
    task: str = Field("caps", description="Task whose adapters are analysed (every seed).")


class BehaviourConfig(BehaviourSettings):
    """``crossling behaviour vectors|transfer|ablate``: one stage run on given adapters."""

    model: ModelConfig = Field(
        default_factory=lambda: ModelConfig.model_validate({}),
        description="The base model the adapters were trained on.",
    )
    task: str = Field("caps", description="caps or refusal (picks the behaviour metric).")
    adapters: dict[str, str] = Field(
        ..., description="Adapter name → adapter folder (its training language is read from "
        "crossling_adapter.json)."
    )
    data: str = Field(
        ..., description="Data dir (crossling data build) whose eval.jsonl holds the prompts."
    )
    out: str = Field("behaviour", description="Output folder (BehaviourDir); reruns resume.")
    seed: int = Field(0, description="Seed of the split, KL sample, bootstrap and generation.")
