"""The study config: ``ExperimentConfig`` composes the stages' configs, beside the runner.

Imports run one way: this module imports every stage's config, no stage imports it. YAML
loading and error formatting are in ``crossling.config_loader``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel as _BaseModel
from pydantic import ConfigDict, Field, model_validator

from crossling.behaviour.config import StudyBehaviourConfig
from crossling.data.config import DataConfig
from crossling.evaluate.backends.base import DecodingChanges
from crossling.evaluate.config import EvalSettings
from crossling.fields import Reported, Seeded, Switchable
from crossling.languages import parse_langs
from crossling.models.config import WithModel
from crossling.steer.config import SteerSettings
from crossling.train.config import Trained


class StudyEvalConfig(EvalSettings):
    """How every adapter (and the control) is evaluated in every eval language."""

    scorers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Scorers per task (e.g. caps: [caps_pct, all_caps, lang_fidelity]); a task "
        "left out uses its defaults.",
    )


class StudySteerConfig(SteerSettings, Switchable, DecodingChanges):
    """The steering experiment of a study: one adapter's prompts steered toward a language
    (``adapter_lang``: its training language, first seed; the key was ``adapter``). Decoding
    is the eval's with the keys of ``decoding`` changed; the Monte Carlo tests use
    ``eval.n_boot``."""

    stage_defaults: ClassVar[dict[str, Any]] = {"enabled": True}
    old_names: ClassVar[dict[str, str]] = {"adapter": "adapter_lang"}


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


class ExperimentConfig(WithModel, Seeded, Reported, Trained):
    """A whole study: data → train → evaluate → steer → analyze → report, from one YAML.

    ``seed`` is the global seed: the data split and train sample, generation, the Monte Carlo
    tests, the sweep's prompts and vector ids — unless a stage sets its own seed.
    ``report_to`` trackers are written under RUN/tracking: the config, training curves, eval
    summaries and the transfer matrix."""

    name: str = Field("study", description="Name shown in the report.")
    seeds: list[int] = Field(
        [0], description="Training seeds: one adapter per (task, training language, seed)."
    )
    tasks: dict[str, DataConfig] = Field(
        ..., description="Task name → its data config (source, languages, eval size)."
    )
    eval: StudyEvalConfig = Field(default_factory=StudyEvalConfig, description="Evaluation.")
    steer: StudySteerConfig | None = Field(None, description="Steering sweep (null: none).")
    behaviour: StudyBehaviourConfig = Field(
        default_factory=StudyBehaviourConfig,
        description="Where the behaviour lives: behaviour vectors, their transfer, ablation "
        "and geometry (off unless enabled).",
    )
    report: ReportConfig = Field(default_factory=ReportConfig, description="Report options.")
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
            if self.steer.adapter_lang is not None and self.steer.adapter_lang not in t.train_langs:
                raise ValueError(
                    f"steer.adapter_lang '{self.steer.adapter_lang}' is not a training language of "
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
