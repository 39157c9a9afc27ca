"""Command-line options generated from a config class, as TRL's ``HfArgumentParser`` does.

Why: every command used to declare a typer option beside each config field and map the flags
back into the config by hand, so a new field had no flag, a renamed one left a dead flag, and
help texts drifted from the field descriptions. Here a command names its config class, the
short names users already type (aliases) and its extras (the CONFIG argument, ``--set``,
``--force`` ...); every leaf field of the config becomes an option whose help is the field's
``description`` with its default, and only the flags that were given reach
``overrides.resolve_config`` (YAML file < flags < ``--set``).

Option names, one rule. Nested models are flattened into leaves (``model.device``). A leaf's
option is ``--<field-name>`` (underscores → dashes) when no other leaf or section of the tree
has that name; otherwise it is the shortest tail of its dotted path that no other leaf or
section ends with, joined by dashes: in ``crossling eval``, ``judge.device`` and
``model.device`` become ``--judge-device`` and ``--model-device``, and ``judge.model`` becomes
``--judge-model`` because ``model`` is a section. A top-level leaf keeps its name. A command
may name sections whose leaves always carry the section name (``prefixed={"judge"}``:
``--judge-backend``, ``--judge-base-url``). Two options that would share a name, or an alias
that names no field, are an error when the command is defined, i.e. at import.

Values. int, float, str and paths as typed; ``bool`` → ``--x/--no-x``; ``Literal[...]`` →
one of its values; lists and tuples of scalars → one comma-separated value (``--langs
en,de``), whose items the config validates; a field that may be null also takes the word
``null``; a mapping or anything else → a YAML value (``--alpaca-repos '{en: my/alpaca}'``).
A command may give a field a syntax of its own instead (``--layers 4:24:2``).
"""

from __future__ import annotations

import functools
import inspect
import operator
import types
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import typer
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from typer.models import OptionInfo

from crossling.fields import NO_STAGE_DEFAULT, Strict
from crossling.overrides import NULL, SET_HELP, unwrap

#: ``set_: list[str] | None = SET_OPTION``: the ``--set KEY.PATH=VALUE`` option of a command.
SET_OPTION: Any = typer.Option(None, "--set", help=SET_HELP)

#: The word a nullable option takes for null.
NULL_WORD = "null"

#: ``shown_default`` of a field without a default.
REQUIRED = "(required)"

Kind = Literal["flag", "choice", "int", "float", "text", "list", "yaml"]
KeyPath = tuple[str, ...]
_SCALARS: dict[Any, Kind] = {int: "int", float: "float", str: "text", Path: "text"}


