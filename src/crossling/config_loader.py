"""Config loading: YAML → typed pydantic configs, with one-line errors.

Each stage owns its config class (``crossling.<stage>.config``); ``ExperimentConfig``
(``crossling.runner.config``) composes them. This module only knows how to read YAML and
validate into any of them, so every layer may import it; it imports no stage. Commands
merge their flags and ``--set`` overrides through ``crossling.overrides``.
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


def load_config(cls: type[M], path: str | Path) -> M:
    """Load a YAML file into ``cls`` (commands with flags use ``overrides.resolve_config``)."""
    return validate_config(cls, read_yaml(path), str(path))


def dump_config(cfg: BaseModel) -> str:
    """The fully resolved config as YAML (saved in every run folder)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
