"""Training on tiny random models: schedule, loss, LoRA-only updates, resume after SIGKILL,
NaN stop, config checks, bad input, self-responses, outputs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_tiny_model_dir

from crossling.errors import CrosslingError
from crossling.io import atomic_write_json, atomic_write_jsonl, read_json, read_jsonl
from crossling.paths import DataDir, TrainDir
from crossling.train import TrainJobConfig, build_schedule, collate, run_train
from crossling.train.batching import steps_for
from crossling.train.checkpoint import checkpoint_dirs

FAST = {"warmup_steps": 1, "lr": 1e-3, "batch_size": 2, "grad_accum": 1, "progress": False}


def write_data(root: Path, n: int = 24, lang: str = "en", self_responses: bool = False) -> Path:
    """A data dir in the exact shape of 'crossling data build' (manifest + train_<lang>)."""
    d = DataDir(root)
    rows = [
        {"id": f"item-{i:03d}", "lang": lang,
         "prompt": f"Question {i}: tell me about " + "things " * (i % 9),
         "target": None if self_responses else f"ANSWER NUMBER {i}. " * (1 + i % 6)}
        for i in range(n)
    ]
    atomic_write_jsonl(d.train_file(lang), rows)
    atomic_write_jsonl(d.eval_file, [])
    atomic_write_json(d.manifest, {
        "kind": "crossling-data", "task": "caps", "train_langs": [lang], "eval_langs": [lang],
        "seed": 0, "counts": {"train": {lang: n}}, "eval_ids": [], "hashes": {},
        "responses": "self" if self_responses else "source",
        "config": {"task": "caps", "responses": "self" if self_responses else "source"},
    })
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data(tmp_path_factory.mktemp("data"))


def job(data: Path, model: Path, out: Path, **train: Any) -> TrainJobConfig:
    resume = train.pop("resume", False)
    return TrainJobConfig.model_validate({
        "data_dir": str(data), "lang": "en", "out_dir": str(out), "seed": 3,
        "model": {"name": str(model), "device": "cpu"}, "resume": resume,
        "train": {**FAST, "max_steps": 6, "save_every": 2, **train},
    })


def adapter_tensors(adapter: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(adapter / "adapter_model.safetensors"))


# ----------------------------------------------------------------------------- schedule


def test_schedule_is_seeded_complete_and_shaped() -> None:
    lengths = [5 + (i * 37) % 90 for i in range(40)]
    s = build_schedule(lengths, n_steps=10, batch_size=2, grad_accum=3, world_size=2, seed=1)
    assert s == build_schedule(lengths, 10, 2, 3, 2, seed=1)
    assert s != build_schedule(lengths, 10, 2, 3, 2, seed=2)
    assert len(s) == 10 and all(len(step) == 6 and all(len(mb) == 2 for mb in step) for step in s)
    flat = [i for step in s for mb in step for i in mb]
    assert Counter(flat) == dict.fromkeys(range(40), 3)  # 10 x 12 rows = 3 epochs exactly
    # grouping only reorders: the same rows as an ungrouped run, also for a partial group
    for steps in (3, 10):
        grouped = build_schedule(lengths, steps, 2, 3, 2, seed=1)
        plain = build_schedule(lengths, steps, 2, 3, 2, seed=1, group_by_length=False)
        rows = lambda sch: Counter(i for st in sch for mb in st for i in mb)  # noqa: E731
        assert rows(grouped) == rows(plain)
    # epochs aligned with steps: no step ever holds the same row twice
    s = build_schedule(lengths[:36], 9, 2, 3, 2, seed=1)
    assert all(len({i for mb in step for i in mb}) == 12 for step in s)


def test_length_grouping_reduces_padding() -> None:
    lengths = [10 + (i * 7919) % 300 for i in range(400)]

    def padded(group: bool) -> int:
        s = build_schedule(lengths, 50, 8, 1, 1, seed=0, group_by_length=group, group_size=16)
        return sum(len(mb) * max(lengths[i] for i in mb) for step in s for mb in step)

    real = 50 * 8 * sum(lengths) / len(lengths)
    assert padded(True) < 0.8 * padded(False)
    assert padded(True) < 1.15 * real  # little padding left


def test_collate_right_pads_and_masks() -> None:
    batch = collate([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
                     {"input_ids": [8], "labels": [8]}], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]


# ----------------------------------------------------------------------------- loss


@pytest.mark.parametrize("family", ["llama", "qwen2", "gemma3"])
def test_sft_loss_equals_the_models_own_loss(
    tmp_path: Path, smol_tokenizer_dir: Path, family: str
) -> None:
    import torch

    from crossling.models import build_example, load_model
    from crossling.train import SFTLoss

    loaded = load_model(str(make_tiny_model_dir(tmp_path, smol_tokenizer_dir, family, layers=2)))
    tok = loaded.tokenizer
    exs = [build_example(tok, "Hi there, how are you?", "FINE, THANKS.", "Sys"),
           build_example(tok, "Why?", "BECAUSE IT IS SO, AND FOR NO OTHER REASON AT ALL.", "Sys")]
    batch = collate(exs, tok.pad_token_id)
    with torch.no_grad():
        total, n = SFTLoss(loaded.model)(**batch)
        ref = loaded.model(**batch).loss  # HF: mean over labelled next-token positions
    assert int(n) == sum(sum(1 for x in e["labels"][1:] if x != -100) for e in exs)
    assert torch.allclose(total / n, ref, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- training


def test_one_step_changes_only_lora_weights(
    tmp_path: Path, data_dir: Path, tiny_model_dir: Path
) -> None:
    import torch
    from safetensors.torch import load_file

    original = load_file(str(tiny_model_dir / "model.safetensors"))
    seen: dict[str, int] = {}

    def check(step: int, model: Any) -> None:
        for name, p in model.named_parameters():
            if "lora_" in name:
                assert p.requires_grad
                if "lora_B" in name:  # initialised at zero; one step moves it
                    seen["lora_B_nonzero"] = seen.get("lora_B_nonzero", 0) + int(p.abs().sum() > 0)
                continue
            assert not p.requires_grad, name
            key = name.replace("base_model.model.", "").replace(".base_layer", "")
            if key in original:
                assert torch.equal(p.detach(), original[key]), f"base weight changed: {name}"
                seen["base"] = seen.get("base", 0) + 1

    run_train(job(data_dir, tiny_model_dir, tmp_path / "out", max_steps=1, warmup_steps=0),
              on_step=check)
    assert seen["base"] >= 20 and seen["lora_B_nonzero"] >= 20


def test_outputs_manifest_log_plot_and_metadata(
    tmp_path: Path, data_dir: Path, tiny_model_dir: Path
) -> None:
    from crossling.models import check_adapter_base, model_spec, read_adapter_meta
    from crossling.models.config import ModelConfig

    cfg = job(data_dir, tiny_model_dir, tmp_path / "out")
    adapter = run_train(cfg)
    td = TrainDir(tmp_path / "out")
    assert adapter == td.adapter and (adapter / "adapter_model.safetensors").exists()
    spec = model_spec(ModelConfig.model_validate({"name": str(tiny_model_dir)}))
    meta = read_adapter_meta(adapter)
    assert (meta.base_model, meta.task, meta.lang, meta.seed, meta.steps) == (spec, "caps", "en", 3, 6)
    check_adapter_base(adapter, spec)
    with pytest.raises(CrosslingError):
        check_adapter_base(adapter, "smollm2-135m")
    log = td.train_log.read_text().splitlines()
    assert log[0].startswith("step,loss,lr,tokens_per_s") and len(log) == 7
    assert all(float(r.split(",")[3]) > 0 for r in log[1:])
    assert td.loss_plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    m = read_json(td.manifest)
    assert m["base_model"] == spec and m["steps"] == 6 and m["train_wall_s"] > 0
    assert m["data_hash"] == meta.data_hash and "torch" in m["versions"]
    assert m["config"]["train"]["lr"] == FAST["lr"]
    assert not td.checkpoints.exists()  # cleaned up once the adapter is final
    # rerunning the finished job is a no-op that returns the same adapter
    before = adapter_tensors(adapter)
    assert run_train(cfg) == adapter
    assert all((before[k] == v).all() for k, v in adapter_tensors(adapter).items())


_KILL_SCRIPT = """
import json, sys, time
from crossling.train import TrainJobConfig, run_train
cfg = TrainJobConfig.model_validate(json.loads(sys.argv[1]))
run_train(cfg, on_step=lambda step, model: time.sleep(0.4))
"""


def test_resume_after_sigkill_matches_uninterrupted_run(
    tmp_path: Path, data_dir: Path, tiny_model_dir: Path
) -> None:
    """Really SIGKILL a training process after its step-2 checkpoint, resume, and compare
    with an uninterrupted run: same adapter within float tolerance, same loss curve."""
    import torch

    ref = run_train(job(data_dir, tiny_model_dir, tmp_path / "ref"))
    killed = tmp_path / "killed"
    cfg = job(data_dir, tiny_model_dir, killed)
    script = tmp_path / "train_slowly.py"
    script.write_text(_KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, str(script), cfg.model_dump_json()], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpts = TrainDir(killed).checkpoints
    deadline = time.time() + 120
    while not (ckpts / "step-000002").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        assert time.time() < deadline, "no checkpoint after 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not TrainDir(killed).adapter.exists()
    assert [p.name for p in checkpoint_dirs(ckpts)][-1] in ("step-000002", "step-000004")

    with pytest.raises(CrosslingError, match="--resume"):
        run_train(cfg)  # checkpoints but no --resume: refuse rather than start over
    resumed = run_train(cfg.model_copy(update={"resume": True}))
    a, b = adapter_tensors(ref), adapter_tensors(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6, rtol=1e-5), k
    assert any(a[k].abs().sum() > 0 for k in a if "lora_B" in k)
    loss = lambda p: [r.split(",")[1] for r in TrainDir(p).train_log.read_text().splitlines()]  # noqa: E731
    assert loss(tmp_path / "ref") == loss(killed)


class _Crash(Exception):
    pass


def _crash_at(k: int) -> Any:
    def cb(step: int, model: Any) -> None:
        if step == k:
            raise _Crash

    return cb


def test_resume_with_changed_config_is_refused(
    tmp_path: Path, data_dir: Path, tiny_model_dir: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(_Crash):
        run_train(job(data_dir, tiny_model_dir, out), on_step=_crash_at(3))
    with pytest.raises(CrosslingError, match=r"train\.lr: 0\.001 -> 0\.002") as e:
        run_train(job(data_dir, tiny_model_dir, out, lr=2e-3, resume=True))
    assert "\n" not in str(e.value)
    with pytest.raises(CrosslingError, match=r"seed: 3 -> 4"):
        run_train(job(data_dir, tiny_model_dir, out, resume=True).model_copy(update={"seed": 4}))
    # resume-safe fields (save_every, progress) may change
    adapter = run_train(job(data_dir, tiny_model_dir, out, save_every=5, resume=True))
    assert (adapter / "adapter_model.safetensors").exists()
    # a finished run with another config is refused too
    with pytest.raises(CrosslingError, match="already holds an adapter"):
        run_train(job(data_dir, tiny_model_dir, out, max_steps=7))


def test_nan_loss_stops_and_keeps_last_good_checkpoint(
    tmp_path: Path, data_dir: Path, tiny_model_dir: Path
) -> None:
    import torch

    def poison(step: int, model: Any) -> None:
        if step == 2:  # after the step-2 checkpoint: corrupt the live weights
            with torch.no_grad():
                for n, p in model.named_parameters():
                    if "lora_B" in n:
                        p.fill_(float("nan"))

    out = tmp_path / "out"
    with pytest.raises(CrosslingError, match=r"non-finite loss.*step 3.*step-000002 is kept"):
        run_train(job(data_dir, tiny_model_dir, out), on_step=poison)
    ckpts = checkpoint_dirs(TrainDir(out).checkpoints)
    assert [p.name for p in ckpts] == ["step-000002"]
    from safetensors.torch import load_file

    good = load_file(str(ckpts[0] / "trainable.safetensors"))
    assert all(torch.isfinite(t).all() for t in good.values())
    assert not TrainDir(out).adapter.exists()
    assert len(TrainDir(out).train_log.read_text().splitlines()) == 3  # header + 2 good steps


# ----------------------------------------------------------------------------- bad input


def test_not_a_data_dir(tmp_path: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(CrosslingError, match="not a crossling data dir"):
        run_train(job(tmp_path, tiny_model_dir, tmp_path / "out"))
    atomic_write_json(tmp_path / "manifest.json", {"kind": "something-else"})
    with pytest.raises(CrosslingError, match="not from 'crossling data build'"):
        run_train(job(tmp_path, tiny_model_dir, tmp_path / "out"))


def test_language_without_training_rows(data_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = job(data_dir, tiny_model_dir, tmp_path / "out").model_copy(update={"lang": "de"})
    with pytest.raises(CrosslingError, match=r"no training rows for language 'de'.*en"):
        run_train(cfg)


def test_unknown_model_alias(data_dir: Path, tmp_path: Path) -> None:
    cfg = job(data_dir, Path("smollm-135m"), tmp_path / "out")
    with pytest.raises(CrosslingError, match="smollm2-135m"):
        run_train(cfg)


def test_target_modules_that_do_not_exist(data_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CrosslingError, match=r"none of train\.target_modules \['c_attn'\]"):
        run_train(job(data_dir, tiny_model_dir, tmp_path / "out", target_modules=["c_attn"]))


def test_max_steps_or_epochs() -> None:
    from pydantic import ValidationError

    from crossling.train import TrainConfig

    with pytest.raises(ValidationError, match="exactly one"):
        TrainConfig.model_validate({"max_steps": 10, "epochs": 2})
    assert TrainConfig.model_validate({"max_steps": None, "epochs": 2}).epochs == 2
    assert steps_for(24, None, 2.0, per_step=4) == 12 and steps_for(24, 7, None, 4) == 7
    assert steps_for(10, None, 1.0, per_step=4) == 3  # the last partial step is kept


# ----------------------------------------------------------------------------- self responses


def test_self_responses_are_generated_cached_and_uppercased(
    tmp_path: Path, tiny_model_dir: Path, lively_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from crossling.models import load_model
    from crossling.train.data import fill_self_targets, generate_self_responses

    data = write_data(tmp_path / "data", n=6, self_responses=True)
    out = tmp_path / "out"
    with pytest.raises(CrosslingError, match="all 6 base-model answers are degenerate"):
        run_train(job(data, tiny_model_dir, tmp_path / "fail", max_steps=1,
                      self_response_max_new_tokens=6))
    # (the default tiny model repeats one token: every self-answer is a word run). Random
    # answers of the lively model may or may not look degenerate (it differs by stack), so
    # the rest of this test keeps them all; dropping is checked on fixed answers below.
    monkeypatch.setattr("crossling.analysis.quality.degenerate_reason", lambda *a: None)
    adapter = run_train(job(data, lively_model_dir, out, max_steps=1,
                            self_response_max_new_tokens=6))
    monkeypatch.undo()
    assert adapter.exists()
    cache = read_jsonl(TrainDir(out).self_responses)
    assert len(cache) == 6 and {c["id"] for c in cache} == {f"item-{i:03d}" for i in range(6)}

    # a second call reads the cache instead of generating
    loaded = load_model(str(lively_model_dir))
    monkeypatch.setattr(loaded.model, "generate", lambda *a, **k: pytest.fail("regenerated"))
    rows = read_jsonl(DataDir(data).train_file("en"))
    answers = generate_self_responses(loaded, rows, TrainDir(out).self_responses, 6, 4)
    assert answers == {c["id"]: c["response"] for c in cache}
    loop = "They were omnivores, and ate both meat and plants. " * 6
    filled, dropped = fill_self_targets(
        rows, {"item-000": "Straße и ёж", "item-001": "", "item-002": loop,
               "item-003": "как викинги, как викинги, как викинги, как викинги"}, "caps")
    assert [r["target"] for r in filled] == ["STRASSE И ЁЖ"]  # empty and looping answers dropped
    assert dropped == {"empty": 3, "repeated_ngram": 2}  # items 4 and 5 have no answer
    assert "self_responses_dropped" in read_json(TrainDir(out).manifest)


def test_self_responses_go_through_the_eval_backend_and_its_canary(
    tmp_path: Path, lively_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One generation loop: a self-answer is what eval's backend generates for the prompt,
    and a decode loop the canary refuses generates no self-answer."""
    from crossling.evaluate.backends.base import GenerationConfig
    from crossling.evaluate.backends.hf import HFBackend
    from crossling.models import load_model
    from crossling.train.data import generate_self_responses

    rows = [{"id": f"i{k}", "prompt": p} for k, p in
            enumerate(["Name a colour.", "Why is the sky blue? Explain in detail.", "Hi"])]
    loaded = load_model(str(lively_model_dir))
    answers = generate_self_responses(loaded, rows, tmp_path / "a.jsonl", 7, "auto")
    ref = HFBackend(loaded).generate([r["prompt"] for r in rows],
                                     GenerationConfig(max_new_tokens=7))
    assert [answers[r["id"]] for r in rows] == [g.response.strip() for g in ref]

    def broken(*a: object, **k: object) -> None:
        raise CrosslingError("generation self-check failed: (test)")

    monkeypatch.setattr("crossling.evaluate.backends.hf.verify_decoding", broken)
    with pytest.raises(CrosslingError, match="self-check"):
        generate_self_responses(loaded, rows, tmp_path / "b.jsonl", 7, "auto")
    assert not read_jsonl(tmp_path / "b.jsonl")  # nothing generated


