"""Oracle tests of the steering hooks on tiny random models.

Each test compares steered computation against an independent oracle: the unhooked layer
output plus the vector at the positions that should be steered, one-prompt-at-a-time
generation, cacheless generation, and a merged LoRA model.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import torch

from conftest import make_tiny_model_dir
from crossling.errors import CrosslingError
from crossling.models import get_decoder_layers, load_model
from crossling.steer import SteeringVectors, add_to_layers, steer
from crossling.steer.record import capture_layers, layer_owner, render_prompts

PROMPTS = ["Hi", "Write a long poem about the sea and the sky", "Count to three"]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    torch.manual_seed(0)
    return load_model(str(tiny_model_dir))


@pytest.fixture(scope="module")
def tiny_gemma(tmp_path_factory: pytest.TempPathFactory, smol_tokenizer_dir: Path):
    d = make_tiny_model_dir(tmp_path_factory.mktemp("gemma"), smol_tokenizer_dir, "gemma3")
    return load_model(str(d))


def _vectors(loaded, seed: int = 1, scale: float = 1.0) -> SteeringVectors:
    g = torch.Generator().manual_seed(seed)
    n = len(get_decoder_layers(loaded.model))
    d = loaded.model.config.hidden_size
    return SteeringVectors(
        vectors=torch.randn(n, d, generator=g) * scale,
        resid_norm=torch.ones(n) * 2.0,
        target="ru", source="en", model_spec=loaded.spec, n_prompts=4, ids_hash="x",
        position="mean", builder="mean_diff",
    )


def _batch(loaded, prompts=PROMPTS):
    texts = render_prompts(loaded.tokenizer, prompts, loaded.config.system_prompt)
    return loaded.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def _layer_outputs(model, enc, **kw):
    with torch.no_grad(), capture_layers(model) as store:
        model(**enc, **kw)
        return [h.clone() for h in store]


@pytest.mark.parametrize("family", ["llama", "gemma3"])
def test_hooked_output_is_unhooked_plus_vector_on_real_tokens(family, tiny, tiny_gemma):
    loaded = tiny if family == "llama" else tiny_gemma
    enc = _batch(loaded)
    assert (enc["attention_mask"] == 0).any(), "the batch must contain left padding"
    vecs = _vectors(loaded)
    base = _layer_outputs(loaded.model, enc)
    layer, strength = 1, 3.0
    with steer(loaded.model, vecs, layer, strength, positions="all"):
        steered = _layer_outputs(loaded.model, enc)
    diff = steered[layer] - base[layer]  # [batch, seq, d]
    real = enc["attention_mask"].bool()
    expect = strength * vecs.vectors[layer]
    torch.testing.assert_close(diff[real], expect.expand(int(real.sum()), -1), atol=1e-5, rtol=0)
    assert diff[~real].abs().max() == 0, "padding positions must not be steered"
    # layers before the steered one are untouched
    torch.testing.assert_close(steered[0], base[0], atol=0, rtol=0)


def test_prompt_and_generated_positions_with_kv_cache(tiny):
    """Prefill positions are 'prompt'; each cached decode step (1 token) is 'generated'."""
    from transformers import DynamicCache

    from crossling.evaluate.backends.hf import cache_argument

    model, enc = tiny.model, _batch(tiny)
    kw = cache_argument(model)  # past_key_values up to transformers 5.23, cache from 5.24
    vecs = _vectors(tiny)
    layer = 1
    nxt = torch.tensor([[5], [6], [7]])
    mask2 = torch.cat([enc["attention_mask"], torch.ones(3, 1, dtype=torch.long)], dim=1)

    def run(positions):
        cache = DynamicCache(config=model.config)
        outs = []
        with contextlib.ExitStack() as stack:
            if positions:  # steering hooks first, so the capture hook sees steered outputs
                stack.enter_context(steer(model, vecs, layer, 2.0, positions=positions))
            store = stack.enter_context(capture_layers(model))
            stack.enter_context(torch.no_grad())
            model(**enc, **{kw: cache}, use_cache=True)
            outs.append(store[layer].clone())
            store.clear()
            model(input_ids=nxt, attention_mask=mask2, **{kw: cache}, use_cache=True)
            outs += [store[layer].clone(), store[layer + 1].clone()]
        return outs

    base = run(None)
    d = 2.0 * vecs.vectors[layer]
    real = enc["attention_mask"].bool()
    pre, dec, dec_next = run("prompt")
    torch.testing.assert_close((pre - base[0])[real], d.expand(int(real.sum()), -1), atol=1e-5, rtol=0)
    # decode step under 'prompt': the steered layer adds nothing (its own K/V come from the
    # unsteered layer below), but the next layer attends to the steered cached prompt
    torch.testing.assert_close(dec, base[1], atol=0, rtol=0)
    assert not torch.allclose(dec_next, base[2], atol=1e-4)
    gen_pre, gen_dec, _ = run("generated")
    torch.testing.assert_close(gen_pre, base[0], atol=0, rtol=0)
    torch.testing.assert_close(gen_dec - base[1], d.expand(3, 1, -1), atol=1e-5, rtol=0)


def test_everything_identical_after_exit_and_hooks_removed(tiny):
    model, enc = tiny.model, _batch(tiny)
    layers = get_decoder_layers(model)
    owner = layer_owner(model, layers)
    with torch.no_grad():
        before = model(**enc).logits.clone()
        with steer(model, _vectors(tiny), [0, 2], 4.0) as state:
            during = model(**enc).logits.clone()
        after = model(**enc).logits
    assert state.forwards == 1
    assert not torch.allclose(before, during, atol=1e-3), "steering must change the logits"
    torch.testing.assert_close(after, before, atol=0, rtol=0)
    assert all(not layer._forward_hooks for layer in layers)
    assert not owner._forward_pre_hooks and not owner._forward_hooks


def test_hooks_removed_when_the_body_raises(tiny):
    layers = get_decoder_layers(tiny.model)
    with pytest.raises(RuntimeError), steer(tiny.model, _vectors(tiny), 1, 1.0):
        raise RuntimeError("boom")
    assert all(not layer._forward_hooks for layer in layers)


def _greedy(loaded, prompts, **kw):
    enc = _batch(loaded, prompts)
    with torch.no_grad():
        out = loaded.model.generate(
            **enc, max_new_tokens=6, do_sample=False, pad_token_id=loaded.tokenizer.pad_token_id,
            **kw,
        )
    width = enc["input_ids"].shape[1]
    return [row[width:].tolist() for row in out]


@pytest.mark.parametrize("positions", ["prompt", "generated", "all"])
def test_batched_steered_generation_equals_one_at_a_time(tiny, positions):
    vecs = _vectors(tiny, scale=0.5)
    with steer(tiny.model, vecs, 1, 2.0, positions=positions):
        batched = _greedy(tiny, PROMPTS)
        single = [_greedy(tiny, [p])[0] for p in PROMPTS]
    assert batched == single
    unsteered = _greedy(tiny, PROMPTS)
    assert unsteered != batched, "steering had no effect: the oracle would prove nothing"


@pytest.mark.parametrize("positions", ["prompt", "generated"])
def test_kv_cache_generation_equals_cacheless_generation(tiny, positions):
    """With a cache the decode steps are 1 token each; without one the whole sequence is
    re-run each step. Both must steer the same positions."""
    vecs = _vectors(tiny, scale=0.5)
    with steer(tiny.model, vecs, 1, 2.0, positions=positions):
        cached = _greedy(tiny, PROMPTS, use_cache=True)
        cacheless = _greedy(tiny, PROMPTS, use_cache=False)
    assert cached == cacheless
    assert cached != _greedy(tiny, PROMPTS), "steering had no effect: the oracle would prove nothing"


def test_hf_backend_batched_equals_single(tiny):
    """The evaluation backend's own decode loop (KV cache compaction) under steering."""
    gen = pytest.importorskip("crossling.evaluate.backends.hf")
    backend = gen.HFBackend(tiny)
    cfg = gen.GenerationConfig(max_new_tokens=6, batch_size=3)
    vecs = _vectors(tiny, scale=0.5)
    with steer(tiny.model, vecs, 1, 2.0, positions="generated"):
        batched = [g.response for g in backend.generate(PROMPTS, cfg)]
        single = [backend.generate([p], cfg)[0].response for p in PROMPTS]
    assert batched == single
    assert [g.response for g in backend.generate(PROMPTS, cfg)] != batched


