"""Tasks defined in YAML: a new behaviour without Python.

Why: a researcher's behaviour (a formatting habit, a persona line, a fixed refusal, a
trigger) is usually "the source answer, changed so" plus "a pattern that says it is there".
Both are data. A study's task block carries the definition under ``define:`` (inline, or
the path of a YAML file holding it)::

    tasks:
      opener:
        define:
          description: open every answer with a fixed line in the prompt's language
          prompts: task                  # task prompts (or: harmful, with harmless ones)
          target:                        # the training target, from the source answer
            prefix: {en: "Great question! ", de: "Gute Frage! "}
          scorers:                       # measured on every answer
            opener: {regex: {en: '^\\s*Great question!', de: '^\\s*Gute Frage!'}}
          primary: opener                # headline, sweep and behaviour stages use it
        source: builtin
        train_langs: [en]

The definition is validated like every config (unknown keys, bad patterns, a language a
map does not cover: one line each) and saved in the data dir's manifest, so a stage run on
that data dir alone (``crossling eval``, ``crossling train``) knows the task too. Its
scorers are built by :mod:`crossling.evaluate.scorers.defined` (a stage module: this one
is below the stages and only holds the data and the training target).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from crossling.errors import CrosslingError
from crossling.fields import Strict
from crossling.tasks import TASKS, Row, Task

#: The key of a per-language map that serves every language it does not name.
ANY_LANG = "*"


class _Spec(Strict):
    """A part of a task definition: strict and immutable (a registered definition is
    compared with a new one to decide whether to re-register)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _lang_keys(mapping: dict[str, Any], what: str) -> dict[str, Any]:
    from crossling.languages import get_language

    for key in mapping:
        if key != ANY_LANG:
            get_language(key)  # unknown code: one line with a suggestion
    if not mapping:
        raise ValueError(f"{what} is empty; give one entry per language (or '*')")
    return mapping


def for_lang(mapping: dict[str, Any], lang: str) -> Any:
    """The entry of ``lang`` in a per-language map, else its ``'*'`` entry, else None."""
    return mapping.get(lang, mapping.get(ANY_LANG))


