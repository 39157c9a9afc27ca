"""The base of every typed result file (``best.json``, ``summary.json``, ``transfer.json``,
``analysis.json`` …) and the one way to read one back.

Why typed results: a JSON file assembled by a many-key ``update`` and read back with
``.get(key, fallback)`` drifts — a renamed key becomes a silent fallback in some reader.
Each file is now a pydantic model declared in the stage that writes it; the writer builds
the model, the readers get attributes, and a file that does not match is refused in one line
that says how to rebuild it.

Policy, the same for every result model:

- ``extra="forbid"``: a key the model does not declare is an error, at write time (the
  writer and the model drifted: a bug, caught by the tests) and at read time (the file was
  written by another crossling version, whose numbers may mean something else: rebuild it,
  it costs a rerun of the stage from its logs). Tolerating unknown keys would let a writer's
  new key vanish from the model, which is exactly the drift the models exist to stop. The one
  deliberate exception are rows whose metric columns are named by the scorers (a sweep
  cell's ``caps_pct``, ``caps_pct_ci_low`` …): they allow extra keys, typed as numbers.
- A key the file leaves out when it was not measured (an interval's ``p`` outside a test,
  ``runs`` outside two-seed studies) has a default and stays left out when written:
  :meth:`ResultModel.to_json` dumps with ``exclude_unset``, so what a writer did not set is
  not written, and a file read back and dumped again is the same JSON. ``None`` written on
  purpose (no interval) stays ``null``.
- Every key a writer always writes is required, so a file from before it existed is refused
  rather than read with a made-up default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from crossling.errors import CrosslingError
from crossling.io import atomic_write_json, read_json

M = TypeVar("M", bound="ResultModel")
B = TypeVar("B", bound=BaseModel)

#: The usual way to rebuild a stage's file inside a study folder.
STUDY_RERUN = "`crossling run CONFIG --out RUN` (the stage is redone)"


class ResultModel(BaseModel):
    """A result file or a part of one (see the module docstring for the policy).

    Subclasses that are whole files set :attr:`rebuild`: what to do when a file on disk does
    not validate, said in the refusal.
    """

    model_config = ConfigDict(extra="forbid")

    #: How to rebuild the file (the end of the one-line refusal).
    rebuild: ClassVar[str] = f"delete it and rerun the stage that wrote it, e.g. {STUDY_RERUN}"

    def to_json(self) -> dict[str, Any]:
        """The JSON-able content of the file: keys never set stay out (see module docstring)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the file atomically (a reader sees the old file or the new one)."""
        atomic_write_json(path, self.to_json())

    @classmethod
    def read(cls: type[M], path: str | os.PathLike[str]) -> M:
        """Read and validate the file at ``path``.

        Raises:
            CrosslingError: the file is not JSON or does not match this model (one line
                naming the file, the first offending key and how to rebuild it).
        """
        return read_result(cls, path, cls.rebuild)

    @classmethod
    def parse_file_content(cls: type[M], data: Any, path: Path | str) -> M:
        """Validate content already read from ``path`` (named in the refusal)."""
        return validate_result(cls, data, path, cls.rebuild)


def read_result(model: type[B], path: str | os.PathLike[str], rebuild: str) -> B:
    """Read the JSON file at ``path`` as ``model``; refused in one line (saying ``rebuild``)
    when it is not JSON or does not validate."""
    try:
        data = read_json(path)
    except json.JSONDecodeError as e:
        raise CrosslingError(
            f"{path} is not valid JSON ({e.msg}, line {e.lineno}); {rebuild}."
        ) from None
    return validate_result(model, data, path, rebuild)


def validate_result(model: type[B], data: Any, path: str | os.PathLike[str],
                    rebuild: str) -> B:
    """``data`` (read from ``path``) as ``model``; a mismatch is one line naming the file,
    the first offending key and how to rebuild it."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise CrosslingError(
            f"{path} does not match what this crossling version reads ({_first_error(e)}); "
            f"{rebuild}."
        ) from None


def _first_error(e: ValidationError) -> str:
    """``key.path: message`` of the first error, plus how many more there are."""
    errs = e.errors()
    first = errs[0]
    where = ".".join(str(p) for p in first["loc"]) or "top level"
    more = f"; {len(errs) - 1} more" if len(errs) > 1 else ""
    return f"{where}: {first['msg'].lower()}{more}"