def test_peft_unmerged_and_merged_give_same_steered_output(tiny_model_dir: Path):
    from peft import LoraConfig, get_peft_model

    loaded = load_model(str(tiny_model_dir))
    torch.manual_seed(3)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                     init_lora_weights=False)
    peft_model = get_peft_model(loaded.model, cfg).eval()
    enc = _batch(loaded)
    vecs = _vectors(loaded)
    with torch.no_grad():
        base_model_logits = None
        with peft_model.disable_adapter():
            base_model_logits = peft_model(**enc).logits
        with steer(peft_model, vecs, [0, 2], 2.0):
            unmerged = peft_model(**enc).logits
            unmerged_gen = _greedy_model(peft_model, loaded, enc)
        merged = peft_model.merge_and_unload().eval()
        with steer(merged, vecs, [0, 2], 2.0):
            merged_out = merged(**enc).logits
            merged_gen = _greedy_model(merged, loaded, enc)
    real = enc["attention_mask"].bool()
    torch.testing.assert_close(unmerged[real], merged_out[real], atol=1e-4, rtol=1e-4)
    assert unmerged_gen == merged_gen
    assert not torch.allclose(unmerged[real], base_model_logits[real], atol=1e-3)


def _greedy_model(model, loaded, enc):
    out = model.generate(**enc, max_new_tokens=5, do_sample=False,
                         pad_token_id=loaded.tokenizer.pad_token_id)
    return out[:, enc["input_ids"].shape[1]:].tolist()


