"""Add steering vectors to the residual stream of a plain HF, PEFT or merged model.

Why hooks and not a converted model: the same loaded model (with its LoRA adapter, merged or
not) is generated from with and without steering; a forward hook on a decoder layer adds
``strength × vector[layer]`` to that layer's output, and exiting the context removes every
hook (in ``finally``), leaving the model exactly as it was.

Which positions get the vector is decided per forward pass by a pre-hook on the module that
owns the decoder layers (``LlamaModel`` …), which sees what the layers cannot:

* the 2-D ``attention_mask`` ``[batch, past + seq]``: its last ``seq`` columns mark left
  padding, which is never steered (steering-vectors#60 read padding from the wrong place);
* the KV cache: a forward with an empty cache (or none) starts a sequence and its ``seq``
  tokens are the prompt; a forward that continues a non-empty cache (one token each,
  TransformerLens#1005) carries generated tokens. This holds however the prompt was
  prefilled: crossling's backend prefills packed prompts without a cache and then hands
  the decode steps a cache it filled itself, whose length is the padded width, not the
  packed length. (Chunked prefill, which continues a cache with prompt tokens, is not
  used by crossling or by ``generate``'s default decoding.) Without a cache,
  ``generate`` re-runs the whole sequence each step; a forward whose first ``prompt_len``
  ids equal the recorded prompt is recognised as that continuation, so prompt/generated
  positions stay right there too.

A 4-D or per-layer-type (dict) mask, which ``generate`` builds only for compilable (static)
caches, carries no usable 2-D padding mask; then padding positions are steered too (they are
masked out of attention, so real tokens are unaffected).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crossling.errors import CrosslingError
from crossling.models.layers import get_decoder_layers
from crossling.steer.record import layer_owner
from crossling.steer.vector import SteeringVectors

POSITIONS = ("prompt", "generated", "all")


@dataclass
class SteerState:
    """What the pre-hook learnt about the current forward pass (read by the layer hooks).

    Attributes:
        prompt_len: padded prompt length of the current sequence (set by its first forward).
        prompt_ids: ``[batch, prompt_len]`` ids of that prompt (detects cacheless decoding).
        mask: ``[batch, seq, 1]`` bool, positions to steer in this forward; None = all.
        skip: no position is steered in this forward.
        active: a pre-hook ran for the forward in progress (layers called directly: steer all).
        nonfinite: some steered output had inf/NaN (only checked with ``check_finite``).
        forwards: forward passes seen (for tests and diagnostics).
    """

    prompt_len: int = 0
    prompt_ids: Any = None
    mask: Any = None
    skip: bool = False
    active: bool = False
    nonfinite: bool = False
    forwards: int = 0
    _cast: dict[Any, Any] = field(default_factory=dict)


def check_layers(layers: Sequence[int], n_layers: int) -> list[int]:
    """Validate 0-based layer indices.

    Raises:
        CrosslingError: an index outside ``0..n_layers-1``, naming the valid range.
    """
    out = []
    for layer in layers:
        if not isinstance(layer, int) or isinstance(layer, bool) or not 0 <= layer < n_layers:
            raise CrosslingError(
                f"layer {layer} is out of range: the model has {n_layers} decoder layers, "
                f"valid layers are 0..{n_layers - 1}."
            )
        out.append(layer)
    return out


def _positions_mask(
    state: SteerState, positions: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Pre-hook body: decide which positions of this forward are steered."""
    import torch

    ids = kwargs.get("input_ids", args[0] if args else None)
    embeds = kwargs.get("inputs_embeds")
    x = ids if ids is not None else embeds
    if x is None:  # nothing we can reason about: steer everything
        state.mask, state.skip, state.active = None, False, True
        return
    batch, seq = int(x.shape[0]), int(x.shape[1])
    am = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
    cache = kwargs.get("cache", kwargs.get("past_key_values"))
    past = 0
    if cache is not None and hasattr(cache, "get_seq_length"):
        past = int(cache.get_seq_length())
    if past == 0:
        continuation = (
            cache is None  # cacheless decoding re-runs the whole sequence each step
            and ids is not None
            and state.prompt_ids is not None
            and state.prompt_ids.shape[0] == batch
            and seq > state.prompt_len
            and torch.equal(ids[:, : state.prompt_len], state.prompt_ids)
        )
        if not continuation:
            state.prompt_len = seq
            state.prompt_ids = ids.detach().clone() if ids is not None else None
    state.forwards += 1
    state.active = True
    device = x.device
    sel: Any = None
    if positions != "all" and past > 0:  # continuing a cached sequence: generated tokens
        if positions == "prompt":
            state.mask, state.skip = None, True
            return
    elif positions != "all":
        pos = torch.arange(seq, device=device)  # absolute positions [seq]
        keep = pos < state.prompt_len if positions == "prompt" else pos >= state.prompt_len
        if not bool(keep.any()):
            state.mask, state.skip = None, True
            return
        if not bool(keep.all()):
            sel = keep[None, :].expand(batch, seq)
    if isinstance(am, torch.Tensor) and am.ndim == 2 and am.shape[1] >= seq:
        real = am[:, -seq:].to(device).bool()  # [batch, seq]
        if not bool(real.all()):
            sel = real if sel is None else sel & real
    state.skip = False
    state.mask = None if sel is None else sel[..., None]  # [batch, seq, 1]


