"""Experiment tracking: TensorBoard, Weights & Biases (offline) and MLflow (local file store).

Why: researchers compare runs in these tools, not in CSV files. ``report_to`` in a config (or
``--report-to``) names the trackers; each is an optional extra (``crossling[tensorboard]``,
``[wandb]``, ``[mlflow]``) imported only when asked for, and a missing one is one line naming
the pip command. Everything is written under the run's own folder (``paths``), so nothing
needs a network: wandb runs in offline mode (``wandb sync`` uploads later) and MLflow uses a
file store.

What is logged: the config as hyper-parameters; per training step loss, learning rate, grad
norm and tokens/s; eval summaries as metrics and a table; the transfer matrix as a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from crossling.errors import CrosslingError

TRACKERS = ("tensorboard", "wandb", "mlflow")
EXTRA_PACKAGE = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}


def _split(value: object) -> object:
    """'tensorboard,wandb' (a flag) → ['tensorboard', 'wandb']; a lone name → [name]."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip().lower() for v in value.split(",") if v.strip()]
    return value


#: The type of every ``report_to`` field.
ReportTo = Annotated[list[Literal["tensorboard", "wandb", "mlflow"]], BeforeValidator(_split)]


#: The module each tracker imports (checked before any work starts).
_MODULE = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}


def require_trackers(report_to: Sequence[str]) -> None:
    """Fail before any work when a tracker named in ``report_to`` is not installed.

    Raises:
        CrosslingError: one line naming the pip command.
    """
    import importlib.util

    for tracker in report_to:
        if importlib.util.find_spec(_MODULE[tracker]) is None:
            raise CrosslingError(
                f"report_to '{tracker}' needs the package {EXTRA_PACKAGE[tracker]}; run: "
                f"pip install 'crossling[{tracker}]' (or drop it from report_to)."
            )


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{'train': {'lr': 1e-4}} → {'train.lr': 1e-4}; lists become their text."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    key = prefix.rstrip(".")
    out[key] = obj if isinstance(obj, (int, float, str, bool)) or obj is None else str(obj)
    return out


def _markdown(rows: Sequence[dict[str, Any]]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


class _TensorBoard:
    def __init__(self, root: Path, name: str) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(root / "tensorboard" / name))

    def log_params(self, params: dict[str, Any]) -> None:
        flat = _flatten(params)
        self.writer.add_text("config", _markdown([{"key": k, "value": v} for k, v in flat.items()]))

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for k, v in metrics.items():
            self.writer.add_scalar(k, v, step)

    def log_table(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        self.writer.add_text(name, _markdown(rows))

    def close(self) -> None:
        self.writer.close()


class _Wandb:
    def __init__(self, root: Path, name: str, project: str) -> None:
        import wandb

        (root / "wandb").mkdir(parents=True, exist_ok=True)
        self.wandb = wandb
        self.run = wandb.init(project=project, name=name, dir=str(root / "wandb"),
                              mode="offline", reinit="create_new")

    def log_params(self, params: dict[str, Any]) -> None:
        self.run.config.update(_flatten(params), allow_val_change=True)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def log_table(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        cols = list(dict.fromkeys(k for r in rows for k in r))
        header: list[str | int] = list(cols)
        self.run.log({name: self.wandb.Table(columns=header,
                                             data=[[r.get(c) for c in cols] for r in rows])})

    def close(self) -> None:
        self.run.finish()


class _Mlflow:
    def __init__(self, root: Path, name: str, project: str) -> None:
        import os

        from mlflow.tracking import MlflowClient

        # MLflow 3 keeps the file store in maintenance mode behind this opt-in; a file store
        # needs no server and no database, which is the point of tracking offline here.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        store = (root / "mlruns").resolve()
        store.mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(tracking_uri=store.as_uri())
        exp = self.client.get_experiment_by_name(project)
        exp_id = exp.experiment_id if exp else self.client.create_experiment(project)
        self.run_id = self.client.create_run(exp_id, run_name=name).info.run_id

    def log_params(self, params: dict[str, Any]) -> None:
        for k, v in _flatten(params).items():
            self.client.log_param(self.run_id, k, str(v)[:6000])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for k, v in metrics.items():
            self.client.log_metric(self.run_id, k, v, step=step)

    def log_table(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        import json

        self.client.log_text(self.run_id, json.dumps(list(rows), indent=1, default=str),
                             f"{name}.json")

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


class Trackers:
    """The trackers named in ``report_to``, used as one (all calls fan out to each).

    Args:
        report_to: tracker names (``ReportTo``); empty: every call is a no-op.
        root: folder the trackers write under (``paths``: a run's or a stage's ``tracking``).
        name: run name shown in the tracker (e.g. ``train-caps-de-s0``).
        project: wandb project / MLflow experiment.

    Raises:
        CrosslingError: a tracker whose package is not installed (names the pip command).
    """

    def __init__(self, report_to: Sequence[str], root: Path, name: str,
                 project: str = "crossling") -> None:
        self.backends: list[Any] = []
        makers = {"tensorboard": lambda: _TensorBoard(root, name),
                  "wandb": lambda: _Wandb(root, name, project),
                  "mlflow": lambda: _Mlflow(root, name, project)}
        for tracker in dict.fromkeys(report_to):
            try:
                self.backends.append(makers[tracker]())
            except ImportError:
                self.close()
                raise CrosslingError(
                    f"report_to '{tracker}' needs the package {EXTRA_PACKAGE[tracker]}; run: "
                    f"pip install 'crossling[{tracker}]' (or drop it from report_to)."
                ) from None

    def log_params(self, params: dict[str, Any]) -> None:
        """The run's config as hyper-parameters (nested keys flattened to a.b.c)."""
        for b in self.backends:
            b.log_params(params)

    def log_metrics(self, metrics: dict[str, float | int | None], step: int = 0) -> None:
        """Scalars at ``step``; None and non-finite values are left out."""
        clean = {k: float(v) for k, v in metrics.items()
                 if v is not None and math.isfinite(float(v))}
        for b in self.backends:
            b.log_metrics(clean, step)

    def log_table(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        """A table (list of rows with the same keys)."""
        if rows:
            for b in self.backends:
                b.log_table(name, rows)

    def close(self) -> None:
        for b in self.backends:
            b.close()
        self.backends = []

    def __enter__(self) -> Trackers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
