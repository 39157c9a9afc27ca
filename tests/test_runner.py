"""The study runner on a tiny random model: end to end, skip on rerun, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from crossling.cli import main
from crossling.config_loader import validate_config
from crossling.errors import CrosslingError
from crossling.io import read_jsonl
from crossling.paths import RunDir
from crossling.runner.config import ExperimentConfig
from crossling.runner.pipeline import parse_shard, run_study, train_jobs


def tiny_config(model_dir: Path, device: str = "auto", **over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "name": "tiny",
        "seed": 0,
        "seeds": [0],
        "model": {"name": str(model_dir), "threads": 1, "device": device},
        "tasks": {"caps": {"train_langs": ["en", "de"], "eval_langs": ["en", "de", "ru"],
                           "eval_size": 4, "train_size": 12}},
        "train": {"max_steps": 6, "warmup_steps": 1, "batch_size": 2, "grad_accum": 1,
                  "save_every": 2, "lr": 1e-3, "max_length": 96, "progress": False},
        "eval": {"generation": {"max_new_tokens": 6, "batch_size": 4}, "n_boot": 200},
        "steer": {"adapter": "en", "eval_langs": ["de"], "toward": "en", "layers": [0, 2],
                  "strengths": [0.0, 2.0], "max_eval": 3, "max_new_tokens": 5,
                  "kl_prompts": 3, "min_fidelity": 0.0, "max_kl": 100.0},
        "report": {"examples_per_lang": 1},
    }
    cfg.update(over)
    return cfg


def _scores(run: RunDir) -> list[tuple]:
    rows = read_jsonl(run.eval("caps").scores)
    return sorted((r["adapter"], r["lang"], r["id"], r["scorer"], r["value"]) for r in rows)


def test_shard_parsing_and_job_slices(tiny_model_dir: Path) -> None:
    cfg = validate_config(ExperimentConfig, tiny_config(tiny_model_dir, seeds=[0, 1]))
    jobs = train_jobs(cfg)
    assert len(jobs) == 4
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "x"):
        with pytest.raises(CrosslingError):
            parse_shard(bad)


def test_study_end_to_end_then_rerun_skips(tiny_model_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cfg = validate_config(ExperimentConfig, tiny_config(tiny_model_dir))
    run = run_study(cfg, tmp_path / "run")
    for path in (run.config, run.run_info, run.analysis, run.report_md, run.report_html,
                 run.train("caps", "en", 0).adapter / "adapter_model.safetensors",
                 run.train("caps", "de", 0).train_log, run.eval("caps").summary_json,
                 run.sweep("caps").best, run.sweep("caps").sweep_csv):
        assert path.exists(), path
    info = json.loads(run.run_info.read_text())
    assert info["seed"] == 0 and "torch" in info["versions"]
    md = run.report_md.read_text()
    assert "max_new_tokens 5 (eval: 6)" in md  # the sweep's own setting is stated
    assert "conditional on one training run" in md
    scores = _scores(run)
    adapters = {s[0] for s in scores}
    assert adapters == {"base", "en", "de"}
    stamp = run.stage_stamp("train-caps-en-s0").read_text()
    capsys.readouterr()
    run_study(cfg, tmp_path / "run")
    err = capsys.readouterr().err
    assert "train caps/en seed 0: up to date" in err and "eval caps: up to date" in err
    assert run.stage_stamp("train-caps-en-s0").read_text() == stamp
    assert _scores(run) == scores


def test_two_seed_study_holds_tests_out_and_confirms_on_other_prompts(
        tiny_model_dir: Path, tmp_path: Path, device: str) -> None:
    """The issue's 'done when': seeds [0, 1] and a steering sweep. Vectors never contain an
    eval or KL id, the sweep chooses and confirms on disjoint ids, the analysis has every
    seed and Holm-adjusted asymmetry tests, and the report says what intervals are over."""
    over = tiny_config(tiny_model_dir, device, seeds=[0, 1])
    over["steer"].update(max_eval=4, strengths=[0.0, 1.0, 2.0], max_degenerate=1.0)
    del over["steer"]["max_new_tokens"]  # null: the sweep decodes like the eval
    cfg = validate_config(ExperimentConfig, over)
    assert cfg.tasks["caps"].seed == 0 and cfg.eval.generation.seed == 0  # from `seed`
    run = run_study(cfg, tmp_path / "run")

    eval_ids = set(json.loads(run.data("caps").manifest.read_text())["eval_ids"])
    best = json.loads(run.sweep("caps").best.read_text())
    kl_ids = set(best["kl_ids"])
    assert kl_ids and not kl_ids & eval_ids
    for pair in (("en", "de"), ("de", "en")):
        meta = json.loads(run.vectors("caps").metadata(*pair).read_text())
        items = set(meta["item_ids"])
        assert len(items) == meta["n_prompts"] > 0
        assert not items & eval_ids and not items & kl_ids

    sel, conf = set(best["selection_ids"]), set(best["confirmation_ids"])
    assert sel and conf and not sel & conf and sel | conf <= eval_ids
    c = best["confirmation"]["de"]
    for key in ("n", "mean", "ci_low", "ci_high", "baseline_mean", "delta", "delta_ci_low",
                "delta_ci_high"):
        assert key in c, key
    assert c["layer"] is not None and c["n"] == len(conf)
    assert best["generation"]["max_new_tokens"] == 6  # the eval's decoding settings

    res = json.loads(run.analysis.read_text())["tasks"]["caps"]["kinds"]["task"]
    for scorer, r in res.items():
        seeds = {(p["train_lang"], p["seed"]) for p in r["per_seed"] if p["adapter"] != "base"}
        assert seeds == {(lang, s) for lang in ("en", "de") for s in (0, 1)}, scorer
        assert r["asymmetry"], scorer  # en and de are each evaluated in the other's language
        for a in r["asymmetry"]:  # 2 seeds: no seed-level test, both runs instead
            assert a["p"] is None and a["p_holm"] is None and len(a["diff_runs"]) == 2
            assert "no test is made" in a["sentence"] and "run 2:" in a["sentence"]
        cell = r["matrix"]["en"]["de"]
        assert cell["n_seeds"] == 2 and cell["ci_low"] is None and len(cell["runs"]) == 2
        assert cell["method"].startswith("no seed-level interval")
    md = run.report_md.read_text()
    assert "seed variance is not estimable" in md and "seed 1" in md
    assert "(runs: " in md and "[N/A, N/A]" not in md  # the two runs, never an empty interval

    # a speed-only setting changed on the finished study rewrites nothing upstream
    stamps = {p: p.stat().st_mtime_ns for sub in ("train", "eval", "steer")
              for p in (run.root / sub).rglob("*") if p.is_file()}
    cfg_path = tmp_path / "study.yaml"
    cfg_path.write_text(yaml.safe_dump(over))
    assert main(["run", str(cfg_path), "--out", str(run.root),
                 "--set", "eval.generation.batch_size=8", "--set", "steer.batch_size=3"]) == 0
    after = {p: p.stat().st_mtime_ns for sub in ("train", "eval", "steer")
             for p in (run.root / sub).rglob("*") if p.is_file()}
    assert after == stamps
    assert "confirmation prompts" in md and "decoded differently" not in md


def test_scoring_and_choosing_changes_rescore_the_saved_answers(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A new scorer or a new sweep metric keeps every logged answer (nothing is generated
    again) and rescores them; a saved config that lacks a setting added since (left at its
    default) is the same config; a decoding change still regenerates."""
    out = tmp_path / "run"
    raw = tiny_config(tiny_model_dir)
    run = run_study(validate_config(ExperimentConfig, raw), out)
    ev, sw = run.eval("caps"), run.sweep("caps")
    answers, logged = ev.generations.read_bytes(), sw.generations.read_bytes()
    saved = yaml.safe_load(run.config.read_text())
    del saved["steer"]["metric"]  # as written by a version before the setting existed
    run.config.write_text(yaml.safe_dump(saved))
    capsys.readouterr()
    run_study(validate_config(ExperimentConfig, raw), out)  # no --force needed
    assert "steer: up to date" in capsys.readouterr().err

    changed = {**raw, "steer": {**raw["steer"], "metric": "behaving_coherent"},
               "eval": {**raw["eval"], "scorers": {
                   "caps": ["caps_pct", "all_caps", "lang_fidelity", "refusal_keyword"]}}}
    run_study(validate_config(ExperimentConfig, changed), out, force=True)
    err = capsys.readouterr().err
    assert "eval caps: only judging settings changed; rescoring the logged answers" in err, err
    assert "steer: only judging settings changed" in err, err
    assert ev.generations.read_bytes() == answers and sw.generations.read_bytes() == logged
    assert json.loads(ev.manifest.read_text())["generated_now"] == 0
    assert "refusal_keyword" in {s[3] for s in _scores(run)}
    assert json.loads(sw.best.read_text())["metric"] == "behaving_coherent"

    longer = {**changed, "eval": {**changed["eval"], "generation": {
        **raw["eval"]["generation"], "max_new_tokens": 5}}}
    run_study(validate_config(ExperimentConfig, longer), out, force=True)
    assert "rescoring the logged answers" not in capsys.readouterr().err.split("steer")[0]
    assert json.loads(ev.manifest.read_text())["generated_now"] > 0


