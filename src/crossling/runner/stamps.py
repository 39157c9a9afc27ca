"""Stage completion stamps: skip a stage when its outputs exist and its inputs are unchanged.

A stamp records the content hash of everything a stage's result depends on (its config
section, upstream files). A rerun compares hashes: equal → skip; different → the stage's old
outputs are stale, so they are removed and the stage runs again; no stamp → the stage was
interrupted (or never ran) and runs, resuming from whatever it left (checkpoints, JSONL).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from crossling.io import atomic_write_json, read_json, sha256_file, sha256_json
from crossling.paths import RunDir


def stamp_matches(run: RunDir, key: str, inputs: str) -> bool:
    path = run.stage_stamp(key)
    if not path.exists():
        return False
    try:
        return bool(read_json(path).get("inputs") == inputs)
    except Exception:
        return False


def stamp_exists(run: RunDir, key: str) -> bool:
    return run.stage_stamp(key).exists()


def mark_done(run: RunDir, key: str, inputs: str, outputs: dict[str, Any] | None = None,
              answers: str | None = None) -> None:
    """Stamp stage ``key`` done with ``inputs`` (and ``answers``: the hash of what its logged
    answers depend on, for stages that log answers)."""
    atomic_write_json(run.stage_stamp(key), {
        "stage": key, "inputs": inputs, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "outputs": outputs or {}, **({"answers": answers} if answers is not None else {}),
    })


def answers_match(run: RunDir, key: str, answers: str) -> bool:
    """The stage's logged answers are still valid: only settings that judge them changed
    (a stamp from before this was recorded says no)."""
    path = run.stage_stamp(key)
    try:
        return path.exists() and read_json(path).get("answers") == answers
    except Exception:
        return False


def unstamp(run: RunDir, key: str, *files: Path) -> None:
    """Mark a stage to rerun but keep its logged answers; remove ``files`` (scores made
    with the old settings)."""
    run.stage_stamp(key).unlink(missing_ok=True)
    for f in files:
        f.unlink(missing_ok=True)


def invalidate(run: RunDir, key: str, *folders: Path) -> None:
    """Remove a stale stage's stamp and outputs (its inputs changed)."""
    run.stage_stamp(key).unlink(missing_ok=True)
    for f in folders:
        if f.exists():
            shutil.rmtree(f)


def hash_inputs(*parts: Any) -> str:
    return sha256_json(list(parts))


def hash_folder(folder: Path, pattern: str = "*.safetensors") -> str:
    """Hash of the matching files in ``folder`` (adapter weights, vectors)."""
    files = sorted(folder.glob(pattern))
    return sha256_json({f.name: sha256_file(f) for f in files})
