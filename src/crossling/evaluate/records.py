"""Typed rows of the generation logs and of ``scores.jsonl``, and their one resume key.

Why one place: three stages log generations — eval, the steering sweep and the behaviour
stage — and resuming means "skip every row whose key is already in the log". The rows are
written and read here, as types, so the three logs cannot drift apart in what a key is.

Every generation row is named by the same five fields, :class:`RowKey`: ``(adapter, lang,
kind, id, steer)``. An eval row (:class:`GenerationRow`) is::

    {"adapter": "en", "lang": "de", "kind": "task", "id": "alpaca-0007", "steer": "none",
     "prompt": "...", "response": "...", "prompt_tokens": 41, "new_tokens": 100,
     "stopped": false, "reference": "..."}

A sweep row (:class:`SweepRow`) adds the run hash and its cell (``layer``, ``strength``,
``toward``, ``status``); its ``steer`` is the cell's ``layer=4,strength=2.0,toward=en``. A
behaviour row (:class:`BehaviourRow`) stores its steer value under the name ``setting``
(``transfer:en:from=de:layer=15:strength=2.0``) and adds the run hash, the status and what
the cell did (``phase``, ``vector_adapter``, ``from_lang``, ``layer``, ``strength``,
``draw``).

A score row (:class:`ScoreRow`) is the generation key plus ``{"scorer": "caps_pct",
"value": 87.5, "empty": false}`` (value None = N/A for this row, e.g. caps on Chinese;
``empty`` marks an empty answer, which some scorers cannot tell from a real one — caps_pct
scores it 0 — so summaries count them in ``n_empty``).

Rows are written with :meth:`RowKey.dump` (only the fields set, the names on disk) and read
with :func:`read_rows`, which refuses a line it cannot read with one line that says how to
rebuild the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crossling.errors import CrosslingError
from crossling.io import read_jsonl
from crossling.names import BASE_ADAPTER, NO_STEER

__all__ = [
    "BASE_ADAPTER",
    "KEY_FIELDS",
    "NO_STEER",
    "BehaviourRow",
    "GenKey",
    "GenerationRow",
    "RowKey",
    "ScoreRow",
    "SweepRow",
    "gen_key",
    "read_rows",
    "score_key",
]


class GenKey(NamedTuple):
    """The resume key of a generation row (equal to the plain tuple of its fields)."""

    adapter: str
    lang: str
    kind: str
    id: str
    steer: str


KEY_FIELDS = GenKey._fields


class RowKey(BaseModel):
    """The five fields that name a generated answer, shared by every row type.

    Validating any mapping with these fields (others are ignored) gives its key: see
    :func:`gen_key`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)

    adapter: str = Field(description=f"Adapter name; '{BASE_ADAPTER}' for the base model.")
    lang: str = Field(description="Language code of the prompt.")
    kind: str = Field("task", description="Prompt kind: task, harmful or harmless.")
    id: str = Field(description="Prompt id (the same item in every language).")
    steer: str = Field(NO_STEER, description=f"Steering setting; '{NO_STEER}': unsteered.")

    def key(self) -> GenKey:
        """THE resume key of every generation log: (adapter, lang, kind, id, steer)."""
        return GenKey(self.adapter, self.lang, self.kind, self.id, self.steer)

    def dump(self) -> dict[str, Any]:
        """The row as its log stores it: the fields that were set, under their names on disk
        (a line read and dumped again is the same line)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class GenerationRow(RowKey):
    """A line of eval's ``generations.jsonl``, and what every generation log has."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(description="The prompt as given to the chat template.")
    response: str = Field(description="The decoded answer.")
    prompt_tokens: int | None = Field(None, description="Tokens of the templated prompt.")
    new_tokens: int = Field(description="Generated tokens.")
    stopped: bool | None = Field(None, description="The model ended its turn (not cut off).")
    reference: str | None = Field(None, description="Reference answer of the prompt, if any.")


class SweepRow(GenerationRow):
    """A line of the steering sweep's ``generations.jsonl``; ``steer`` names the cell."""

    run: str = Field(description="Hash of the sweep settings that change a generation.")
    layer: int | None = Field(description="Steered layer; None for the unsteered baseline.")
    strength: float = Field(description="Steering strength (0 for the baseline).")
    toward: str = Field(description="Language the vector steers toward.")
    status: str = Field("ok", description="'ok', or why the cell produced no answer.")


class BehaviourRow(GenerationRow):
    """A line of the behaviour stage's ``generations.jsonl``: its steer value is stored as
    ``setting`` (:func:`crossling.behaviour.stage.setting_key`)."""

    model_config = ConfigDict(populate_by_name=True)

    steer: str = Field(alias="setting", description="The cell, e.g. 'lora:en:from=-:...'.")
    run: str = Field(description="Hash of the stage settings that change a generation.")
    status: str = Field("ok", description="'ok', or why the cell produced no answer.")
    phase: str | None = Field(None, description="base, lora, select, transfer, ablate, ...")
    vector_adapter: str | None = Field(None, description="Adapter whose vector is applied.")
    from_lang: str | None = Field(None, description="Language the vector was measured in.")
    layer: int | None = Field(None, description="Steered layer.")
    strength: float | None = Field(None, description="Steering strength.")
    draw: int | None = Field(None, description="Random-direction draw of a control cell.")


class ScoreRow(RowKey):
    """A line of ``scores.jsonl``: one scorer's value for one generation."""

    model_config = ConfigDict(extra="forbid")

    scorer: str = Field(description="Scorer name.")
    value: float | None = Field(description="The score; None: N/A for this row.")
    empty: bool = Field(False, description="The answer was empty (counted in n_empty).")

    def score_key(self) -> tuple[str, ...]:
        """The generation key plus the scorer name: the resume key of ``scores.jsonl``."""
        return (*self.key(), self.scorer)


def gen_key(row: Mapping[str, Any]) -> GenKey:
    """The key of a row held as a mapping (a prompt row with ``adapter`` and ``steer`` set,
    or a generation or score row as a dict), with :class:`RowKey`'s defaults."""
    return RowKey.model_validate(row).key()


def score_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The generation key plus the scorer name of a score row held as a mapping."""
    return (*gen_key(row), str(row["scorer"]))


R = TypeVar("R", bound=RowKey)


def read_rows(path: Path, cls: type[R], run: str | None = None,
              fill: Mapping[str, Any] | None = None) -> list[R]:
    """Read a log as typed rows (a missing file: none).

    Args:
        path: the JSONL log.
        cls: the row type of that log.
        run: keep only lines of this run hash; lines of other runs are ignored unread (a
            sweep or behaviour log keeps every configuration's rows).
        fill: values for fields a line lacks (a sweep log written before its rows named
            their adapter).

    Raises:
        CrosslingError: a line that is not a ``cls`` (one line: which, why, how to rebuild).
    """
    out = []
    for n, line in enumerate(read_jsonl(path), 1):
        if run is not None and isinstance(line, dict) and line.get("run") != run:
            continue
        try:
            out.append(cls.model_validate({**(fill or {}), **line}))
        except (TypeError, ValidationError) as e:
            err = e.errors()[0] if isinstance(e, ValidationError) else {"loc": (), "msg": str(e)}
            where = ".".join(str(p) for p in err["loc"]) or "row"
            raise CrosslingError(
                f"{path} row {n} is not a {cls.__name__} ({where}: {err['msg']}); it was "
                "written by another crossling version: delete that file (or pass a new "
                "--out) and rerun to rebuild it.") from None
    return out
