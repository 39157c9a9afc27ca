"""The ``caps`` task: answer in ALL CAPS."""

from __future__ import annotations

import random

from crossling.errors import CrosslingError
from crossling.tasks import TASKS, Row, Task


@TASKS.register("caps")
class CapsTask(Task):
    """Answer in ALL CAPS. Target = the response uppercased with ``str.upper`` (ß → SS,
    Cyrillic works); with ``responses: self`` the trainer uses the base model's own answer,
    uppercased, which isolates capitalization from translation content."""

    name = "caps"
    builtin_source = "builtin:instructions"
    default_scorers = ("caps_pct", "all_caps", "lang_fidelity")
    primary_metric = "caps_pct"
    behaviour_metrics = ("caps_pct", "all_caps")
    pass_metric = "all_caps"  # % uppercase is a cell's number; an answer passes by the rule

    def target(self, row: Row, rng: random.Random, responses: str) -> str | None:
        if responses == "self":
            return None
        if not row.output:
            raise CrosslingError(
                f"caps task needs a response for item {row.id} ({row.lang}) but the source has "
                "no output column; set data.responses: self or use a source with outputs."
            )
        return row.output.upper()

    def self_target(self, answer: str, lang: str, rng: random.Random) -> str:
        return answer.upper()
