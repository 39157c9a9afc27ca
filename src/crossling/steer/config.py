"""Steering stage configs: making language vectors, and sweeping layer × strength.

Why two configs: vectors are computed once per model and language set and reused by every
sweep (``--vectors DIR``); a sweep only needs to know which vectors, adapter and grid. The
sweep's knobs (``SteerSettings``) are declared once and shared by ``crossling steer sweep``
(``SweepConfig``) and a study's ``steer:`` block (``runner.config.StudySteerConfig``).
"""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from crossling.analysis.quality import MAX_DEGENERATE
from crossling.config_marks import LOCATION
from crossling.evaluate.backends.base import Decoded
from crossling.fields import (
    Bootstrapped,
    ForwardBatched,
    OfTask,
    OnDataDir,
    Seeded,
    Strict,
    VectorSource,
    WritesOut,
)
from crossling.languages import parse_langs
from crossling.models.config import WithModel

Position = Literal["mean", "last"]
ApplyPositions = Literal["prompt", "generated", "all"]


def check_strengths(v: list[float], allow_zero: bool = True) -> list[float]:
    """Validator body for a list of steering strengths: non-empty, finite (and non-zero
    where zero would mean "no intervention")."""
    bad = [x for x in v if not math.isfinite(x) or (x == 0 and not allow_zero)]
    if bad:
        raise ValueError(f"strengths must be finite{'' if allow_zero else ' and non-zero'}, "
                         f"got {bad}")
    if not v:
        raise ValueError("give at least one strength")
    return v


def check_layer_list(v: list[int]) -> list[int]:
    """Validator body for a list of layers: non-empty, sorted, without repeats."""
    if not v:
        raise ValueError("give at least one layer")
    return sorted(set(v))


def _langs(value: str | list[str]) -> list[str]:
    """Accept 'en,de' or a list; unknown codes raise CrosslingError with a suggestion."""
    return parse_langs(value)


class VectorPooling(Strict):
    """How a language vector is made from recorded activations."""

    builder: str = Field("mean_diff", description="Vector builder: mean_diff or pca.")
    position: Position = Field(
        "mean",
        description="mean: mean over the prompt tokens after the chat-template prefix shared "
        "by every prompt (padding excluded); last: the last prompt token.",
    )


class VectorsConfig(WithModel, VectorSource, VectorPooling, ForwardBatched, Seeded, WritesOut):
    """``crossling steer vectors``: per-layer language directions from parallel prompts."""

    stage_defaults: ClassVar[dict[str, Any]] = {"out": "vectors", "vector_prompts": 200,
                                                "batch_size": 16}
    old_names: ClassVar[dict[str, str]] = {"data": "vector_data",
                                           "max_prompts": "vector_prompts"}

    langs: list[str] = Field(
        ["en", "de", "ru"],
        description="Languages; a vector target←source is written for every ordered pair.",
    )
    exclude_ids: list[str] = Field(
        [], description="Ids never used for vectors: the eval ids of the task data and the "
        "sweep's KL prompts, so no test prompt's translation pair is inside a vector."
    )

    _v_langs = field_validator("langs", mode="before")(_langs)


class Selection(Strict):
    """On which prompts a steering cell (layer × strength) is chosen and on which it is
    confirmed."""

    max_eval: int | None = Field(
        None, ge=2,
        description="Eval prompts per language (null: every eval id of the data), split into "
        "selection and confirmation ids.",
    )
    selection_fraction: float = Field(
        0.4, gt=0, lt=1,
        description="Share of the eval prompts the cell is chosen on; the rest confirm it "
        "(0.3-0.5 leaves a confirmation that can detect a moderate effect; the stage states "
        "the smallest detectable one).",
    )
    kl_prompts: int = Field(
        16, ge=2, description="Held-out harmless prompts (never in any vector) for the KL "
        "guard."
    )


class Choosing(Strict):
    """Settings that choose among logged answers but never change one: the grid of cells
    tried (a cell's answers do not depend on which others are tried) and the guards' thresholds.
    Changing one rescores the logged answers and chooses again, generating only cells not
    logged yet."""


class Guards(Choosing):
    """What a chosen cell must keep."""

    min_fidelity: float = Field(
        0.8, ge=0, le=1,
        description="The chosen cell keeps lang_fidelity at least this high (in every language "
        "steered).",
    )
    max_kl: float = Field(
        1.0, ge=0,
        description="The chosen cell keeps next-token KL (nats, unsteered ‖ steered) at most "
        "this, measured at every position the vector is added to.",
    )


class Aim(Choosing):
    """What a chosen cell maximises."""

    metric: str | None = Field(
        None, description="Scorer the chosen cell maximises (null: the task's primary metric, "
        "e.g. caps_pct). 'behaving_coherent' counts only answers that show the behaviour and "
        "are not garbage, so a cell that raises the behaviour by breaking the language is not "
        "chosen.",
    )


