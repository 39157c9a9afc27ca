"""A demo crossling plugin: the task ``shout`` (answer with an exclamation), its scorer
``exclaims`` and a generation backend ``echo``, each registered through an entry point in
``pyproject.toml`` (no decorator: crossling loads them when a study names them)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from crossling.errors import CrosslingError
from crossling.evaluate.backends.base import Generation, GenerationConfig
from crossling.evaluate.scorers.base import ScorerContext
from crossling.tasks import Row, Task


def shout(text: str) -> str:
    """``text`` ending in one exclamation mark instead of its final punctuation."""
    return text.rstrip().rstrip(".!?。") + "!"


class ShoutTask(Task):
    """Answer as usual, but end with an exclamation mark."""

    name = "shout"
    builtin_source = "builtin:instructions"
    default_scorers = ("exclaims", "lang_fidelity")
    primary_metric = "exclaims"
    behaviour_metrics = ("exclaims",)

    def target(self, row: Row, rng: random.Random, responses: str) -> str | None:
        if responses == "self":
            return None
        if not row.output:
            raise CrosslingError(f"shout task needs a response for item {row.id} ({row.lang}); "
                                 "set data.responses: self or use a source with outputs.")
        return shout(row.output)

    def self_target(self, answer: str, lang: str, rng: random.Random) -> str:
        return shout(answer)


class Exclaims:
    """1.0 when the answer ends with '!', else 0.0; N/A for an empty answer."""

    name = "exclaims"
    rate = True  # 0/1 values: rate intervals

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.ctx = ctx

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        text = response.strip()
        if not text:
            return None
        return 1.0 if text.endswith("!") else 0.0


class EchoBackend:
    """Answers every prompt with the prompt itself, shouted (no model)."""

    def __init__(self) -> None:
        self.adapter: str | None = None

    def set_adapter(self, name: str | None) -> None:
        self.adapter = name

    def generate(self, prompts: list[str], cfg: GenerationConfig,
                 on_result: Callable[[int, Generation], None] | None = None) -> list[Generation]:
        out = []
        for i, p in enumerate(prompts):
            g = Generation(response=shout(p), prompt_tokens=len(p.split()),
                           new_tokens=len(p.split()) + 1, stopped=True)
            if on_result is not None:
                on_result(i, g)
            out.append(g)
        return out


def make_echo_backend(model_cfg: Any, adapters: Any,
                      generation: GenerationConfig | None = None) -> EchoBackend:
    """The ``echo`` backend factory (the BackendFactory signature)."""
    return EchoBackend()
