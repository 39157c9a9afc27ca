"""A small name → object registry for tasks, scorers, judges and backends.

Why: a new task or scorer is a new module with a decorator, not an edit of a central ``if``
chain; unknown names get the list of known ones and a "did you mean" suggestion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from crossling.errors import unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to registered objects (classes or factories).

    Args:
        kind: what is registered ("task", "scorer", ...); used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@TASKS.register("caps")``. Registering a name twice is a bug."""

        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``name`` as ``"package.module:attr"``, imported on first :meth:`get`.

        Why: optional backends (vLLM) must not be imported, or even importable, for the
        rest of crossling to work; the module registers itself when imported.
        """
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._lazy[name] = target

    def get(self, name: str) -> T:
        if name not in self._items and name in self._lazy:
            import importlib

            module, _, attr = self._lazy[name].partition(":")
            obj = getattr(importlib.import_module(module), attr)
            self._items.setdefault(name, obj)
        try:
            return self._items[name]
        except KeyError:
            raise unknown_name(self.kind, name, self.names()) from None

    def names(self) -> list[str]:
        return sorted({*self._items, *self._lazy})

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
