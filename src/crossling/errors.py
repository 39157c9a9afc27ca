"""One exception type for bad input.

The CLI turns a :class:`CrosslingError` into a single line on stderr and exit code 2, with no
traceback: the message must name what is wrong *and* how to fix it. Anything else that escapes
is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CrosslingError(ValueError):
    """User-facing error: one line, says what is wrong and how to fix it.

    A ``ValueError`` so that pydantic validators raising it report the offending field.
    """


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean X?' for the closest known name, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> CrosslingError:
    """Build the standard 'unknown X' error listing the known names and the closest one."""
    known = sorted(choices)
    return CrosslingError(
        f"unknown {kind} '{name}'.{did_you_mean(name, known)} Known: {', '.join(known)}."
    )
