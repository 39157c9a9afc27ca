"""Geometry of a behaviour: cosines between behaviour vectors, language vectors and LoRA
weight updates.

Why three comparisons: (1) behaviour vectors of one adapter measured in different languages
point the same way when the adapter writes one language-agnostic direction; (2) a behaviour
vector that is close to the language vector ``train_lang ← lang`` partly moves the prompt
toward the training language instead of carrying the behaviour; (3) adapters trained in
different languages either learn the same weight update ``ΔW = scale · B·A`` or not, per
module and layer, with no data at all.

``<B₁A₁, B₂A₂>_F = Σ (B₁ᵀB₂) ⊙ (A₁A₂ᵀ)`` needs only ``r × r`` products, so ΔW (``d_out ×
d_in``) is never formed.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossling.errors import CrosslingError

if TYPE_CHECKING:
    from crossling.behaviour.stage import Stage

_LORA_KEY = re.compile(r"layers\.(\d+)\.(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$")


def cosine_per_layer(a: Any, b: Any) -> list[float]:
    """Cosine of ``a[l]`` and ``b[l]`` (both ``[n_layers, d_model]``) per layer; 0 where a
    vector is zero."""
    import torch

    num = (a.float() * b.float()).sum(-1)
    den = a.float().norm(dim=-1) * b.float().norm(dim=-1)
    return [float(x) for x in torch.where(den > 0, num / den.clamp_min(1e-30), 0.0)]


def lora_factors(adapter_dir: Path) -> dict[tuple[int, str], tuple[Any, Any, float]]:
    """``(layer, module) → (B [d_out, r], A [r, d_in], scale)`` of a saved peft LoRA adapter.

    Raises:
        CrosslingError: no adapter weights/config in the folder, or no LoRA layer found.
    """
    from safetensors.torch import load_file

    weights = Path(adapter_dir) / "adapter_model.safetensors"
    config = Path(adapter_dir) / "adapter_config.json"
    if not weights.exists() or not config.exists():
        raise CrosslingError(f"{adapter_dir} holds no adapter_model.safetensors and "
                             "adapter_config.json; pass a LoRA adapter folder.")
    cfg = json.loads(config.read_text(encoding="utf-8"))
    r, alpha = int(cfg["r"]), float(cfg["lora_alpha"])
    scale = alpha / (r ** 0.5) if cfg.get("use_rslora") else alpha / r
    parts: dict[tuple[int, str], dict[str, Any]] = {}
    for key, t in load_file(str(weights)).items():
        m = _LORA_KEY.search(key)
        if m:
            parts.setdefault((int(m.group(1)), m.group(2)), {})[m.group(3)] = t.float()
    out = {k: (v["B"], v["A"], scale) for k, v in parts.items() if "A" in v and "B" in v}
    if not out:
        raise CrosslingError(f"{weights} has no LoRA A/B weights of decoder layers; is it a "
                             "LoRA adapter?")
    return out


def delta_w_cosines(a_dir: Path, b_dir: Path) -> dict[str, Any]:
    """Cosine of ``ΔW`` of two adapters per (module, layer), and each ΔW's Frobenius norm.

    Returns:
        ``{"modules": [...], "layers": [...], "cos": [[module × layer]], "norm_a", "norm_b"}``
        (None where a module is missing in one adapter).
    """
    fa, fb = lora_factors(a_dir), lora_factors(b_dir)
    modules = sorted({m for _, m in fa} | {m for _, m in fb})
    layers = sorted({la for la, _ in fa} | {la for la, _ in fb})

    def inner(x: tuple[Any, Any, float], y: tuple[Any, Any, float]) -> float:
        (b1, a1, s1), (b2, a2, s2) = x, y
        return float(((b1.T @ b2) * (a1 @ a2.T)).sum()) * s1 * s2

    cos: list[list[float | None]] = []
    na: list[list[float | None]] = []
    nb: list[list[float | None]] = []
    for m in modules:
        row: list[float | None] = []
        ra: list[float | None] = []
        rb: list[float | None] = []
        for la in layers:
            x, y = fa.get((la, m)), fb.get((la, m))
            if x is None or y is None:
                row.append(None)
                ra.append(None if x is None else inner(x, x) ** 0.5)
                rb.append(None if y is None else inner(y, y) ** 0.5)
                continue
            nx, ny = inner(x, x) ** 0.5, inner(y, y) ** 0.5
            row.append(inner(x, y) / (nx * ny) if nx > 0 and ny > 0 else 0.0)
            ra.append(nx)
            rb.append(ny)
        cos.append(row)
        na.append(ra)
        nb.append(rb)
    return {"modules": modules, "layers": layers, "cos": cos, "norm_a": na, "norm_b": nb}


def vector_geometry(vectors: dict[tuple[str, str], Any], adapters: dict[str, str],
                    langs: list[str], lang_vectors: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """Per-layer cosines between behaviour vectors (across languages, across adapters) and
    between behaviour and language vectors.

    Args:
        vectors: ``(adapter, lang) → BehaviourVectors``.
        adapters: adapter name → training language.
        langs: languages measured.
        lang_vectors: ``(train_lang, lang) → SteeringVectors`` (direction train_lang ← lang).
    """
    across_langs = {}
    for a in adapters:
        pairs = list(itertools.combinations(langs, 2))
        across_langs[a] = {
            "rows": [f"{x}·{y}" for x, y in pairs],
            "cos": [cosine_per_layer(vectors[(a, x)].vectors, vectors[(a, y)].vectors)
                    for x, y in pairs]}
    across_adapters = {}
    for a, b in itertools.combinations(adapters, 2):
        across_adapters[f"{a}·{b}"] = {
            "rows": list(langs),
            "cos": [cosine_per_layer(vectors[(a, x)].vectors, vectors[(b, x)].vectors)
                    for x in langs]}
    vs_lang: dict[str, Any] = {"rows": [], "cos": []}
    for a, train in adapters.items():
        for x in langs:
            lv = lang_vectors.get((train, x))
            if lv is None:
                continue
            vs_lang["rows"].append(f"{a} in {x} · {train}←{x}")
            vs_lang["cos"].append(cosine_per_layer(vectors[(a, x)].vectors, lv.vectors))
    n_layers = next(iter(vectors.values())).n_layers
    norms = {f"{a} in {x}": [float(n / r) if r > 0 else 0.0 for n, r in zip(
        vectors[(a, x)].vectors.norm(dim=-1), vectors[(a, x)].resid_norm, strict=True)]
        for a in adapters for x in langs}
    return {"layers": list(range(n_layers)), "across_langs": across_langs,
            "across_adapters": across_adapters, "vs_lang": vs_lang,
            "relative_norm": norms}


def mean_finite(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def run_geometry(stage: Stage, vectors: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """Cosines of behaviour vectors, language vectors and LoRA updates, with heatmaps and a
    compact table; writes ``geometry.json`` (no model is loaded).

    Returns:
        ``{"vectors": vector_geometry(...), "delta_w": {"a·b": delta_w_cosines(...)},
        "table": [...], "figures": {...}}``.
    """
    from crossling.behaviour.plots import plot_cosine_heatmap, plot_relative_norms
    from crossling.io import atomic_write_json
    from crossling.steer.vector import SteeringVectors

    bdir, adapters, langs = stage.bdir, stage.adapters, stage.langs
    lang_vecs = {}
    for train in dict.fromkeys(adapters.values()):
        for x in langs:
            if x != train and train in langs:
                lang_vecs[(train, x)] = SteeringVectors.load(bdir.lang_vectors, train, x)
    geo = vector_geometry(vectors, adapters, langs, lang_vecs)
    dw = {f"{a}·{b}": delta_w_cosines(Path(stage.cfg.adapters[a]), Path(stage.cfg.adapters[b]))
          for a, b in itertools.combinations(adapters, 2)}
    layers = geo["layers"]
    figures: dict[str, str] = {}

    def fig(name: str, rows: list[str], grid: list[list[float | None]], title: str,
            xs: list[int] = layers) -> None:
        if rows:
            figures[name] = str(plot_cosine_heatmap(rows, xs, grid, title, bdir.figure(name)))

    for a, g in geo["across_langs"].items():
        fig(f"cos_langs_{a}", g["rows"], g["cos"],
            f"Behaviour vectors of adapter {a}: cosine between languages")
    if geo["across_adapters"]:
        rows = [f"{pair} in {x}" for pair, g in geo["across_adapters"].items() for x in g["rows"]]
        grid = [c for g in geo["across_adapters"].values() for c in g["cos"]]
        fig("cos_adapters", rows, grid, "Behaviour vectors of two adapters, same language")
    fig("cos_lang_vectors", geo["vs_lang"]["rows"], geo["vs_lang"]["cos"],
        "Behaviour vector vs language vector (train language ← prompt language)")
    for pair, d in dw.items():
        fig(f"delta_w_{pair.replace('·', '_')}", d["modules"], d["cos"],
            f"LoRA ΔW = scale·B·A, cosine between adapters {pair} per module and layer",
            d["layers"])
    figures["relative_norm"] = str(plot_relative_norms(geo["relative_norm"],
                                                        bdir.figure("relative_norm")))
    table = geometry_table(geo, dw)
    result = {"vectors": geo, "delta_w": dw, "table": table, "figures": figures}
    atomic_write_json(bdir.geometry, result)
    return result


def geometry_table(geo: dict[str, Any], dw: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison: the mean cosine over layers (and over modules for ΔW), and the
    layer where it peaks."""
    rows = []

    def add(kind: str, what: str, per_layer: list[list[float]]) -> None:
        flat = [v for r in per_layer for v in r]
        if not flat:
            return
        means = [sum(c) / len(c) for c in zip(*per_layer, strict=True)]  # mean over rows
        peak = max(range(len(means)), key=lambda i: means[i])
        rows.append({"kind": kind, "what": what, "mean_cos": sum(flat) / len(flat),
                     "peak_layer": peak, "peak_cos": means[peak]})

    for a, g in geo["across_langs"].items():
        add("behaviour · behaviour (languages)", f"adapter {a}", g["cos"])
    for pair, g in geo["across_adapters"].items():
        add("behaviour · behaviour (adapters)", pair, g["cos"])
    if geo["vs_lang"]["rows"]:
        add("behaviour · language vector", "all adapters", geo["vs_lang"]["cos"])
    for pair, d in dw.items():
        kept = [[v if v is not None else 0.0 for v in r] for r in d["cos"]]
        flat = [v for r in d["cos"] for v in r if v is not None]
        if flat:
            by_layer = [sum(c) / len(c) for c in zip(*kept, strict=True)]
            peak = max(range(len(by_layer)), key=lambda i: by_layer[i])
            rows.append({"kind": "LoRA ΔW (modules × layers)", "what": pair,
                         "mean_cos": sum(flat) / len(flat), "peak_layer": d["layers"][peak],
                         "peak_cos": by_layer[peak]})
    return rows
