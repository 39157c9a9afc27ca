"""Several models in one study (``models:``): validation, the comparison against a hand
computation on the score files, a study of two tiny models with one broken, and resuming
after a model is added."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from crossling.analysis.models import GAP, OFF_DIAGONAL_MEAN, compare_models
from crossling.analysis.results import StudyAnalysis
from crossling.cli import main
from crossling.config_loader import dump_config, load_config, validate_config
from crossling.errors import CrosslingError
from crossling.io import atomic_write_json, atomic_write_jsonl, atomic_write_text, read_jsonl
from crossling.paths import RunDir
from crossling.runner.analyze import run_analyze
from crossling.runner.config import ExperimentConfig, default_label
from crossling.runner.report import write_report
from test_runner import tiny_config

LANGS = ["en", "de", "fr"]
TRAIN = ["en", "de"]
N = 8  # prompts per cell: enough for a finite sign-flip interval


# --------------------------------------------------------------------------- config
def test_items_labels_and_the_single_model_studies() -> None:
    cfg = validate_config(ExperimentConfig, {
        "tasks": {"caps": {}},
        "models": ["smollm2-135m", {"name": "Qwen/Qwen2.5-0.5B-Instruct", "threads": 2},
                   {"name": "/x/SmolLM2-135M-Instruct.Q4_1.gguf"},
                   {"name": "./ckpt/", "label": "mine"}]})
    studies = cfg.model_studies()
    assert list(studies) == ["smollm2-135m", "Qwen2.5-0.5B-Instruct",
                             "SmolLM2-135M-Instruct.Q4_1", "mine"]
    sub = studies["Qwen2.5-0.5B-Instruct"]
    assert sub.models is None and sub.model.name == "Qwen/Qwen2.5-0.5B-Instruct"
    assert sub.model.threads == 2 and sub.tasks == cfg.tasks
    assert default_label("~/a b/") == "a-b"


@pytest.mark.parametrize(("models", "extra", "message"), [
    (["smollm2-135m", "smollm2-135m"], "", "items 1 and 2 are both labelled 'smollm2-135m'"),
    (["smollm2-135m", {"name": "/m/smollm2-135m"}], "", "both labelled 'smollm2-135m'"),
    (["smollm2-135m"], "model: {name: other}\n", "set either model: or models:, not both"),
    ([], "", "models is empty"),
    ([{"name": "x", "label": "a/b"}], "", "field 'models.0.label'"),
])
def test_validation_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               models: list[Any], extra: str,
                                               message: str) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"tasks": {"caps": {}}, "models": models}) + extra)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crossling: error: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------------------------------- canned scores
def _level(model: str, adapter: str, lang: str) -> float:
    base = {"base": 5.0, "en": 40.0, "de": 30.0}[adapter]
    home = 45.0 if adapter == lang else 0.0
    return base + home + (10.0 if model == "a" and adapter != "base" else 0.0)


def canned_scores(model: str) -> list[dict[str, Any]]:
    """caps_pct of the control and two adapters in three languages, N parallel ids, with
    per-prompt noise that differs by model (so the paired differences vary)."""
    rng = np.random.default_rng(0 if model == "a" else 1)
    rows = []
    for adapter in ("base", *TRAIN):
        for lang in LANGS:
            for i in range(N):
                v = float(np.clip(_level(model, adapter, lang) + rng.normal(0, 8), 0, 100))
                rows.append({"adapter": adapter, "lang": lang, "kind": "task", "id": f"i{i}",
                             "steer": "none", "scorer": "caps_pct", "value": round(v, 3)})
    return rows


def _mean(rows: list[dict[str, Any]], adapter: str, lang: str) -> float:
    return float(np.mean([r["value"] for r in rows if r["adapter"] == adapter
                          and r["lang"] == lang]))


def _hand(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The model's contrasts computed directly from its score rows (cell means)."""
    e = {(t, lang): _mean(rows, t, lang) - _mean(rows, "base", lang)
         for t in TRAIN for lang in LANGS}
    diag = [e[(t, t)] for t in TRAIN]
    off = [e[(t, lang)] for t in TRAIN for lang in LANGS if lang != t]
    out = {f"diagonal {t}": e[(t, t)] for t in TRAIN}
    out |= {"into fr": (e[("en", "fr")] + e[("de", "fr")]) / 2, "into en": e[("de", "en")],
            OFF_DIAGONAL_MEAN: float(np.mean(off)), GAP: float(np.mean(diag) - np.mean(off))}
    return out