@dataclass(frozen=True)
class Leaf:
    """A field of the config tree that holds a value (not a nested model)."""

    path: KeyPath
    field: FieldInfo
    owners: tuple[type[BaseModel], ...]  # the model classes along the path, root first

    @property
    def key(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class ValueType:
    """How one option's text becomes a value: its kind, whether it takes ``null``, the
    choices (``Literal``) and the item type of a list."""

    kind: Kind
    nullable: bool = False
    choices: tuple[str, ...] = ()
    item: str = "str"

    @property
    def metavar(self) -> str:
        base = {"flag": "", "choice": "|".join(self.choices), "int": "int", "float": "float",
                "text": self.item, "list": f"{self.item},...", "yaml": "yaml"}[self.kind]
        return f"<{base}|{NULL_WORD}>" if self.nullable and self.kind != "yaml" else f"<{base}>"


def flatten(cls: type[BaseModel]) -> tuple[list[Leaf], list[KeyPath]]:
    """Every leaf of ``cls`` and every section (nested model, also ``M | None``): a model's
    own fields in declaration order, then its sections, depth first."""
    leaves: list[Leaf] = []
    sections: list[KeyPath] = []

    def walk(model: type[BaseModel], prefix: KeyPath, owners: tuple[type[BaseModel], ...]) -> None:
        nested = []
        for name, field in model.model_fields.items():
            kind, sub = unwrap(field.annotation)
            if kind == "model":
                nested.append((name, sub))
            else:
                leaves.append(Leaf((*prefix, name), field, owners))
        for name, sub in nested:  # a model's own values first, then its sections
            sections.append((*prefix, name))
            walk(sub, (*prefix, name), (*owners, sub))

    walk(cls, (), (cls,))
    return leaves, sections


def option_names(leaves: list[Leaf], sections: list[KeyPath],
                 prefixed: Collection[str] = ()) -> dict[KeyPath, str]:
    """The option of every leaf by the rule in the module docstring.

    Raises:
        ValueError: two leaves end up with the same option name.
    """
    paths = [leaf.path for leaf in leaves] + sections
    out: dict[KeyPath, str] = {}
    for leaf in leaves:
        p = leaf.path
        inside = [i for i, part in enumerate(p[:-1]) if part in prefixed]
        k = len(p) - inside[-1] if inside else 1
        while k < len(p) and any(q != p and q[-k:] == p[-k:] for q in paths):
            k += 1
        out[p] = "--" + "-".join(p[-k:]).replace("_", "-")
    seen: dict[str, KeyPath] = {}
    for path, name in out.items():
        if name in seen:
            raise ValueError(f"options of '{'.'.join(seen[name])}' and '{'.'.join(path)}' "
                             f"are both {name}; rename a field or prefix its section")
        seen[name] = path
    return out


def value_type(annotation: Any) -> ValueType:
    """How an option for a field of this type reads its text (see the module docstring)."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    is_union = origin in (typing.Union, types.UnionType)
    if is_union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        inner = value_type(functools.reduce(operator.or_, rest))
        return ValueType(inner.kind, True, inner.choices, inner.item)
    if annotation is bool:
        return ValueType("flag")
    if annotation in _SCALARS:
        return ValueType(_SCALARS[annotation], item=_item_name(annotation))
    if _is_str_literal(annotation):
        return ValueType("choice", choices=tuple(args))
    items = [a for a in args if a is not Ellipsis]
    if not items or not all(a in _SCALARS or _is_str_literal(a) for a in items):
        return ValueType("yaml")
    shown = "|".join(dict.fromkeys(_item_name(a) for a in items))
    if origin in (list, tuple, set, frozenset):
        return ValueType("list", item=shown)
    # a union of scalars, e.g. ``int | Literal["auto"]``: the text as it is; the config
    # converts it
    return ValueType("text", item=shown) if is_union else ValueType("yaml")


def _item_name(annotation: Any) -> str:
    if _is_str_literal(annotation):
        return "|".join(typing.get_args(annotation))
    return {int: "int", float: "float", Path: "path"}.get(annotation, "str")


def _is_str_literal(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Literal and all(
        isinstance(a, str) for a in typing.get_args(annotation))


def parse_value(text: str, vt: ValueType) -> Any:
    """The value of an option given as ``text`` (``NULL`` for ``null`` where allowed).

    Raises:
        typer.BadParameter: not of the option's type (a usage error: exit 2).
    """
    if vt.nullable and text.strip() == NULL_WORD:
        return NULL
    if vt.kind == "int" or vt.kind == "float":
        try:
            return int(text) if vt.kind == "int" else float(text)
        except ValueError:
            raise typer.BadParameter(f"'{text}' is not {'a whole' if vt.kind == 'int' else 'a'} "
                                     "number") from None
    if vt.kind == "choice" and text not in vt.choices:
        raise typer.BadParameter(f"'{text}' is not one of {', '.join(vt.choices)}")
    if vt.kind == "list":
        return [item.strip() for item in text.split(",") if item.strip()]
    if vt.kind == "yaml":
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise typer.BadParameter(f"'{text}' is not a YAML value") from None
        return NULL if value is None else value
    return text


def shown_default(leaf: Leaf) -> str:
    """The default a leaf takes, as help shows it: a config's ``stage_defaults`` first (also
    nested ones such as ``{"generation": {"max_new_tokens": 48}}``), else the field's;
    :data:`REQUIRED` when it has none."""
    for i, owner in enumerate(leaf.owners):
        if issubclass(owner, Strict):
            value = owner.stage_default(leaf.path[i:])
            if value is not NO_STAGE_DEFAULT:
                return _render(value)
    field = leaf.field
    if field.default_factory is not None:
        try:
            return _render(field.get_default(call_default_factory=True))
        except Exception:  # a factory that needs more than the config: do not guess
            return "see config"
    return REQUIRED if field.default is PydanticUndefined else _render(field.default)


def _render(value: Any) -> str:
    if value is None:
        return NULL_WORD
    if value == [] or value == {}:
        return "[]" if isinstance(value, list) else "{}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (list, dict)) for v in value):
        return ",".join(_render(v) for v in value)
    if isinstance(value, (dict, list, tuple)):
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return str(value)


def help_text(leaf: Leaf, vt: ValueType, parsed: bool = False) -> str:
    """The field's description, what the option takes (unless a command's own parser reads
    it) and the default."""
    text = (leaf.field.description or "").strip()
    how = "" if parsed else {"list": " Comma-separated.", "yaml": " A YAML value."}.get(vt.kind, "")
    if vt.nullable and vt.kind != "flag":
        how += f" '{NULL_WORD}' for none."
    default = shown_default(leaf)
    return f"{text}{how} [{'required' if default is REQUIRED else 'default: ' + default}]"


@dataclass(frozen=True)
class Option:
    """The generated option of one leaf."""

    leaf: Leaf
    name: str  # the canonical option, e.g. --max-steps
    aliases: tuple[str, ...]  # more names; a flag's may be ON/OFF, ON or /OFF
    vt: ValueType
    parser: Callable[[str], Any] | None = None  # the command's own, run after parsing
    syntax: str = ""  # what ``parser`` reads, shown as the metavar

    @property
    def param(self) -> str:
        """Its parameter name in the generated signature."""
        return "cfg__" + "__".join(self.leaf.path)

    def decls(self) -> list[str]:
        if self.vt.kind != "flag":
            return [self.name, *self.aliases]
        # " /--off" is click's way of naming only the off switch of a flag
        return [f"{self.name}/--no-{self.name[2:]}",
                *(f" {a}" if a.startswith("/") else a for a in self.aliases)]

    def names(self) -> list[str]:
        """Every option string it answers to."""
        return [n.strip() for d in self.decls() for n in d.split("/") if n.strip()]

    def parameter(self) -> inspect.Parameter:
        help_ = help_text(self.leaf, self.vt, parsed=self.parser is not None)
        if self.vt.kind == "flag":
            default = typer.Option(None, *self.decls(), help=help_, show_default=False)
            return inspect.Parameter(self.param, inspect.Parameter.KEYWORD_ONLY,
                                     default=default, annotation=bool | None)
        vt = self.vt
        parse: Callable[[str], Any] = (
            (lambda text: NULL if vt.nullable and text.strip() == NULL_WORD else text)
            if self.parser else (lambda text: parse_value(text, vt)))
        default = typer.Option(None, *self.decls(), help=help_, show_default=False,
                               metavar=f"<{self.syntax}>" if self.syntax else vt.metavar,
                               parser=parse)
        return inspect.Parameter(self.param, inspect.Parameter.KEYWORD_ONLY, default=default,
                                 annotation=Any)


class ConfigOptions:
    """The options of one config class, and the decorator that adds them to a command.

    Args:
        cls: the command's config class.
        aliases: more option names → dotted config key, e.g. ``{"--out": "out_dir"}``; for a
            bool field ``"--on/--off"``, ``"--on"`` or ``"/--off"`` (only the off switch).
        parsers: dotted key → (function reading the option's text, its syntax for help),
            for values with a syntax of their own (``--layers 4:24:2``); the function runs
            after click has parsed the command line, so its ``CrosslingError`` is one line.
        prefixed: section names whose leaves always carry the section's name.
        exclude: dotted keys that get no option (e.g. one the command takes as an argument).

    Raises:
        ValueError: an alias, parser or exclusion names no field, or two options share a
            name (at import: the tables of a command must match its config).
    """

    def __init__(self, cls: type[BaseModel], aliases: Mapping[str, str] | None = None,
                 parsers: Mapping[str, tuple[Callable[[str], Any], str]] | None = None,
                 prefixed: Collection[str] = (), exclude: Collection[str] = ()) -> None:
        self.cls = cls
        leaves, sections = flatten(cls)
        self._check_keys(cls, {leaf.key for leaf in leaves}, aliases or {}, parsers or {},
                         exclude)
        leaves = [leaf for leaf in leaves if leaf.key not in exclude]
        names = option_names(leaves, sections, prefixed)
        self.options = [
            Option(leaf, names[leaf.path],
                   tuple(a for a, key in (aliases or {}).items()
                         if key == leaf.key and a != names[leaf.path]),
                   value_type(leaf.field.annotation), *(parsers or {}).get(leaf.key, (None, "")))
            for leaf in leaves
        ]
        for opt in self.options:
            if opt.vt.kind != "flag" and any("/" in a for a in opt.aliases):
                raise ValueError(f"alias {opt.aliases} of {cls.__name__}.{opt.leaf.key}: "
                                 "ON/OFF names are for bool fields only")
        _check_unique([n for opt in self.options for n in opt.names()], cls.__name__)

    @staticmethod
    def _check_keys(cls: type[BaseModel], keys: set[str], aliases: Mapping[str, str],
                    parsers: Mapping[str, Any], exclude: Collection[str]) -> None:
        from crossling.errors import did_you_mean

        for what, key in [*(("alias " + a, k) for a, k in aliases.items()),
                          *(("parser", k) for k in parsers), *(("exclude", k) for k in exclude)]:
            if key not in keys:
                raise ValueError(f"{what} → '{key}': {cls.__name__} has no such field."
                                 f"{did_you_mean(key, keys)} Update the table.")

    def nest(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The given options (by dotted key; ``None`` = not given) as a nested flags dict."""
        from crossling.overrides import set_path

        flags: dict[str, Any] = {}
        for opt in self.options:
            value = values.get(opt.leaf.key)
            if value is None:
                continue
            if opt.parser is not None and value is not NULL:
                value = opt.parser(value)
            set_path(flags, opt.leaf.path, value)
        return flags

    def command(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a typer command ``func(<its own parameters>, *, flags)``: the result takes
        its own parameters plus every generated option, and calls ``func`` with ``flags``,
        the nested dict of the options that were given."""
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
               for p in inspect.signature(func, eval_str=True).parameters.values()
               if p.name != "flags"]
        _check_unique([n for opt in self.options for n in opt.names()]
                      + [n for p in own for n in _own_names(p)], func.__name__)
        # help lists the arguments, the config's options, then the command's own options
        arguments = [p for p in own if not isinstance(p.default, OptionInfo)]
        params = [*arguments, *(opt.parameter() for opt in self.options),
                  *(p for p in own if p not in arguments)]

        def wrapper(**kwargs: Any) -> Any:
            values = {opt.leaf.key: kwargs.pop(opt.param) for opt in self.options}
            return func(**kwargs, flags=self.nest(values))

        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(wrapper, attr, getattr(func, attr))
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper


def _own_names(param: inspect.Parameter) -> list[str]:
    """The option strings of a hand-written typer parameter (none for an argument)."""
    info = param.default
    if not isinstance(info, OptionInfo):
        return []
    decls = info.param_decls or ("--" + param.name.replace("_", "-"),)
    return [n.strip() for d in decls for n in d.split("/") if n.strip().startswith("-")]


def _check_unique(names: list[str], where: str) -> None:
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{where}: option name(s) {', '.join(dup)} used twice; change an "
                         "alias or an extra option")
