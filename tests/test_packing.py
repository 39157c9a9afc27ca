"""Packed training: layout, masks, micro-batch planning, and the oracle — loss and gradients
of a packed sequence equal those of the padded batch (fp32, 1e-5), for every attention
implementation and model family we run; then whole training runs packed vs padded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.test_train import adapter_tensors, job, write_data

from crossling.train import SFTLoss, collate
from crossling.train.packing import (
    attention_inputs,
    attn_implementation,
    block_causal_mask,
    pack,
    plan_micro_batches,
    row_attention,
    uses_varlen,
)

VOCAB = 97


def rows(lengths: list[int], seed: int = 0) -> list[dict[str, list[int]]]:
    """Random rows whose first ~40 % is an unlabelled prompt."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for n in lengths:
        ids = torch.randint(3, VOCAB, (n,), generator=g).tolist()
        cut = max(1, int(0.4 * n))
        out.append({"input_ids": ids, "labels": [-100] * cut + ids[cut:]})
    return out


def test_pack_layout() -> None:
    p = pack([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
              {"input_ids": [8, 9], "labels": [8, 9]}])
    assert p["input_ids"].tolist() == [[5, 6, 7, 8, 9]]
    assert p["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    assert p["seq_ids"].tolist() == [[0, 0, 0, 1, 1]]
    # a row's first token is never a target: nothing is predicted across the boundary
    assert p["labels"].tolist() == [[-100, 6, 7, -100, 9]]
    assert p["cu_seq_lens"].tolist() == [0, 3, 5]


def test_block_causal_mask_matches_definition() -> None:
    import torch

    p = pack(rows([4, 1, 6]))
    seq, pos = p["seq_ids"][0].tolist(), p["position_ids"][0].tolist()
    for window in (None, 2):
        m = block_causal_mask(p["seq_ids"], p["position_ids"], "sdpa", torch.float32, window)
        assert m.shape == (1, 1, 11, 11) and m.dtype == torch.bool
        for q in range(11):
            for k in range(11):
                ok = seq[q] == seq[k] and pos[k] <= pos[q]
                if window is not None:
                    ok = ok and pos[q] - pos[k] < window
                assert bool(m[0, 0, q, k]) == ok
        add = block_causal_mask(p["seq_ids"], p["position_ids"], "eager", torch.float32, window)
        assert add.dtype == torch.float32
        assert torch.equal(add == 0, m)
        assert (add[~m] == torch.finfo(torch.float32).min).all()


def test_flash_implementations_get_varlen_kwargs_and_no_mask() -> None:
    from types import SimpleNamespace

    model = SimpleNamespace(config=SimpleNamespace(_attn_implementation="flash_attention_2"))
    p = pack(rows([5, 3, 7]))
    out = attention_inputs(model, p, None)
    assert uses_varlen("flash_attention_2") and not uses_varlen("sdpa")
    assert "attention_mask" not in out
    assert out["cu_seq_lens_q"].tolist() == [0, 5, 8, 15] and out["max_length_k"] == 7
    assert out["position_ids"].tolist() == [[0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6]]


def test_plan_micro_batches_keeps_every_row_within_budget() -> None:
    lengths = [30, 5, 90, 41, 12, 60, 7, 200, 33]
    bins = plan_micro_batches(range(len(lengths)), lengths, max_tokens=100)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    for b in bins:
        assert sum(lengths[i] for i in b) <= 100 or len(b) == 1  # an over-long row alone
    assert len(bins) <= 6  # 478 tokens: first-fit decreasing packs them tightly
    assert bins == plan_micro_batches(range(len(lengths)), lengths, max_tokens=100)


def _tiny(family: str, impl: str) -> Any:
    """A 2-layer random model; Gemma 3 with a 4-token window so the window really cuts."""
    import torch
    from transformers import AutoModelForCausalLM, Gemma3TextConfig, LlamaConfig, Qwen2Config

    common: dict[str, Any] = dict(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        pad_token_id=0, attn_implementation=impl,
    )
    cfg: Any
    if family == "llama":
        cfg = LlamaConfig(**common)
    elif family == "qwen2":
        cfg = Qwen2Config(**common)
    else:
        cfg = Gemma3TextConfig(**common, head_dim=8, sliding_window=4,
                               layer_types=["sliding_attention", "full_attention"])
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(cfg)


def _lora(model: Any) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1)
    # random B as well as A: both get gradients (a zero B makes A's gradient zero)
    return get_peft_model(model, LoraConfig(r=4, lora_alpha=8, init_lora_weights=False,
                                            target_modules=["q_proj", "v_proj", "down_proj"]))


