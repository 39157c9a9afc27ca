"""The start-up canary (``verify_decoding``) in every decoding mode: greedy, sampling and
steered decoding are each held to one teacher-forced forward over the same tokens.

Why these tests: the greedy check against ``model.generate`` never sees the sampling path or
steering hooks, so a loop that is right when greedy and wrong when sampling went unnoticed.
Each refusal test breaks the loop in exactly one mode and asserts that the other modes pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crossling.errors import CrosslingError
from crossling.evaluate.backends import hf
from crossling.evaluate.backends.base import GenerationConfig
from crossling.evaluate.backends.hf import CANARY_PROMPTS, HFBackend, verify_decoding

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SAMPLING = GenerationConfig(do_sample=True, temperature=0.7, top_p=1.0, seed=5)
NUCLEUS = GenerationConfig(do_sample=True, temperature=0.7, top_p=0.9, seed=5)


@pytest.fixture(scope="module")
def lively(lively_model_dir: Path, device: str) -> Any:
    """A tiny random Llama whose answers depend on their context, on the test device."""
    from crossling.models import load_model

    loaded = load_model(str(lively_model_dir))
    assert loaded.device.type == device.split(":")[0]
    return loaded


@pytest.fixture
def modes_seen(monkeypatch: pytest.MonkeyPatch) -> list[GenerationConfig]:
    """Every GenerationConfig the decode loop is run with (the canary's modes)."""
    seen: list[GenerationConfig] = []
    real = HFBackend.decode_batch

    def spy(self: HFBackend, batch: Any, cfg: GenerationConfig, seeds: Any,
            record: Any = None) -> Any:
        seen.append(cfg)
        return real(self, batch, cfg, seeds, record)

    monkeypatch.setattr(HFBackend, "decode_batch", spy)
    return seen


def _one_line(err: pytest.ExceptionInfo[CrosslingError]) -> str:
    msg = str(err.value)
    assert "\n" not in msg and "transformers" in msg and "torch" in msg  # the versions
    return msg


# ------------------------------------------------------------------ the loop passes


@pytest.mark.parametrize("cfg", [None, SAMPLING, NUCLEUS], ids=["greedy", "sampling", "top_p"])
def test_canary_passes_the_real_loop_in_every_mode(lively, modes_seen, cfg) -> None:
    verify_decoding(HFBackend(lively), cfg)
    assert not modes_seen[0].do_sample  # greedy always (with the model.generate comparison)
    if cfg is None:
        assert len(modes_seen) == 1
    else:  # and the run's own mode: its temperature, top_p and seed reach the loop
        assert len(modes_seen) == 2 and modes_seen[1].do_sample
        assert (modes_seen[1].temperature, modes_seen[1].top_p, modes_seen[1].seed) == (
            cfg.temperature, cfg.top_p, cfg.seed)
        assert modes_seen[1].max_new_tokens == hf.CANARY_TOKENS


def test_the_loop_records_the_logits_it_chose_from(lively) -> None:
    """decode_batch's probe: one float32 logits row per generated token, the greedy token its
    argmax, equal to the teacher-forced forward's to rounding; without it nothing changes."""
    import torch

    backend = HFBackend(lively)
    encoded = backend.encode(list(CANARY_PROMPTS))
    cfg = GenerationConfig(max_new_tokens=8, batch_size=2)
    record: list[list[Any]] = [[], []]
    outs = backend.decode_batch(encoded, cfg, [0, 0], record)
    assert outs == backend.decode_batch(encoded, cfg, [0, 0])
    for ids, (tokens, _), logits in zip(encoded, outs, record, strict=True):
        assert len(logits) == len(tokens)
        stacked = torch.stack(logits)  # [n, vocab]
        assert stacked.dtype == torch.float32
        assert stacked.argmax(dim=-1).tolist() == tokens
        ref = hf.teacher_forced_logits(backend, ids, tokens)
        assert ref.shape == stacked.shape
        assert float((ref.log_softmax(-1) - stacked.log_softmax(-1)).abs().max()) < 1e-3


def test_canary_passes_with_adapters_in_the_control_and_an_adapter(
    lively_model_dir: Path, tmp_path: Path
) -> None:
    """LoRA disabled (the control) and enabled: the loop and the forward see the same model."""
    from crossling.models import load_model
    from test_generation import make_adapter

    a = make_adapter(lively_model_dir, tmp_path / "a", seed=1)
    backend = HFBackend(load_model(str(lively_model_dir)), {"a": a})
    verify_decoding(backend, SAMPLING)
    backend.set_adapter("a")
    verify_decoding(backend, SAMPLING)


def test_make_hf_backend_checks_the_runs_mode(lively_model_dir: Path, monkeypatch) -> None:
    """The eval factory hands the run's GenerationConfig to the canary."""
    from crossling.models.config import ModelConfig

    got: list[Any] = []
    monkeypatch.setattr(hf, "verify_decoding", lambda backend, cfg=None, **kw: got.append(cfg))
    hf.make_hf_backend(ModelConfig(name=str(lively_model_dir)), None, generation=NUCLEUS)
    assert got == [NUCLEUS]


# ------------------------------------------------- a loop wrong only when sampling


def _position_off_by_one(step: Callable[..., Any]) -> Callable[..., Any]:
    """Decode steps one position too far (a wrong position id: RoPE sees a gap)."""
    return lambda ids, mask, pos, cache: step(ids, mask, pos + 1, cache)


def _stale_logits(step: Callable[..., Any]) -> Callable[..., Any]:
    """Each step hands back the previous step's logits (a stale output buffer)."""
    prev: dict[str, Any] = {}

    def stale(ids: Any, mask: Any, pos: Any, cache: Any) -> Any:
        out = step(ids, mask, pos, cache)
        old, prev["logits"] = prev.get("logits"), out
        return old if old is not None and old.shape == out.shape else out

    return stale


@pytest.mark.parametrize("bug", [_position_off_by_one, _stale_logits],
                         ids=["position_id", "stale_logits"])
def test_canary_refuses_a_loop_that_is_wrong_only_when_sampling(lively, monkeypatch, bug) -> None:
    """The decode step is corrupted only in runs that sample: greedy answers stay exactly
    right (so the greedy canary and model.generate agree), sampled ones do not."""
    real_decode, real_step = HFBackend.decode_batch, HFBackend._decode_step

    def decode_batch(self: HFBackend, batch: Any, cfg: GenerationConfig, seeds: Any,
                     record: Any = None) -> Any:
        if cfg.do_sample:
            self._decode_step = lambda lm, kw: bug(real_step(self, lm, kw))  # type: ignore[method-assign,assignment]
        try:
            return real_decode(self, batch, cfg, seeds, record)
        finally:
            self.__dict__.pop("_decode_step", None)

    backend = HFBackend(lively)
    greedy = GenerationConfig(max_new_tokens=8, batch_size=4)
    before = [g.response for g in backend.generate(list(CANARY_PROMPTS), greedy)]
    monkeypatch.setattr(HFBackend, "decode_batch", decode_batch)
    assert [g.response for g in backend.generate(list(CANARY_PROMPTS), greedy)] == before
    verify_decoding(backend)  # greedy: right, and passes
    for cfg in (SAMPLING, NUCLEUS):
        with pytest.raises(CrosslingError) as err:
            verify_decoding(backend, cfg)
        msg = _one_line(err)
        assert f"in sampling (temperature 0.7, top_p {cfg.top_p:g}) mode" in msg
        assert "canary prompt" in msg and "generated position" in msg
        assert "max |Δ log-prob|" in msg and "full forward pass" in msg


def test_canary_refuses_a_sampler_that_leaves_the_nucleus(lively, monkeypatch) -> None:
    """Right logits, wrong token: a sampler that ignores top_p (here: always the least
    likely token) is caught by the nucleus re-derived from the reference."""
    real_pick = HFBackend.pick

    def pick(logits: Any, cfg: GenerationConfig, gens: Any, alive: list[int]) -> Any:
        if cfg.do_sample:
            return logits.argmin(dim=-1)
        return real_pick(logits, cfg, gens, alive)

    monkeypatch.setattr(HFBackend, "pick", staticmethod(pick))
    backend = HFBackend(lively)
    verify_decoding(backend)
    with pytest.raises(CrosslingError) as err:
        verify_decoding(backend, NUCLEUS)
    msg = _one_line(err)
    assert "outside the top_p nucleus" in msg and "generated position 0" in msg


def test_first_disagreement_tolerates_rounding_only() -> None:
    """The comparison itself: rounding-level noise passes; a shifted position does not."""
    import torch

    torch.manual_seed(0)
    ref = torch.randn(5, 50) * 5  # [n, vocab]
    tokens = ref.argmax(dim=-1).tolist()
    greedy = GenerationConfig()
    noisy = ref + 1e-5 * torch.randn_like(ref) + 3.0  # a constant shift is not a difference
    assert hf.first_disagreement(tokens, noisy, ref, greedy, 1e-3) is None
    broken = ref.clone()
    broken[3] = ref[2]
    where = hf.first_disagreement(tokens, broken, ref, greedy, 1e-3)
    assert where is not None and where[0] == 3 and where[1] > 1e-3
    nan = torch.full_like(ref, float("nan"))
    assert hf.first_disagreement(tokens, nan, nan, greedy, 1e-3) is None  # the same overflow
    where = hf.first_disagreement(tokens, nan, ref, greedy, 1e-3)
    assert where is not None and where[0] == 0


# ----------------------------------------------------------------------- steering


def _deltas(_loaded: Any) -> dict[int, Any]:
    """A strong random vector at layer 1 (the lively model's width is 64)."""
    import torch

    gen = torch.Generator().manual_seed(1)
    return {1: 3.0 * torch.randn(64, generator=gen)}


@pytest.mark.parametrize("positions", ["all", "generated", "prompt"])
@pytest.mark.parametrize("cfg", [None, SAMPLING], ids=["greedy", "sampling"])
def test_canary_passes_steered_decoding(lively, modes_seen, positions, cfg) -> None:
    from crossling.steer.apply import add_to_layers

    backend = HFBackend(lively)
    deltas = _deltas(lively)

    def steering() -> Any:
        return add_to_layers(lively.model, deltas, positions=positions)

    plain = GenerationConfig(max_new_tokens=8, batch_size=2)
    unsteered = [g.response for g in backend.generate(list(CANARY_PROMPTS), plain)]
    with steering():
        steered = [g.response for g in backend.generate(list(CANARY_PROMPTS), plain)]
    assert steered != unsteered  # the vector changes the answers: the check is not vacuous
    verify_decoding(backend, cfg, steering=steering)
    assert modes_seen[-1].do_sample == (cfg is not None)  # the steered check, in the run's mode


def test_generated_position_steering_needs_the_primed_forward(lively) -> None:
    """Why teacher_forced_logits primes: a cacheless full forward alone looks like a new
    prompt to the steering hooks, so 'generated' positions would go unsteered."""
    import torch

    from crossling.steer.apply import add_to_layers

    backend = HFBackend(lively)
    ids = backend.encode([CANARY_PROMPTS[0]])[0]
    gen = torch.Generator().manual_seed(0)
    answer = [int(t) for t in torch.randint(100, 1000, (6,), generator=gen).tolist()]
    with add_to_layers(lively.model, _deltas(lively), positions="generated"):
        primed = hf.teacher_forced_logits(backend, ids, answer, prime=True)
    with add_to_layers(lively.model, _deltas(lively), positions="generated"):
        unprimed = hf.teacher_forced_logits(backend, ids, answer)
    plain = hf.teacher_forced_logits(backend, ids, answer)
    assert torch.equal(primed[0], plain[0])  # the prompt's last position is never steered
    assert float((primed[1:] - plain[1:]).abs().max()) > 0.1
    assert torch.allclose(unprimed, plain)


def _steers_once(loaded: Any, first: bool) -> Callable[[], Any]:
    """A steering factory whose hooks reach only the first context (the loop: ``first``)
    or only the later ones (the teacher-forced forwards)."""
    from crossling.steer.apply import add_to_layers

    calls = [0]

    def factory() -> Any:
        calls[0] += 1
        if (calls[0] == 1) == first:
            return add_to_layers(loaded.model, _deltas(loaded), positions="all")
        return contextlib.nullcontext()

    return factory


@pytest.mark.parametrize("loop_steered", [True, False], ids=["loop_only", "forward_only"])
@pytest.mark.parametrize("cfg", [None, SAMPLING], ids=["greedy", "sampling"])
def test_canary_refuses_steering_that_reaches_only_one_side(lively, loop_steered, cfg) -> None:
    backend = HFBackend(lively)
    with pytest.raises(CrosslingError) as err:
        verify_decoding(backend, cfg, steering=_steers_once(lively, first=loop_steered))
    msg = _one_line(err)
    mode = "greedy" if cfg is None else "sampling (temperature 0.7, top_p 1)"
    assert f"in {mode} + steering mode" in msg and "canary prompt 1" in msg


def test_canary_refuses_steering_applied_to_decode_steps_only(lively) -> None:
    """A hook that steers one-token forwards only (the decode steps, never a prefill or a
    full forward) is a loop-specific steering bug: refused."""
    from crossling.models import get_decoder_layers

    @contextlib.contextmanager
    def steps_only() -> Iterator[None]:
        vec = _deltas(lively)[1].to(lively.device)

        def hook(_mod: Any, _args: Any, output: Any) -> Any:
            h = output[0] if isinstance(output, tuple) else output
            if h.shape[1] != 1:
                return None
            h = h + vec.to(h.dtype)
            return (h, *output[1:]) if isinstance(output, tuple) else h

        handle = get_decoder_layers(lively.model)[1].register_forward_hook(hook)
        try:
            yield
        finally:
            handle.remove()

    backend = HFBackend(lively)
    verify_decoding(backend, SAMPLING)
    with pytest.raises(CrosslingError) as err:
        verify_decoding(backend, SAMPLING, steering=steps_only)
    msg = _one_line(err)
    assert "+ steering mode" in msg and "generated position 1" in msg
