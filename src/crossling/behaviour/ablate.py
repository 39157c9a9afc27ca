"""Directional ablation: project a behaviour direction out of the residual stream.

Why ablation next to the transfer matrix: adding a vector that *produces* the behaviour shows
the direction suffices; removing it from the adapter model and watching the behaviour go
shows the adapter *uses* it. A forward hook on a decoder layer replaces its output ``h`` by
``h − (h·u) u`` (``u`` the unit behaviour direction at that layer), at every position of
every forward pass (prompt and generated tokens, with or without a KV cache), so nothing
downstream of the layer sees a component along ``u``. Exiting the context removes every hook
(in ``finally``), leaving the model as it was.

Controls and side effects, per adapter × language: the same adapter with ``random_draws``
random unit directions projected out of the same layers (one per layer and draw, seeded from
the config seed; :mod:`crossling.behaviour.controls`), so a drop that any direction would
cause is not read as the behaviour's; and, for the adapter, the ablated adapter and the
control, the language fidelity of the answers (the ``lang_fidelity`` scorer the sweep's
guard uses) and the garbage rate (answers that ``analysis.quality.degenerate_reason`` calls
degenerate): an ablation that lowers the behaviour by breaking the text or switching its
language has not shown that the direction carries the behaviour.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from crossling.behaviour.controls import control_fields, draw_setting, random_unit
from crossling.behaviour.results import AblationFile, ControlInfo
from crossling.behaviour.scoring import (
    cell_values,
    coherence_log,
    garbage_log,
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
    training_lang,
)
from crossling.data.build import candidate_langs
from crossling.errors import CrosslingError
from crossling.models.layers import get_decoder_layers
from crossling.steer.apply import check_layers
from crossling.steer.select import FIDELITY
from crossling.tasks import get_task


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


def random_units(stage: Stage, layers: list[int], d_model: int, draw: int) -> dict[int, Any]:
    """Random unit directions ``{layer: [d_model]}`` of draw ``draw`` (seeded by the config
    seed; the same for every adapter, so adapters are compared under the same control)."""
    return {la: random_unit(d_model, stage.cfg.seed, "ablate", la, draw) for la in layers}


def control_setting(adapter: str, draw: int) -> str:
    return draw_setting(setting_key("ablate-random", adapter, None, None, None), draw)


def ablation_layers(stage: Stage, n_layers: int) -> list[int]:
    layers = stage.cfg.ablation_layers
    return list(range(n_layers)) if layers is None else check_layers(list(layers), n_layers)


def _direction_lang(stage: Stage, adapter: str, lang: str) -> str:
    """The language whose behaviour vector is projected out on prompts in ``lang``."""
    return training_lang(stage, adapter) if stage.cfg.ablation_direction == "train" else lang


def _ablate_key(stage: Stage, adapter: str, lang: str) -> str:
    return setting_key("ablate", adapter, _direction_lang(stage, adapter, lang), None, None)


def _generate_ablations(stage: Stage, vectors: dict[tuple[str, str], Any], layers: list[int],
                        d_model: int, every_id: list[str]) -> None:
    """Each adapter with its behaviour direction projected out (one generate call per
    direction, all its languages) and with ``random_draws`` random unit directions."""
    for a in stage.adapters:
        groups: dict[str, list[tuple[str, str]]] = {}
        for lang in stage.langs:
            groups.setdefault(_direction_lang(stage, a, lang), []).extend(
                (lang, i) for i in every_id)
        for dl, todo in groups.items():
            units = unit_directions(vectors[(a, dl)].vectors, layers,
                                    f"behaviour vector of '{a}' in '{dl}'")
            stage.generate(a, setting_key("ablate", a, dl, None, None), todo,
                           hook=ablation_hook(stage, units),
                           phase="ablate", vector_adapter=a, from_lang=dl)
        every = [(lang, i) for lang in stage.langs for i in every_id]
        for k in range(stage.cfg.random_draws):
            stage.generate(a, control_setting(a, k), every,
                           hook=ablation_hook(stage, random_units(stage, layers, d_model, k)),
                           phase="ablate-random", vector_adapter=a, draw=k)


def _ablation_entry(stage: Stage, a: str, lang: str, every_id: list[str], primary: str,
                    logs: dict[str, Any]) -> dict[str, Any]:
    """One adapter × language row of ``ablation.json`` (see :func:`run_ablation`);
    ``logs``: metric / ``coherence`` / ``garbage`` → ``(setting, lang, id) → value``."""
    cfg = stage.cfg
    scores, fid, coh, garbage = (logs[primary], logs[FIDELITY], logs["coherence"],
                                 logs["garbage"])
    controls = [control_setting(a, k) for k in range(cfg.random_draws)]
    key = _ablate_key(stage, a, lang)
    lora = cell_values(scores, lora_setting(a), lang, every_id)
    abl = cell_values(scores, key, lang, every_id)
    base = cell_values(scores, BASE_SETTING, lang, every_id)

    def rate(values: Any, setting: str) -> float | None:
        return mean_of(cell_values(values, setting, lang, every_id))

    lo = summary(lora, cfg.seed, cfg.n_boot, primary)
    ab = summary(abl, cfg.seed, cfg.n_boot, primary)
    bs = summary(base, cfg.seed, cfg.n_boot, primary)
    d = paired_delta(abl, lora, cfg.seed, cfg.n_boot, primary)
    # a share of the behaviour removed only where the adapter shows the behaviour
    # (its paired difference from base lies above 0); elsewhere it is meaningless
    effect = paired_delta(lora, base, cfg.seed, cfg.n_boot, primary)
    removed = (-d["mean"] / effect["mean"] if d["mean"] is not None
               and effect["ci_low"] is not None and effect["ci_low"] > 0 else None)
    return {
        "adapter": a, "adapter_lang": stage.adapters[a], "lang": lang,
        "direction_lang": _direction_lang(stage, a, lang), "metric": primary,
        "mean": lo["mean"], "ci_low": lo["ci_low"], "ci_high": lo["ci_high"],
        "ablated_mean": ab["mean"], "ablated_ci_low": ab["ci_low"],
        "ablated_ci_high": ab["ci_high"], "delta": d["mean"],
        "delta_ci_low": d["ci_low"], "delta_ci_high": d["ci_high"],
        "baseline_mean": bs["mean"], "removed_fraction": removed, "n": d["n"],
        "coherence": rate(coh, lora_setting(a)), "ablated_coherence": rate(coh, key),
        "lang_fidelity": rate(fid, lora_setting(a)), "ablated_lang_fidelity": rate(fid, key),
        "garbage_rate": rate(garbage, lora_setting(a)),
        "ablated_garbage_rate": rate(garbage, key),
        **control_fields(abl, [cell_values(scores, c, lang, every_id) for c in controls],
                         cfg.seed, cfg.n_boot, primary),
        "control_lang_fidelity": mean_of({c: rate(fid, c) for c in controls}),
        "control_garbage_rate": mean_of({c: rate(garbage, c) for c in controls}),
        "control_coherence": mean_of({c: rate(coh, c) for c in controls}),
    }


def run_ablation(stage: Stage, vectors: dict[tuple[str, str], Any]) -> AblationFile:
    """``crossling behaviour ablate``: each adapter with its behaviour direction projected out,
    on every eval prompt of every language; writes ``ablation.json``.

    The direction on prompts in language Y is the vector measured in the adapter's training
    language (``ablation_direction: train``, one shared direction) or in Y itself (``lang``).

    Returns:
        The content of ``ablation.json``: one entry per adapter × language with the adapter's mean, the ablated mean, their paired
        difference (ablated − adapter), the base model's mean on the same prompts, the
        random-direction control (``control_*``: ablated − control paired over prompts) and
        the language fidelity and garbage rate of adapter, ablated adapter and control.
    """
    cfg = stage.cfg
    first = next(iter(vectors.values()))
    layers = ablation_layers(stage, first.n_layers)
    generate_base_and_lora(stage)
    every_id = sorted(next(iter(stage.rows.values())))
    _generate_ablations(stage, vectors, layers, first.hidden_size, every_id)
    primary = get_task(cfg.task).aim(cfg.metric)
    logged = stage.logged()
    logs = score_log(logged, [primary, FIDELITY], candidate_langs(cfg.data, stage.langs),
                     cfg.task, cfg.model.system_prompt)
    logs |= {"coherence": coherence_log(logged),
             "garbage": garbage_log(logged, cfg.model.system_prompt)}
    entries = [_ablation_entry(stage, a, lang, every_id, primary, logs)
               for a in stage.adapters for lang in stage.langs]
    result = AblationFile(
        metric=primary, layers=layers, direction=cfg.ablation_direction,
        control=ControlInfo(kind="random direction", draws=cfg.random_draws, seed=cfg.seed,
                            what="the adapter with a random unit direction per ablated layer "
                                 "projected out; control_mean = mean over draws; "
                                 "control_delta = ablated − control, paired over prompts"),
        garbage="share of answers degenerate by analysis.quality.degenerate_reason "
                "(empty, loops, stutters, prompt echo, invented words)",
        interval=f"95 % over the {len(every_id)} eval prompts per language, conditional "
                 "on the adapter: cells by the interval that fits the metric (rate: "
                 "Clopper-Pearson; bounded score: bounds-only below 100 prompts); delta = "
                 "ablated − adapter, paired over prompts (sign-flip test and its "
                 "inversion; Newcombe for rates); removed_fraction = −delta / (adapter − "
                 "base), only where adapter − base has an interval above 0",
        entries=entries,
    )
    result.write(stage.bdir.ablation)
    return result
