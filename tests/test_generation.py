"""HF generation backend: batched == one-at-a-time (oracle), adapter switching, sampling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crossling.evaluate.backends import BACKENDS, get_backend
from crossling.evaluate.backends.base import GenerationConfig, stop_token_ids
from crossling.evaluate.backends.hf import HFBackend

PROMPTS = [
    "Write a poem about the sea.",
    "What is 2+2?",
    "Translate 'cat' to German, please, and explain the grammar in detail.",
    "Hi",
    "Name three colours.",
    "Erkläre Photosynthese.",
    "Что такое ДНК?",
    "Give me a recipe for pancakes.",
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_adapter(model_dir: Path, out: Path, seed: int, spec: str | None = None) -> Path:
    """A LoRA adapter with random (non-zero) B, saved with crossling metadata."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from crossling.models.adapters import AdapterMeta, write_adapter_meta
    from crossling.models.config import ModelConfig
    from crossling.models.loading import model_spec

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                     task_type="CAUSAL_LM")
    peft = get_peft_model(model, cfg)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 2.0)
    peft.save_pretrained(str(out))
    spec = spec or model_spec(ModelConfig(name=str(model_dir)))
    write_adapter_meta(out, AdapterMeta(base_model=spec, task="caps", lang="en", seed=seed,
                                        data_hash="x"))
    return out


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    from crossling.models import load_model

    return load_model(str(tiny_model_dir))


def test_batched_greedy_equals_one_at_a_time(tiny) -> None:
    backend = HFBackend(tiny)
    cfg = GenerationConfig(max_new_tokens=12, batch_size=3)
    batched = backend.generate(PROMPTS, cfg)
    single = [backend.generate([p], cfg)[0] for p in PROMPTS]
    assert [g.response for g in batched] == [g.response for g in single]
    assert [g.new_tokens for g in batched] == [g.new_tokens for g in single]
    assert all(g.new_tokens <= 12 for g in batched)
    # order = input order: each prompt's token count is that of its own chat-templated text
    enc = backend.encode(PROMPTS)
    assert [g.prompt_tokens for g in batched] == [len(e) for e in enc]


def test_greedy_matches_hf_generate(tiny) -> None:
    """Our decode loop (sorting, compaction) gives what model.generate gives."""
    import torch

    backend = HFBackend(tiny)
    cfg = GenerationConfig(max_new_tokens=10, batch_size=4)
    ours = backend.generate(PROMPTS[:4], cfg)
    tok = tiny.tokenizer
    for p, g in zip(PROMPTS[:4], ours, strict=True):
        ids = torch.tensor([backend.encode([p])[0]])
        out = tiny.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                  max_new_tokens=10, do_sample=False,
                                  eos_token_id=sorted(backend.stop_ids))
        new = out[0, ids.shape[1]:].tolist()
        assert g.new_tokens == len(new)
        if new and new[-1] in backend.stop_ids:
            new = new[:-1]
        assert g.response == tok.decode(new, skip_special_tokens=True)


def test_stop_tokens_include_end_of_turn(tiny) -> None:
    ids = stop_token_ids(tiny.tokenizer, tiny.model)
    assert tiny.tokenizer.convert_tokens_to_ids("<|im_end|>") in ids


def test_stop_at_end_of_turn_is_reported(tiny, monkeypatch) -> None:
    """A row whose first token is a stop token ends at once, with stopped=True."""
    backend = HFBackend(tiny)
    cfg = GenerationConfig(max_new_tokens=8, batch_size=4)
    first = backend.generate(PROMPTS[:2], cfg)
    # make the greedy first token of prompt 0 a stop token
    enc = backend.encode(PROMPTS[:1])
    import torch

    with torch.no_grad():
        logits = tiny.model(torch.tensor(enc)).logits[0, -1]
    backend.stop_ids = {*backend.stop_ids, int(logits.argmax())}
    again = backend.generate(PROMPTS[:2], cfg)
    assert again[0].stopped and again[0].new_tokens == 1 and again[0].response == ""
    assert again[1].response == first[1].response  # the other row is unaffected


def test_sampling_is_seeded_and_order_independent(tiny) -> None:
    backend = HFBackend(tiny)
    cfg = GenerationConfig(max_new_tokens=8, do_sample=True, temperature=1.0, top_p=0.9,
                           seed=3, batch_size=4)
    a = backend.generate(PROMPTS[:4], cfg)
    b = backend.generate(list(reversed(PROMPTS[:4])), cfg.model_copy(update={"batch_size": 1}))
    assert [g.response for g in a] == [g.response for g in reversed(b)]
    c = backend.generate(PROMPTS[:4], cfg.model_copy(update={"seed": 4}))
    assert [g.response for g in a] != [g.response for g in c]
    greedy = backend.generate(PROMPTS[:4], GenerationConfig(max_new_tokens=8))
    assert [g.response for g in a] != [g.response for g in greedy]


