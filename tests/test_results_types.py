"""Typed result files: every model round-trips the file the code writes, an old or damaged
file is refused in one line that says how to rebuild it, and the report renders from them.

The files come from the writers themselves (a tiny study with a steering sweep and the
behaviour stage, and a canned two-seed analysis), never from dicts written to mirror the
models: a key a writer adds that its model does not declare fails here.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crossling.analysis.results import StudyAnalysis
from crossling.behaviour.results import AblationFile, GeometryFile, SelectionFile, TransferFile
from crossling.cli import main
from crossling.config_loader import dump_config, validate_config
from crossling.errors import CrosslingError
from crossling.evaluate.results import EvalSummary
from crossling.io import atomic_write_json, atomic_write_jsonl, atomic_write_text, read_json
from crossling.paths import RunDir
from crossling.results import ResultModel
from crossling.runner.analyze import run_analyze
from crossling.runner.config import ExperimentConfig
from crossling.runner.pipeline import run_study
from crossling.runner.report import write_report
from crossling.steer.results import SweepBest, SweepCell
from test_runner import tiny_config

# file → (where it lies in a run folder, its model, a required key path to delete)
FILES: dict[str, tuple[Callable[[RunDir], Path], Any, tuple[Any, ...]]] = {
    "best.json": (lambda r: r.sweep("caps").best, SweepBest, ("confirmation", "de", "delta")),
    "summary.json": (lambda r: r.eval("caps").summary_json, EvalSummary, (0, "n_empty")),
    "selection.json": (lambda r: r.behaviour("caps").selection, SelectionFile,
                       ("adapters", "en", "pick", "per_lang")),
    "transfer.json": (lambda r: r.behaviour("caps").transfer, TransferFile,
                      ("entries", 0, "control_delta")),
    "ablation.json": (lambda r: r.behaviour("caps").ablation, AblationFile,
                      ("entries", 0, "ablated_mean")),
    "geometry.json": (lambda r: r.behaviour("caps").geometry, GeometryFile,
                      ("table", 0, "peak_cos")),
    "analysis.json": (lambda r: r.analysis, StudyAnalysis,
                      ("tasks", "caps", "kinds", "task", "caps_pct", "matrix", "base", "en",
                       "method")),
}


@pytest.fixture(scope="module")
def study(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    """A tiny study with every result file: eval, steering sweep, behaviour stage."""
    cfg = validate_config(ExperimentConfig, tiny_config(
        tiny_model_dir,
        behaviour={"enabled": True, "langs": ["en", "de"], "layers": [1], "strengths": [2.0],
                   "max_eval": 4, "max_new_tokens": 4, "max_prompts": 8, "kl_prompts": 3,
                   "min_fidelity": 0.0, "min_coherence": 0.0, "max_kl": 1e6,
                   "ablation_layers": [1], "n_boot": 200}))
    return run_study(cfg, tmp_path_factory.mktemp("typed") / "run")


def _delete(data: Any, keys: tuple[Any, ...]) -> None:
    for k in keys[:-1]:
        data = data[k]
    del data[keys[-1]]


@pytest.mark.parametrize("name", list(FILES))
def test_each_result_file_round_trips(study: RunDir, name: str) -> None:
    """Read back and dumped again, the file is the same JSON: every key the writer writes is
    declared, none is added (a null stays null, an absent key stays absent)."""
    where, model, _ = FILES[name]
    path = where(study)
    typed = model.read(path)
    assert typed.to_json() == read_json(path)


@pytest.mark.parametrize("name", list(FILES))
def test_a_missing_required_field_is_refused_in_one_line(study: RunDir, tmp_path: Path,
                                                         name: str) -> None:
    where, model, keys = FILES[name]
    data = read_json(where(study))
    _delete(data, keys)
    path = tmp_path / name
    atomic_write_json(path, data)
    with pytest.raises(CrosslingError) as err:
        model.read(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    assert str(keys[-1]) in msg and "field required" in msg
    assert "rerun" in msg  # says how to rebuild it


def test_an_unknown_key_is_refused_not_dropped(study: RunDir, tmp_path: Path) -> None:
    """extra='forbid': a key from another crossling version is not silently ignored."""
    data = read_json(study.sweep("caps").best)
    data["confirmation"]["de"]["new_statistic"] = 1.0
    path = tmp_path / "best.json"
    atomic_write_json(path, data)
    with pytest.raises(CrosslingError, match=r"confirmation\.de\.new_statistic: extra"):
        SweepBest.read(path)
    atomic_write_text(path, "{not json")
    with pytest.raises(CrosslingError, match="is not valid JSON"):
        SweepBest.read(path)


def test_sweep_cells_keep_their_metric_columns_typed(study: RunDir) -> None:
    """The one open set of keys: a sweep cell's metric columns, named by the scorers."""
    best = SweepBest.read(study.sweep("caps").best)
    row = best.per_lang["de"].baseline
    assert row is not None and row.layer is None
    raw = read_json(study.sweep("caps").best)["per_lang"]["de"]["baseline"]
    assert row.value("caps_pct") == raw["caps_pct"] and row.value("kl") == raw["kl"]
    assert row.value("not_a_metric") is None
    with pytest.raises(ValueError, match="caps_pct"):
        SweepCell.model_validate({**raw, "caps_pct": "high"})


