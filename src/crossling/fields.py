"""Settings that several stages share, each declared once.

Why mixins: a stage config (``crossling train``, ``eval``, ``steer sweep`` …) and the study
block that drives the same stage used to re-declare the same field with other defaults,
looser types and another description, and the copies drifted. A setting that means the
same thing in several configs is declared here (or, for settings of one stage's world, in
that stage's config module: ``steer.config.SteerSettings``, ``evaluate.config.EvalSettings``)
and the configs inherit it. A field name that appears in two config classes must mean
something different in each; ``tests/test_config_declarations.py`` holds the short list of
such names and why.

Stage-specific defaults of a shared field (e.g. where ``out`` goes) are class variables read
by a before-validator, not a re-declaration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crossling.config_marks import LOCATION, SPEED_ONLY
from crossling.tracking import ReportTo

#: What :meth:`Strict.stage_default` returns where a config sets no stage default.
NO_STAGE_DEFAULT = object()


class Strict(BaseModel):
    """Every config refuses unknown keys (a typo is an error, not a silent default).

    ``stage_defaults`` (a class variable) gives an inherited setting this config's own
    default, e.g. ``{"out": "sweep"}``: the declaration (type, bounds, help, speed mark)
    stays in one place, the default is data of the stage.
    """

    model_config = ConfigDict(extra="forbid")

    stage_defaults: ClassVar[dict[str, Any]] = {}
    #: Keys a config accepted before a rename (old → new), so older YAML keeps loading.
    old_names: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _defaults_and_old_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = renamed(data, cls.old_names)
        for block in ("generation", "decoding"):  # max_new_tokens before decoding was a block
            if block in cls.model_fields:
                data = into_generation(data, block)
        return _deep_merge(cls.stage_defaults, data) if cls.stage_defaults else data

    @classmethod
    def stage_default(cls, path: Sequence[str]) -> Any:
        """This config's stage default at ``path`` (e.g. ``("generation",
        "max_new_tokens")``), or :data:`NO_STAGE_DEFAULT`."""
        node: Any = cls.stage_defaults
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                return NO_STAGE_DEFAULT
            node = node[part]
        return node

    @classmethod
    def default_of(cls, name: str) -> Any:
        """This config's default for ``name`` (a stage default, else the field's)."""
        value = cls.stage_default([name])
        if value is not NO_STAGE_DEFAULT:
            return value
        return cls.model_fields[name].get_default(call_default_factory=True)


def _deep_merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` over ``defaults``, block by block: a stage default of
    ``generation: {max_new_tokens: 48}`` stays when only ``generation.batch_size`` is given."""
    out = dict(defaults)
    for key, value in given.items():
        base = out.get(key)
        out[key] = (_deep_merge(base, value) if isinstance(base, dict) and isinstance(value, dict)
                    else value)
    return out


class Seeded(Strict):
    seed: int = Field(
        0, description="Seed of every random choice this block makes (samples, splits, "
        "initialisation, sampling, Monte Carlo tests); a study's top-level seed reaches every "
        "block that does not set its own.",
    )


class Bootstrapped(Strict):
    n_boot: int = Field(2000, ge=100, description="Monte Carlo draws per test (sign flips "
                        "beyond 20 prompts).")


class OfTask(Strict):
    task: str = Field("caps", description="Task name (see crossling.tasks): picks the "
                      "training target, the behaviour metric and the prompts' kinds.")


class OnDataDir(Strict):
    data: str = Field(..., description="Data dir written by 'crossling data build' (its "
                      "eval.jsonl holds the prompts).", json_schema_extra=LOCATION)


class ForwardBatched(Strict):
    batch_size: int = Field(
        8, ge=1, description="Prompts per forward pass or generate call of this stage.",
        json_schema_extra=SPEED_ONLY,
    )


class Reported(Strict):
    report_to: ReportTo = Field(
        default_factory=list,
        description="Experiment trackers: tensorboard, wandb (offline), mlflow (local file "
        "store).",
        json_schema_extra=SPEED_ONLY,
    )


class Tracked(Reported):
    tracking_dir: str | None = Field(
        None, description="Where the trackers write (null: the output folder's tracking/).",
        json_schema_extra=SPEED_ONLY,
    )


class WritesOut(Strict):
    out: str = Field(..., description="Output folder of this stage (reruns resume there).",
                     json_schema_extra=LOCATION)


class Switchable(Strict):
    enabled: bool = Field(False, description="Run this stage of the study.")


class VectorSource(Strict):
    """Where the parallel prompts of steering (language or behaviour) vectors come from."""

    vector_data: str = Field(
        "builtin",
        description="Parallel prompts the vectors are recorded on: 'builtin' (the built-in "
        "instruction corpus), 'builtin:harmful', a data dir (its eval.jsonl and "
        "train_<lang>.jsonl), a long jsonl (id, lang, prompt) or a wide jsonl (id, one "
        "column per language, like polyrefuse harmless.jsonl). Eval and KL ids are never "
        "used.",
    )
    vector_prompts: int = Field(
        64, ge=2,
        description="At most this many parallel ids per vector (a sample seeded by 'seed').",
    )
    min_prompts: int = Field(
        8, ge=2, description="Fail when fewer parallel ids are left for a vector."
    )


def renamed(data: dict[str, Any], old_to_new: dict[str, str]) -> dict[str, Any]:
    """Accept a setting's old key (YAML written before the rename) under its new name; both
    given is an error."""
    out = dict(data)
    for old, new in old_to_new.items():
        if old in out:
            if new in out:
                raise ValueError(f"'{old}' is the old name of '{new}'; give only '{new}'")
            out[new] = out.pop(old)
    return out


def into_generation(data: dict[str, Any], block: str) -> dict[str, Any]:
    """A stage block's old ``max_new_tokens`` key (before decoding settings were one block)
    becomes ``<block>.max_new_tokens``."""
    if "max_new_tokens" not in data:
        return data
    data = dict(data)
    n = data.pop("max_new_tokens")
    gen = data.get(block)
    if n is not None:
        data[block] = {**(gen if isinstance(gen, dict) else {}), "max_new_tokens": n}
    return data
