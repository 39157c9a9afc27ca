"""Every shipped config validates without running; config errors are one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossling.config_loader import load_config
from crossling.errors import CrosslingError
from crossling.runner.config import ExperimentConfig

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_expected_configs_ship() -> None:
    assert {p.name for p in CONFIGS} >= {"demo.yaml", "seed_replication.yaml", "refusal.yaml"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_config_validates(path: Path) -> None:
    cfg = load_config(ExperimentConfig, path)
    assert cfg.tasks
    for task, d in cfg.tasks.items():
        assert d.task == task
        assert cfg.scorers_for(task)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_yaml_knob_is_commented(path: Path) -> None:
    assert path.read_text().lstrip().startswith("#"), "a config opens with what it is for"
    bare = [line for line in path.read_text().splitlines()
            if line.split("#")[0].strip() and not line.split("#")[0].strip().endswith(":")
            and "#" not in line and not line.startswith("name:")]
    assert not bare, f"knobs without a comment in {path.name}: {bare}"


def test_seed_replication_matches_the_original_study() -> None:
    cfg = load_config(ExperimentConfig, CONFIGS[[p.name for p in CONFIGS].index(
        "seed_replication.yaml")])
    t = cfg.train
    assert (t.lora_r, t.lora_alpha, t.lr, t.warmup_steps, t.max_steps) == (16, 16, 2e-4, 50, 1000)
    assert (t.batch_size, t.grad_accum, t.weight_decay, t.scheduler) == (2, 8, 0.01, "cosine")
    assert set(t.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                     "up_proj", "down_proj"}
    assert cfg.model.name == "Qwen/Qwen2.5-0.5B-Instruct"
    assert cfg.tasks["caps"].source == "alpaca"
    assert cfg.tasks["caps"].train_langs == ["en", "de", "ru"]
    assert cfg.tasks["caps"].eval_size == 100
    assert cfg.eval.generation.max_new_tokens == 100


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("tasks: {caps: {}}\nstear: {}\n", "unknown key 'stear'. Did you mean 'steer'?"),
        ("tasks: {caps: {}}\nmodel: {nme: x}\n", "unknown key 'model.nme'"),
        ("tasks: {caps: {eval_size: many}}\n", "field 'tasks.caps.eval_size'"),
        ("tasks: {caps: {train_langs: [en, xx]}}\n", "unknown language code 'xx'"),
        ("tasks: {capz: {}}\n", "unknown task 'capz'. Did you mean 'caps'?"),
        ("tasks: {caps: {}}\neval: {scorers: {caps: [caps_pc]}}\n", "Did you mean 'caps_pct'"),
        ("tasks: {caps: {eval_langs: [en]}}\nsteer: {eval_langs: [de]}\n",
         "steer.eval_langs ['de'] have no eval data"),
        ("tasks: [caps]\n", "field 'tasks'"),
        ("tasks: {caps: {eval_langs: [en, ja]}}\n",
         "field 'tasks.caps': eval_langs ['ja']: the built-in corpus has no data"),
    ],
)
def test_config_errors_are_one_line(tmp_path: Path, yaml_text: str, expected: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(yaml_text)
    with pytest.raises(CrosslingError) as err:
        load_config(ExperimentConfig, p)
    msg = str(err.value)
    assert expected in msg and "\n" not in msg


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("tasks: {caps: [\n")
    with pytest.raises(CrosslingError, match="not valid YAML at line"):
        load_config(ExperimentConfig, p)