def test_adapter_switching(tiny_model_dir: Path, tmp_path: Path) -> None:
    from crossling.models import load_model

    plain = load_model(str(tiny_model_dir))
    cfg = GenerationConfig(max_new_tokens=8, batch_size=4)
    base_out = [g.response for g in HFBackend(plain).generate(PROMPTS[:4], cfg)]

    a = make_adapter(tiny_model_dir, tmp_path / "a", seed=1)
    b = make_adapter(tiny_model_dir, tmp_path / "b", seed=2)
    backend = HFBackend(load_model(str(tiny_model_dir)), {"a": a, "b": b})
    assert backend.active is None
    control = [g.response for g in backend.generate(PROMPTS[:4], cfg)]
    assert control == base_out  # "no adapter" is exactly the base model
    backend.set_adapter("a")
    out_a = [g.response for g in backend.generate(PROMPTS[:4], cfg)]
    backend.set_adapter("b")
    out_b = [g.response for g in backend.generate(PROMPTS[:4], cfg)]
    assert out_a != base_out and out_b != base_out and out_a != out_b
    backend.set_adapter(None)
    assert [g.response for g in backend.generate(PROMPTS[:4], cfg)] == base_out
    backend.set_adapter("a")
    assert [g.response for g in backend.generate(PROMPTS[:4], cfg)] == out_a


def test_unknown_adapter_and_backend_names(tiny) -> None:
    from crossling.errors import CrosslingError

    backend = HFBackend(tiny)
    with pytest.raises(CrosslingError, match="unknown adapter 'en'"):
        backend.set_adapter("en")
    with pytest.raises(CrosslingError, match="Did you mean 'hf'"):
        get_backend("hff")
    assert "hf" in BACKENDS


def test_forward_hooks_apply_during_generation(tiny) -> None:
    """Steering relies on this: a forward hook on a decoder layer changes every step."""
    import torch

    from crossling.models import get_decoder_layers

    backend = HFBackend(tiny)
    cfg = GenerationConfig(max_new_tokens=6, batch_size=4)
    before = [g.response for g in backend.generate(PROMPTS[:3], cfg)]
    calls = []

    def hook(module, args, output):
        calls.append(1)
        hs = output[0] if isinstance(output, tuple) else output
        hs = hs + 5.0 * torch.ones_like(hs)
        return (hs, *output[1:]) if isinstance(output, tuple) else hs

    handle = get_decoder_layers(tiny.model)[1].register_forward_hook(hook)
    try:
        steered = [g.response for g in backend.generate(PROMPTS[:3], cfg)]
    finally:
        handle.remove()
    assert steered != before
    assert len(calls) >= 6  # prefill + one call per decode step
    assert [g.response for g in backend.generate(PROMPTS[:3], cfg)] == before


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: on a CPU shared with other jobs, 2-thread OpenMP stalls ~10x."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.floor
def test_smollm2_greedy_equals_generate_and_is_not_garbage(one_thread: None) -> None:
    """On every supported stack (CI runs this on the floor versions too) the backend's
    batched greedy answers are model.generate's, token for token, and real text."""
    import torch

    from crossling.analysis.quality import degenerate_reason
    from crossling.evaluate.backends.hf import reference_greedy
    from crossling.models import load_model

    backend = HFBackend(load_model("smollm2-135m"))
    prompts = [PROMPTS[0], PROMPTS[4], PROMPTS[5], PROMPTS[6]]
    cfg = GenerationConfig(max_new_tokens=24, batch_size=4)
    seeds = [0] * len(prompts)
    encoded = backend.encode(prompts)
    with torch.inference_mode():
        ours = backend.decode_batch(encoded, cfg, seeds)
    for ids, (mine, _stopped) in zip(encoded, ours, strict=True):
        ref, _ = reference_greedy(backend, ids, 24)
        assert mine == ref
    for p, g in zip(prompts, backend.generate(prompts, cfg), strict=True):
        assert degenerate_reason(g.response, p) is None, g.response


@pytest.mark.slow
def test_smollm2_batched_greedy_equals_one_at_a_time(one_thread: None) -> None:
    from crossling.models import load_model

    loaded = load_model("smollm2-135m")
    backend = HFBackend(loaded)
    cfg = GenerationConfig(max_new_tokens=16, batch_size=4)
    prompts = [PROMPTS[0], PROMPTS[3], PROMPTS[5], PROMPTS[6]]
    batched = backend.generate(prompts, cfg)
    single = [backend.generate([p], cfg)[0] for p in prompts]
    assert [g.response for g in batched] == [g.response for g in single]
    assert all(g.response.strip() for g in batched)  # real text comes out
    assert batched[1].stopped  # "Hi" gets a short answer that ends its turn


