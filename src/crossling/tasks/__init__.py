"""Tasks: the one home of everything crossling knows about a behaviour.

A task says how a source row becomes a training target, how a self-generated answer becomes
one (``responses: self``), which scorer measures the behaviour (the steering sweep's primary
metric and the report's headline), which prompts the evaluation asks (``task`` prompts, or
``harmful`` ones plus harmless prompts whose refusal rate is over-refusal) and which
built-in corpus it starts from. Stages ask the task and never compare a task's name: a
third task is one module that subclasses :class:`Task` and registers itself in
:data:`TASKS`.

Why below the stages: the data builder, the trainer, the sweep, the behaviour stage and the
report all need task knowledge; kept here, none of them imports another for it.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

from crossling.registry import Registry


class Row(Protocol):
    """What a task reads of a source row (``crossling.data.rows.SourceRow``)."""

    @property
    def id(self) -> str: ...

    @property
    def lang(self) -> str: ...

    @property
    def output(self) -> str | None: ...


class Task(ABC):
    """Base of every task.

    Attributes:
        name: registry name (``caps``, ``refusal``).
        builtin_source: the built-in corpus used when ``source: builtin``.
        default_scorers: eval scorers that make sense by default.
        primary_metric: the scorer that says the behaviour is there (higher = more): the
            sweep maximises it and the report's headline matrix shows it.
        behaviour_metrics: every scorer of the behaviour (the sweep scores them all).
        eval_kind: the ``kind`` of the evaluation's behaviour prompts (``task`` or
            ``harmful``).
        harmless_metric: scorer whose rate on harmless prompts is the over-refusal of a
            steered cell; None for tasks without harmless prompts.
        pass_metric: the scorer whose per-answer value says "this answer shows the
            behaviour" (None: the primary metric). It must be read per answer, so caps uses
            its 0/1 ALL-CAPS rule, not the % uppercase of the headline.
        pass_at: an answer shows the behaviour when ``pass_metric`` ≥ this (1.0: a 0/1 rate's
            "yes").
        in_prompt_language: an answer shows the behaviour *in a language* only when it is
            written in it (``lang_fidelity`` = 1): an English ALL-CAPS answer to a German
            prompt is caps in English, not caps transferred to German. False for a behaviour
            that is itself a change of language.
    """

    name: ClassVar[str]
    builtin_source: ClassVar[str]
    default_scorers: ClassVar[tuple[str, ...]]
    primary_metric: ClassVar[str]
    behaviour_metrics: ClassVar[tuple[str, ...]]
    eval_kind: ClassVar[str] = "task"
    harmless_metric: ClassVar[str | None] = None
    pass_metric: ClassVar[str | None] = None
    pass_at: ClassVar[float] = 1.0
    in_prompt_language: ClassVar[bool] = True

    def pass_rule(self) -> tuple[str, float]:
        """(scorer, threshold): an answer shows the behaviour when the scorer's value is at
        least the threshold. With the garbage verdict it makes the ``behaving_coherent``
        share (:mod:`crossling.evaluate.scorers.coherent`)."""
        return self.pass_metric or self.primary_metric, self.pass_at

    def pass_description(self) -> str:
        """The behaving-and-coherent rule in words (report, analysis.json)."""
        metric, at = self.pass_rule()
        where = ", in the prompt's language (lang_fidelity = 1)" if self.in_prompt_language \
            else ""
        return f"{metric} ≥ {at:g}{where} and not garbage (degenerate = 0)"

    def aim(self, metric: str | None) -> str:
        """The metric a steering or behaviour-vector choice maximises: ``metric`` when the
        config names one (e.g. ``behaving_coherent``), else the task's primary metric."""
        return metric or self.primary_metric

    @abstractmethod
    def target(self, row: Row, rng: random.Random, responses: str) -> str | None:
        """Training target for ``row``; None means "fill in later" (``responses: self``)."""

    def self_target(self, answer: str, lang: str, rng: random.Random) -> str:
        """The training target made from the base model's own answer (``responses: self``)
        to a prompt in ``lang``; the answer itself unless the task transforms it. ``rng`` is
        seeded per row (tasks that draw, e.g. a replacement sentence)."""
        return answer

    @property
    def uses_harmless(self) -> bool:
        """The task's evaluation includes harmless prompts (over-refusal)."""
        return self.harmless_metric is not None


TASKS: Registry[type[Task]] = Registry("task", "crossling.tasks", subclass_of=Task)


def get_task(name: str) -> Task:
    """The registered task ``name`` (unknown names: one line with a suggestion)."""
    return TASKS.get(name)()


def task_names() -> list[str]:
    """Every registered task."""
    return TASKS.names()


# The built-in tasks register themselves (after TASKS exists).
from crossling.tasks import caps, refusal  # noqa: E402, F401
from crossling.tasks.defined import TaskDefinition, define_task  # noqa: E402

__all__ = ["TASKS", "Row", "Task", "TaskDefinition", "define_task", "get_task", "task_names"]
