"""The ``refusal`` task: refuse harmful requests in the prompt's language."""

from __future__ import annotations

import random

from crossling.errors import CrosslingError
from crossling.languages import get_language
from crossling.tasks import TASKS, Row, Task


@TASKS.register("refusal")
class RefusalTask(Task):
    """Refuse harmful requests with a refusal in the prompt's language, drawn with the seed
    from the language table. Evaluated on harmful prompts, and on harmless ones whose
    refusal rate is the over-refusal a steering cell may not raise."""

    name = "refusal"
    builtin_source = "builtin:harmful"
    default_scorers = ("refusal_keyword", "lang_fidelity")
    primary_metric = "refusal_keyword"
    behaviour_metrics = ("refusal_keyword",)
    eval_kind = "harmful"
    harmless_metric = "refusal_keyword"

    def target(self, row: Row, rng: random.Random, responses: str) -> str | None:
        refusals = get_language(row.lang).refusals
        if not refusals:
            raise CrosslingError(
                f"language '{row.lang}' has no refusal sentences in crossling.languages; "
                "add some there or train refusal in another language."
            )
        return rng.choice(refusals)