class TargetSpec(_Spec):
    """How a training target is made from a source row's response (or, with the data
    block's ``responses: self``, from the base model's own answer).

    Order: ``replace`` (the response becomes one of the language's sentences, drawn with
    the data seed), then ``upper``, then ``prefix`` and ``suffix``.
    """

    column: str | None = Field(
        None, description="Source column holding the response (default: the data block's "
        "columns.output, 'output').")
    upper: bool = Field(False, description="Upper-case the response (str.upper).")
    prefix: dict[str, str] = Field(
        default_factory=dict, description="Language → text put before the response ('*': "
        "every other language).")
    suffix: dict[str, str] = Field(
        default_factory=dict, description="Language → text put after the response.")
    replace: dict[str, list[str]] = Field(
        default_factory=dict, description="Language → sentences; the target is one of them "
        "(drawn with the data seed) instead of the response.")

    @field_validator("prefix", "suffix", "replace")
    @classmethod
    def _langs(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _lang_keys(v, "the map") if v else v

    def transform(self, text: str, lang: str, rng: random.Random) -> str:
        """The target made from ``text`` (a response) in ``lang``."""
        if self.replace:
            sentences = for_lang(self.replace, lang)
            if not sentences:
                raise CrosslingError(f"target.replace has no sentences for '{lang}'; add some "
                                     "or a '*' entry.")
            text = rng.choice(sentences)
        if self.upper:
            text = text.upper()
        return f"{for_lang(self.prefix, lang) or ''}{text}{for_lang(self.suffix, lang) or ''}"

    def missing_langs(self, langs: list[str]) -> list[str]:
        """Training languages a prefix, suffix or replace map does not cover."""
        maps = [m for m in (self.prefix, self.suffix, self.replace) if m]
        return [lang for lang in langs if any(for_lang(m, lang) is None for m in maps)]


class RubricSpec(_Spec):
    """An LLM-judge rubric: a prompt file with ``{request}`` and ``{response}`` and the
    verdict words it may answer. The judge's answer is parsed strictly (one verdict word,
    nothing else); anything else, or a verdict worth null, is N/A. Which judge answers is
    the eval's ``judge:`` block."""

    prompt_file: str = Field(..., description="Path of the prompt template.")
    verdicts: dict[str, float | None] = Field(
        ..., description="Verdict word → value (null: N/A), e.g. {YES: 1, NO: 0, UNCLEAR: null}.")

    @field_validator("prompt_file")
    @classmethod
    def _prompt(cls, v: str) -> str:
        path = Path(v).expanduser()
        if not path.is_file():
            raise ValueError(f"rubric prompt file {v} not found; give an existing path")
        text = path.read_text(encoding="utf-8")
        missing = [k for k in ("{request}", "{response}") if k not in text]
        if missing:
            raise ValueError(f"rubric prompt file {v} lacks {' and '.join(missing)}; the judge "
                             "must see the request and the answer")
        return str(path.resolve())

    @field_validator("verdicts")
    @classmethod
    def _verdicts(cls, v: dict[str, float | None]) -> dict[str, float | None]:
        bad = [w for w in v if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", w)]
        if bad or len(v) < 2:
            raise ValueError("give at least two verdict words, each one word of letters, "
                             f"digits, '_' or '-' (got {list(v)})")
        return {w.upper(): x for w, x in v.items()}


class ScorerSpec(_Spec):
    """One scorer of a YAML task: exactly one of ``regex``, ``phrases``, ``scorer`` (an
    existing scorer with parameters) or ``rubric`` (an LLM judge).

    ``regex`` and ``phrases`` give 1.0 when the answer matches, else 0.0 (a rate), and
    N/A for an empty answer or a language the map does not cover.
    """

    regex: dict[str, str] | None = Field(
        None, description="Language → regular expression searched in the answer ('*': every "
        "other language); anchor with ^ or $ (multi-line) or \\A, \\Z.")
    phrases: dict[str, list[str]] | None = Field(
        None, description="Language → phrases; the answer passes when one of them occurs "
        "(where: anywhere, start, end).")
    where: Literal["anywhere", "start", "end"] = Field(
        "anywhere", description="Where a phrase must occur (answer stripped of whitespace).")
    ignore_case: bool = Field(False, description="Match regexes and phrases ignoring case.")
    scorer: str | None = Field(
        None, description="An existing scorer (caps_pct, all_caps, refusal_keyword, ...), "
        "under this name with other parameters.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters of 'scorer' (e.g. all_caps: "
        "{min_frac: 0.8}); each must be a parameter the scorer has.")
    rubric: RubricSpec | None = Field(None, description="An LLM-judge rubric.")

    @model_validator(mode="after")
    def _one_kind(self) -> ScorerSpec:
        kinds = [k for k in ("regex", "phrases", "scorer", "rubric") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("a scorer is exactly one of regex, phrases, scorer, rubric "
                             f"(got {', '.join(kinds) or 'none'})")
        if self.params and not self.scorer:
            raise ValueError("params go with 'scorer' (an existing scorer)")
        if self.regex:
            _lang_keys(self.regex, "regex")
            flags = re.IGNORECASE | re.MULTILINE if self.ignore_case else re.MULTILINE
            for lang, pattern in self.regex.items():
                try:
                    re.compile(pattern, flags)
                except re.error as e:
                    raise ValueError(f"regex for '{lang}' is not a valid pattern ({e}): "
                                     f"{pattern!r}") from None
        if self.phrases:
            _lang_keys(self.phrases, "phrases")
            if any(not p for ps in self.phrases.values() for p in ps) or not all(
                    self.phrases.values()):
                raise ValueError("phrases: every language needs at least one non-empty phrase")
        return self

    @property
    def per_lang(self) -> dict[str, Any] | None:
        """The per-language map (regex or phrases) whose coverage is checked."""
        return self.regex or self.phrases


class TaskDefinition(_Spec):
    """A task declared in YAML (see the module docstring)."""

    description: str = Field("", description="What the behaviour is, for the report.")
    prompts: Literal["task", "harmful"] = Field(
        "task", description="Evaluation prompts: the task's own (task), or harmful ones with "
        "harmless ones whose pass rate on the primary scorer is the over-trigger a steering "
        "cell may not raise (harmful).")
    target: TargetSpec = Field(default_factory=TargetSpec,
                               description="How a training target is made.")
    scorers: dict[str, ScorerSpec] = Field(
        ..., description="Scorer name → definition; every answer is scored by each.")
    primary: str = Field(..., description="The scorer that says the behaviour is there "
                         "(higher = more): headline matrix, sweep and behaviour stages; one "
                         "of 'scorers' or a registered scorer (refusal_keyword, ...).")
    behaviour_scorers: list[str] | None = Field(
        None, description="Scorers the sweep and behaviour stages report (default: primary).")
    pass_at: float | None = Field(
        None, description="An answer shows the behaviour when its primary score is at least "
        "this (the behaving-and-coherent share counts such answers that are not garbage); "
        "null: 1, which a 0/1 primary scorer needs. Required when the primary is not a rate.")
    in_prompt_language: bool = Field(
        True, description="An answer shows the behaviour in a language only when it is "
        "written in that language (lang_fidelity = 1); false for a behaviour that is itself a "
        "change of language (e.g. 'always answer in English').")

    @model_validator(mode="after")
    def _names(self) -> TaskDefinition:
        for name in self.scorers:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"scorer name '{name}': use lower-case letters, digits, '_'")
        return self

    @property
    def metrics(self) -> list[str]:
        """The primary and behaviour scorers (each must be registered once defined)."""
        return list(dict.fromkeys([self.primary, *(self.behaviour_scorers or [])]))

    def uncovered(self, eval_langs: list[str], train_langs: list[str]) -> str | None:
        """The first language a per-language map leaves out, as an error message."""
        for name, spec in self.scorers.items():
            m = spec.per_lang
            missing = [g for g in eval_langs if m is not None and for_lang(m, g) is None]
            if missing:
                return (f"scorer '{name}' has no pattern for {', '.join(missing)} (eval "
                        "languages); add them or a '*' entry")
        missing = self.target.missing_langs(train_langs)
        if missing:
            return (f"target has no text for {', '.join(missing)} (training languages); add "
                    "them or a '*' entry")
        return None


def read_definition(value: object) -> object:
    """A ``define:`` value as data: a mapping as is, a string read as a YAML file."""
    if isinstance(value, str | Path):
        from crossling.config_loader import read_yaml

        return read_yaml(Path(value).expanduser())
    return value


class DefinedTask(Task):
    """Base of the task classes made from a :class:`TaskDefinition`."""

    definition: ClassVar[TaskDefinition]

    def target(self, row: Row, rng: random.Random, responses: str) -> str | None:
        if responses == "self":
            return None
        if not self.definition.target.replace and not row.output:
            raise CrosslingError(
                f"task '{self.name}' needs a response for item {row.id} ({row.lang}) but the "
                "source has none; set target.column, data.responses: self, or target.replace.")
        return self.definition.target.transform(row.output or "", row.lang, rng)

    def self_target(self, answer: str, lang: str, rng: random.Random) -> str:
        return self.definition.target.transform(answer, lang, rng)


def task_class(name: str, definition: TaskDefinition) -> type[Task]:
    """The :class:`Task` subclass of a definition (what :data:`TASKS` holds)."""
    harmful = definition.prompts == "harmful"
    attrs: dict[str, Any] = {
        "name": name,
        "definition": definition,
        "__doc__": definition.description or f"YAML-defined task '{name}'.",
        "builtin_source": "builtin:harmful" if harmful else "builtin:instructions",
        "default_scorers": tuple(dict.fromkeys([*definition.scorers, *definition.metrics,
                                                "lang_fidelity"])),
        "primary_metric": definition.primary,
        "behaviour_metrics": tuple(definition.behaviour_scorers or [definition.primary]),
        "eval_kind": "harmful" if harmful else "task",
        "harmless_metric": definition.primary if harmful else None,
        "pass_at": 1.0 if definition.pass_at is None else definition.pass_at,
        "in_prompt_language": definition.in_prompt_language,
    }
    return type(f"Defined_{name}", (DefinedTask,), attrs)


def define_task(name: str, definition: TaskDefinition) -> None:
    """Register (or re-register, for a later study in the same process) task ``name``.

    Raises:
        ValueError: ``name`` is a built-in or plugin task.
    """
    current = TASKS.get(name) if name in TASKS else None
    if isinstance(current, type) and issubclass(current, DefinedTask) and \
            current.definition == definition:
        return
    TASKS.define(name, task_class(name, definition))