def test_the_comparison_equals_a_hand_computation() -> None:
    rows = {"a": canned_scores("a"), "b": canned_scores("b")}
    c = compare_models(rows, "caps_pct", "task", TRAIN, LANGS, n_boot=200, bounds=(0.0, 100.0))
    hand = {m: _hand(r) for m, r in rows.items()}
    for m, e in c.models.items():
        for lang in TRAIN:
            assert e.diagonal[lang].mean == pytest.approx(hand[m][f"diagonal {lang}"])
        assert e.into["fr"].mean == pytest.approx(hand[m]["into fr"])
        assert e.into["en"].mean == pytest.approx(hand[m]["into en"])
        assert e.off_diagonal_mean is not None and e.gap is not None
        assert e.off_diagonal_mean.mean == pytest.approx(hand[m][OFF_DIAGONAL_MEAN])
        assert e.gap.mean == pytest.approx(hand[m][GAP])
        assert e.gap.n == N and e.gap.ci_low < e.gap.mean < e.gap.ci_high
        assert e.gap_p_holm is not None and e.gap.p is not None and e.gap_p_holm >= e.gap.p
    diffs = {d.what: d for d in c.differences}
    assert set(diffs) == {"diagonal en", "diagonal de", "diagonal mean", OFF_DIAGONAL_MEAN, GAP}
    for what, d in diffs.items():
        assert (d.a, d.b) == ("a", "b")
        if what in hand["a"]:
            assert d.diff.mean == pytest.approx(hand["a"][what] - hand["b"][what])
        assert d.diff.method.startswith("paired sign-flip")
    # a's adapters are 10 points higher everywhere: its effects differ, its gap does not
    assert diffs["diagonal en"].diff.mean == pytest.approx(10.0, abs=8)
    assert "Holm over 7 tests" in c.holm_family


def test_the_calibration_benchmark_runs_the_contrasts() -> None:
    """benchmarks/calibration.py simulates the contrasts compared here (fast run; the full
    one is `python benchmarks/calibration.py --tests contrast4 contrast6`)."""
    from conftest import load_benchmark

    cal = load_benchmark("calibration")
    for test in ("contrast4", "contrast6"):
        fpr, cov = cal.simulate(test, cal.Scenario("mid", "mean", 0.5), n=12, seeds=1,
                                sims=200, seed=0)
        assert fpr is not None and fpr <= 0.1 and cov >= 0.88, test
        fpr, cov = cal.simulate(test, cal.Scenario("low+eff", "mean", 0.04, effect=0.3),
                                n=12, seeds=1, sims=200, seed=1)
        assert fpr is None and cov >= 0.88, test


def canned_model_run(run: RunDir, cfg: ExperimentConfig, model: str) -> None:
    """A model's finished study folder: config, scores, generations, its analysis."""
    atomic_write_text(run.config, dump_config(cfg))
    atomic_write_json(run.run_info, {"crossling": "0.1.0", "versions": {}})
    scores = canned_scores(model)
    atomic_write_jsonl(run.eval("caps").scores, scores)
    atomic_write_jsonl(run.eval("caps").generations, [
        {k: r[k] for k in ("adapter", "lang", "kind", "id", "steer")}
        | {"prompt": f"prompt {r['lang']}", "response": "ANSWER"} for r in scores])
    run_analyze(cfg, run)
    write_report(run)


@pytest.fixture
def canned_models(tmp_path: Path) -> tuple[ExperimentConfig, RunDir]:
    cfg = validate_config(ExperimentConfig, {
        "name": "canned models", "eval": {"n_boot": 200},
        "tasks": {"caps": {"train_langs": TRAIN, "eval_langs": LANGS, "eval_size": N}},
        "models": [{"name": "/m/a", "label": "a"}, {"name": "/m/b", "label": "b"},
                   {"name": "/m/c", "label": "c"}]})
    run = RunDir(tmp_path / "run")
    atomic_write_text(run.config, dump_config(cfg))
    studies = cfg.model_studies()
    for label in ("a", "b"):
        canned_model_run(run.model_run(label), studies[label], label)
    return cfg, run