def test_changed_config_is_refused_unless_forced(tiny_model_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    cfg_path = tmp_path / "c.yaml"
    cfg = tiny_config(tiny_model_dir, steer=None)
    cfg["tasks"]["caps"]["train_langs"] = ["en"]
    cfg_path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(cfg_path), "--out", str(out)]) == 0
    # a speed-only setting (the generation batch) keeps the folder and every stage valid
    cfg["eval"].setdefault("generation", {})["batch_size"] = 3
    cfg_path.write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert main(["run", str(cfg_path), "--out", str(out)]) == 0
    cap = capsys.readouterr()
    printed = cap.out + cap.err
    assert "eval caps: up to date" in printed, printed
    cfg["train"]["max_steps"] = 4
    cfg_path.write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert main(["run", str(cfg_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "made by a different config (differs in: train)" in err
    assert main(["run", str(cfg_path), "--out", str(out), "--force"]) == 0
    steps = (RunDir(out).train("caps", "en", 0).train_log.read_text().strip().splitlines())
    assert steps[-1].split(",")[0] == "4"


def _wait_for(pred: Any, proc: subprocess.Popen[bytes], timeout: float = 300) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_sigkill_anywhere_then_rerun_equals_uninterrupted(tiny_model_dir: Path,
                                                          tmp_path: Path) -> None:
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(tiny_config(tiny_model_dir)))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "crossling.cli", "run", str(cfg_path)]
    ref, out = RunDir(tmp_path / "ref"), RunDir(tmp_path / "killed")
    subprocess.run([*cmd, "--out", str(ref.root)], check=True, env=env, capture_output=True)

    ckpt = out.train("caps", "de", 0).checkpoints
    gens = out.eval("caps").generations
    kill_points = [
        lambda: ckpt.exists() and any(ckpt.iterdir()),  # mid-training of the 2nd adapter
        lambda: gens.exists() and len(gens.read_text().splitlines()) >= 5,  # mid-generation
    ]
    for point in kill_points:
        proc = subprocess.Popen([*cmd, "--out", str(out.root)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reached = _wait_for(point, proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert reached, "the run ended before the kill point"
    subprocess.run([*cmd, "--out", str(out.root)], check=True, env=env, capture_output=True)

    assert _scores(out) == _scores(ref)
    a, b = json.loads(out.analysis.read_text()), json.loads(ref.analysis.read_text())
    assert a == b
    assert out.sweep("caps").sweep_csv.read_text() == ref.sweep("caps").sweep_csv.read_text()
    best_out, best_ref = (json.loads(r.sweep("caps").best.read_text()) for r in (out, ref))
    assert best_out["per_lang"] == best_ref["per_lang"]


def test_refusal_study_with_a_local_judge_offline(tiny_model_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """judge.backend: local needs no key and no network; the report shows the judge's
    refusal rate, OTHER rate and kappa, and the sweep applies the over-refusal limit."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("CROSSLING_CACHE", str(tmp_path / "cache"))
    cfg = tiny_config(
        tiny_model_dir,
        tasks={"refusal": {"train_langs": ["en"], "eval_langs": ["en", "de"], "eval_size": 3,
                           "harmless_source": "builtin:instructions"}},
        steer={"task": "refusal", "adapter": "en", "eval_langs": ["de"], "toward": "en",
               "layers": [0], "strengths": [0.0, 2.0], "max_eval": 2, "max_new_tokens": 4,
               "kl_prompts": 3, "min_fidelity": 0.0, "max_kl": 100.0},
    )
    cfg["eval"] = {**cfg["eval"], "scorers": {"refusal": ["refusal_keyword", "refusal_llm"]},
                   "judge": {"backend": "local", "model": str(tiny_model_dir), "device": "cpu"}}
    run = run_study(validate_config(ExperimentConfig, cfg), tmp_path / "run")
    scores = read_jsonl(run.eval("refusal").scores)
    llm = [s for s in scores if s["scorer"] == "refusal_llm"]
    assert llm and all(s["value"] in (0.0, 1.0, None) for s in llm)
    ag = json.loads(run.eval("refusal").agreement.read_text())
    assert ag["llm"]["n"] == len(llm)
    report = run.report_md.read_text()
    assert "**LLM judge**" in report and "OTHER" in report and "kappa" in report
    best = json.loads(run.sweep("refusal").best.read_text())
    assert best["max_over_refusal"] == pytest.approx(0.10)
    assert "over-refusal" in report


def test_study_with_behaviour_stage_fills_analysis_and_report(tiny_model_dir: Path,
                                                              tmp_path: Path) -> None:
    """The behaviour block runs after steer; analysis.json and the report carry its results,
    and a rerun skips it."""
    cfg = validate_config(ExperimentConfig, tiny_config(
        tiny_model_dir, steer=None,
        behaviour={"enabled": True, "langs": ["en", "de"], "layers": [1], "strengths": [2.0],
                   "max_eval": 4, "max_new_tokens": 4, "max_prompts": 8, "kl_prompts": 3,
                   "min_fidelity": 0.0, "min_coherence": 0.0, "max_kl": 1e6,
                   "ablation_layers": [1], "n_boot": 200}))
    run = run_study(cfg, tmp_path / "run")
    analysis = json.loads(run.analysis.read_text())
    assert len(analysis["behaviour_transfer"]) == 2 * 2 * 2  # adapters × from × to
    assert {(e["adapter"], e["lang"]) for e in analysis["behaviour_ablation"]} == {
        (a, la) for a in ("en", "de") for la in ("en", "de")}
    assert "Where the behaviour lives" in run.report_md.read_text()
    assert json.loads(run.stage_stamp("behaviour-caps").read_text())["outputs"]["wall_s"] >= 0
    n = len(read_jsonl(run.behaviour("caps").generations))
    run_study(cfg, tmp_path / "run")
    assert len(read_jsonl(run.behaviour("caps").generations)) == n
