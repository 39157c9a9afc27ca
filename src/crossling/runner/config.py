"""The study config: ``ExperimentConfig`` composes the stages' configs, beside the runner.

Imports run one way: this module imports every stage's config, no stage imports it. YAML
loading and error formatting are in ``crossling.config_loader``.
"""

from __future__ import annotations

from pydantic import BaseModel as _BaseModel
from pydantic import ConfigDict, Field, field_validator, model_validator

from crossling.analysis.quality import MAX_DEGENERATE
from crossling.behaviour.config import StudyBehaviourConfig
from crossling.config_marks import SPEED_ONLY
from crossling.data.config import DataConfig
from crossling.evaluate.backends.base import GenerationConfig
from crossling.evaluate.config import JudgeConfig
from crossling.languages import parse_langs
from crossling.models.config import ModelConfig
from crossling.tracking import ReportTo
from crossling.train.config import TrainConfig


class StudyEvalConfig(_BaseModel):
    """How every adapter (and the control) is evaluated in every eval language."""

    model_config = ConfigDict(extra="forbid")

    scorers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Scorers per task (e.g. caps: [caps_pct, all_caps, lang_fidelity]); a task "
        "left out uses its defaults.",
    )
    generation: GenerationConfig = Field(
        default_factory=GenerationConfig, description="Decoding settings (greedy by default)."
    )
    limit: int | None = Field(
        None, ge=1, description="At most this many eval prompts per language (null: all)."
    )
    backend: str = Field("hf", description="Generation backend: hf or vllm.")
    judge: JudgeConfig = Field(default_factory=JudgeConfig, description="LLM judge settings.")
    n_boot: int = Field(2000, ge=100, description="Monte Carlo draws per test (sign flips "
                        "beyond 20 prompts).")


