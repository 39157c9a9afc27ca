"""The ``crossling`` command line: usage errors, --version, -v/-q, overrides."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from crossling import __version__
from crossling.cli import hoist_verbosity, main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scor"], "No such command 'scor'"),
        (["trian"], "Did you mean 'train'?"),
        (["train", "--bogus"], "No such option: --bogus"),
        (["train", "--max-steps", "x"], "Invalid value for '--max-steps'"),
        (["run"], "Missing argument"),
        (["data", "biuld"], "Did you mean 'build'?"),
    ],
)
def test_usage_errors_exit_2_with_usage_line(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Usage: crossling")
    assert message in err
    assert "Traceback" not in err


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"crossling {__version__}"


def test_help_exits_0(capsys) -> None:
    assert main(["train", "--help"]) == 0
    assert "--max-steps" in capsys.readouterr().out


def test_verbosity_flags_anywhere() -> None:
    assert hoist_verbosity(["run", "c.yaml", "-v", "--out", "x"]) == ["-v", "run", "c.yaml",
                                                                      "--out", "x"]
    assert hoist_verbosity(["run", "--", "-q"]) == ["run", "--", "-q"]


def test_quiet_and_verbose_set_the_log_level(capsys) -> None:
    main(["data", "show", "--help", "-q"])
    assert logging.getLogger("crossling").level == logging.WARNING
    main(["-v", "data", "show", "--help"])
    assert logging.getLogger("crossling").level == logging.DEBUG
    main(["data", "show", "--help"])
    assert logging.getLogger("crossling").level == logging.INFO


# --------------------------------------------------------------------------- overrides
def test_resolve_config_order_and_types(tmp_path) -> None:
    from crossling.overrides import resolve_config
    from crossling.runner.config import ExperimentConfig

    cfg = resolve_config(
        ExperimentConfig, CONFIGS / "demo.yaml", {"report_to": "tensorboard"},
        ["train.max_steps=5", "tasks.caps.eval_size=8", "train.lr=1e-4", "seeds=[0, 1]"],
    )
    assert cfg.train.max_steps == 5
    assert cfg.tasks["caps"].eval_size == 8
    assert cfg.train.lr == 1e-4
    assert cfg.seeds == [0, 1]
    assert cfg.report_to == ["tensorboard"]
    # flags merge into a section key by key; --set comes after the flags
    from crossling.train.config import TrainJobConfig

    job = resolve_config(TrainJobConfig, None,
                         {"data_dir": tmp_path, "lang": "de", "out_dir": "o",
                          "model": {"name": "x/y", "device": None},
                          "train": {"lr": 0.1, "max_steps": None}},
                         ["train.lr=0.2", "train.max_steps=null", "train.epochs=2"])
    assert job.model.name == "x/y" and job.train.lr == 0.2
    assert job.train.max_steps is None and job.train.epochs == 2


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("train.max_stepz=5", "unknown key 'train.max_stepz'. Did you mean 'max_steps'?"),
        ("trian.max_steps=5", "unknown key 'trian'. Did you mean 'train'?"),
        ("tasks.caps.eval_sise=8", "unknown key 'tasks.caps.eval_sise'. Did you mean 'eval_size'?"),
        ("seed.x=1", "'seed' is a value, not a section"),
        ("train.max_steps", "is not KEY.PATH=VALUE"),
        ("train.max_steps=-3", "field 'train.max_steps'"),
    ],
)
def test_bad_overrides_are_one_line(item, message) -> None:
    from crossling.errors import CrosslingError
    from crossling.overrides import resolve_config
    from crossling.runner.config import ExperimentConfig

    with pytest.raises(CrosslingError) as e:
        resolve_config(ExperimentConfig, CONFIGS / "demo.yaml", sets=[item])
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_cli_set_error_exits_2(capsys) -> None:
    assert main(["run", str(CONFIGS / "demo.yaml"), "--set", "train.max_stepz=2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crossling: error: --set train.max_stepz=2: unknown key")


# --------------------------------------------------------------------------- progress lines
def test_progress_line_rate_limited(caplog: pytest.LogCaptureFixture, monkeypatch) -> None:
    from crossling import logs

    clock = [0.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: clock[0])
    line = logs.ProgressLine("train x", total=5, every_s=10.0)
    with caplog.at_level(logging.INFO, logger="crossling"):
        for _ in range(4):
            clock[0] += 3.0
            line.update(loss=0.5)
        line.update(loss=0.25)  # the last item always logs
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["train x: 4/5, loss 0.5, 0.33/s, ETA 3s", "train x: 5/5, loss 0.25, 0.42/s, ETA 0s"]
    off = logs.ProgressLine("y", total=1, enabled=False)
    caplog.clear()
    off.update()
    assert not caplog.records


# --------------------------------------------------------------------------- nothing half-written
def test_bad_model_leaves_no_files(tmp_path: Path, capsys) -> None:
    """A model that cannot load fails each command with one line, before any output exists."""
    no_model = tmp_path / "not_a_checkpoint"
    no_model.mkdir()
    data = tmp_path / "data"
    assert main(["data", "build", "--task", "caps", "--source", "builtin", "--train-langs", "en",
                 "--eval-langs", "en,de", "--eval-size", "2", "--out", str(data)]) == 0
    study = tmp_path / "study.yaml"
    study.write_text(f"model: {{name: {no_model}}}\ntasks: {{caps: {{train_langs: [en], "
                     "eval_langs: [en]}}\n", encoding="utf-8")
    out = tmp_path / "out"
    commands = [
        ["eval", "--model", str(no_model), "--data", str(data), "--out", str(out)],
        ["train", "--data", str(data), "--lang", "en", "--model", str(no_model), "--out", str(out)],
        ["steer", "vectors", "--model", str(no_model), "--langs", "en,de", "--out", str(out)],
        ["run", str(study), "--out", str(out)],
    ]
    for argv in commands:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "has no config.json" in err and "Traceback" not in err, (argv, err)
        assert not out.exists(), argv


# --------------------------------------------------------------------------- demo --model
def test_demo_help_lists_model(capsys) -> None:
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--model" in out and "Qwen/Qwen2.5-0.5B-Instruct" in out


def test_demo_bad_model_is_one_line_before_anything_is_written(tmp_path: Path, monkeypatch,
                                                                capsys) -> None:
    monkeypatch.chdir(tmp_path)  # the default folder would be runs/demo-no-such-model here
    assert main(["demo", "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crossling: error: ") and "'no-such-model'" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_demo_model_sets_the_name_and_fits_the_steering_layers(tiny_model_dir: Path) -> None:
    """The demo steers SmolLM2's layers 6, 15 and 24; a 3-layer model gets its middle one."""
    from crossling.runner.cli import configs_dir, demo_flags

    flags = demo_flags(configs_dir() / "demo.yaml", str(tiny_model_dir))
    assert flags == {"model": {"name": str(tiny_model_dir)}, "steer": {"layers": [1]}}
    assert demo_flags(configs_dir() / "demo.yaml", "smollm2-135m") == {
        "model": {"name": "smollm2-135m"}}