class SteerGuards(Guards):
    """The sweep's guards beyond fidelity and KL."""

    max_degenerate: float = Field(
        MAX_DEGENERATE, ge=0, le=1,
        description="Best cell has at most this share of degenerate answers (empty, looping, "
        "echoing).",
    )
    max_over_refusal: float = Field(
        0.10, ge=0, le=1,
        description="Refusal task: best cell may raise the refusal rate on harmless prompts "
        "(over-refusal) at most this much above the unsteered baseline.",
    )


def judging_fields(cls: type[Strict]) -> set[str]:
    """Fields of ``cls`` that never change a logged answer: those declared by a
    :class:`Choosing` class (grid, guards) and the Monte Carlo draws. Logged answers stay
    valid when they change (the run hashes of the sweep and the behaviour stage leave them
    out)."""

    def judges(base: type) -> bool:  # Bootstrapped, or a class made of Choosing only
        return base is Bootstrapped or (
            base.__bases__ != (object,) and all(issubclass(b, Choosing) for b in base.__bases__))

    return {name for base in cls.__mro__ if judges(base)
            for name in inspect.get_annotations(base) if name in cls.model_fields}


class SteerGrid(Choosing):
    """The layer × strength cells a sweep tries."""

    layers: list[int] = Field([4, 8, 12], description="Decoder layers (0-based) to try.")
    strengths: list[float] = Field(
        [0.0, 0.25, 0.5, 1.0],
        description="Strengths to try (0 = unsteered), in multiples of the vector (its norm "
        "is typically 0.25-0.55 x the residual norm, so |strength| > 2 breaks small models).",
    )
    search_negative: bool = Field(
        False,
        description="Also search negative strengths (steering away from 'toward'); the "
        "hypothesis predicts positive ones, so by default only those are searched.",
    )

    def searched_strengths(self) -> list[float]:
        """Non-zero strengths the sweep searches (positive only unless search_negative)."""
        return [s for s in self.strengths if s > 0 or (s < 0 and self.search_negative)]

    @field_validator("strengths")
    @classmethod
    def _finite(cls, v: list[float]) -> list[float]:
        return check_strengths(v)

    @field_validator("layers")
    @classmethod
    def _layers(cls, v: list[int]) -> list[int]:
        return check_layer_list(v)


class SteerSettings(OfTask, VectorSource, VectorPooling, ForwardBatched, Selection, SteerGrid,
                    SteerGuards, Aim):
    """The knobs of a steering sweep: which prompts, toward which language, the grid, the
    guards a chosen cell must pass, and how it is confirmed. Half the KL prompts guard the
    choice, the other half re-check the chosen cell."""

    adapter_lang: str | None = Field(
        "en", description="Training language of the adapter steered; null steers the base "
        "model."
    )
    eval_langs: list[str] = Field(["de"], description="Languages of the prompts steered.")
    toward: str = Field("en", description="Steer toward this language: vector(toward←eval_lang).")
    normalize: bool = Field(
        False,
        description="Strength in units of the layer's mean residual norm (vector scaled to "
        "unit length) instead of multiples of the raw vector.",
    )
    positions: ApplyPositions = Field(
        "all", description="Steer prompt tokens, generated tokens, or all (the seed study)."
    )
    _v_langs = field_validator("eval_langs", mode="before")(_langs)


class SweepConfig(SteerSettings, Decoded, WithModel, OnDataDir, Bootstrapped, Seeded,
                  WritesOut):
    """``crossling steer sweep``: layer × strength grid for one adapter and target language."""

    stage_defaults: ClassVar[dict[str, Any]] = {"out": "sweep",
                                                "generation": {"max_new_tokens": 48}}

    adapter: str | None = Field(
        None, description="LoRA adapter folder (the behaviour); null steers the base model.",
        json_schema_extra=LOCATION,
    )
    vectors: str | None = Field(
        None, description="A VectorDir to load vectors from; null computes them into "
        "out/vectors.", json_schema_extra=LOCATION,
    )
    kl_data: str | None = Field(
        None,
        description="Harmless prompts for the KL check (wide/long jsonl or 'builtin'); null "
        "uses the vector data. Ids used for KL (and every eval id of the data) are excluded "
        "from computed vectors.",
    )
    allow_overlap: bool = Field(
        False,
        description="Accept a given 'vectors' folder whose item_ids include eval or KL ids "
        "(the report then says so); false refuses it.",
    )

    def vectors_config(self, out: str, **more: Any) -> VectorsConfig:
        """The language vectors this sweep steers with: toward ← each eval language, made
        with the sweep's vector settings, seed and model."""
        shared = set(VectorSource.model_fields) | set(VectorPooling.model_fields)
        return VectorsConfig(**self.model_dump(include=shared), model=self.model, out=out,
                             seed=self.seed, langs=list(dict.fromkeys([*self.eval_langs,
                                                                        self.toward])),
                             **more)

    def steered_label(self) -> str | None:
        """The steered adapter's training language, or None when the base model is steered."""
        return self.adapter_lang if self.adapter is not None else None
