"""Tasks: how source rows become (prompt, target) training rows.

A task is a registered class; a third task is a new class here (or in its own module that
registers itself), not an edit of the builder.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import ClassVar

from crossling.data.rows import SourceRow
from crossling.errors import CrosslingError
from crossling.languages import format_prompt, get_language
from crossling.registry import Registry


class Task(ABC):
    """Base of every task: how a source row becomes a training target."""

    name: ClassVar[str]
    #: built-in corpus used when ``source: builtin``
    builtin_source: ClassVar[str]
    #: eval scorers that make sense by default
    default_scorers: ClassVar[tuple[str, ...]]

    @abstractmethod
    def target(self, row: SourceRow, rng: random.Random, responses: str) -> str | None:
        """Training target for ``row``; None means "fill in later" (``responses: self``)."""


TASKS: Registry[type[Task]] = Registry("task")


def get_task(name: str) -> Task:
    return TASKS.get(name)()


def prompt_of(row: SourceRow) -> str:
    return format_prompt(row.instruction, row.input, row.lang)


@TASKS.register("caps")
class CapsTask(Task):
    """Answer in ALL CAPS. Target = the response uppercased with ``str.upper`` (ß → SS,
    Cyrillic works); with ``responses: self`` the trainer uses the base model's own answer,
    which isolates capitalization from translation content."""

    name = "caps"
    builtin_source = "builtin:instructions"
    default_scorers = ("caps_pct", "all_caps", "lang_fidelity")

    def target(self, row: SourceRow, rng: random.Random, responses: str) -> str | None:
        if responses == "self":
            return None
        if not row.output:
            raise CrosslingError(
                f"caps task needs a response for item {row.id} ({row.lang}) but the source has "
                "no output column; set data.responses: self or use a source with outputs."
            )
        return row.output.upper()


@TASKS.register("refusal")
class RefusalTask(Task):
    """Refuse harmful requests with a refusal in the prompt's language, drawn with the seed
    from the language table."""

    name = "refusal"
    builtin_source = "builtin:harmful"
    default_scorers = ("refusal_keyword", "lang_fidelity")

    def target(self, row: SourceRow, rng: random.Random, responses: str) -> str | None:
        refusals = get_language(row.lang).refusals
        if not refusals:
            raise CrosslingError(
                f"language '{row.lang}' has no refusal sentences in crossling.languages; "
                "add some there or train refusal in another language."
            )
        return rng.choice(refusals)
