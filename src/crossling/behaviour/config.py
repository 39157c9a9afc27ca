"""Configs of the behaviour stage: where a LoRA-trained behaviour lives in the residual stream.

Why two classes over one set of knobs: ``BehaviourSettings`` holds every knob of the
experiment (documented once); the study's ``behaviour:`` block adds ``enabled`` and the task
(``StudyBehaviourConfig``), and the stand-alone stage (``crossling behaviour ...``) adds the
model, adapters, data dir and output folder (``BehaviourConfig``). The study config composes
the stage, never the other way round.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from crossling.evaluate.backends.base import Decoded, DecodingChanges
from crossling.fields import (
    Bootstrapped,
    ForwardBatched,
    OfTask,
    OnDataDir,
    Seeded,
    Switchable,
    VectorSource,
    WritesOut,
)
from crossling.languages import parse_langs
from crossling.models.config import WithAdapters, WithModel
from crossling.steer.config import (
    Aim,
    Choosing,
    Guards,
    Selection,
    check_layer_list,
    check_strengths,
)

Position = Literal["mean", "last", "answer"]
AblationDirection = Literal["train", "lang"]


class BehaviourGuards(Guards):
    """The behaviour stage's guard beyond fidelity and KL."""

    min_coherence: float = Field(
        0.8, ge=0, le=1,
        description="The chosen cell must keep at least this share of answers that are not "
        "degenerate loops (≤ 50 % repeated character 5-grams); strong steering makes small "
        "models repeat themselves in caps.",
    )


class BehaviourGrid(Choosing):
    """The layer × strength cells tried when adding a behaviour vector to the base model."""

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

    @field_validator("strengths")
    @classmethod
    def _strengths(cls, v: list[float]) -> list[float]:
        return check_strengths(v, allow_zero=False)

    @field_validator("layers")
    @classmethod
    def _layers(cls, v: list[int]) -> list[int]:
        return check_layer_list(v)


class BehaviourSettings(VectorSource, ForwardBatched, Bootstrapped, Selection, BehaviourGrid,
                        BehaviourGuards, Aim):
    """The knobs of the behaviour experiment (shared by the study block and the CLI).

    Vector prompts: the eval ids of the task, the KL prompts and every id in the data dir's
    training files (train_<lang>.jsonl: what the adapters were trained on) are always
    excluded from ``vector_data``. Answers have 32 new tokens unless the decoding says
    otherwise. Layer and strength are chosen pooled over the languages,
    so ``min_fidelity`` holds in every language; ``max_eval`` takes the first ids; the KL
    guard steers the base model, teacher-forced on its own answer to each KL prompt.
    """

    stage_defaults: ClassVar[dict[str, Any]] = {
        "vector_prompts": 32, "batch_size": 16, "kl_prompts": 8, "min_fidelity": 0.5,
        "max_kl": 2.0}
    old_names: ClassVar[dict[str, str]] = {"max_prompts": "vector_prompts"}

    langs: list[str] | None = Field(
        None,
        description="Languages of the behaviour vectors and of the prompts steered (the X and "
        "Y of the transfer matrix); null uses every eval language of the task.",
    )
    position: Position = Field(
        "mean",
        description="Pooling of the residual difference: mean over prompt tokens after the "
        "shared chat-template prefix, the last prompt token, or 'answer': mean over the "
        "tokens of the corpus's reference answer fed to both models (built-in corpus only).",
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
    @field_validator("langs", mode="before")
    @classmethod
    def _langs(cls, v: object) -> list[str] | None:
        return None if v is None else parse_langs(v)  # type: ignore[arg-type]


class StudyBehaviourConfig(BehaviourSettings, OfTask, Switchable, DecodingChanges):
    """The study's ``behaviour:`` block: behaviour vectors, transfer, ablation, geometry of
    every adapter (every seed) of ``task``, after eval and steer."""

    stage_defaults: ClassVar[dict[str, Any]] = {**BehaviourSettings.stage_defaults,
                                                "decoding": {"max_new_tokens": 32}}


class BehaviourConfig(BehaviourSettings, Decoded, WithModel, OfTask, WithAdapters, OnDataDir,
                      Seeded, WritesOut):
    """``crossling behaviour vectors|transfer|ablate``: one stage run on given adapters."""

    stage_defaults: ClassVar[dict[str, Any]] = {**BehaviourSettings.stage_defaults,
                                                "out": "behaviour",
                                                "generation": {"max_new_tokens": 32}}

    @field_validator("adapters")
    @classmethod
    def _some_adapters(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("give at least one adapter (name → folder)")
        return v
