"""Options generated from the configs (``crossling.cli_gen``): every field is a flag, the
older names still work, flags sit between the YAML file and ``--set``, bad values are one
line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from crossling import overrides
from crossling.cli import main
from crossling.cli_gen import ConfigOptions, flatten, option_names, value_type

# --------------------------------------------------------------------------- helpers


class _Resolved(Exception):
    """Raised by the patched ``resolve_config``: the command parsed, nothing ran."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg


def config_of(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The config ``crossling ARGV`` would run with (the stage itself never runs)."""
    real = overrides.resolve_config

    def stop(*args: Any, **kwargs: Any) -> Any:
        raise _Resolved(real(*args, **kwargs))

    monkeypatch.setattr(overrides, "resolve_config", stop)
    with pytest.raises(_Resolved) as got:
        main(argv)
    return got.value.cfg


def help_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> set[str]:
    assert main([*argv, "--help"]) == 0
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", capsys.readouterr().out))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """``M`` for a field of type ``M`` or ``M | None`` (a section); None for a value."""
    import types
    import typing

    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    for candidate in (annotation, *(typing.get_args(annotation) if union else ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def leaf_paths(cls: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Dotted paths of every value of ``cls`` (written here again, not taken from cli_gen)."""
    out = []
    for name, field in cls.model_fields.items():
        sub = _model_in(field.annotation)
        out += leaf_paths(sub, (*prefix, name)) if sub else [(*prefix, name)]
    return out


def dashed(*parts: str) -> str:
    return "--" + "-".join(parts).replace("_", "-")


# --------------------------------------------------------------------------- help lists every field


def test_train_help_lists_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    from crossling.models.config import ModelConfig
    from crossling.train.config import TrainConfig, TrainJobConfig

    shown = help_options(["train"], capsys)
    expected = {dashed(n) for n in TrainConfig.model_fields}
    expected |= {dashed(n) for n in ModelConfig.model_fields}
    expected |= {dashed(n) for n, f in TrainJobConfig.model_fields.items()
                 if _model_in(f.annotation) is None}
    assert expected - shown == set()
    assert {"--no-packing", "--no-progress", "--data", "--out", "--model"} <= shown


@pytest.mark.parametrize(("argv", "module", "cls"), [
    (["eval"], "crossling.evaluate.config", "EvalConfig"),
    (["steer", "sweep"], "crossling.steer.config", "SweepConfig"),
    (["steer", "vectors"], "crossling.steer.config", "VectorsConfig"),
    (["behaviour", "transfer"], "crossling.behaviour.config", "BehaviourConfig"),
    (["data", "build"], "crossling.data.config", "DataConfig"),
    (["run"], "crossling.runner.config", "ExperimentConfig"),
])
def test_help_lists_every_leaf(argv: list[str], module: str, cls: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """Each leaf appears as the tail of its dotted path: --name, --parent-name, ..."""
    import importlib

    config = getattr(importlib.import_module(module), cls)
    shown = help_options(argv, capsys)
    missing = [".".join(p) for p in leaf_paths(config)
               if not any(dashed(*p[-k:]) in shown for k in range(1, len(p) + 1))]
    assert missing == []


def test_eval_names_by_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    shown = help_options(["eval"], capsys)
    # judge keeps its prefix; device is in model and judge; seed at the top and in generation
    assert {"--judge-model", "--judge-backend", "--judge-device", "--model-device", "--seed",
            "--generation-seed", "--max-new-tokens", "--generation-batch-size"} <= shown
    assert "--device" not in shown and "--backend" in shown


# --------------------------------------------------------------------------- older names keep working

#: Every option each command took before its options were generated.
LEGACY = {
    ("train",): "--data --lang --model --out --seed --max-steps --epochs --lr --batch-size "
                "--grad-accum --warmup-steps --lora-r --save-every --device --threads --resume "
                "--progress --no-progress --report-to --set",
    ("data", "build"): "--task --source --train-langs --eval-langs --eval-size --train-size "
                       "--responses --seed --out --set",
    ("eval",): "--model --adapters --data --langs --scorers --out --limit --max-new-tokens "
               "--batch-size --sample --greedy --temperature --top-p --seed --backend --no-base "
               "--judge-model --judge-base-url --judge-api-key-env --judge-backend --report-to "
               "--set",
    ("score",): "--scorers --out --judge-model --judge-base-url --judge-api-key-env "
                "--judge-backend --model",
    ("steer", "vectors"): "--model --langs --data --out --builder --position --max-prompts "
                          "--min-prompts --batch-size --set",
    ("steer", "sweep"): "--model --adapter --data --eval-lang --toward --layers --strengths "
                        "--search-negative --positive-only --allow-overlap --no-overlap "
                        "--vectors --vector-data --task --normalize --raw --positions "
                        "--max-eval --max-new-tokens --batch-size --min-fidelity --max-kl "
                        "--kl-prompts --max-over-refusal --seed --out --set",
    ("behaviour", "vectors"): "--model --adapter --data --out --langs --max-prompts --seed",
    ("behaviour", "transfer"): "--model --adapter --data --out --langs --layers --strengths "
                               "--max-eval --seed",
    ("behaviour", "ablate"): "--model --adapter --data --out --langs --max-eval --direction "
                             "--seed",
    ("run",): "--out --force --shard --report-to --set",
}


def _click_command(path: tuple[str, ...]) -> Any:
    import typer.main

    from crossling.cli import app

    cmd: Any = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize("path", list(LEGACY))
def test_every_older_option_name_still_exists(path: tuple[str, ...]) -> None:
    cmd = _click_command(path)
    names = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
    assert set(LEGACY[path].split()) - names == set()


def _alias_tables() -> list[tuple[ConfigOptions, dict[str, str]]]:
    from crossling.behaviour import cli as behaviour
    from crossling.evaluate import cli as evaluate
    from crossling.steer import cli as steer
    from crossling.train import cli as train

    return [(train.OPTIONS, train.ALIASES), (evaluate.EVAL_OPTIONS, evaluate.EVAL_ALIASES),
            (evaluate.SCORE_OPTIONS, evaluate.SCORE_ALIASES),
            (steer.VECTORS_OPTIONS, steer.VECTORS_ALIASES),
            (steer.SWEEP_OPTIONS, steer.SWEEP_ALIASES), (behaviour.OPTIONS, behaviour.ALIASES)]


def test_every_alias_names_a_field_of_its_config() -> None:
    for options, aliases in _alias_tables():
        keys = {leaf.key for leaf in flatten(options.cls)[0]}
        assert set(aliases.values()) - keys == set(), options.cls.__name__


def test_a_stale_alias_fails_at_definition() -> None:
    from crossling.train.config import TrainJobConfig

    with pytest.raises(ValueError, match=r"--lr → 'train.lrr'.*Did you mean 'train.lr'"):
        ConfigOptions(TrainJobConfig, aliases={"--lr": "train.lrr"})
    with pytest.raises(ValueError, match="ON/OFF names are for bool fields only"):
        ConfigOptions(TrainJobConfig, aliases={"/--no-lr": "train.lr"})
    with pytest.raises(ValueError, match="--lang used twice"):
        ConfigOptions(TrainJobConfig, aliases={"--lang": "model.name"})


def _job(tmp_path: Path) -> list[str]:
    return ["train", "--data", str(tmp_path), "--lang", "de", "--out", str(tmp_path / "o")]


@pytest.mark.parametrize(("alias", "canonical"), [
    (["--data", "d", "--out", "o", "--model", "x/y"],
     ["--data-dir", "d", "--out-dir", "o", "--name", "x/y"]),
])
def test_train_alias_and_canonical_give_the_same_config(
        alias: list[str], canonical: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    a = config_of(["train", "--lang", "de", *alias], monkeypatch)
    b = config_of(["train", "--lang", "de", *canonical], monkeypatch)
    assert a == b and a.model.name == "x/y" and a.out_dir == Path("o")


@pytest.mark.parametrize(("alias", "canonical"), [
    (["--sample"], ["--do-sample"]),
    (["--sample", "--greedy"], ["--do-sample", "--no-do-sample"]),
    (["--batch-size", "4"], ["--generation-batch-size", "4"]),
    (["--no-base"], ["--no-include-base"]),
    (["--model", "x/y"], ["--name", "x/y"]),
])
def test_eval_alias_and_canonical_give_the_same_config(
        alias: list[str], canonical: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["eval", "--data", "d", "--out", "o"]
    a = config_of([*base, *alias], monkeypatch)
    assert a == config_of([*base, *canonical], monkeypatch)
    if alias != ["--sample", "--greedy"]:
        assert a != config_of(base, monkeypatch)  # the flag did something


@pytest.mark.parametrize(("alias", "canonical"), [
    (["--eval-lang", "de,ru"], ["--eval-langs", "de,ru"]),
    (["--search-negative", "--positive-only"], ["--no-search-negative"]),
    (["--normalize", "--raw"], ["--no-normalize"]),
    (["--allow-overlap", "--no-overlap"], ["--no-allow-overlap"]),
])
def test_sweep_alias_and_canonical_give_the_same_config(
        alias: list[str], canonical: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["steer", "sweep", "--data", "d", "--out", "o", "--toward", "en"]
    assert config_of([*base, *alias], monkeypatch) == config_of([*base, *canonical], monkeypatch)


def test_sweep_adapter_lang_dir_and_layer_syntax(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config_of(["steer", "sweep", "--data", "d", "--out", "o", "--adapter", "ru=runs/ru",
                     "--layers", "2:8:2", "--strengths", "0,1.5"], monkeypatch)
    assert (cfg.adapter, cfg.adapter_lang) == ("runs/ru", "ru")
    assert cfg.layers == [2, 4, 6] and cfg.strengths == [0.0, 1.5]


# --------------------------------------------------------------------------- values and their order


def test_flag_overrides_yaml_and_set_overrides_flag(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cfg_file = tmp_path / "job.yaml"
    cfg_file.write_text("train: {lr: 0.1, packing: false}\n"
                        "model: {name: a/b, device: cpu, threads: 2}\n", encoding="utf-8")
    argv = ["train", str(cfg_file), *_job(tmp_path)[1:]]
    cfg = config_of(argv, monkeypatch)
    assert (cfg.train.lr, cfg.train.packing, cfg.model.threads) == (0.1, False, 2)
    cfg = config_of([*argv, "--lr", "0.2", "--model", "c/d"], monkeypatch)
    assert cfg.train.lr == 0.2 and cfg.train.packing is False  # a flag not given keeps YAML
    assert (cfg.model.name, cfg.model.device) == ("c/d", "cpu")  # a section merges key by key
    cfg = config_of([*argv, "--lr", "0.2", "--set", "train.lr=0.3"], monkeypatch)
    assert cfg.train.lr == 0.3
    cfg = config_of([*argv, "--threads", "null", "--packing"], monkeypatch)
    assert cfg.model.threads is None and cfg.train.packing is True


def test_bool_list_null_and_yaml_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config_of([*_job(tmp_path), "--no-packing", "--target-modules", "q_proj,v_proj",
                     "--adam-betas", "0.8,0.9", "--report-to", "tensorboard,mlflow",
                     "--epochs", "2"], monkeypatch)
    assert cfg.train.packing is False and cfg.train.target_modules == ["q_proj", "v_proj"]
    assert cfg.train.adam_betas == (0.8, 0.9) and cfg.report_to == ["tensorboard", "mlflow"]
    assert cfg.train.epochs == 2 and cfg.train.max_steps is None  # --epochs drops max_steps
    data = config_of(["data", "build", "--out", str(tmp_path / "d"), "--eval-langs", "en,de",
                      "--alpaca-repos", "{en: my/alpaca}", "--columns-lang", "language"],
                     monkeypatch)
    assert data.eval_langs == ["en", "de"] and data.alpaca_repos == {"en": "my/alpaca"}
    assert data.columns.lang == "language"


@pytest.mark.parametrize(("argv", "needle"), [
    (["--lr", "0"], "field 'train.lr'"),
    (["--target-modules", ""], None),  # an empty list is allowed by the config
    (["--report-to", "tensorbord"], "field 'report_to"),
])
def test_a_bad_value_is_one_line_and_exit_2(argv: list[str], needle: str | None, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if needle is None:
        config_of([*_job(tmp_path), *argv], monkeypatch)
        return
    assert main([*_job(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_value_of_the_wrong_type_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--dtype", "float8"]) == 2
    err = capsys.readouterr().err
    assert "Invalid value for '--dtype': 'float8' is not one of auto" in err
    assert "Traceback" not in err
    assert main(["eval", "--threads", "two"]) == 2
    assert "'two' is not a whole number" in capsys.readouterr().err


def test_help_shows_descriptions_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steer", "sweep", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "[default: 48]" in text  # SweepConfig's own default of generation.max_new_tokens
    assert "--layers <4:24:2|4,8,12>" in text
    assert "--positions <prompt|generated|all>" in text and "[required]" in text


def test_the_command_line_does_not_import_torch() -> None:
    code = ("import sys, crossling.cli; "
            "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- the naming rule


class _Inner(BaseModel):
    device: str = "auto"
    model: str = Field("m", description="A leaf named like a section.")
    seed: int = 0


class _Other(BaseModel):
    device: str = "cpu"
    only_here: int = 1


class _Root(BaseModel):
    seed: int = Field(0, description="Top-level seed.")
    model: _Other = Field(default_factory=_Other)
    judge: _Inner = Field(default_factory=_Inner)
    mode: Literal["a", "b"] = "a"


def test_option_names_follow_one_rule() -> None:
    names = option_names(*flatten(_Root))
    assert names[("seed",)] == "--seed"  # top level keeps its name
    assert names[("judge", "seed")] == "--judge-seed"  # shares 'seed' with the top
    assert names[("judge", "device")] == "--judge-device"
    assert names[("model", "device")] == "--model-device"
    assert names[("judge", "model")] == "--judge-model"  # 'model' is also a section
    assert names[("model", "only_here")] == "--only-here"  # unique: bare
    assert option_names(*flatten(_Root), prefixed={"model"})[("model", "only_here")] == \
        "--model-only-here"


def test_two_leaves_with_one_option_name_are_refused() -> None:
    class Clash(BaseModel):
        a_b: int = 0
        b: int = 0  # so a.b needs its parent: --a-b, which a_b already is
        a: _Flat = Field(default_factory=lambda: _Flat())

    with pytest.raises(ValueError, match="both --a-b"):
        option_names(*flatten(Clash))


class _Flat(BaseModel):
    b: int = 0
    c: int = 0


@pytest.mark.parametrize(("annotation", "kind", "nullable", "metavar"), [
    (int, "int", False, "<int>"),
    (float | None, "float", True, "<float|null>"),
    (bool, "flag", False, None),
    (Literal["x", "y"], "choice", False, "<x|y>"),
    (list[int], "list", False, "<int,...>"),
    (list[str] | None, "list", True, "<str,...|null>"),
    (tuple[float, float], "list", False, "<float,...>"),
    (int | Literal["auto"], "text", False, "<int|auto>"),
    (dict[str, str], "yaml", False, "<yaml>"),
    (dict[str, list[str]] | None, "yaml", True, "<yaml>"),
])
def test_value_types(annotation: Any, kind: str, nullable: bool, metavar: str | None) -> None:
    vt = value_type(annotation)
    assert (vt.kind, vt.nullable) == (kind, nullable)
    if metavar is not None:
        assert vt.metavar == metavar
