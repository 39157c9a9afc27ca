"""Train stage config: LoRA and optimisation hyperparameters, and one training job.

Defaults are the reference setup of the original study (Qwen2.5-0.5B-Instruct): LoRA r=16,
alpha=16, dropout 0 on q/k/v/o/gate/up/down; AdamW lr 2e-4, cosine with 50 warmup steps,
1000 steps, batch 2 x grad-accumulation 8, weight decay 0.01.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crossling.config_marks import LOCATION, SPEED_ONLY, results_dump
from crossling.fields import Seeded, Strict, Tracked
from crossling.models.config import WithModel

DEFAULT_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# Fields marked SPEED_ONLY may change between a crashed run and its --resume: they do not
# change the trained weights (how often we save / log / show progress, the generation batch
# size; ``compile`` and ``micro_batch_tokens`` only change the floating-point order of sums).


class TrainConfig(BaseModel):
    """LoRA SFT hyperparameters (one optimizer step sees batch_size x grad_accum x processes
    examples; the loss is the mean over all assistant tokens of that step)."""

    model_config = ConfigDict(extra="forbid")

    lora_r: int = Field(default=16, ge=1, description="LoRA rank.")
    lora_alpha: int = Field(default=16, gt=0, description="LoRA alpha (scale = alpha / r).")
    lora_dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout on the LoRA input.")
    target_modules: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TARGET_MODULES),
        description="Module names that get LoRA adapters (the reference: all attention and "
        "MLP projections).",
    )
    lr: float = Field(default=2e-4, gt=0, description="Peak learning rate (AdamW).")
    scheduler: Literal["cosine", "linear", "constant"] = Field(
        default="cosine", description="LR schedule after warmup: cosine, linear or constant."
    )
    warmup_steps: int = Field(default=50, ge=0, description="Linear warmup steps.")
    max_steps: int | None = Field(
        default=1000, ge=1, description="Optimizer steps; null to use 'epochs' instead."
    )
    epochs: float | None = Field(
        default=None, gt=0, description="Passes over the training rows (only when max_steps is null)."
    )
    batch_size: int = Field(default=2, ge=1, description="Rows per forward pass (per process).")
    grad_accum: int = Field(default=8, ge=1, description="Forward passes accumulated per optimizer step.")
    weight_decay: float = Field(default=0.01, ge=0, description="AdamW weight decay.")
    adam_betas: tuple[float, float] = Field(default=(0.9, 0.999), description="AdamW betas.")
    adam_eps: float = Field(default=1e-8, gt=0, description="AdamW epsilon.")
    max_grad_norm: float | None = Field(
        default=1.0, gt=0, description="Clip the gradient norm to this (null: no clipping)."
    )
    max_length: int = Field(
        default=1024, ge=8, description="Tokens per example; longer answers are cut (loss still counts)."
    )
    group_by_length: bool = Field(
        default=True,
        description="Put rows of similar length in the same batches (less padding, faster); "
        "the order of steps stays random.",
    )
    group_size: int = Field(
        default=16, ge=1, description="Optimizer steps per length-sorted group (bigger: less padding, "
        "less randomness in which rows share a step)."
    )
    packing: bool = Field(
        default=True,
        description="Concatenate the rows of a forward pass into one sequence without padding "
        "(position ids restart per row; attention cannot cross rows: flash varlen where the "
        "model runs flash attention, a block-diagonal mask elsewhere). Same loss and "
        "gradients as padded batches, no compute spent on padding.",
    )
    micro_batch_tokens: int | None = Field(
        default=None, ge=8,
        description="Packing only: tokens per forward pass. The rows of each step "
        "(batch_size x grad_accum, unchanged) are re-split into passes of at most this many "
        "tokens. null: chosen from free memory on CUDA; elsewhere batch_size rows per pass.",
        json_schema_extra=SPEED_ONLY,
    )
    fused_adamw: bool = Field(
        default=True,
        description="Use torch's fused AdamW kernel where the device supports it (CUDA, and "
        "CPU in torch >= 2.4): one kernel for all LoRA tensors instead of a loop.",
    )
    compile: bool = Field(
        default=False,
        description="torch.compile the model (dynamic shapes) before training: faster steps "
        "on GPUs after a compile warm-up of a minute or so; needs a C++ compiler on CPU.",
        json_schema_extra=SPEED_ONLY,
    )
    save_every: int = Field(default=50, ge=1, description="Checkpoint every N optimizer steps.",
        json_schema_extra=SPEED_ONLY)
    keep_checkpoints: int = Field(default=2, ge=1, description="Newest checkpoints kept on disk.",
        json_schema_extra=SPEED_ONLY)
    log_every: int = Field(default=1, ge=1, description="Write a train_log.csv row every N steps.",
        json_schema_extra=SPEED_ONLY)
    progress: bool = Field(default=True, description="Show a progress bar (loss, tokens/s).",
        json_schema_extra=SPEED_ONLY)
    self_response_max_new_tokens: int = Field(
        default=256, ge=1, description="responses: self — longest base-model answer generated."
    )
    self_response_batch_size: int | Literal["auto"] = Field(
        default="auto", description="responses: self — prompts per batch of the generation "
        "backend (auto: as for eval, from free GPU memory or 64 on CPU).",
        json_schema_extra=SPEED_ONLY,
    )

    @model_validator(mode="after")
    def _steps_or_epochs(self) -> TrainConfig:
        if (self.max_steps is None) == (self.epochs is None):
            raise ValueError("set exactly one of max_steps and epochs (the other to null)")
        return self


class Trained(Strict):
    """A config that trains LoRA adapters."""

    train: TrainConfig = Field(default_factory=lambda: TrainConfig(),
                               description="LoRA hyperparameters.")


class TrainJobConfig(WithModel, Seeded, Tracked, Trained):
    """One adapter: a data dir, a language, a base model, an output folder and a seed (which
    seeds LoRA init, data order and dropout)."""

    data_dir: Path = Field(..., description="Folder written by 'crossling data build'.",
                           json_schema_extra=LOCATION)
    lang: str = Field(..., description="Training language (a train_<lang>.jsonl in data_dir).")
    out_dir: Path = Field(..., description="Output folder (TrainDir): adapter, logs, manifest.",
                          json_schema_extra=LOCATION)
    resume: bool = Field(
        default=False, description="Continue from the newest checkpoint in out_dir (config "
        "must match); a resumed run ends with the same weights as an uninterrupted one.",
        json_schema_extra=SPEED_ONLY,
    )

    @field_validator("lang")
    @classmethod
    def _known_lang(cls, v: str) -> str:
        from crossling.languages import get_language

        return get_language(v.strip().lower()).code

    def fingerprint(self) -> dict[str, Any]:
        """What determines the trained weights: compared on --resume."""
        return {"lang": self.lang, "seed": self.seed, "model": results_dump(self.model),
                "train": results_dump(self.train)}
