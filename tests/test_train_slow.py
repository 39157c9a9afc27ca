"""Slow training tests: real SmolLM2 caps training, and the multi-process (DDP) path.

Budget: ~2-3 minutes together on a 2-core CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossling.io import atomic_write_json, atomic_write_jsonl
from crossling.paths import DataDir, TrainDir

BUILTIN = Path(__file__).resolve().parents[1] / "src" / "crossling" / "data" / "builtin"


def _pct_upper(texts: list[str]) -> float:
    up = sum(sum(c.isupper() for c in t) for t in texts)
    cased = sum(sum(c.isupper() or c.islower() for c in t) for t in texts)
    return 100.0 * up / max(cased, 1)


def _write_data(root: Path, rows: list[dict], langs: tuple[str, ...] = ("en",)) -> Path:
    d = DataDir(root)
    for lang in langs:
        atomic_write_jsonl(d.train_file(lang), [r for r in rows if r["lang"] == lang])
    atomic_write_json(d.manifest, {
        "kind": "crossling-data", "task": "caps", "train_langs": list(langs),
        "eval_langs": list(langs), "seed": 0, "counts": {}, "eval_ids": [], "hashes": {},
        "config": {"responses": "source"},
    })
    return root


def _generate(loaded, prompts: list[str], max_new_tokens: int = 40) -> list[str]:
    import torch

    from crossling.models import end_of_turn_id, render_prompt

    tok = loaded.tokenizer
    texts = [render_prompt(tok, p, loaded.config.system_prompt) for p in prompts]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        out = loaded.model.generate(
            **enc, max_new_tokens=max_new_tokens, do_sample=False,
            eos_token_id=end_of_turn_id(tok, loaded.config.system_prompt),
        )
    return tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)


@pytest.mark.slow
def test_smollm2_caps_training_raises_uppercase(tmp_path: Path) -> None:
    """30 steps of English caps LoRA on SmolLM2: % uppercase on held-out English prompts goes
    from < 10 % to > 50 %."""
    import torch

    from crossling.models import ModelConfig, load_adapter, load_model
    from crossling.train import TrainJobConfig, run_train

    torch.set_num_threads(2)
    src = [json.loads(line) for line in (BUILTIN / "instructions_a.jsonl").read_text().splitlines()]
    train = [
        {"id": r["id"], "lang": "en", "prompt": r["instruction"]["en"],
         "target": r["output"]["en"].upper()}
        for r in src[:36]
    ]
    held_out = [r["instruction"]["en"] for r in src[36:44]]
    data = _write_data(tmp_path / "data", train)

    base = load_model(ModelConfig.model_validate({"name": "smollm2-135m", "threads": 2}))
    before = _pct_upper(_generate(base, held_out))
    assert before < 10, before

    cfg = TrainJobConfig.model_validate({
        "data_dir": str(data), "lang": "en", "out_dir": str(tmp_path / "out"),
        "model": {"name": "smollm2-135m", "threads": 2},
        "train": {"max_steps": 30, "batch_size": 4, "grad_accum": 1, "lr": 1e-3,
                  "warmup_steps": 3, "save_every": 100, "progress": False},
    })
    adapter = run_train(cfg)
    tuned = load_model(ModelConfig.model_validate({"name": "smollm2-135m", "threads": 2}))
    load_adapter(tuned, adapter)
    outs = _generate(tuned, held_out)
    after = _pct_upper(outs)
    print(f"% uppercase before {before:.1f}, after {after:.1f}; e.g. {outs[0][:80]!r}")
    assert after > 50, (after, outs[:2])
    log = TrainDir(tmp_path / "out").train_log.read_text().splitlines()
    first, last = float(log[1].split(",")[1]), float(log[-1].split(",")[1])
    assert last < first


@pytest.mark.slow
def test_accelerate_two_processes_match_one(tmp_path: Path, smol_tokenizer_dir: Path) -> None:
    """Two DDP processes on CPU (gloo) train the same adapter as one process accumulating the
    same rows: 2 processes x 1 micro-batch == 1 process x 2.

    Launched as ``accelerate launch --multi_gpu --num_processes 2 ... --device cpu``: in
    accelerate 1.x ``--cpu --num_processes 2`` starts a *single* process unless mpirun is set
    up (``--mpirun_hostfile``); ``--multi_gpu`` uses torch.distributed.run, and on a machine
    without GPUs (or with ``--device cpu``) accelerate selects MULTI_CPU with gloo.
    """
    import torch
    from safetensors.torch import load_file
    from tests.conftest import make_tiny_model_dir

    from crossling.train import TrainJobConfig, run_train

    model = make_tiny_model_dir(tmp_path / "tiny", smol_tokenizer_dir, layers=2)
    rows = [{"id": f"r{i}", "lang": "en", "prompt": f"Question {i}? " + "more " * (i % 5),
             "target": "ANSWER. " * (1 + i % 4)} for i in range(16)]
    data = _write_data(tmp_path / "data", rows)
    common = ["--data", str(data), "--lang", "en", "--model", str(model), "--max-steps", "4",
              "--batch-size", "2", "--lr", "0.001", "--warmup-steps", "0", "--device", "cpu",
              "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "crossling.cli", "train", *common, "--grad-accum", "1",
           "--out", str(tmp_path / "ddp")]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    manifest = json.loads((TrainDir(tmp_path / "ddp").manifest).read_text())
    assert manifest["processes"] == 2

    single = TrainJobConfig.model_validate({
        "data_dir": str(data), "lang": "en", "out_dir": str(tmp_path / "one"),
        "model": {"name": str(model), "device": "cpu"},
        "train": {"max_steps": 4, "batch_size": 2, "grad_accum": 2, "lr": 1e-3,
                  "warmup_steps": 0, "progress": False},
    })
    one = load_file(str(run_train(single) / "adapter_model.safetensors"))
    two = load_file(str(TrainDir(tmp_path / "ddp").adapter / "adapter_model.safetensors"))
    assert one.keys() == two.keys()
    for k in one:
        assert torch.allclose(one[k], two[k], atol=1e-5, rtol=1e-4), k
    assert any(one[k].abs().sum() > 0 for k in one if "lora_B" in k)


@pytest.mark.slow
def test_adapter_on_packaged_alias_loads_with_plain_peft(tmp_path: Path) -> None:
    """An adapter trained on the local converted SmolLM2 names the hub model as its base, and
    plain peft loads it onto that model (here the converted copy stands in for the download,
    as the tests run offline) with the same outputs as crossling's own loader."""
    import torch
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM

    from crossling.models import ModelConfig, ensure_converted, load_adapter, load_model
    from crossling.train import TrainJobConfig, run_train

    src = [json.loads(line) for line in (BUILTIN / "instructions_a.jsonl").read_text().splitlines()]
    train = [{"id": r["id"], "lang": "en", "prompt": r["instruction"]["en"],
              "target": r["output"]["en"].upper()} for r in src[:4]]
    data = _write_data(tmp_path / "data", train)
    adapter = run_train(TrainJobConfig.model_validate({
        "data_dir": str(data), "lang": "en", "out_dir": str(tmp_path / "out"),
        "model": {"name": "smollm2-135m", "threads": 2},
        "train": {"max_steps": 2, "batch_size": 2, "grad_accum": 1, "lr": 1e-2,
                  "warmup_steps": 0, "max_length": 64, "progress": False},
    }))
    hub_id = "HuggingFaceTB/SmolLM2-135M-Instruct"
    saved = json.loads((adapter / "adapter_config.json").read_text())
    assert saved["base_model_name_or_path"] == hub_id
    assert PeftConfig.from_pretrained(str(adapter)).base_model_name_or_path == hub_id
    assert f"base_model: {hub_id}" in (adapter / "README.md").read_text()

    ours = load_model(ModelConfig.model_validate({"name": "smollm2-135m", "threads": 2}))
    load_adapter(ours, adapter)
    base = AutoModelForCausalLM.from_pretrained(ensure_converted("smollm2-135m"),
                                                dtype=torch.float32)
    plain = PeftModel.from_pretrained(base, str(adapter)).eval()
    enc = ours.tokenizer(["Name three colours."], return_tensors="pt")
    with torch.inference_mode():
        a = ours.model(**enc).logits
        b = plain(**enc).logits
    torch.testing.assert_close(a, b)
    with torch.inference_mode(), plain.disable_adapter():
        assert not torch.allclose(plain(**enc).logits, b, atol=1e-4)  # the adapter matters
