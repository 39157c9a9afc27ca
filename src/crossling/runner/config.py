"""The study config: ``ExperimentConfig`` composes the stages' configs, beside the runner.

Imports run one way: this module imports every stage's config, no stage imports it. YAML
loading and error formatting are in ``crossling.config_loader``.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, ClassVar

from pydantic import BaseModel as _BaseModel
from pydantic import ConfigDict, Field, field_validator, model_validator

from crossling.behaviour.config import StudyBehaviourConfig
from crossling.config_marks import SPEED_ONLY
from crossling.data.config import DataConfig
from crossling.evaluate.backends.base import DecodingChanges
from crossling.evaluate.config import EvalSettings
from crossling.fields import Reported, Seeded, Switchable
from crossling.languages import parse_langs
from crossling.models.config import ModelConfig, WithModel
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
    model_notes: dict[str, str] = Field(
        default_factory=dict,
        description="Model name (alias, hub id, folder, or a .gguf file's name) → a note the "
        "report opens with when the study's model is that one: what the model can and cannot "
        "show. Only the report reads it.",
        json_schema_extra=SPEED_ONLY,  # words in the report, never a number
    )

    def note_for(self, model_name: str) -> str | None:
        """The note of ``model_name``: by its name as written, else by the last part of its
        path (a packaged GGUF file lies wherever pip put it)."""
        if model_name in self.model_notes:
            return self.model_notes[model_name]
        return self.model_notes.get(PurePath(model_name).name)


#: What a model label may hold: it names the model's folder RUN/models/<label>/.
LABEL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def default_label(name: str) -> str:
    """A model's label from its name: the alias, the last part of a hub id or folder, a
    .gguf file's name without ``.gguf``; characters a folder name should not hold become -."""
    base = PurePath(name.rstrip("/\\")).name or name
    base = base.removesuffix(".gguf")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "model"


class StudyModel(ModelConfig):
    """One model of a study with several (``models:``): a model block plus its label."""

    label: str | None = Field(
        None, pattern=f"^{LABEL_PATTERN}$",
        description="Name of the model in the report and of its folder RUN/models/<label>/ "
        "(default: the alias, or the hub id's, folder's or .gguf file's last part). A new "
        "label is a new folder: its stages run from scratch.",
    )

    @property
    def resolved_label(self) -> str:
        return self.label or default_label(self.name)

    def model(self) -> ModelConfig:
        """The model block this entry stands for (without its label)."""
        return ModelConfig.model_validate(self.model_dump(exclude={"label"}))


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
    models: list[StudyModel] | None = Field(
        None,
        description="Several models in one study, each item a model name or a model block "
        "with an optional label. Every stage runs per model in RUN/models/<label>/ (a whole "
        "single-model study with its own stamps); a model that fails is reported and the "
        "others go on. Adding a model to a finished study runs only that one (no --force: "
        "nothing else changes); a model removed keeps its folder but leaves the analysis; a "
        "changed model block is checked in its own folder (--force reruns its stale stages). "
        "Not together with a non-default `model:`.",
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

        defined: dict[str, str] = {}  # YAML scorer → the task defining it
        for name, dcfg in self.tasks.items():
            TASKS.get(name)  # unknown task → did-you-mean error
            if dcfg.task != name:
                raise ValueError(f"tasks.{name}.task is '{dcfg.task}'; it must equal the key")
            for scorer in dcfg.define.scorers if dcfg.define else {}:
                if scorer in defined:
                    raise ValueError(f"scorer '{scorer}' is defined by tasks {defined[scorer]} "
                                     f"and {name}; give one of them another name")
                defined[scorer] = name
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
            if self.steer.metric is not None:
                SCORERS.get(self.steer.metric)  # unknown: one line with a suggestion
        b = self.behaviour
        if b.metric is not None:
            SCORERS.get(b.metric)
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

    @field_validator("models", mode="before")
    @classmethod
    def _model_names(cls, v: Any) -> Any:
        """An item may be just the model's name."""
        if isinstance(v, list):
            return [{"name": item} if isinstance(item, str) else item for item in v]
        return v

    @model_validator(mode="after")
    def _one_model_list(self) -> ExperimentConfig:
        if self.models is None:
            return self
        if not self.models:
            raise ValueError("models is empty; list at least one model, or use model:")
        if self.model != ModelConfig.model_validate({}):
            raise ValueError("set either model: or models:, not both; give each models: item "
                             "its own options (e.g. {name: X, threads: 2})")
        seen: dict[str, int] = {}
        for i, m in enumerate(self.models):
            label = m.resolved_label
            if label in seen:
                raise ValueError(f"models: items {seen[label] + 1} and {i + 1} are both "
                                 f"labelled '{label}'; give one a label: (e.g. "
                                 f"{{name: {m.name}, label: {label}-2}})")
            seen[label] = i
        return self

    def model_studies(self) -> dict[str, ExperimentConfig]:
        """Label → the single-model study of each ``models:`` item (this config with
        ``model`` set to the item, ``models`` unset), in the order listed; empty without
        ``models``."""
        out = {}
        for m in self.models or []:
            data = self.model_dump(mode="json")
            data.update(model=m.model().model_dump(mode="json"), models=None)
            out[m.resolved_label] = type(self).model_validate(data)
        return out
