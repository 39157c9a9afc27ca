"""``behaving_coherent``: the answer shows the task's behaviour *and* is not garbage.

Why: one number per cell cannot tell a behaviour that moved into a language from a language
the fine-tune broke. An English-trained caps adapter can score 90 % uppercase on Russian
answers made of invented upper-case words; counted per answer, those are 0 here. With the
``degenerate`` share (the damage) it is the second axis of every transfer cell
(:mod:`crossling.analysis.two_axis`), and a steering or behaviour-vector choice can
maximise it (``metric: behaving_coherent``) so a strength that raises caps by breaking the
language is not picked.

Per answer (a 0/1 rate):

* N/A when the task's pass scorer cannot read the language at all (``applies``: caps on
  Chinese), whatever the answer;
* 0 when the garbage verdict (:func:`crossling.analysis.quality.degenerate_reason`) marks
  the answer: garbage never shows a behaviour, even where the pass scorer cannot read it
  (an empty answer);
* 0 when the answer is in another language than the prompt's (``lang_fidelity`` = 0), for
  tasks whose behaviour is meant in the prompt's language (``Task.in_prompt_language``,
  caps and refusal): a caps adapter that answers German prompts in fluent English capitals
  (SmolLM2 does) has moved caps into English, not into German;
* otherwise N/A when the pass scorer cannot read this answer (too few cased letters), else
  1 when its value is at least the task's threshold (:meth:`crossling.tasks.Task.pass_rule`:
  caps: ``all_caps``; refusal: ``refusal_keyword``; a YAML task: its primary scorer, at
  ``pass_at``), else 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossling.analysis.quality import BEHAVING_COHERENT, degenerate_reason
from crossling.errors import CrosslingError
from crossling.evaluate.scorers.base import SCORERS, ScorerContext, get_scorer, score_all
from crossling.evaluate.scorers.langfid import LangFidelity


@SCORERS.register(BEHAVING_COHERENT)
class BehavingCoherent:
    """1.0 for an answer that passes the task's rule, in the prompt's language, and is not
    garbage (see the module docstring), 0.0 otherwise; needs the task
    (``ScorerContext.task``)."""

    name = BEHAVING_COHERENT
    rate = True

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        from crossling.tasks import get_task

        ctx = ctx or ScorerContext()
        if ctx.task is None:
            raise CrosslingError(
                f"{BEHAVING_COHERENT} needs the task whose pass rule it applies; score it in "
                "a study, eval, sweep or behaviour stage (their data dir names the task)")
        self.task = ctx.task
        self.pass_metric, self.pass_at = get_task(ctx.task).pass_rule()
        if self.pass_metric == BEHAVING_COHERENT:
            raise CrosslingError(f"task '{ctx.task}': the pass rule cannot be "
                                 f"{BEHAVING_COHERENT} itself")
        self.passes = get_scorer(self.pass_metric, ctx)
        self.language = LangFidelity(ctx) if get_task(ctx.task).in_prompt_language else None
        self.system_prompt = ctx.system_prompt

    def _applies(self, lang: str) -> bool:
        applies = getattr(self.passes, "applies", None)
        return True if applies is None else bool(applies(lang))

    def _garbage(self, row: dict[str, Any]) -> bool:
        return degenerate_reason(str(row.get("response", "")), str(row.get("prompt", "")),
                                 self.system_prompt, str(row["lang"])) is not None

    def combine(self, row: dict[str, Any], passed: float | None) -> float | None:
        """The verdict of one answer from its pass-scorer value (None: N/A)."""
        lang = str(row["lang"])
        if not self._applies(lang):
            return None
        if self._garbage(row):
            return 0.0
        if self.language is not None and self.language.score(
                str(row.get("response", "")), lang, row) == 0.0:
            return 0.0
        if passed is None:
            return None
        return 1.0 if passed >= self.pass_at else 0.0

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        full = {**row, "response": response, "lang": lang}
        return self.combine(full, self.passes.score(response, lang, full))

    def score_many(self, rows: Sequence[dict[str, Any]]) -> list[float | Exception | None]:
        """The pass scorer in one batch (a judge), then the rule per answer; a row the pass
        scorer left unscored stays unscored (its exception), unless it is garbage or its
        language cannot be read (then the verdict does not need it)."""
        values = score_all(self.passes, rows)
        out: list[float | Exception | None] = []
        for row, v in zip(rows, values, strict=True):
            if isinstance(v, Exception):
                verdict = self.combine(row, None)
                out.append(v if verdict is None and self._applies(str(row["lang"])) else verdict)
            else:
                out.append(self.combine(row, v))
        return out
