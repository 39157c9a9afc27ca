"""Experiment tracking (report_to): TensorBoard end to end, wandb offline and MLflow file store."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from crossling.cli import main
from crossling.errors import CrosslingError
from crossling.paths import RunDir
from crossling.tracking import Trackers, require_trackers


def _tiny_study(model_dir: Path, path: Path) -> Path:
    cfg = {
        "name": "tiny", "model": {"name": str(model_dir), "threads": 1},
        "tasks": {"caps": {"train_langs": ["en"], "eval_langs": ["en", "de"], "eval_size": 2,
                           "train_size": 8}},
        "train": {"max_steps": 6, "warmup_steps": 1, "batch_size": 2, "grad_accum": 1,
                  "max_length": 64, "progress": False},
        "eval": {"generation": {"max_new_tokens": 3, "batch_size": 4}, "n_boot": 100},
    }
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _scalars(event_dir: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(event_dir))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_run_with_set_overrides_writes_tensorboard(tiny_model_dir: Path, tmp_path: Path,
                                                   one_torch_thread: None) -> None:
    pytest.importorskip("tensorboard")
    config = _tiny_study(tiny_model_dir, tmp_path / "study.yaml")
    out = tmp_path / "run"
    rc = main(["run", str(config), "--out", str(out), "--set", "train.max_steps=2",
               "--set", "report_to=[tensorboard]", "-q"])
    assert rc == 0
    run = RunDir(out)
    saved = yaml.safe_load(run.config.read_text(encoding="utf-8"))
    assert saved["train"]["max_steps"] == 2 and saved["report_to"] == ["tensorboard"]
    tb = run.tracking / "tensorboard"
    assert sorted(p.name for p in tb.iterdir()) == ["eval-caps", "study", "train-caps-en-s0"]
    for d in tb.iterdir():
        assert list(d.glob("events.out.tfevents.*")), d
    train = tb / "train-caps-en-s0"
    assert [s for s, _ in _scalars(train, "train/loss")] == [1, 2]
    for tag in ("train/lr", "train/grad_norm", "train/tokens_per_s"):
        assert len(_scalars(train, tag)) == 2
    # degenerate is scored for every answer (a tiny random model's may have no cased letter,
    # so its caps_pct is N/A and, rightly, not logged as a number)
    means = _scalars(tb / "eval-caps", "eval/degenerate/task/en/de")
    assert len(means) == 1 and 0.0 <= means[0][1] <= 1.0
    # report_to is not part of what a run folder is checked against: a rerun without it
    # reuses the folder (every stage up to date).
    assert main(["run", str(config), "--out", str(out), "--set", "train.max_steps=2", "-q"]) == 0


def test_missing_tracker_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(CrosslingError, match=r"pip install 'crossling\[wandb\]'"):
        require_trackers(["tensorboard", "wandb"])


def _log_everything(t: Trackers) -> None:
    t.log_params({"train": {"lr": 1e-4, "target_modules": ["q_proj"]}, "seed": 3})
    for step in (1, 2, 3):
        t.log_metrics({"train/loss": 1.0 / step, "nan": float("nan")}, step)
    t.log_table("transfer", [{"adapter": "en", "lang": "de", "mean": 0.5}])


def test_wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    with Trackers(["wandb"], tmp_path, "unit") as t:
        _log_everything(t)
    runs = list((tmp_path / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    assert list(runs[0].glob("*.wandb"))


def test_mlflow_file_store(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    with Trackers(["mlflow"], tmp_path, "unit") as t:
        _log_everything(t)
        run_id = t.backends[0].run_id
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").resolve().as_uri())
    run = client.get_run(run_id)
    assert run.data.params["train.lr"] == "0.0001" and run.data.params["seed"] == "3"
    history = client.get_metric_history(run_id, "train/loss")
    assert [(m.step, round(m.value, 3)) for m in history] == [(1, 1.0), (2, 0.5), (3, 0.333)]
    assert "nan" not in run.data.metrics
