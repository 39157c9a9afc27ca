"""Directional ablation: project a behaviour direction out of the residual stream.

Why ablation next to the transfer matrix: adding a vector that *produces* the behaviour shows
the direction suffices; removing it from the adapter model and watching the behaviour go
shows the adapter *uses* it. A forward hook on a decoder layer replaces its output ``h`` by
``h − (h·u) u`` (``u`` the unit behaviour direction at that layer), at every position of
every forward pass (prompt and generated tokens, with or without a KV cache), so nothing
downstream of the layer sees a component along ``u``. Exiting the context removes every hook
(in ``finally``), leaving the model as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from crossling.behaviour.scoring import (
    cell_values,
    coherence_log,
    mean_of,
    paired_delta,
    score_log,
    summary,
)
from crossling.behaviour.stage import Stage, setting_key
from crossling.behaviour.transfer import (
    BASE_SETTING,
    generate_base_and_lora,
    lora_setting,
    selection_lang,
)
from crossling.errors import CrosslingError
from crossling.io import atomic_write_json
from crossling.models.layers import get_decoder_layers
from crossling.steer.apply import check_layers
from crossling.steer.select import FIDELITY, TASK_METRICS


def unit_directions(vectors: Any, layers: list[int], what: str = "behaviour vector") -> dict[int, Any]:
    """Unit vectors ``[d_model]`` of ``vectors[layer]`` (float32) for ``layers``.

    Args:
        vectors: ``[n_layers, d_model]``.
        layers: layers to take (validated against ``n_layers``).
        what: name used in the error message.

    Raises:
        CrosslingError: a layer out of range, or a zero vector (no direction to remove).
    """
    check_layers(layers, int(vectors.shape[0]))
    out = {}
    for layer in layers:
        v = vectors[layer].float()
        n = float(v.norm())
        if not n > 0:
            raise CrosslingError(
                f"the {what} at layer {layer} is zero, so it has no direction to ablate; the "
                "adapter does not change that layer's output — choose other ablation_layers."
            )
        out[layer] = v / n
    return out


@contextlib.contextmanager
def project_out(
    model: Any, directions: Mapping[int, Any], layers_path: str | None = None
) -> Iterator[None]:
    """Remove the component along ``directions[layer]`` from those decoder layers' outputs.

    Args:
        model: causal LM or PeftModel (merged or not).
        directions: layer index → direction ``[d_model]`` (normalised here).
        layers_path: override for the decoder-layer path.

    Raises:
        CrosslingError: a layer out of range or a zero direction.
    """
    import torch

    layers = get_decoder_layers(model, layers_path)
    check_layers(list(directions), len(layers))
    units = {}
    for layer, d in directions.items():
        d = torch.as_tensor(d).float()
        if not float(d.norm()) > 0:
            raise CrosslingError(f"ablation direction at layer {layer} is zero; nothing to "
                                 "project out.")
        units[layer] = d / d.norm()
    cast: dict[Any, Any] = {}

    def make_hook(layer: int) -> Any:
        def hook(_mod: Any, _args: Any, output: Any) -> Any:
            h = output[0] if isinstance(output, tuple) else output  # [batch, seq, d_model]
            key = (layer, h.device)
            u = cast.get(key)
            if u is None:
                u = cast[key] = units[layer].to(h.device)
            hf = h.float()
            coef = hf @ u  # [batch, seq]
            out = (hf - coef[..., None] * u).to(h.dtype)
            return (out, *output[1:]) if isinstance(output, tuple) else out

        return hook

    handles = []
    try:
        for layer in units:
            handles.append(layers[layer].register_forward_hook(make_hook(layer)))
        yield
    finally:
        for h in handles:
            h.remove()


def ablation_hook(stage: Stage, units: dict[int, Any]) -> Callable[[], Any]:
    """A factory of the projection context (the model is looked up when it is entered)."""
    return lambda: project_out(stage.model, units, stage.cfg.model.layers_path)


def ablation_layers(stage: Stage, n_layers: int) -> list[int]:
    layers = stage.cfg.ablation_layers
    return list(range(n_layers)) if layers is None else check_layers(list(layers), n_layers)


def run_ablation(stage: Stage, vectors: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """``crossling behaviour ablate``: each adapter with its behaviour direction projected out,
    on every eval prompt of every language; writes ``ablation.json``.

    The direction on prompts in language Y is the vector measured in the adapter's training
    language (``ablation_direction: train``, one shared direction) or in Y itself (``lang``).

    Returns:
        ``{"metric", "interval", "layers", "direction", "entries": [...]}``; one entry per
        adapter × language with the adapter's mean, the ablated mean, their paired difference
        (ablated − adapter) and the base model's mean on the same prompts.
    """
    cfg = stage.cfg
    n_layers = next(iter(vectors.values())).n_layers
    layers = ablation_layers(stage, n_layers)
    generate_base_and_lora(stage)
    every_id = sorted(next(iter(stage.rows.values())))

    def direction_lang(adapter: str, lang: str) -> str:
        return selection_lang(stage, adapter) if cfg.ablation_direction == "train" else lang

    def key(adapter: str, lang: str) -> str:
        return setting_key("ablate", adapter, direction_lang(adapter, lang), None, None)

    for a in stage.adapters:
        groups: dict[str, list[tuple[str, str]]] = {}
        for lang in stage.langs:  # one generate call per direction (all its languages)
            groups.setdefault(direction_lang(a, lang), []).extend(
                (lang, i) for i in every_id)
        for dl, todo in groups.items():
            units = unit_directions(vectors[(a, dl)].vectors, layers,
                                    f"behaviour vector of '{a}' in '{dl}'")
            stage.generate(a, setting_key("ablate", a, dl, None, None), todo,
                           hook=ablation_hook(stage, units),
                           phase="ablate", vector_adapter=a, from_lang=dl)
    primary, _ = TASK_METRICS[cfg.task]
    logged = stage.logged()
    scores = score_log(logged, [primary, FIDELITY], stage.langs)[primary]
    coh = coherence_log(logged)
    entries = []
    for a in stage.adapters:
        for lang in stage.langs:
            lora = cell_values(scores, lora_setting(a), lang, every_id)
            abl = cell_values(scores, key(a, lang), lang, every_id)
            base = cell_values(scores, BASE_SETTING, lang, every_id)
            lo, ab = summary(lora, cfg.seed, cfg.n_boot), summary(abl, cfg.seed, cfg.n_boot)
            bs = summary(base, cfg.seed, cfg.n_boot)
            d = paired_delta(abl, lora, cfg.seed, cfg.n_boot)
            # a share of the behaviour removed only where the adapter shows the behaviour
            # (its paired difference from base lies above 0); elsewhere it is meaningless
            effect = paired_delta(lora, base, cfg.seed, cfg.n_boot)
            removed = (-d["mean"] / effect["mean"] if d["mean"] is not None
                       and effect["ci_low"] is not None and effect["ci_low"] > 0 else None)
            entries.append({
                "adapter": a, "adapter_lang": stage.adapters[a], "lang": lang,
                "direction_lang": direction_lang(a, lang), "metric": primary,
                "mean": lo["mean"], "ci_low": lo["ci_low"], "ci_high": lo["ci_high"],
                "ablated_mean": ab["mean"], "ablated_ci_low": ab["ci_low"],
                "ablated_ci_high": ab["ci_high"], "delta": d["mean"],
                "delta_ci_low": d["ci_low"], "delta_ci_high": d["ci_high"],
                "baseline_mean": bs["mean"], "removed_fraction": removed, "n": d["n"],
                "coherence": mean_of(cell_values(coh, lora_setting(a), lang, every_id)),
                "ablated_coherence": mean_of(cell_values(coh, key(a, lang), lang, every_id)),
            })
    result = {
        "metric": primary, "layers": layers, "direction": cfg.ablation_direction,
        "interval": f"95 % percentile bootstrap over the {len(every_id)} eval prompts per "
                    f"language ({cfg.n_boot} resamples, seed {cfg.seed}); delta = ablated − "
                    "adapter, paired over prompts; removed_fraction = −delta / (adapter − base), "
                    "only where adapter − base has an interval above 0",
        "entries": entries,
    }
    atomic_write_json(stage.bdir.ablation, result)
    return result