def test_report_renders_and_refuses_an_old_file_in_one_line(
        study: RunDir, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_report(study)
    md = study.report_md.read_text()
    assert "Confirmation prompts" in md and "Where the behaviour lives" in md
    assert "Selection prompts" in md and "Directional ablation" in md
    old = RunDir(tmp_path / "old")
    shutil.copytree(study.root, old.root)
    data = read_json(old.sweep("caps").best)
    del data["confirmation"]  # a best.json from before the confirmation half existed
    atomic_write_json(old.sweep("caps").best, data)
    capsys.readouterr()
    assert main(["report", str(old.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "best.json" in err and "confirmation" in err
    assert "Traceback" not in err and "crossling run CONFIG --out RUN" in err


def test_two_seed_analysis_round_trips(tmp_path: Path) -> None:
    """Two seeds: control-subtracted cells carry ``p: null`` and ``runs``, plain cells have
    neither key; both survive a round trip unchanged."""
    cfg = validate_config(ExperimentConfig, {
        "name": "two", "seeds": [0, 1],
        "tasks": {"caps": {"train_langs": ["en", "ru"], "eval_langs": ["en", "ru"],
                           "eval_size": 5}},
        "eval": {"n_boot": 200}})
    run = RunDir(tmp_path / "run")
    atomic_write_text(run.config, dump_config(cfg))
    gens, scores = [], []
    for adapter in ("base", "en-s0", "en-s1", "ru-s0", "ru-s1"):
        for lang in ("en", "ru"):
            for i in range(5):
                key = {"adapter": adapter, "lang": lang, "kind": "task", "id": f"i{i}",
                       "steer": "none"}
                gens.append({**key, "prompt": f"p {i}", "response": f"Answer {i}."})
                scores.append({**key, "scorer": "caps_pct", "value": float(10 * i + len(adapter))})
    atomic_write_jsonl(run.eval("caps").generations, gens)
    atomic_write_jsonl(run.eval("caps").scores, scores)
    written = run_analyze(cfg, run)
    assert written == read_json(run.analysis)
    res = written["tasks"]["caps"]["kinds"]["task"]["caps_pct"]
    delta = res["control_subtracted"]["en"]["ru"]
    assert delta["p"] is None and len(delta["runs"]) == 2
    assert "p" not in res["matrix"]["base"]["en"] and "runs" not in res["matrix"]["base"]["en"]
    typed = StudyAnalysis.read(run.analysis)
    assert typed.to_json() == written
    assert typed.tasks["caps"].kinds["task"]["caps_pct"].control_subtracted["en"]["ru"].runs


def test_every_result_model_forbids_unknown_keys() -> None:
    """One policy everywhere (crossling.results): only the metric columns of a sweep row and
    of the overall pick are open, and they are typed as numbers."""
    import crossling.analysis.results as a
    import crossling.behaviour.results as b
    import crossling.evaluate.results as e
    import crossling.steer.results as s

    open_rows = {"SweepCell", "OverallPick"}
    for mod in (a, b, e, s):
        for name, obj in vars(mod).items():
            if isinstance(obj, type) and issubclass(obj, ResultModel) and obj.__module__ == \
                    mod.__name__:
                expect = "allow" if name in open_rows else "forbid"
                assert obj.model_config.get("extra") == expect, name
                assert obj.__doc__, f"{name} has no docstring"
