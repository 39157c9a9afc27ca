"""A small name → object registry for tasks, scorers, judges and backends.

Why: a new task or scorer is a new module with a decorator, not an edit of a central ``if``
chain; unknown names get the list of known ones and a "did you mean" suggestion.

Plugins. A registry built with ``group`` also finds the Python entry points of that group, so
an installed distribution adds tasks, scorers or generation backends without an edit of
crossling. The groups, and what each entry point's object must be:

* ``crossling.tasks``: a :class:`crossling.tasks.Task` subclass (its ``name`` equal to the
  entry point's name); ``get_task`` instantiates it with no arguments.
* ``crossling.scorers``: a factory ``Callable[[ScorerContext], Scorer]`` like the built-ins,
  typically a class whose ``__init__`` takes the :class:`ScorerContext` and that has ``name``
  (the entry point's name) and ``score(response, lang, row) -> float | None``; class
  attributes ``rate = True`` or ``bounds = (low, high)`` as for built-ins.
* ``crossling.backends``: a ``BackendFactory`` (``crossling.evaluate.backends.base``), called
  as ``factory(model_cfg, adapters, generation=cfg)`` and returning a ``Backend``.

For example, in the plugin's ``pyproject.toml``::

    [project.entry-points."crossling.tasks"]
    shout = "crossling_plugin_demo:ShoutTask"

Entry points are read on first need (a :meth:`Registry.get` of a name not built in,
:meth:`Registry.names`, ``in``, iteration), never when crossling is imported, and a plugin's
module is imported only when its name is got. A plugin name equal to a built-in (or another
plugin's) is a one-line error naming the distribution; a plugin that fails to import is a
one-line error when it is got, never when names are listed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Generic, TypeVar, cast

from crossling.errors import CrosslingError, unknown_name

T = TypeVar("T")


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    """The installed entry points of ``group`` (one place, so tests can see the calls)."""
    return list(metadata.entry_points(group=group))


def _origin(ep: metadata.EntryPoint) -> str:
    """Where an entry point comes from: ``entry point 'x = mod:attr' of distribution d 1.0``."""
    dist = getattr(ep, "dist", None)
    where = (f"distribution {dist.name} {dist.version}" if dist is not None
             else "an unknown distribution")
    return f"entry point '{ep.name} = {ep.value}' of {where}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Registry(Generic[T]):
    """Maps names to registered objects (classes or factories).

    Args:
        kind: what is registered ("task", "scorer", ...); used in error messages.
        group: entry-point group whose plugins this registry also holds (e.g.
            ``crossling.tasks``); None: built-ins only.
        subclass_of: a plugin's object must be a subclass of this class (tasks: ``Task``);
            None: it must be callable.
    """

    def __init__(self, kind: str, group: str | None = None,
                 subclass_of: type | None = None) -> None:
        self.kind = kind
        self.group = group
        self.subclass_of = subclass_of
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._plugins: dict[str, metadata.EntryPoint] = {}
        self._defined: set[str] = set()
        self._discovered = group is None

    # --- registering -------------------------------------------------------------------

    def _check_new(self, name: str) -> None:
        """A built-in (``register``, ``register_lazy``) may take ``name``."""
        if name in self._plugins:
            raise CrosslingError(self._clash(name, self._plugins[name], "a built-in"))
        if name in self._defined:
            raise ValueError(f"{self.kind} '{name}' is built in, but a study config defined it "
                             "first; choose another name in the config")
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} '{name}' is registered twice")

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@TASKS.register("caps")``. Registering a name twice is a bug."""

        def deco(obj: T) -> T:
            self._check_new(name)
            self._items[name] = obj
            return obj

        return deco

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``name`` as ``"package.module:attr"``, imported on first :meth:`get`.

        Why: optional backends (vLLM) must not be imported, or even importable, for the
        rest of crossling to work; the module registers itself when imported.
        """
        self._check_new(name)
        self._lazy[name] = target

    def define(self, name: str, obj: T) -> None:
        """Register ``name`` → ``obj`` from a study config (a YAML-defined task).

        A later ``define`` of the same name replaces it (a second study in one process may
        redefine it); a name registered in code or by a plugin is never shadowed.

        Raises:
            ValueError: ``name`` is built in or registered by a plugin.
        """
        self._discover()
        if name in self._plugins:
            raise ValueError(f"{self.kind} '{name}' is registered by a plugin "
                             f"({_origin(self._plugins[name])}); choose another name")
        if name not in self._defined and (name in self._items or name in self._lazy):
            raise ValueError(f"{self.kind} '{name}' is built in; choose another name")
        self._items[name] = obj
        self._defined.add(name)

    # --- plugins -----------------------------------------------------------------------

    def _clash(self, name: str, ep: metadata.EntryPoint, other: str) -> str:
        return (f"{self.kind} plugin '{name}' ({_origin(ep)}, group {self.group}) has the name "
                f"of {other} {self.kind}; uninstall that distribution or have it renamed")

    def _discover(self) -> None:
        """Read the group's entry points once (a clash raises, and is raised again next time)."""
        if self._discovered or self.group is None:
            return
        found: dict[str, metadata.EntryPoint] = {}
        for ep in _entry_points(self.group):
            if ep.name in found:
                if found[ep.name].value == ep.value:
                    continue  # one distribution seen twice on the path
                other = f"another plugin's ({_origin(found[ep.name])})"
                raise CrosslingError(self._clash(ep.name, ep, other))
            if ep.name in self._items or ep.name in self._lazy:
                raise CrosslingError(self._clash(ep.name, ep, "a built-in"))
            found[ep.name] = ep
        self._plugins = found
        self._discovered = True

    def _load_plugin(self, name: str) -> T:
        ep = self._plugins[name]
        try:
            obj = ep.load()
        except Exception as e:
            raise CrosslingError(
                f"{self.kind} plugin '{name}' ({_origin(ep)}) failed to import: "
                f"{type(e).__name__}: {_one_line(str(e))}; fix or uninstall that distribution"
            ) from e
        want = self.subclass_of
        is_sub = want is not None and isinstance(obj, type) and issubclass(obj, want)
        if not (is_sub if want is not None else callable(obj)):
            need = f"a {want.__name__} subclass" if want is not None else "callable"
            raise CrosslingError(f"{self.kind} plugin '{name}' ({_origin(ep)}) is {_one_line(repr(obj))}, "
                                 f"not {need}; fix or uninstall that distribution")
        return cast(T, obj)

    # --- looking up --------------------------------------------------------------------

    def get(self, name: str) -> T:
        if name in self._items:
            return self._items[name]
        if name in self._lazy:
            module, _, attr = self._lazy[name].partition(":")
            obj = getattr(importlib.import_module(module), attr)
            return self._items.setdefault(name, obj)
        self._discover()
        if name in self._plugins:
            return self._items.setdefault(name, self._load_plugin(name))
        raise unknown_name(self.kind, name, self.names())

    def names(self) -> list[str]:
        self._discover()
        return sorted({*self._items, *self._lazy, *self._plugins})

    def plugin_names(self) -> list[str]:
        """The names that installed plugins add (read from their entry points)."""
        self._discover()
        return sorted(self._plugins)

    def __contains__(self, name: object) -> bool:
        if name in self._items or name in self._lazy:
            return True
        self._discover()
        return name in self._plugins

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
