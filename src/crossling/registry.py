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

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@TASKS.register("caps")``. Registering a name twice is a bug."""

        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise unknown_name(self.kind, name, self._items) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