def test_analysis_and_report_of_several_models(canned_models: tuple[ExperimentConfig, RunDir]
                                               ) -> None:
    cfg, run = canned_models
    out = run_analyze(cfg, run, failed={"c": "RuntimeError: boom"})
    assert out["tasks"] == {} and set(out["by_model"]) == {"a", "b"}
    assert out["failed"] == {"c": "RuntimeError: boom"}
    a = StudyAnalysis.read(run.analysis)
    comp = a.model_comparison["caps"]
    assert (comp.kind, comp.scorer, comp.rate) == ("task", "caps_pct", False)
    for label in ("a", "b"):
        own = StudyAnalysis.read(run.model_run(label).analysis)
        head = own.headline("caps", "task", "caps_pct")
        assert head is not None and a.by_model[label] == own
        for lang in TRAIN:  # the diagonal is the model's own control-subtracted cell
            assert comp.models[label].diagonal[lang] == head.control_subtracted[lang][lang]
        assert comp.models[label].asymmetry == head.asymmetry
        hand = _hand(read_jsonl(run.model_run(label).eval("caps").scores))
        gap = comp.models[label].gap
        assert gap is not None and gap.mean == pytest.approx(hand[GAP])
    assert (run.root / comp.figure).exists() and (run.root / comp.figure_matrices).exists()

    write_report(run)
    md = run.report_md.read_text()
    for label in ("a", "b"):
        assert f"**{label}** (`/m/{label}`): report [models/{label}/report/report.md]" in md
        assert (run.report_dir / f"../models/{label}/report/report.md").resolve().exists()
    assert "**c** (`/m/c`): **failed**: RuntimeError: boom" in md
    assert "| model | a · en | a · de | a · fr | b · en | b · de | b · fr |" in md
    assert "gap (diagonal − off-diagonal)" in md and "| a − b | gap |" in md
    assert "Holm over 7 tests" in md
    html = run.report_html.read_text()
    assert html.count("data:image/png;base64,") >= 2


def test_report_cli_reanalyzes_every_model(canned_models: tuple[ExperimentConfig, RunDir],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _, run = canned_models
    run.model_run("a").analysis.unlink()  # as if a's run had stopped before its analysis
    assert main(["report", str(run.root)]) == 0
    a = json.loads(run.analysis.read_text())
    assert set(a["by_model"]) == {"b"} and set(a["failed"]) == {"a", "c"}
    assert "not run yet, or its run failed" in a["failed"]["c"]


# --------------------------------------------------------------------------- tiny models
def _study(models: list[Any]) -> dict[str, Any]:
    cfg = tiny_config(Path("unused"), steer=None)
    del cfg["model"]
    cfg["models"] = models
    cfg["tasks"]["caps"].update(train_langs=["en"], eval_langs=["en", "de"], eval_size=3)
    cfg["train"].update(max_steps=2, save_every=1)
    cfg["eval"]["generation"]["max_new_tokens"] = 4
    return cfg


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path,
               smol_tokenizer_dir: Path) -> dict[str, Any]:
    """Two different tiny random models and a broken one (its config.json is not JSON), run
    through the CLI in one study."""
    from conftest import make_tiny_model_dir

    root = tmp_path_factory.mktemp("models")
    other = make_tiny_model_dir(root / "other", smol_tokenizer_dir, seed=1, layers=2,
                                init_range=0.1)  # answers in letters (caps_pct is defined)
    broken = root / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    models = [{"name": str(tiny_model_dir), "label": "first", "threads": 1},
              {"name": str(other), "threads": 1}, {"name": str(broken), "threads": 1}]
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(_study(models)), encoding="utf-8")
    out = root / "run"
    code = main(["run", str(path), "--out", str(out)])
    return {"code": code, "run": RunDir(out), "models": models, "root": root}


