"""Steering stage configs: making language vectors, and sweeping layer × strength.

Why two configs: vectors are computed once per model and language set and reused by every
sweep (``--vectors DIR``); a sweep only needs to know which vectors, adapter and grid.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crossling.analysis.quality import MAX_DEGENERATE
from crossling.config_marks import SPEED_ONLY
from crossling.evaluate.backends.base import GenerationConfig
from crossling.languages import parse_langs
from crossling.models.config import ModelConfig

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


class VectorsConfig(BaseModel):
    """``crossling steer vectors``: per-layer language directions from parallel prompts."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(
        default_factory=lambda: ModelConfig.model_validate({}), description="The base model to record from."
    )
    langs: list[str] = Field(
        ["en", "de", "ru"],
        description="Languages; a vector target←source is written for every ordered pair.",
    )
    data: str = Field(
        "builtin",
        description="Parallel prompts: 'builtin' (the built-in instruction corpus), a data "
        "dir (its eval.jsonl and train_<lang>.jsonl), a long jsonl (id, lang, prompt), a wide "
        "jsonl (id, one column per language, like polyrefuse harmless.jsonl) or a built-in "
        "corpus file (rows with an 'instruction' dict).",
    )
    out: str = Field("vectors", description="Output folder (VectorDir).")
    builder: str = Field("mean_diff", description="Vector builder: mean_diff or pca.")
    position: Position = Field(
        "mean",
        description="mean: mean over the prompt tokens after the chat-template prefix shared "
        "by every prompt (padding excluded); last: the last prompt token.",
    )
    max_prompts: int = Field(
        200, ge=1, description="Use at most this many parallel ids (a sample seeded by 'seed')."
    )
    min_prompts: int = Field(
        8, ge=2, description="Fail when fewer parallel ids are found for a language pair."
    )
    exclude_ids: list[str] = Field(
        [], description="Ids never used for vectors: the eval ids of the task data and the "
        "sweep's KL prompts, so no test prompt's translation pair is inside a vector."
    )
    batch_size: int = Field(16, ge=1, description="Prompts per forward pass.",
        json_schema_extra=SPEED_ONLY)
    seed: int = Field(0, description="Seed of the sample of ids when more than max_prompts.")

    _v_langs = field_validator("langs", mode="before")(_langs)


class SweepConfig(BaseModel):
    """``crossling steer sweep``: layer × strength grid for one adapter and target language."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(
        default_factory=lambda: ModelConfig.model_validate({}), description="The base model of the adapter."
    )
    adapter: str | None = Field(
        None, description="LoRA adapter folder (the behaviour); null steers the base model."
    )
    adapter_lang: str = Field("en", description="Language the adapter was trained in (a label).")
    task: str = Field(
        "caps", description="caps (scores caps_pct, all_caps) or refusal (scores refusal)."
    )
    data: str = Field(
        ..., description="Data dir (crossling data build) whose eval.jsonl holds the prompts."
    )
    eval_langs: list[str] = Field(["en"], description="Languages of the prompts that get steered.")
    toward: str = Field("ru", description="Steer toward this language: vector(toward←eval_lang).")
    vectors: str | None = Field(
        None, description="A VectorDir to load vectors from; null computes them into out/vectors."
    )
    vector_data: str = Field(
        "builtin", description="Parallel prompts for computing vectors when 'vectors' is null."
    )
    vector_prompts: int = Field(
        64, ge=2, description="At most this many parallel prompts for computing vectors."
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
    kl_prompts: int = Field(16, ge=1, description="Held-out prompts for the KL check.")
    layers: list[int] = Field([4, 8, 12], description="Decoder layers to steer (0-based).")
    strengths: list[float] = Field(
        [0.0, 2.0, 4.0, 8.0], description="Steering strengths (0 = unsteered)."
    )
    search_negative: bool = Field(
        False,
        description="Also search negative strengths (steering away from 'toward'); the "
        "hypothesis predicts positive ones, so by default only those are searched.",
    )
    normalize: bool = Field(
        False,
        description="Strength in units of the layer's mean residual norm (vector scaled to "
        "unit length) instead of multiples of the raw vector.",
    )
    positions: ApplyPositions = Field(
        "all", description="Steer prompt tokens, generated tokens, or all (the seed study)."
    )
    builder: str = Field("mean_diff", description="Vector builder when computing vectors.")
    min_prompts: int = Field(
        8, ge=2, description="Fewest parallel prompts per language pair for computing vectors."
    )
    position: Position = Field("mean", description="Pooling when computing vectors.")
    max_eval: int | None = Field(
        None, ge=2,
        description="Eval prompts per language: a seeded sample of the data's eval ids (null: "
        "every one), split into selection and confirmation ids.",
    )
    selection_fraction: float = Field(
        0.4, gt=0, lt=1,
        description="Share of the eval prompts the best cell is chosen on; the rest confirm it "
        "(best.json states the smallest effect the confirmation can detect).",
    )
    max_new_tokens: int = Field(
        48, ge=1, description="Tokens generated per answer (greedy) when 'generation' is null."
    )
    generation: GenerationConfig | None = Field(
        None,
        description="Decoding settings (a study passes its eval's, so baselines compare); "
        "null: greedy with max_new_tokens.",
    )
    batch_size: int = Field(8, ge=1, description="Prompts per generate call.",
        json_schema_extra=SPEED_ONLY)
    n_boot: int = Field(2000, ge=100, description="Monte Carlo draws per test (sign flips "
                        "beyond 20 prompts).")
    min_fidelity: float = Field(
        0.8, ge=0, le=1, description="Best cell must keep lang_fidelity at least this high."
    )
    max_kl: float = Field(
        1.0, ge=0, description="Best cell must keep next-token KL (nats) at most this."
    )
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
    out: str = Field("sweep", description="Output folder (SweepDir).")
    seed: int = Field(
        0, description="Seed of the eval sample, the selection split, KL prompts, vector ids, "
        "generation (unless 'generation' sets its own) and bootstrap intervals."
    )

    _v_langs = field_validator("eval_langs", mode="before")(_langs)

    def decoding(self) -> GenerationConfig:
        """The generation settings of every cell (baseline included)."""
        if self.generation is not None:
            return self.generation.model_copy(update={"batch_size": self.batch_size})
        return GenerationConfig(max_new_tokens=self.max_new_tokens, batch_size=self.batch_size,
                                seed=self.seed)

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