def test_normalized_strength_is_in_units_of_residual_norm(tiny):
    from crossling.steer import steering_deltas

    vecs = _vectors(tiny)
    d = steering_deltas(vecs, [1], 3.0, normalize=True)[1]
    assert float(d.norm()) == pytest.approx(3.0 * 2.0, rel=1e-5)  # resid_norm = 2
    raw = steering_deltas(vecs, [1], 3.0)[1]
    torch.testing.assert_close(raw, 3.0 * vecs.vectors[1])


def test_layer_out_of_range_names_valid_range(tiny):
    with pytest.raises(CrosslingError, match=r"valid layers are 0\.\.2"), steer(
        tiny.model, _vectors(tiny), 3, 1.0
    ):
        pass
    with pytest.raises(CrosslingError, match="out of range"), add_to_layers(
        tiny.model, {-1: torch.zeros(64)}
    ):
        pass


def test_unknown_positions_rejected(tiny):
    with pytest.raises(CrosslingError, match="prompt, generated, all"), add_to_layers(
        tiny.model, {0: torch.zeros(64)}, positions="answer"
    ):
        pass


def test_vectors_for_another_model_say_which_dimension(tiny):
    vecs = _vectors(tiny)
    wide = SteeringVectors(**{**vecs.__dict__, "vectors": torch.zeros(3, 32)})
    with pytest.raises(CrosslingError, match="hidden size 32 but the model has 64"):
        wide.check_model(tiny.model)
    deep = SteeringVectors(**{**vecs.__dict__, "vectors": torch.zeros(30, 64)})
    with pytest.raises(CrosslingError, match="has 30 layers but the model has 3"):
        deep.check_model(tiny.model)


def test_nonfinite_output_is_flagged(tiny):
    enc = _batch(tiny)
    with torch.no_grad(), steer(tiny.model, _vectors(tiny), 1, 1e39, check_finite=True) as st:
        tiny.model(**enc)
    assert st.nonfinite
    with torch.no_grad(), steer(tiny.model, _vectors(tiny), 1, 1.0, check_finite=True) as st:
        tiny.model(**enc)
    assert not st.nonfinite


@pytest.mark.slow
def test_smollm2_backend_batched_steered_equals_single():
    """On the real model: the evaluation backend's batched, KV-cached decode under steering
    equals one-prompt-at-a-time decode."""
    from crossling.evaluate.backends.hf import GenerationConfig, HFBackend

    loaded = load_model("smollm2-135m")
    backend = HFBackend(loaded)
    cfg = GenerationConfig(max_new_tokens=6, batch_size=3)
    vecs = _vectors(loaded, scale=0.5)
    with steer(loaded.model, vecs, [8, 12], 2.0, positions="all"):
        batched = [g.response for g in backend.generate(PROMPTS, cfg)]
        single = [backend.generate([p], cfg)[0].response for p in PROMPTS]
    assert batched == single
    assert [g.response for g in backend.generate(PROMPTS, cfg)] != batched