def test_two_models_and_a_broken_one(two_models: dict[str, Any]) -> None:
    run: RunDir = two_models["run"]
    assert two_models["code"] == 1  # a model failed: non-zero, after the others finished
    a = json.loads(run.analysis.read_text())
    assert set(a["by_model"]) == {"first", "other"} and a["tasks"] == {}
    assert set(a["failed"]) == {"broken"} and "\n" not in a["failed"]["broken"]
    assert "model broken failed" in run.log.read_text() and "Traceback" in run.log.read_text()
    comp = a["model_comparison"]["caps"]
    assert set(comp["models"]) == {"first", "other"}
    for label in ("first", "other"):
        own = json.loads(run.model_run(label).analysis.read_text())
        assert a["by_model"][label] == own
        delta = own["tasks"]["caps"]["kinds"]["task"]["caps_pct"]["control_subtracted"]
        assert comp["models"][label]["diagonal"] == {"en": delta["en"]["en"]}
        assert comp["models"][label]["into"] == {"de": delta["en"]["de"]}
    # one training language: its diagonal mean is its one cell, not tested twice
    assert [d["what"] for d in comp["differences"]] == ["diagonal en", "off-diagonal mean",
                                                         "gap"]
    md = run.report_md.read_text()
    assert "**first**" in md and "**other**" in md and "**broken**" in md and "**failed**" in md
    for label in ("first", "other"):
        assert run.model_run(label).report_md.exists()


def test_a_model_study_alone_is_unchanged(two_models: dict[str, Any],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A model's folder is a single-model study: run by itself it is up to date, its
    analysis.json has none of the several-models keys, and a config.yaml written before
    ``models`` existed (no such key) still belongs to it."""
    sub = two_models["run"].model_run("first")
    text = sub.config.read_text()
    assert "models: null" in text
    sub.config.write_text(text.replace("models: null\n", ""))
    before = sub.analysis.read_bytes()
    assert not {"by_model", "model_comparison", "failed"} & set(json.loads(before))
    from crossling.runner.pipeline import run_study

    capsys.readouterr()
    run_study(load_config(ExperimentConfig, two_models["root"] / "study.yaml").model_studies()
              ["first"], sub.root)
    err = capsys.readouterr().err
    assert "train caps/en seed 0: up to date" in err and "eval caps: up to date" in err
    assert sub.analysis.read_bytes() == before


@pytest.mark.slow
def test_adding_a_model_reruns_nothing_of_the_others(two_models: dict[str, Any],
                                                     tiny_model_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The broken model left out and a third added, without --force: the first two are up
    to date (no file of theirs rewritten), the third runs; the broken one's folder stays but
    it leaves the analysis."""
    out = tmp_path / "run"
    shutil.copytree(two_models["run"].root, out)  # copy2: modification times kept
    run = RunDir(out)
    files = {p: p.stat().st_mtime_ns for label in ("first", "other")
             for p in run.model_run(label).root.rglob("*") if p.is_file()
             and "report" not in p.parts and p.name not in ("analysis.json", "run.json",
                                                            "config.yaml")}
    stamps = {label: sorted(p.read_text() for p in (run.model_run(label).root / "stages")
                            .glob("*.json")) for label in ("first", "other")}
    first, other, _broken = two_models["models"]
    third = {"name": str(tiny_model_dir), "label": "third", "threads": 1}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(_study([first, other, third])), encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("eval caps: up to date") == 2
    assert {p: p.stat().st_mtime_ns for p in files} == files
    assert {label: sorted(p.read_text() for p in (run.model_run(label).root / "stages")
                          .glob("*.json")) for label in ("first", "other")} == stamps
    a = json.loads(run.analysis.read_text())
    assert set(a["by_model"]) == {"first", "other", "third"} and a["failed"] == {}
    assert run.model_run("broken").config.exists()  # left out, not deleted
    # a changed shared setting is refused at once, before any model runs
    raw = _study([first, other, third])
    raw["train"]["max_steps"] = 3
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert "made by a different config (differs in: train)" in capsys.readouterr().err


def test_a_study_of_several_models_is_not_a_single_model_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single = validate_config(ExperimentConfig, {"tasks": {"caps": {}}})
    out = tmp_path / "run"
    atomic_write_text(RunDir(out).config, dump_config(single))
    several = validate_config(ExperimentConfig, {"tasks": {"caps": {}},
                                                 "models": ["smollm2-135m"]})
    from crossling.runner.pipeline import run_models

    with pytest.raises(CrosslingError, match=r"differs in: models"):
        run_models(several, out)
