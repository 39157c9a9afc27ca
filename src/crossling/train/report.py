"""Training outputs besides the adapter: ``train_log.csv``, the loss plot, ``manifest.json``."""

from __future__ import annotations

import csv
import io
import platform
from pathlib import Path
from typing import Any

from crossling.io import atomic_path, atomic_write_text

LOG_COLUMNS = ("step", "loss", "lr", "tokens_per_s", "grad_norm", "label_tokens", "elapsed_s")


def write_train_log(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the per-step log as CSV (atomically; rewritten whole at each checkpoint)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def plot_loss(path: Path, rows: list[dict[str, Any]], title: str) -> None:
    """Training loss (and its 10-step running mean) against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    loss = [r["loss"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, loss, lw=1, alpha=0.5, label="loss")
    if len(loss) >= 10:
        smooth = [sum(loss[max(0, i - 9) : i + 1]) / len(loss[max(0, i - 9) : i + 1])
                  for i in range(len(loss))]
        ax.plot(steps, smooth, lw=2, label="10-step mean")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("SFT loss (assistant tokens)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def versions() -> dict[str, str]:
    """Versions of the libraries that shape training results."""
    import accelerate
    import peft
    import torch
    import transformers

    import crossling

    return {
        "crossling": crossling.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "accelerate": accelerate.__version__,
    }