def _loss_and_grads(model: Any, inputs: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
    model.zero_grad(set_to_none=True)
    total, n = SFTLoss(model)(**inputs)
    total.backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters() if p.requires_grad}
    return float(total.detach()), int(n), grads


@pytest.mark.parametrize("family", ["llama", "qwen2", "gemma3"])
@pytest.mark.parametrize("impl", ["sdpa", "eager", "rows"])
def test_packed_loss_and_gradients_equal_padded(
    family: str, impl: str, device: str, one_torch_thread: None
) -> None:
    """``rows``: attention per row (``row_attention``); sdpa/eager: the block-diagonal mask."""
    import torch

    model = _lora(_tiny(family, "sdpa" if impl == "rows" else impl)).to(device)
    model.train()
    exs = rows([9, 23, 4, 16, 11])
    padded = {k: v.to(device) for k, v in collate(exs, pad_id=0).items()}
    ref_loss, ref_n, ref_grads = _loss_and_grads(model, padded)

    packed = {k: v.to(device) if hasattr(v, "to") else v for k, v in pack(exs).items()}
    with row_attention(model, enabled=impl == "rows") as switched:
        assert switched == (impl == "rows")
        inputs = {"input_ids": packed["input_ids"], "labels": packed["labels"],
                  **attention_inputs(model, packed, torch.float32)}
        if impl == "rows":
            assert "attention_mask" not in inputs and inputs["packed_rows"] == (0, 9, 32, 36, 52, 63)
        elif family == "gemma3":
            assert set(inputs["attention_mask"]) == {"full_attention", "sliding_attention"}
        loss, n, grads = _loss_and_grads(model, inputs)
    assert attn_implementation(model) == ("sdpa" if impl == "rows" else impl)  # restored

    assert n == ref_n == sum(sum(1 for x in e["labels"][1:] if x != -100) for e in exs)
    assert loss == pytest.approx(ref_loss, rel=1e-5, abs=1e-5)
    assert grads.keys() == ref_grads.keys() and len(grads) >= 6
    for k, g in grads.items():
        assert g.abs().sum() > 0, k
        assert torch.allclose(g, ref_grads[k], rtol=1e-5, atol=1e-5), k

    # the oracle can fail: without the block mask, rows attend across boundaries
    leaky = {"input_ids": packed["input_ids"], "labels": packed["labels"]}
    assert float(SFTLoss(model)(**leaky)[0].detach()) != pytest.approx(ref_loss, rel=1e-4)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data(tmp_path_factory.mktemp("data"))


def test_packed_training_matches_padded_training(
    tmp_path: Path, data_dir: Path, tiny_model_dir: Path, one_torch_thread: None
) -> None:
    """Whole runs (4 steps of 2 x 2 rows): packed, packed with a token budget that re-splits
    each step's rows, and padded end with the same adapter and loss curve."""
    import torch

    common = {"max_steps": 4, "grad_accum": 2, "save_every": 100}
    padded = run(job(data_dir, tiny_model_dir, tmp_path / "padded", packing=False, **common))
    packed = run(job(data_dir, tiny_model_dir, tmp_path / "packed", **common))
    split = run(job(data_dir, tiny_model_dir, tmp_path / "split", micro_batch_tokens=64,
                    **common))
    ref = adapter_tensors(padded)
    assert any(v.abs().sum() > 0 for k, v in ref.items() if "lora_B" in k)
    for other in (packed, split):
        got = adapter_tensors(other)
        for k in ref:
            assert torch.allclose(ref[k], got[k], rtol=1e-4, atol=1e-6), k
    losses = [_losses(p) for p in (padded, packed, split)]
    for a, b, c in zip(*losses, strict=True):
        assert a == pytest.approx(b, rel=1e-5) and a == pytest.approx(c, rel=1e-5)


def run(cfg: Any) -> Path:
    from crossling.train import run_train

    return run_train(cfg)


def _losses(adapter: Path) -> list[float]:
    from crossling.paths import TrainDir

    lines = TrainDir(adapter.parent).train_log.read_text().splitlines()[1:]
    return [float(line.split(",")[1]) for line in lines]


def test_fused_adamw_where_supported() -> None:
    import torch

    from crossling.train import TrainConfig
    from crossling.train.trainer import _adamw

    p = [torch.nn.Parameter(torch.randn(3, 2))]
    assert _adamw(p, TrainConfig()).defaults["fused"] is True  # torch >= 2.4 fuses on CPU
    assert not _adamw(p, TrainConfig(fused_adamw=False)).defaults["fused"]