class StudySteerConfig(_BaseModel):
    """The steering experiment of a study: one adapter's prompts steered toward a language."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Run the steering sweep.")
    task: str = Field("caps", description="Which task's adapter and prompts to steer.")
    adapter: str | None = Field(
        "en", description="Training language of the adapter to steer (first seed); null "
        "steers the base model."
    )
    eval_langs: list[str] = Field(["de"], description="Languages of the prompts steered.")
    toward: str = Field("en", description="Steer toward this language.")
    layers: list[int] = Field([4, 8, 12], description="Decoder layers (0-based) to try.")
    strengths: list[float] = Field(
        [0.0, 0.25, 0.5, 1.0],
        description="Strengths to try, in multiples of the vector (its norm is typically "
        "0.25-0.55 x the residual norm, so |strength| > 2 breaks small models).",
    )
    search_negative: bool = Field(
        False, description="Also search negative strengths (away from 'toward'); the "
        "hypothesis predicts positive ones."
    )
    normalize: bool = Field(False, description="Strength in units of the mean residual norm.")
    positions: str = Field("all", description="prompt, generated or all.")
    builder: str = Field("mean_diff", description="Vector builder: mean_diff or pca.")
    position: str = Field("mean", description="Pooling of prompt tokens: mean or last.")
    vector_data: str = Field("builtin", description="Parallel prompts for the vectors.")
    kl_prompts: int = Field(
        16, ge=2, description="Held-out harmless prompts for the KL check: half guard the "
        "choice, the other half re-check the chosen cell."
    )
    max_eval: int | None = Field(
        None, ge=2, description="Prompts per language: a seeded sample (null: every eval id "
        "of the task), split into selection and confirmation ids."
    )
    selection_fraction: float = Field(
        0.4, gt=0, lt=1, description="Share of the prompts the best cell is chosen on; the "
        "rest confirm it (0.3-0.5 leaves a confirmation that can detect a moderate effect: "
        "best.json states the smallest detectable one)."
    )
    max_new_tokens: int | None = Field(
        None, ge=1, description="Tokens generated per answer (null: the eval's "
        "generation.max_new_tokens, so the sweep baseline matches the transfer matrix)."
    )
    batch_size: int = Field(8, ge=1, description="Prompts per generation batch.",
        json_schema_extra=SPEED_ONLY)
    min_fidelity: float = Field(0.8, ge=0, le=1, description="Fidelity floor for the best cell.")
    max_kl: float = Field(1.0, ge=0, description="KL ceiling (nats) for the best cell.")
    max_degenerate: float = Field(
        MAX_DEGENERATE, ge=0, le=1,
        description="Share of degenerate answers allowed in the best cell."
    )
    max_over_refusal: float = Field(
        0.10, ge=0, le=1, description="Refusal task: over-refusal rise allowed over baseline."
    )

    @field_validator("eval_langs", mode="before")
    @classmethod
    def _langs(cls, v: object) -> list[str]:
        return parse_langs(v)  # type: ignore[arg-type]


def _primary_metrics() -> dict[str, str]:
    from crossling.tasks import get_task, task_names

    return {name: get_task(name).primary_metric for name in task_names()}


class ReportConfig(_BaseModel):
    model_config = ConfigDict(extra="forbid")

    examples_per_lang: int = Field(2, ge=0, description="Example outputs shown per language.")
    headline_scorer: dict[str, str] = Field(
        default_factory=lambda: _primary_metrics(),
        description="Scorer of the transfer matrix and asymmetry test, per task (default: "
        "each task's primary metric).",
    )


class ExperimentConfig(_BaseModel):
    """A whole study: data → train → evaluate → steer → analyze → report, from one YAML."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("study", description="Name shown in the report.")
    seed: int = Field(
        0, description="Global seed: the data split and train sample, generation, the "
        "bootstrap, the sweep's prompts and vector ids — unless a stage sets its own seed."
    )
    seeds: list[int] = Field(
        [0], description="Training seeds: one adapter per (task, training language, seed)."
    )
    model: ModelConfig = Field(default_factory=ModelConfig, description="Base chat model.")
    tasks: dict[str, DataConfig] = Field(
        ..., description="Task name → its data config (source, languages, eval size)."
    )
    train: TrainConfig = Field(default_factory=TrainConfig, description="LoRA hyperparameters.")
    eval: StudyEvalConfig = Field(default_factory=StudyEvalConfig, description="Evaluation.")
    steer: StudySteerConfig | None = Field(None, description="Steering sweep (null: none).")
    behaviour: StudyBehaviourConfig = Field(
        default_factory=StudyBehaviourConfig,
        description="Where the behaviour lives: behaviour vectors, their transfer, ablation "
        "and geometry (off unless enabled).",
    )
    report: ReportConfig = Field(default_factory=ReportConfig, description="Report options.")
    report_to: ReportTo = Field(
        default_factory=list,
        description="Experiment trackers (tensorboard, wandb offline, mlflow file store), "
        "written under RUN/tracking: the config, training curves, eval summaries and the "
        "transfer matrix.",
        json_schema_extra=SPEED_ONLY,
    )

    @model_validator(mode="before")
    @classmethod
    def _task_names(cls, data: object) -> object:
        """The task name is the key: fill ``task`` in each data config from it."""
        if isinstance(data, dict) and isinstance(data.get("tasks"), dict):
            tasks = {}
            for name, spec in data["tasks"].items():
                spec = dict(spec or {})
                spec.setdefault("task", name)
                tasks[name] = spec
            data = {**data, "tasks": tasks}
        return data

    @model_validator(mode="after")
    def _one_seed(self) -> ExperimentConfig:
        """The top-level seed reaches every stage that does not set its own explicitly."""
        for dcfg in self.tasks.values():
            if "seed" not in dcfg.model_fields_set:
                dcfg.seed = self.seed
        if "seed" not in self.eval.generation.model_fields_set:
            self.eval.generation.seed = self.seed
        return self

    @model_validator(mode="after")
    def _check(self) -> ExperimentConfig:
        from crossling.evaluate.scorers import SCORERS
        from crossling.tasks import TASKS

        for name, dcfg in self.tasks.items():
            TASKS.get(name)  # unknown task → did-you-mean error
            if dcfg.task != name:
                raise ValueError(f"tasks.{name}.task is '{dcfg.task}'; it must equal the key")
        for task, names in self.eval.scorers.items():
            if task not in self.tasks:
                raise ValueError(f"eval.scorers names task '{task}', which is not in tasks")
            for n in names:
                SCORERS.get(n)
        if self.steer is not None and self.steer.enabled:
            if self.steer.task not in self.tasks:
                raise ValueError(f"steer.task '{self.steer.task}' is not in tasks")
            t = self.tasks[self.steer.task]
            if self.steer.adapter is not None and self.steer.adapter not in t.train_langs:
                raise ValueError(
                    f"steer.adapter '{self.steer.adapter}' is not a training language of "
                    f"task '{self.steer.task}' ({', '.join(t.train_langs)})"
                )
            missing = [lang for lang in self.steer.eval_langs if lang not in t.eval_langs]
            if missing:
                raise ValueError(f"steer.eval_langs {missing} have no eval data in task "
                                 f"'{self.steer.task}' (eval_langs: {', '.join(t.eval_langs)})")
            parse_langs([self.steer.toward])
        b = self.behaviour
        if b.enabled:
            if b.task not in self.tasks:
                raise ValueError(f"behaviour.task '{b.task}' is not in tasks")
            missing = [lang for lang in b.langs or [] if lang not in self.tasks[b.task].eval_langs]
            if missing:
                raise ValueError(f"behaviour.langs {missing} have no eval data in task "
                                 f"'{b.task}' (eval_langs: "
                                 f"{', '.join(self.tasks[b.task].eval_langs)})")
        return self

    def scorers_for(self, task: str) -> list[str]:
        from crossling.tasks import get_task

        return self.eval.scorers.get(task) or list(get_task(task).default_scorers)
