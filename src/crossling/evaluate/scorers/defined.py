"""Scorers declared in YAML by a task definition (:mod:`crossling.tasks.defined`).

Four kinds, each registered in :data:`SCORERS` under the name the definition gives it:

* ``regex``: per-language regular expressions (``re.search``, multi-line); 1.0 on a match,
  else 0.0.
* ``phrases``: per-language phrase lists, found anywhere, at the start or at the end of the
  stripped answer; 1.0 when one is found, else 0.0.
* ``scorer``: an existing scorer under another name with other parameters
  (``{scorer: all_caps, params: {min_frac: 0.8}}``).
* ``rubric``: an LLM judge asked with the rubric's prompt file; strict verdict parsing, a
  verdict worth null or no parseable verdict is N/A (:mod:`crossling.evaluate.scorers.judge`).

N/A, never 0, where the instrument cannot read the answer: an empty answer, or a language
the pattern map does not cover.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.evaluate.scorers.base import SCORERS, Scorer, ScorerContext
from crossling.tasks.defined import ScorerSpec, TaskDefinition, define_task, for_lang

#: Attributes of a scorer that are not parameters.
_NOT_PARAMS = frozenset({"name", "rate", "bounds"})


class PatternScorer:
    """1.0 when the answer matches the language's regex or contains one of its phrases
    (``where``: anywhere, start, end), else 0.0; N/A on an empty answer or an uncovered
    language."""

    rate = True

    def __init__(self, name: str, spec: ScorerSpec) -> None:
        self.name = name
        self.spec = spec
        flags = re.MULTILINE | (re.IGNORECASE if spec.ignore_case else 0)
        if spec.regex:
            self._patterns = {k: re.compile(v, flags) for k, v in spec.regex.items()}
        else:
            assert spec.phrases is not None
            edge = {"anywhere": "{}", "start": r"\A{}", "end": r"{}\Z"}[spec.where]
            self._patterns = {
                k: re.compile("|".join(edge.format(re.escape(p)) for p in ps), flags)
                for k, ps in spec.phrases.items()}

    def applies(self, lang: str) -> bool:
        """The definition has a pattern for ``lang``."""
        return for_lang(self._patterns, lang) is not None

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        pattern = for_lang(self._patterns, lang)
        text = response.strip()
        if pattern is None or not text:
            return None
        return 1.0 if pattern.search(text) else 0.0


def _params_of(base: Any) -> dict[str, Any]:
    """A scorer class's parameters: its public non-callable class attributes."""
    return {k: v for k, v in vars(base).items()
            if not k.startswith("_") and k not in _NOT_PARAMS and not callable(v)
            and not isinstance(v, (property, classmethod, staticmethod))}


@dataclass(frozen=True)
class DefinedScorer:
    """The registered factory of a YAML scorer: ``factory(ctx)`` builds it; ``rate`` and
    ``bounds`` say how its cells get intervals (as a built-in scorer class does)."""

    name: str
    spec: ScorerSpec

    def __post_init__(self) -> None:
        if self.spec.scorer:
            base = SCORERS.get(self.spec.scorer)
            if isinstance(base, DefinedScorer):
                raise CrosslingError(f"scorer '{self.name}': 'scorer' must name a built-in or "
                                     f"plugin scorer, not the YAML scorer '{self.spec.scorer}'")
            known = _params_of(base) if isinstance(base, type) else None
            for key, value in self.spec.params.items():
                if known is not None and key not in known:
                    raise CrosslingError(
                        f"scorer '{self.name}': {self.spec.scorer} has no parameter '{key}' "
                        f"(it has: {', '.join(sorted(known)) or 'none'})")
                if known is not None and not _same_kind(known[key], value):
                    raise CrosslingError(
                        f"scorer '{self.name}': {self.spec.scorer}.{key} is a "
                        f"{type(known[key]).__name__}, got {value!r}")

    @property
    def rate(self) -> bool:
        if self.spec.scorer:
            return bool(getattr(SCORERS.get(self.spec.scorer), "rate", False))
        if self.spec.rubric:
            return {v for v in self.spec.rubric.verdicts.values() if v is not None} <= {0, 1}
        return True

    @property
    def bounds(self) -> tuple[float, float] | None:
        if self.spec.scorer:
            return getattr(SCORERS.get(self.spec.scorer), "bounds", None)
        if self.spec.rubric and not self.rate:
            values = [v for v in self.spec.rubric.verdicts.values() if v is not None]
            return (min(values), max(values))
        return None

    def __call__(self, ctx: ScorerContext | None = None) -> Scorer:
        if self.spec.regex or self.spec.phrases:
            return PatternScorer(self.name, self.spec)
        if self.spec.rubric:
            return _rubric_judge(self.name, self.spec, ctx)
        base = SCORERS.get(str(self.spec.scorer))(ctx or ScorerContext())
        for key, value in self.spec.params.items():
            if not hasattr(base, key):
                raise CrosslingError(f"scorer '{self.name}': {self.spec.scorer} has no "
                                     f"parameter '{key}'")
            setattr(base, key, value)
        base.name = self.name
        return base