@pytest.mark.parametrize("family", ["qwen2", "gemma3"])
def test_other_families_batched_equals_single(
    family: str, smol_tokenizer_dir: Path, tmp_path: Path
) -> None:
    """Other decoder families (gemma3 has sliding-window layers) decode the same way."""
    from conftest import make_tiny_model_dir
    from crossling.models import load_model

    loaded = load_model(str(make_tiny_model_dir(tmp_path / family, smol_tokenizer_dir,
                                                family=family, layers=2)))
    backend = HFBackend(loaded)
    cfg = GenerationConfig(max_new_tokens=6, batch_size=4)
    batched = backend.generate(PROMPTS[:4], cfg)
    assert [g.response for g in batched] == [backend.generate([p], cfg)[0].response
                                             for p in PROMPTS[:4]]


# ----------------------------------------------------------------------------- canary


@pytest.fixture(scope="module")
def lively(lively_model_dir: Path):
    from crossling.models import load_model

    return load_model(str(lively_model_dir))


def test_canary_passes_when_the_loop_matches_generate(lively) -> None:
    from crossling.evaluate.backends.hf import verify_decoding

    verify_decoding(HFBackend(lively))


def test_canary_refuses_when_the_loop_and_generate_disagree(lively, monkeypatch) -> None:
    """The transformers 5.0–5.23 failure: the KV cache passed under a name the forward does
    not take is silently dropped, and every step after the first sees one token of context."""
    from crossling.errors import CrosslingError
    from crossling.evaluate.backends import hf

    monkeypatch.setattr(hf, "cache_argument", lambda lm: "kv_cache_under_a_wrong_name")
    with pytest.raises(CrosslingError) as err:
        hf.verify_decoding(HFBackend(lively))
    msg = str(err.value)
    assert "\n" not in msg and "model.generate disagree" in msg and "transformers" in msg


def test_hf_backend_uses_the_forward_cache_argument(tiny) -> None:
    from crossling.evaluate.backends.hf import cache_argument
    from crossling.models.layers import unwrap

    name = cache_argument(unwrap(tiny.model))
    import inspect

    assert name in inspect.signature(unwrap(tiny.model).forward).parameters


def test_auto_batch_on_cpu_follows_available_ram(tiny, monkeypatch) -> None:
    """``batch_size: auto`` off CUDA: rows from the available RAM (KV cache at full length,
    last-position logits, prefill activations per row; half the RAM), 1 to AUTO_CPU_BATCH.
    Qwen2.5-0.5B's shape in float32 (KV: 24 layers x 2 x 2 heads x 64 x 4 bytes = 24 KiB a
    token; logits of a 151,936 vocabulary), 100-token prompts and 256 new tokens: ~18 MB a
    row, so 2 GiB available give 50-64 rows, 0.5 GiB 12-20."""
    from transformers import Qwen2Config

    import crossling.evaluate.backends.hf as hf

    cfg = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                      num_attention_heads=14, num_key_value_heads=2, vocab_size=151936)
    gib = 2**30

    def fit(ram: float, prompt: int = 100, new: int = 256) -> int:
        return hf.rows_that_fit(cfg, 4, prompt, new, int(ram * gib), cap=hf.AUTO_CPU_BATCH)

    assert 50 <= fit(2) <= 64
    assert 12 <= fit(0.5) <= 20
    sizes = [fit(r) for r in (0, 0.01, 0.25, 0.5, 1, 2, 4, 64, 1024)]
    assert sizes == sorted(sizes) and sizes[0] == 1 and sizes[-1] == hf.AUTO_CPU_BATCH
    assert all(1 <= s <= hf.AUTO_CPU_BATCH for s in sizes)
    assert fit(0.5, new=2048) < fit(0.5) // 3  # long answers: fewer rows

    ram = hf.available_ram()
    assert ram is None or ram > 0
    backend = HFBackend(tiny)
    auto = GenerationConfig(max_new_tokens=8)
    if backend.loaded.device.type != "cuda":
        monkeypatch.setattr(hf, "available_ram", lambda: 1)
        assert backend.batch_size(auto, 40) == 1  # never 0
        monkeypatch.setattr(hf, "available_ram", lambda: None)  # unknown: the old constant
        assert backend.batch_size(auto, 40) == hf.AUTO_CPU_BATCH
        monkeypatch.setattr(hf, "available_ram", lambda: 64 * gib)
        assert backend.batch_size(auto, 40) == hf.AUTO_CPU_BATCH
