"""Training checkpoints: everything needed to continue a run bit-for-bit after a SIGKILL.

A checkpoint folder ``checkpoints/step-000050/`` holds the trainable (LoRA) weights
(safetensors), the AdamW and LR-scheduler state, the torch RNG state and ``state.json``
(step, config fingerprint, log rows, tokens and wall time so far). It is written to a
temporary sibling and renamed into place, so a folder named ``step-*`` is always complete;
a crash mid-save leaves only a ``.tmp-*`` folder that is ignored and cleaned up.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.io import atomic_dir, atomic_write_json, read_json

STATE_FILE = "state.json"
WEIGHTS_FILE = "trainable.safetensors"


@dataclass
class TrainState:
    """Progress of a run (saved in ``state.json``)."""

    step: int = 0
    fingerprint: dict[str, Any] = field(default_factory=dict)
    log_rows: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0
    elapsed_s: float = 0.0


def checkpoint_dirs(root: Path) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first."""
    if not root.exists():
        return []
    found = [p for p in root.glob("step-*") if p.is_dir() and (p / STATE_FILE).exists()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def save_checkpoint(
    root: Path, state: TrainState, model: Any, optimizer: Any, scheduler: Any, keep: int
) -> Path:
    """Write a checkpoint atomically and prune all but the newest ``keep``.

    Args:
        root: the run's checkpoints folder (``TrainDir.checkpoints``).
        state: progress after ``state.step`` optimizer steps.
        model: the peft model (only parameters with ``requires_grad`` are saved).
        optimizer: the optimizer.
        scheduler: the LR scheduler.
        keep: newest checkpoints to keep.

    Returns:
        The checkpoint folder.
    """
    import torch
    from safetensors.torch import save_file

    final = root / f"step-{state.step:06d}"
    with atomic_dir(final) as tmp:
        weights = {
            n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad
        }
        save_file(weights, str(tmp / WEIGHTS_FILE))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()  # type: ignore[assignment]
        torch.save(rng, tmp / "rng.pt")
        atomic_write_json(tmp / STATE_FILE, state.__dict__)
        _fsync_dir(tmp)
    for old in checkpoint_dirs(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".step-*.tmp"):  # left by a kill inside atomic_dir
        shutil.rmtree(stale, ignore_errors=True)
    return final


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def read_state(ckpt: Path) -> TrainState:
    return TrainState(**read_json(ckpt / STATE_FILE))


def load_checkpoint(ckpt: Path, model: Any, optimizer: Any, scheduler: Any) -> TrainState:
    """Restore weights, optimizer, scheduler and RNG from ``ckpt``; return its state."""
    import torch
    from safetensors.torch import load_file

    weights = load_file(str(ckpt / WEIGHTS_FILE))
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if set(weights) != set(params):
        raise CrosslingError(
            f"checkpoint {ckpt} holds other parameters than this model's adapter; "
            "start a new run in a fresh --out folder."
        )
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(weights[n].to(p.device, p.dtype))
    optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", weights_only=True))
    rng = torch.load(ckpt / "rng.pt", weights_only=True)
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return read_state(ckpt)


def config_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two config fingerprints ('train.lr: 0.0002 -> 0.001')."""
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(config_diff(a, b, name + "."))
        elif json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str):
            out.append(f"{name}: {a} -> {b}")
    return out
