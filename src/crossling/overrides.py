"""One way for every CLI to turn a YAML file, its flags and ``--set`` overrides into a config.

Why: each command used to merge its flags into its config by hand. Here the order is fixed
and the same everywhere — YAML file, then flags, then ``--set KEY.PATH=VALUE`` (values parsed
as YAML) — and the result is validated like the file, so an unknown path or a bad value is
one line naming it (with a suggestion), and what a run records is what it ran with.

A command's flags are generated from its config class (``crossling.cli_gen``), which hands
the command the nested dict of the flags that were given; the command then calls::

    cfg = resolve_config(MyConfig, config_path, flags, sets=set_,
                         required={"out": "--out"}, command="crossling my-cmd")

In ``flags`` a value of ``None`` means "not given"; :data:`NULL` means "set to null" (a flag
given as ``--x null``).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from crossling.config_loader import read_yaml, validate_config
from crossling.errors import CrosslingError, did_you_mean

M = TypeVar("M", bound=BaseModel)


class _Null:
    """The flag value "set this key to null" (``None`` in a flags dict means "not given")."""

    def __repr__(self) -> str:
        return "NULL"


#: A flag given as ``null``: ``merge_flags`` stores ``None`` for it.
NULL: Any = _Null()

SET_HELP = ("Override any config key: --set KEY.PATH=VALUE (VALUE is YAML), repeatable, "
            "e.g. --set train.max_steps=5 --set report_to=[tensorboard].")


def unwrap(annotation: Any) -> tuple[str, Any]:
    """('model', cls) for a pydantic model, ('dict', value type) for a mapping, else ('leaf', _).

    ``X | None`` counts as ``X``.
    """
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            kind, inner = unwrap(arg)
            if kind != "leaf":
                return kind, inner
        return "leaf", None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    if origin in (dict, Mapping, typing.Mapping):
        args = typing.get_args(annotation)
        return "dict", args[1] if len(args) == 2 else Any
    return "leaf", None


def parse_set(item: str) -> tuple[list[str], Any]:
    """'train.max_steps=5' → (['train', 'max_steps'], 5).

    Raises:
        CrosslingError: no '=' or an empty key.
    """
    key, sep, raw = item.partition("=")
    path = [p.strip() for p in key.split(".")]
    if not sep or not all(path):
        raise CrosslingError(f"--set '{item}' is not KEY.PATH=VALUE; write e.g. "
                             "--set train.max_steps=5.")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw  # not YAML (e.g. 'a: b: c'): take the text as it is
    return path, value


def check_path(cls: type[BaseModel], path: Sequence[str], item: str) -> None:
    """Refuse a dotted path that names no field of ``cls``, suggesting the closest key.

    Raises:
        CrosslingError: an unknown key, or a key below a value that has no keys.
    """
    kind: str = "model"
    current: Any = cls
    for i, part in enumerate(path):
        where = ".".join(path[: i + 1])
        if kind == "model":
            fields = current.model_fields
            if part not in fields:
                raise CrosslingError(f"--set {item}: unknown key '{where}'."
                                     f"{did_you_mean(part, fields)} Known here: "
                                     f"{', '.join(fields)}.")
            kind, current = unwrap(fields[part].annotation)
        elif kind == "dict":
            kind, current = unwrap(current)
        else:
            raise CrosslingError(f"--set {item}: '{'.'.join(path[:i])}' is a value, not a "
                                 "section; set it directly.")


def merge_flags(cls: type[BaseModel], data: dict[str, Any], flags: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` updated with the flags that were given (``None`` = not given, ``NULL`` = null).

    A flag for a section (a nested pydantic model, e.g. ``model``) is a dict merged into that
    section key by key; any other flag replaces the value.
    """
    out = dict(data)
    fields = cls.model_fields
    for key, value in flags.items():
        if value is None:
            continue
        if value is NULL:
            out[key] = None
            continue
        if isinstance(value, Path):
            value = str(value)
        kind, sub = unwrap(fields[key].annotation) if key in fields else ("leaf", None)
        if kind == "model" and sub is not None and isinstance(value, Mapping):
            given = merge_flags(sub, dict(out.get(key) or {}), value)
            if given:
                out[key] = given
        else:
            out[key] = value
    return out


def set_path(data: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set ``data[a][b][c] = value`` for the path a.b.c, creating sections on the way."""
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def resolve_config(
    cls: type[M],
    config: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
    sets: Sequence[str] | None = None,
    required: Mapping[str, str] | None = None,
    command: str = "crossling",
) -> M:
    """The config a command runs with: YAML file, then flags, then ``--set`` overrides.

    Args:
        cls: the pydantic config class.
        config: optional YAML file.
        flags: the command's flags as a (nested) dict; ``None`` values were not given.
        sets: ``KEY.PATH=VALUE`` strings (``--set``), applied last, in order.
        required: top-level key → flag that provides it, checked after merging, so that a
            missing one is named as the flag the user would type.
        command: shown in the message about missing keys.

    Returns:
        The validated config.

    Raises:
        CrosslingError: bad ``--set``, unknown key, missing required key, invalid value.
    """
    data = read_yaml(config) if config is not None else {}
    data = merge_flags(cls, data, flags or {})
    for item in sets or ():
        path, value = parse_set(item)
        check_path(cls, path, item)
        set_path(data, path, value)
    missing = [flag for key, flag in (required or {}).items() if data.get(key) is None]
    if missing:
        raise CrosslingError(
            f"{command} needs {', '.join(missing)} (as flags, --set KEY=VALUE or in a YAML "
            "config)."
        )
    origin = str(config) if config is not None else "flags"
    if sets:
        origin += " with --set"
    return validate_config(cls, data, origin)
