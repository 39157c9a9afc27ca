"""Logging and progress lines for every ``crossling`` command.

Why: resumes, skips, cache hits and stage timings are logged by the stages (``logging``), and
must be visible by default; a long stage whose output is piped to a file must still say how
far it is. ``-v`` adds debug lines, ``-q`` leaves warnings and errors only.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

LOGGER = "crossling"

#: Seconds between two progress lines when stderr is not a terminal (no live bars there).
PROGRESS_EVERY_S = 10.0


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (not the stream of the
    moment the handler was made), so redirections and test captures see every line."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(verbosity: int = 0) -> None:
    """Send crossling's log records to stderr: INFO by default, DEBUG with ``verbosity > 0``,
    WARNING with ``verbosity < 0``. Library loggers (transformers, peft) keep their own levels.
    """
    level = logging.DEBUG if verbosity > 0 else logging.WARNING if verbosity < 0 else logging.INFO
    root = logging.getLogger(LOGGER)
    root.setLevel(level)
    for h in list(root.handlers):
        if getattr(h, "_crossling", False):
            root.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", "%H:%M:%S"))
    handler._crossling = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.propagate = False


def interactive() -> bool:
    """Whether live progress bars can be drawn: stdout (where rich draws them) and stderr (where
    the log lines go) are both terminals. Otherwise long loops log ``ProgressLine``s."""
    return sys.stdout.isatty() and sys.stderr.isatty()


class ProgressLine:
    """A log line every ``every_s`` seconds for a long loop, for output that is not a terminal.

    Live bars (rich) draw nothing useful into a file; this says ``what: done/total, rate,
    ETA`` plus any fields given (e.g. loss) at INFO, at most once per ``every_s`` seconds and
    once at the end.

    Args:
        what: name of the loop (e.g. ``train caps/de seed 0``).
        total: number of items (steps, prompts).
        done: items already done (e.g. after a resume).
        every_s: seconds between lines.
        enabled: ``False`` makes every call a no-op (e.g. a live bar is shown instead).
    """

    def __init__(self, what: str, total: int, done: int = 0, every_s: float = PROGRESS_EVERY_S,
                 enabled: bool = True, logger: logging.Logger | None = None) -> None:
        self.what, self.total, self.done = what, total, done
        self.start_done = done
        self.every_s, self.enabled = every_s, enabled
        self.log = logger or logging.getLogger(LOGGER + ".progress")
        self.t0 = self.last = time.monotonic()

    def update(self, advance: int = 1, **fields: Any) -> None:
        """Count ``advance`` more items; log a line if ``every_s`` passed or all are done."""
        self.done += advance
        now = time.monotonic()
        if not self.enabled or (now - self.last < self.every_s and self.done < self.total):
            return
        self.last = now
        rate = (self.done - self.start_done) / max(now - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        extra = "".join(f", {k} {v:.4g}" if isinstance(v, float) else f", {k} {v}"
                        for k, v in fields.items())
        self.log.info("%s: %d/%d%s, %.2f/s, ETA %.0fs", self.what, self.done, self.total,
                      extra, rate, eta)