def _same_kind(current: Any, value: Any) -> bool:
    if isinstance(current, bool) or isinstance(value, bool):
        return isinstance(current, bool) and isinstance(value, bool)
    if isinstance(current, (int, float)):
        return isinstance(value, (int, float))
    return current is None or isinstance(value, type(current))


def _rubric_judge(name: str, spec: ScorerSpec, ctx: ScorerContext | None) -> Scorer:
    from crossling.evaluate.scorers.judge import LLMJudge, Rubric

    assert spec.rubric is not None
    rubric = Rubric(name, str(Path(spec.rubric.prompt_file)), dict(spec.rubric.verdicts),
                    bad_verdict_na=True)
    judge = type(f"RubricJudge_{name}", (LLMJudge,),
                 {"rubric": rubric, "name": name,
                  "rate": DefinedScorer(name, spec).rate})
    return judge(ctx)  # type: ignore[no-any-return]


def define(name: str, definition: TaskDefinition) -> None:
    """Register task ``name`` and its scorers (again, for a later study in this process).

    Raises:
        CrosslingError: a scorer name is built in, or its 'scorer' or parameters are unknown.
    """
    for sname, spec in definition.scorers.items():
        current = SCORERS.get(sname) if sname in SCORERS else None
        if isinstance(current, DefinedScorer) and current.spec == spec:
            continue
        try:
            SCORERS.define(sname, DefinedScorer(sname, spec))
        except ValueError as e:
            raise CrosslingError(f"task '{name}': {e}") from None
    for metric in definition.metrics:
        SCORERS.get(metric)  # unknown: one line with a suggestion
    if definition.pass_at is None and not getattr(SCORERS.get(definition.primary), "rate",
                                                  False):
        raise CrosslingError(
            f"task '{name}': primary scorer '{definition.primary}' is not a 0/1 rate, so an "
            "answer's pass rule needs a threshold; set pass_at: <value> in the definition "
            "(an answer shows the behaviour when its score is at least that)")
    try:
        define_task(name, definition)
    except ValueError as e:
        raise CrosslingError(str(e)) from None


def define_from_manifest(data_dir: str | Path) -> str | None:
    """Register the task a data dir was built for when it is YAML-defined (its manifest
    holds the definition), so a stage run on the data dir alone knows it.

    Returns:
        The task the data dir was built for (None: no manifest, or one without a task).
    """
    from crossling.io import read_json
    from crossling.paths import DataDir

    manifest = DataDir(Path(data_dir)).manifest
    if not manifest.exists():
        return None
    m = read_json(manifest)
    if m.get("definition"):
        define(str(m["task"]), TaskDefinition.model_validate(m["definition"]))
    return str(m["task"]) if m.get("task") else None