@contextlib.contextmanager
def add_to_layers(
    model: Any,
    deltas: Mapping[int, Any],
    *,
    positions: str = "all",
    layers_path: str | None = None,
    check_finite: bool = False,
) -> Iterator[SteerState]:
    """Add ``deltas[layer]`` (``[d_model]``) to those decoder layers' outputs, inside the block.

    Args:
        model: causal LM, PeftModel (merged or not).
        deltas: layer index → vector ``[d_model]`` already multiplied by its strength.
        positions: 'prompt', 'generated' or 'all' (padding is never steered).
        layers_path: override for the decoder-layer path.
        check_finite: flag ``state.nonfinite`` when a steered output has inf/NaN (one
            reduction per steered layer per forward).

    Yields:
        The SteerState shared by the hooks (``nonfinite``, ``forwards``).

    Raises:
        CrosslingError: unknown ``positions`` or a layer out of range.
    """
    import torch

    if positions not in POSITIONS:
        raise CrosslingError(
            f"unknown steering positions '{positions}'; use one of: {', '.join(POSITIONS)}."
        )
    layers = get_decoder_layers(model, layers_path)
    check_layers(list(deltas), len(layers))
    owner = layer_owner(model, layers)
    state = SteerState()

    def pre_hook(_mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        _positions_mask(state, positions, args, kwargs)

    def post_hook(_mod: Any, _args: Any, _kwargs: Any, _out: Any) -> None:
        state.active, state.mask, state.skip = False, None, False

    def make_hook(layer: int) -> Any:
        vec = deltas[layer]

        def hook(_mod: Any, _args: Any, output: Any) -> Any:
            if state.skip:
                return None
            h = output[0] if isinstance(output, tuple) else output  # [batch, seq, d_model]
            key = (layer, h.dtype, h.device)
            d = state._cast.get(key)
            if d is None:
                d = state._cast[key] = torch.as_tensor(vec).to(device=h.device, dtype=h.dtype)
            mask = state.mask if state.active else None
            steered = h + d if mask is None else h + mask.to(h.dtype) * d
            if check_finite and not bool(torch.isfinite(steered).all()):
                state.nonfinite = True
            if isinstance(output, tuple):
                return (steered, *output[1:])
            return steered

        return hook

    handles = []
    try:
        handles.append(owner.register_forward_pre_hook(pre_hook, with_kwargs=True))
        handles.append(owner.register_forward_hook(post_hook, with_kwargs=True))
        for layer in deltas:
            handles.append(layers[layer].register_forward_hook(make_hook(layer)))
        yield state
    finally:
        for h in handles:
            h.remove()


def steering_deltas(
    vectors: SteeringVectors, layers: Sequence[int], strength: float, *, normalize: bool = False
) -> dict[int, Any]:
    """Per-layer additive vectors ``[d_model]`` for one strength.

    Args:
        vectors: the language vectors.
        layers: layers to steer (validated against the vectors' layer count).
        strength: multiple of the raw vector; with ``normalize`` a multiple of the layer's
            mean residual norm along the unit vector.
        normalize: see ``strength``.
    """
    check_layers(list(layers), vectors.n_layers)
    out = {}
    for layer in layers:
        v = vectors.vectors[layer].float()
        if normalize:
            v = v / v.norm().clamp_min(1e-12) * float(vectors.resid_norm[layer])
        out[layer] = v * float(strength)
    return out


@contextlib.contextmanager
def steer(
    model: Any,
    vectors: SteeringVectors,
    layers: int | Sequence[int],
    strength: float,
    *,
    normalize: bool = False,
    positions: str = "all",
    layers_path: str | None = None,
    check_finite: bool = False,
) -> Iterator[SteerState]:
    """Steer ``model`` toward ``vectors.target`` inside the block.

    Example:
        >>> with steer(model, vecs, layers=12, strength=4.0):
        ...     out = model.generate(**batch)

    Args:
        model: causal LM or PeftModel the vectors were made for.
        vectors: ``target ← source`` vectors (checked against the model's sizes).
        layers: one layer or several (each gets its own vector).
        strength: see :func:`steering_deltas`.
        normalize: strength in units of the layer's mean residual norm.
        positions: 'prompt', 'generated' or 'all'.
        layers_path: override for the decoder-layer path.
        check_finite: record inf/NaN outputs in the yielded state.

    Raises:
        CrosslingError: vectors for another model, or a layer out of range.
    """
    vectors.check_model(model, layers_path)
    layer_list = [layers] if isinstance(layers, int) else list(layers)
    deltas = steering_deltas(vectors, layer_list, strength, normalize=normalize)
    with add_to_layers(
        model, deltas, positions=positions, layers_path=layers_path, check_finite=check_finite
    ) as state:
        yield state
