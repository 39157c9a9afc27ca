"""One mark per setting: does it change results, or only how fast (and where) they are made?

Why one mark: whether a stage must rerun, whether a crashed training may resume, whether a
run folder still belongs to its config and whether logged generations can be reused all ask
the same question of every setting. A field declared with ``json_schema_extra=SPEED_ONLY``
(batch sizes, threads and device, progress bars, logging and checkpoint cadence, where
results are also reported) never changes a number; every other field does. Every
fingerprint, stage stamp and run hash is made from :func:`results_dump`, so a speed-only
setting can be changed on a finished study and nothing reruns.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: ``Field(..., json_schema_extra=SPEED_ONLY)``: the setting never changes a result.
SPEED_ONLY: dict[str, Any] = {"speed_only": True}
#: ``Field(..., json_schema_extra=LOCATION)``: a path to read inputs from or write results
#: to. It changes results only through what is there, so a study hashes that content (data
#: manifest, adapter weights) instead of the path, and a moved run folder stays up to date.
LOCATION: dict[str, Any] = {"location": True}


def is_speed_only(field: FieldInfo) -> bool:
    """The field carries the :data:`SPEED_ONLY` mark."""
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("speed_only"))


def is_location(field: FieldInfo) -> bool:
    """The field carries the :data:`LOCATION` mark."""
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("location"))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic model classes an annotation holds (``M``, ``M | None``, ``dict[str, M]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return []
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def results_view(cls: type[BaseModel], data: Any, locations: bool = True) -> Any:
    """``data`` (a dumped ``cls``, e.g. read from a run folder's YAML) without the
    speed-only settings (nor, with ``locations=False``, the paths), at every depth."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = cls.model_fields.get(key)
        if field is None:
            out[key] = value
            continue
        if is_speed_only(field) or (not locations and is_location(field)):
            continue
        models = _models_in(field.annotation)
        if models and isinstance(value, dict):
            sub = models[0]
            is_map = typing.get_origin(field.annotation) is dict
            out[key] = ({k: results_view(sub, v, locations) for k, v in value.items()}
                        if is_map else results_view(sub, value, locations))
        else:
            out[key] = value
    return out


def results_dump(model: BaseModel, exclude: Iterable[str] = (),
                 locations: bool = True) -> dict[str, Any]:
    """The JSON dump of ``model`` without its speed-only settings, the top-level fields in
    ``exclude`` and, with ``locations=False``, the paths (:data:`LOCATION`)."""
    data = model.model_dump(mode="json", exclude=set(exclude) or None)
    return dict(results_view(type(model), data, locations))


def speed_only_fields(cls: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted names of every speed-only field of ``cls`` and its nested models."""
    out = []
    for name, field in cls.model_fields.items():
        if is_speed_only(field):
            out.append(prefix + name)
        for sub in _models_in(field.annotation)[:1]:
            out += speed_only_fields(sub, f"{prefix}{name}.")
    return out