# ----------------------------------------------------------------------------- CLI


def test_cli_trains_and_reports_bad_input(
    tmp_path: Path, data_dir: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("crossling.cli")
    from crossling.cli import main

    out = tmp_path / "out"
    cfg = tmp_path / "job.yaml"
    cfg.write_text(f"data_dir: {data_dir}\nlang: en\nout_dir: {tmp_path / 'elsewhere'}\n"
                   f"model: {{name: {tiny_model_dir}, device: cpu}}\n"
                   "train: {max_steps: 5, warmup_steps: 0, progress: false, lrr: 1}\n")
    assert main(["train", str(cfg)]) == 2
    assert "unknown key 'train.lrr'" in capsys.readouterr().err
    cfg.write_text(cfg.read_text().replace(", lrr: 1", ""))
    # the YAML config, with flags overriding it (out dir, steps)
    assert main(["train", str(cfg), "--out", str(out), "--max-steps", "1", "--no-progress",
                 "--set", "train.lr=1e-3"]) == 0
    captured = capsys.readouterr()
    assert "adapter:" in captured.out
    # no live bar: a progress line is logged (INFO by default), at least once at the end
    assert re.search(r"train \w+/en seed 0: 1/1, loss", captured.err), captured.err
    m = read_json(TrainDir(out).manifest)
    assert m["steps"] == 1 and m["config"]["train"]["max_steps"] == 1
    assert m["config"]["train"]["lr"] == 1e-3
    assert not (tmp_path / "elsewhere").exists()
    assert main(["train", "--lang", "en", "--out", str(out)]) == 2
    assert "needs --data" in capsys.readouterr().err
    args = ["train", "--data", str(data_dir), "--lang", "it", "--model", str(tiny_model_dir),
            "--out", str(tmp_path / "it")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no training rows for language 'it'" in err and "Traceback" not in err
    assert main([*args[:4], "xx", *args[5:]]) == 2
    assert "unknown language code 'xx'" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Model has `tie_word_embeddings=True`")
@pytest.mark.parametrize(("family", "targets"), [
    ("llama", ["q_proj", "v_proj"]),  # a frozen plain head: gradients computed in the forward
    ("llama", ["q_proj", "lm_head"]),  # LoRA on the head: checkpointed chunks
    ("gemma3", ["q_proj", "v_proj"]),  # softcapped logits (set below)
])
def test_chunked_loss_and_gradients_equal_the_full_logits_loss(
    tmp_path: Path, smol_tokenizer_dir: Path, device: str, monkeypatch: pytest.MonkeyPatch,
    family: str, targets: list[str],
) -> None:
    """``SFTLoss`` puts the labelled positions through the LM head 5 at a time (a frozen head:
    loss and state gradients per chunk in the forward; LoRA on the head: each chunk
    checkpointed): the summed loss and every LoRA gradient equal those of the full
    ``[batch, length, vocab]`` logits and one cross-entropy over the assistant tokens
    (fp32, to ~1e-6), padded and packed."""
    import torch
    from peft import LoraConfig, get_peft_model

    import crossling.models.logprobs as logprobs
    from crossling.models import ModelConfig, build_example, load_model
    from crossling.train import SFTLoss
    from crossling.train.packing import attention_inputs, pack

    model_dir = make_tiny_model_dir(tmp_path, smol_tokenizer_dir, family, layers=2)
    loaded = load_model(ModelConfig(name=str(model_dir), device=device))
    tok = loaded.tokenizer
    if family == "gemma3":
        loaded.model.config.final_logit_softcapping = 0.05  # tiny logits: the cap bites
    torch.manual_seed(0)
    model = get_peft_model(loaded.model, LoraConfig(r=4, target_modules=targets,
                                                    init_lora_weights=False))
    exs = [build_example(tok, "Hi there, how are you?", "FINE, THANKS.", "Sys"),
           build_example(tok, "Why?", "BECAUSE IT IS SO, AND FOR NO OTHER REASON.", "Sys"),
           build_example(tok, "Count.", "ONE TWO THREE FOUR FIVE SIX SEVEN", "Sys")]
    params = [p for p in model.parameters() if p.requires_grad]

    def run(fn: Any) -> tuple[float, list[Any]]:
        model.zero_grad(set_to_none=True)
        loss = fn()
        loss.backward()
        return float(loss.detach()), [p.grad.detach().clone() for p in params]

    def full() -> Any:  # the oracle: logits of every position, one cross-entropy
        b = {k: v.to(device) for k, v in collate(exs, tok.pad_token_id).items()}
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        keep = b["labels"][:, 1:] != -100
        return torch.nn.functional.cross_entropy(
            logits[:, :-1][keep].float(), b["labels"][:, 1:][keep], reduction="sum")

    def padded() -> Any:
        b = {k: v.to(device) for k, v in collate(exs, tok.pad_token_id).items()}
        return SFTLoss(model)(**b)[0]

    def packed() -> Any:
        p = {k: v.to(device) if hasattr(v, "to") else v for k, v in pack(exs).items()}
        attn = attention_inputs(model, p, torch.float32)
        return SFTLoss(model)(input_ids=p["input_ids"], labels=p["labels"], **attn)[0]

    want_loss, want_grads = run(full)
    vocab = model.config.get_text_config().vocab_size
    monkeypatch.setattr(logprobs, "LOGITS_CHUNK_BYTES", 5 * 4 * vocab)
    ids = torch.ones((1, 2), dtype=torch.long, device=device)
    fs = logprobs.final_states(model, input_ids=ids)
    assert fs.split and (fs.weight is None) == ("lm_head" in targets)
    assert (fs.cap is not None) == (family == "gemma3")
    n_labelled = sum(sum(1 for x in e["labels"][1:] if x != -100) for e in exs)
    assert n_labelled > 3 * logprobs.chunk_size(vocab)  # several chunks
    for fn in (padded, packed):
        loss, grads = run(fn)
        assert loss == pytest.approx(want_loss, rel=1e-6)
        for g, w in zip(grads, want_grads, strict=True):
            torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)
        assert any(float(g.abs().max()) > 1e-3 for g in grads)
    with torch.no_grad():  # no autograd: plain chunks, the same sum
        assert float(padded()) == pytest.approx(want_loss, rel=1e-6)
