"""run_eval end to end on a tiny random model with two adapters: outputs, resume after a
crash, over-refusal rows, and every bad input (function and CLI: exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crossling.errors import CrosslingError
from crossling.evaluate.config import EvalConfig
from crossling.evaluate.run import run_eval
from crossling.io import read_json, read_jsonl
from crossling.paths import EvalDir

PROMPTS = {
    "en": ["Name a colour.", "Write a haiku about rain.", "What is the capital of France?"],
    "de": ["Nenne eine Farbe.", "Schreibe ein Haiku über Regen.", "Was ist die Hauptstadt?"],
    "zh": ["说出一种颜色。", "写一首关于雨的俳句。", "法国的首都是哪里？"],
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def write_data(root: Path, task: str = "caps", harmless: bool = False) -> Path:
    """A data folder in the shape `crossling data build` writes."""
    root.mkdir(parents=True, exist_ok=True)
    kind = "harmful" if task == "refusal" else "task"
    rows = [{"id": f"p{i}", "lang": lang, "prompt": p, "reference": None, "kind": kind}
            for lang, ps in PROMPTS.items() for i, p in enumerate(ps)]
    (root / "eval.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                             for r in rows), encoding="utf-8")
    if harmless:
        hl = [{**r, "id": f"ok{r['id']}", "kind": "harmless"} for r in rows]
        (root / "eval_harmless.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in hl), encoding="utf-8")
    manifest = {"kind": "crossling-data", "task": task, "train_langs": ["en"],
                "eval_langs": list(PROMPTS), "seed": 0, "counts": {}, "eval_ids": [],
                "hashes": {"eval": "abc"}, "config": {}}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def make_adapter(model_dir: Path, out: Path, seed: int, spec: str | None = None) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from crossling.models.adapters import AdapterMeta, write_adapter_meta
    from crossling.models.config import ModelConfig
    from crossling.models.loading import model_spec

    torch.manual_seed(seed)
    peft = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir),
                          LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                     task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 2.0)
    peft.save_pretrained(str(out))
    write_adapter_meta(out, AdapterMeta(
        base_model=spec or model_spec(ModelConfig(name=str(model_dir))), task="caps", lang="en",
        seed=seed, data_hash="x"))
    return out


@pytest.fixture(scope="module")
def adapters(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("adapters")
    return {"en": str(make_adapter(tiny_model_dir, root / "en", 1)),
            "de": str(make_adapter(tiny_model_dir, root / "de", 2))}


def _cfg(tiny_model_dir: Path, data: Path, out: Path, **kw: Any) -> EvalConfig:
    base: dict[str, Any] = dict(
        model={"name": str(tiny_model_dir)}, data=str(data), out=str(out),
        generation={"max_new_tokens": 5, "batch_size": 4}, n_boot=200,
        scorers=["caps_pct", "all_caps", "lang_fidelity"],
    )
    return EvalConfig.model_validate({**base, **kw})


def test_run_eval_end_to_end_and_resume(tiny_model_dir: Path, adapters: dict[str, str],
                                        tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    cfg = _cfg(tiny_model_dir, data, tmp_path / "out", adapters=adapters)
    out = run_eval(cfg)
    gens = read_jsonl(out.generations)
    assert len(gens) == 3 * 3 * 3  # (base, en, de) × 3 langs × 3 prompts
    assert {g["adapter"] for g in gens} == {"base", "en", "de"}
    assert all(g["steer"] == "none" and g["new_tokens"] <= 5 and g["prompt_tokens"] > 0
               for g in gens)
    assert {(g["adapter"], g["lang"], g["id"]) for g in gens} == {
        (a, lang, f"p{i}") for a in ("base", "en", "de") for lang in PROMPTS for i in range(3)}
    scores = read_jsonl(out.scores)
    # 3 configured scorers + the 3 quality scorers, always, + behaving_coherent (the data
    # dir names its task)
    assert len(scores) == 27 * 7
    summary = read_json(out.summary_json)
    cells = {(r["adapter"], r["lang"]) for r in summary}
    for scorer in ("degenerate", "fluency", "fluency_ref"):  # rows for every cell
        assert {(r["adapter"], r["lang"]) for r in summary if r["scorer"] == scorer} == cells
    assert all(s["value"] in (0.0, 1.0) for s in scores if s["scorer"] == "degenerate")
    assert all(s["value"] is None or s["value"] < 0 for s in scores if s["scorer"] == "fluency")
    assert all(s["value"] is None for s in scores
               if s["lang"] == "zh" and s["scorer"] in ("caps_pct", "all_caps"))
    summary = read_json(out.summary_json)
    zh = [r for r in summary if r["lang"] == "zh" and r["scorer"] == "caps_pct"]
    assert zh and all(r["mean"] is None and r["n_na"] == 3 for r in zh)
    assert "N/A" in out.report_txt.read_text(encoding="utf-8")
    assert out.summary_csv.read_text().startswith("adapter,lang,kind,steer,scorer,n,")
    pairs = read_json(out.io_pairs)
    assert len(pairs) == 27 and set(pairs[0]["scores"]) == {
        "caps_pct", "all_caps", "lang_fidelity", "degenerate", "fluency", "fluency_ref",
        "behaving_coherent"}
    for adapter in ("base", "en", "de"):
        assert out.adapter_plot(adapter, "caps_pct").exists()
    assert out.heatmap("lang_fidelity").exists()
    # adapters change outputs; the base row is the control
    by = {(g["adapter"], g["lang"], g["id"]): g["response"] for g in gens}
    assert any(by[("en", k[1], k[2])] != by[k] for k in by if k[0] == "base")

    # rerun: nothing generated or scored twice
    before = out.generations.read_bytes()
    run_eval(cfg)
    assert out.generations.read_bytes() == before
    assert read_json(out.manifest)["generated_now"] == 0
    assert len(read_jsonl(out.scores)) == 27 * 7


def test_crash_mid_generation_resumes_without_duplicates(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_data(tmp_path / "data")
    cfg = _cfg(tiny_model_dir, data, tmp_path / "out", langs=["en", "de"])
    out = run_eval(cfg)
    full = read_jsonl(out.generations)
    # simulate a crash: keep 3 rows and a torn 4th line
    lines = out.generations.read_text(encoding="utf-8").splitlines(keepends=True)
    out.generations.write_text("".join(lines[:3]) + lines[3][:20], encoding="utf-8")
    out.scores.unlink()
    run_eval(cfg)
    again = read_jsonl(out.generations)
    keys = [(g["adapter"], g["lang"], g["id"]) for g in again]
    assert len(keys) == len(set(keys)) == len(full) == 6
    assert read_json(out.manifest)["generated_now"] == 3
    # greedy: regenerated rows equal the first run's
    first = {(g["adapter"], g["lang"], g["id"]): g["response"] for g in full}
    assert all(first[(g["adapter"], g["lang"], g["id"])] == g["response"] for g in again)


def test_refusal_task_includes_harmless_prompts(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = write_data(tmp_path / "data", task="refusal", harmless=True)
    cfg = _cfg(tiny_model_dir, data, tmp_path / "out", langs=["en"],
               scorers=["refusal_keyword"], limit=2)
    out = run_eval(cfg)
    kinds = sorted((g["kind"], g["id"]) for g in read_jsonl(out.generations))
    assert kinds == [("harmful", "p0"), ("harmful", "p1"), ("harmless", "okp0"),
                     ("harmless", "okp1")]
    summary = read_json(out.summary_json)
    assert {r["kind"] for r in summary} == {"harmful", "harmless"}
    assert out.adapter_plot("base", "refusal_keyword_harmless").exists()


def test_bad_inputs(tiny_model_dir: Path, adapters: dict[str, str], tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_data(tmp_path / "data")
    out = tmp_path / "out"

    def err(**kw: Any) -> str:
        with pytest.raises(CrosslingError) as e:
            run_eval(_cfg(tiny_model_dir, data, out, **kw))
        msg = str(e.value)
        assert "\n" not in msg
        return msg

    assert "not in the eval data" in err(langs=["en", "ru"])
    assert "Did you mean 'all_caps'" in err(scorers=["all_cap"])
    assert "does not exist" in err(adapters={"en": str(tmp_path / "nope")})
    other = make_adapter(tiny_model_dir, tmp_path / "other", 3, spec="smollm2-135m")
    assert "trained on base model 'smollm2-135m'" in err(adapters={"x": str(other)})
    assert "reserved" in err(adapters={"base": adapters["en"]})
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert "OPENAI_API_KEY" in err(scorers=["refusal_llm"])
    with pytest.raises(CrosslingError, match="not found"):
        run_eval(_cfg(tiny_model_dir, tmp_path / "empty", out))
    assert not out.exists()  # all checked before anything was written or loaded


def test_changed_settings_refuse_to_mix(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    run_eval(_cfg(tiny_model_dir, data, tmp_path / "out", langs=["en"], limit=1))
    with pytest.raises(CrosslingError, match="new --out"):
        run_eval(_cfg(tiny_model_dir, data, tmp_path / "out", langs=["en"], limit=1,
                      generation={"max_new_tokens": 7}))


def test_cli_exit_codes(tiny_model_dir: Path, adapters: dict[str, str], tmp_path: Path) -> None:
    from crossling.cli import main

    data = write_data(tmp_path / "data")
    out = tmp_path / "out"
    common = ["eval", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out),
              "--max-new-tokens", "4"]
    assert main([*common, "--scorers", "caps_pctt"]) == 2
    assert main([*common, "--langs", "en,xx"]) == 2
    assert main([*common, "--adapters", "en"]) == 2
    assert main(["eval", "--model", str(tiny_model_dir), "--data", str(data)]) == 2
    assert main([*common, "--langs", "en", "--limit", "1", "--adapters",
                 f"en={adapters['en']}", "--scorers", "caps_pct,all_caps"]) == 0
    assert len(read_jsonl(EvalDir(out).generations)) == 2


def test_cli_yaml_config(tiny_model_dir: Path, tmp_path: Path) -> None:
    from crossling.cli import main

    data = write_data(tmp_path / "data")
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(
        f"model: {{name: {tiny_model_dir}}}\ndata: {data}\nout: {tmp_path / 'o'}\n"
        "langs: en,zh\nlimit: 1\nscorers: [caps_pct]\ngeneration: {max_new_tokens: 3}\n",
        encoding="utf-8")
    assert main(["eval", str(cfg), "--batch-size", "2"]) == 0
    m = read_json(EvalDir(tmp_path / "o").manifest)
    assert m["config"]["generation"] == {**m["config"]["generation"], "max_new_tokens": 3,
                                         "batch_size": 2}
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"data: {data}\nout: x\nscorer: [caps_pct]\n", encoding="utf-8")
    assert main(["eval", str(bad)]) == 2


@pytest.mark.slow
def test_smollm2_eval_real_text(tmp_path: Path) -> None:
    """The packaged SmolLM2 answers in English when asked in English; caps stay low."""
    import torch

    data = write_data(tmp_path / "data")
    threads = torch.get_num_threads()
    cfg = EvalConfig.model_validate(dict(
        model={"name": "smollm2-135m", "threads": 1}, data=str(data), out=str(tmp_path / "out"),
        langs=["en", "zh"], limit=2, generation={"max_new_tokens": 24, "batch_size": 8},
        scorers=["caps_pct", "lang_fidelity"], n_boot=200))
    try:
        out = run_eval(cfg)
    finally:
        torch.set_num_threads(threads)
    summary = {(r["lang"], r["scorer"]): r for r in read_json(out.summary_json)}
    assert summary[("en", "lang_fidelity")]["mean"] == 1.0
    assert summary[("en", "caps_pct")]["mean"] < 30.0
    assert summary[("zh", "caps_pct")]["mean"] is None
    assert all(g["response"].strip() for g in read_jsonl(out.generations))


def test_unreachable_judge_leaves_rows_unscored(tiny_model_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("CROSSLING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("JUDGE_KEY", "k")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = write_data(tmp_path / "data", task="refusal")
    cfg = _cfg(tiny_model_dir, data, tmp_path / "out", langs=["en"], limit=2,
               scorers=["refusal_keyword", "refusal_llm"],
               judge={"base_url": f"http://127.0.0.1:{port}/v1", "api_key_env": "JUDGE_KEY",
                      "max_retries": 1, "backoff_s": 0.01})
    with pytest.raises(CrosslingError, match=r"2 row\(s\) left unscored by refusal_llm.*rerun"):
        run_eval(cfg)
    out = EvalDir(tmp_path / "out")
    scorers = [s["scorer"] for s in read_jsonl(out.scores) if s["scorer"].startswith("refusal")]
    assert scorers == ["refusal_keyword", "refusal_keyword"]  # never written as 0
    assert {r["scorer"] for r in read_json(out.summary_json)} == {
        "refusal_keyword", "degenerate", "fluency", "fluency_ref", "behaving_coherent"}


def test_cli_refuses_when_the_canary_fails(lively_model_dir: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A decode loop that disagrees with model.generate stops eval before any generation:
    exit 2, one line naming the library versions, no traceback, no generations."""
    from crossling.cli import main
    from crossling.evaluate.backends import hf

    monkeypatch.setattr(hf, "cache_argument", lambda lm: "kv_cache_under_a_wrong_name")
    data = write_data(tmp_path / "data")
    out = tmp_path / "out"
    code = main(["eval", "--model", str(lively_model_dir), "--data", str(data), "--out",
                 str(out), "--langs", "en", "--limit", "1", "--max-new-tokens", "4"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err
    last = err.splitlines()[-1]  # (transformers' own weight-loading bar may come first)
    assert last.startswith("crossling: error: generation self-check failed")
    assert "transformers" in last and "model.generate" in last
    assert not EvalDir(out).generations.exists()
