"""Config loading: YAML → typed pydantic configs, with one-line errors.

Each stage owns its config class (``crossling.<stage>.config``); ``ExperimentConfig``
(``crossling.experiment``) composes them. This module only knows how to load any of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from crossling.errors import CrosslingError, did_you_mean

M = TypeVar("M", bound=BaseModel)


def _fields_at(cls: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model that holds the last element of ``loc`` (for suggestions)."""
    current: Any = cls
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        ann = fields[part].annotation
        for candidate in (ann, *getattr(ann, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
        else:
            return []
    return list(getattr(current, "model_fields", {}))


def format_validation_error(err: ValidationError, cls: type[BaseModel], origin: str) -> str:
    """First problem of a ValidationError as one line naming the field and the fix."""
    e = err.errors()[0]
    loc = tuple(e["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    if e["type"] == "extra_forbidden":
        hint = did_you_mean(str(loc[-1]), _fields_at(cls, loc))
        return f"{origin}: unknown key '{where}'.{hint} Remove or rename it."
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{origin}: field '{where}': {msg}{more}"


def validate_config(cls: type[M], data: Any, origin: str = "config") -> M:
    """Validate a dict into ``cls``; any error becomes a one-line ``CrosslingError``."""
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise CrosslingError(format_validation_error(err, cls, origin)) from None
    except CrosslingError as err:  # raised inside validators (e.g. unknown language)
        raise CrosslingError(f"{origin}: {err}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise CrosslingError(f"config file not found: {path}; check the path.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CrosslingError(f"{path} is not valid YAML{where}; fix its syntax.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CrosslingError(f"{path} must hold a mapping of keys at the top level.")
    return data


def load_config(cls: type[M], path: str | Path, overrides: dict[str, Any] | None = None) -> M:
    """Load YAML into ``cls``; ``overrides`` (e.g. CLI flags) replace top-level keys."""
    data = read_yaml(path)
    if overrides:
        data.update({k: v for k, v in overrides.items() if v is not None})
    return validate_config(cls, data, str(path))


def dump_config(cfg: BaseModel) -> str:
    """The fully resolved config as YAML (saved in every run folder)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- the study config
# Imported late so that stage modules may import the loaders above without a cycle.
from pydantic import BaseModel as _BaseModel  # noqa: E402
from pydantic import ConfigDict, Field, field_validator, model_validator  # noqa: E402

from crossling.behaviour.config import StudyBehaviourConfig  # noqa: E402
from crossling.data.config import DataConfig  # noqa: E402
from crossling.evaluate.config import JudgeConfig  # noqa: E402
from crossling.evaluate.generation import GenerationConfig  # noqa: E402
from crossling.languages import parse_langs  # noqa: E402
from crossling.models.config import ModelConfig  # noqa: E402
from crossling.train.config import TrainConfig  # noqa: E402


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
    n_boot: int = Field(2000, ge=100, description="Bootstrap resamples per CI.")


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
        [-1.0, -0.5, 0.0, 0.25, 0.5, 1.0],
        description="Strengths to try, in multiples of the vector (its norm is typically "
        "0.25-0.55 x the residual norm, so |strength| > 2 breaks small models).",
    )
    normalize: bool = Field(False, description="Strength in units of the mean residual norm.")
    positions: str = Field("all", description="prompt, generated or all.")
    builder: str = Field("mean_diff", description="Vector builder: mean_diff or pca.")
    position: str = Field("mean", description="Pooling of prompt tokens: mean or last.")
    vector_data: str = Field("builtin", description="Parallel prompts for the vectors.")
    kl_prompts: int = Field(8, ge=1, description="Held-out harmless prompts for the KL check.")
    max_eval: int = Field(20, ge=1, description="Prompts per language in each cell.")
    max_new_tokens: int = Field(48, ge=1, description="Tokens generated per answer.")
    batch_size: int = Field(8, ge=1, description="Prompts per generation batch.")
    min_fidelity: float = Field(0.8, ge=0, le=1, description="Fidelity floor for the best cell.")
    max_kl: float = Field(1.0, ge=0, description="KL ceiling (nats) for the best cell.")

    @field_validator("eval_langs", mode="before")
    @classmethod
    def _langs(cls, v: object) -> list[str]:
        return parse_langs(v)  # type: ignore[arg-type]


class ReportConfig(_BaseModel):
    model_config = ConfigDict(extra="forbid")

    examples_per_lang: int = Field(2, ge=0, description="Example outputs shown per language.")
    headline_scorer: dict[str, str] = Field(
        default_factory=lambda: {"caps": "caps_pct", "refusal": "refusal_keyword"},
        description="Scorer of the transfer matrix and asymmetry test, per task.",
    )


class ExperimentConfig(_BaseModel):
    """A whole study: data → train → evaluate → steer → analyze → report, from one YAML."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("study", description="Name shown in the report.")
    seed: int = Field(0, description="Global seed: data split, bootstrap, generation.")
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
    def _check(self) -> ExperimentConfig:
        from crossling.data.tasks import TASKS
        from crossling.evaluate.scorers import SCORERS

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
        from crossling.data.tasks import get_task

        return self.eval.scorers.get(task) or list(get_task(task).default_scorers)
