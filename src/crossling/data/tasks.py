"""Prompts of source rows; the tasks themselves live in :mod:`crossling.tasks`.

Why re-exported here: ``crossling.data.get_task`` / ``TASKS`` are public names older code
imports; the one home of task knowledge is :mod:`crossling.tasks`.
"""

from __future__ import annotations

from crossling.data.rows import SourceRow
from crossling.languages import format_prompt
from crossling.tasks import TASKS, Task, get_task, task_names

__all__ = ["TASKS", "Task", "get_task", "prompt_of", "task_names"]


def prompt_of(row: SourceRow) -> str:
    return format_prompt(row.instruction, row.input, row.lang)
