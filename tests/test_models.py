"""Model loading errors, decoder-layer lookup per family, adapter metadata checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import make_tiny_model_dir

from crossling.errors import CrosslingError
from crossling.models import (
    ADAPTER_META_FILE,
    AdapterMeta,
    check_adapter_base,
    get_decoder_layers,
    load_adapter,
    load_model,
    read_adapter_meta,
    write_adapter_meta,
)


def test_unknown_alias_lists_the_aliases() -> None:
    with pytest.raises(CrosslingError, match=r"smollm2-135m") as e:
        load_model("smolm2-135")
    assert "gemma3-270m" in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_local_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CrosslingError, match="neither a packaged alias"):
        load_model(str(tmp_path / "no" / "such" / "model"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CrosslingError, match=r"no config\.json"):
        load_model(str(empty))


@pytest.mark.parametrize("family", ["llama", "qwen2", "gemma3"])
def test_layer_lookup_per_family(tmp_path: Path, smol_tokenizer_dir: Path, family: str) -> None:
    from peft import LoraConfig, get_peft_model

    d = make_tiny_model_dir(tmp_path / family, smol_tokenizer_dir, family=family, layers=2)
    loaded = load_model(str(d))
    layers = get_decoder_layers(loaded.model)
    assert len(layers) == 2
    assert layers[0] is loaded.model.model.layers[0]
    peft_model = get_peft_model(loaded.model, LoraConfig(r=2, target_modules=["q_proj"]))
    assert get_decoder_layers(peft_model)[1] is layers[1]  # same modules through the wrapper


def test_unknown_family_needs_layers_path() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=64))
    with pytest.raises(CrosslingError, match="layers_path"):
        get_decoder_layers(model)
    assert len(get_decoder_layers(model, "transformer.h")) == 2
    with pytest.raises(CrosslingError, match="no attribute 'blocks'"):
        get_decoder_layers(model, "transformer.blocks")


def _meta(base: str) -> AdapterMeta:
    return AdapterMeta.model_validate(
        {"base_model": base, "task": "caps", "lang": "de", "seed": 1, "data_hash": "abc"}
    )


def test_adapter_meta_roundtrip_and_base_check(tmp_path: Path) -> None:
    write_adapter_meta(tmp_path, _meta("smollm2-135m"))
    meta = read_adapter_meta(tmp_path)
    assert (meta.task, meta.lang, meta.seed, meta.data_hash) == ("caps", "de", 1, "abc")
    check_adapter_base(tmp_path, "smollm2-135m")  # matching base: no error
    with pytest.raises(CrosslingError, match="trained on base model 'smollm2-135m', not 'gemma3-270m'"):
        check_adapter_base(tmp_path, "gemma3-270m")


def test_adapter_without_metadata_or_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CrosslingError, match="does not exist"):
        check_adapter_base(tmp_path / "missing", "smollm2-135m")
    with pytest.raises(CrosslingError, match=ADAPTER_META_FILE):
        check_adapter_base(tmp_path, "smollm2-135m")


def test_load_adapter_checks_base_before_reading_weights(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model

    loaded = load_model(str(tiny_model_dir))
    # a real adapter for this base ...
    torch.manual_seed(0)
    pm = get_peft_model(load_model(str(tiny_model_dir)).model, LoraConfig(r=2, target_modules=["q_proj"]))
    good = tmp_path / "good"
    pm.save_pretrained(str(good))
    write_adapter_meta(good, _meta(loaded.spec))
    model = load_adapter(loaded, good)
    assert any("lora_A" in n for n, _ in model.named_parameters())
    # ... and one for another base whose weights file is garbage: the base check fires first
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "adapter_model.safetensors").write_bytes(b"not a safetensors file")
    write_adapter_meta(bad, _meta("some/other-model"))
    with pytest.raises(CrosslingError, match="some/other-model"):
        load_adapter(load_model(str(tiny_model_dir)), bad)


def test_packaged_aliases_know_hub_id_and_instruct(tmp_path: Path) -> None:
    from crossling.models.loading import base_hub_id
    from crossling.models.packaged import PACKAGED

    assert base_hub_id("smollm2-135m") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert base_hub_id("gemma3-270m") == "google/gemma-3-270m"
    assert base_hub_id("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"
    assert base_hub_id(str(tmp_path)) is None  # a local folder has no hub id
    assert PACKAGED.get("smollm2-135m").instruct and not PACKAGED.get("gemma3-270m").instruct


def test_base_model_refused_unless_allowed() -> None:
    from crossling.config_loader import validate_config
    from crossling.models import ModelConfig

    with pytest.raises(CrosslingError) as e:
        validate_config(ModelConfig, {"name": "gemma3-270m"}, "study.yaml")
    msg = str(e.value)
    assert "'gemma3-270m' is a base model" in msg and "model.allow_base: true" in msg
    assert "\n" not in msg
    assert validate_config(ModelConfig, {"name": "gemma3-270m", "allow_base": True}).allow_base
