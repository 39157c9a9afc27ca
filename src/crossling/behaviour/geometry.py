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

Noise ceiling of vector cosines. Each behaviour vector is a mean over prompts, so even two
vectors of the same true direction have cosine < 1. Every vector keeps two split-half
vectors (the same difference over two disjoint halves of its prompts); their cosine ``r``
per layer is the split-half reliability, and the Spearman–Brown step ``R = 2r / (1 + r)``
(``r ≤ 0`` → 0) is the reliability of the full vector: with a true direction ``t`` and
independent prompt noise of variance ``σ²/n``, ``r = |t|² / (|t|² + 2σ²/n)`` and
``R = |t|² / (|t|² + σ²/n)``, the expected squared cosine of the measured vector with
``t``. Two vectors of the *same* true direction are then expected to show cosine
``√(R₁ R₂)``: that is the noise ceiling reported beside every cross-language and
cross-adapter cosine (``ceiling``); a cosine near it is as high as the data allow, one far
below it is a real difference in direction. (The halves of two languages use the same ids,
so their prompt noise may be correlated; the ceiling assumes it is not.)

LoRA initialisation. ``crossling train`` seeds torch with the training seed right before
``get_peft_model``, so two adapters of the same base model, LoRA config and training seed
(read from ``crossling_adapter.json`` and ``adapter_config.json``) start from the *same*
random ``A`` (``B = 0``). A short run barely moves ``A``, so ``ΔW = s·B·A`` of both lies in
the same ``r``-dimensional input subspace and their raw cosine compares ``B``'s only; with
different seeds the input subspaces are unrelated random ones and the same learned update
shows a much lower raw cosine. The raw cosine is therefore not comparable across pairs with
and without shared initialisation. Each pair records ``shared_init`` (same seed and LoRA
config: identical ``A`` at initialisation), ``a_cos`` (cosine of the two ``A`` matrices:
the shared input-side component, ≈ 1 when the shared init still dominates, ≈ 0 for
independent inits) and ``out_cos``, the cosine of the output-side Gram matrices
``ΔW ΔWᵀ = s² B (A Aᵀ) Bᵀ``: it depends on ``A`` only through ``A Aᵀ`` (≈ a multiple of the
identity for random rows, whatever the seed), so it compares the output subspaces the two
updates write into with the input basis removed — the init-independent comparison.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossling.behaviour.results import GeometryFile
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

    def gram(x: tuple[Any, Any, float], y: tuple[Any, Any, float]) -> float:
        """``<ΔW₁ΔW₁ᵀ, ΔW₂ΔW₂ᵀ>_F = tr(M₁ (B₁ᵀB₂) M₂ (B₂ᵀB₁))``, ``M = s² A Aᵀ``."""
        (b1, a1, s1), (b2, a2, s2) = x, y
        c = b1.T @ b2  # [r1, r2]
        return float(((a1 @ a1.T) @ c @ (a2 @ a2.T) @ c.T).trace()) * (s1 * s2) ** 2

    def cosine(f: Any, x: tuple[Any, Any, float], y: tuple[Any, Any, float]) -> float:
        nx, ny = f(x, x) ** 0.5, f(y, y) ** 0.5
        return f(x, y) / (nx * ny) if nx > 0 and ny > 0 else 0.0

    def a_cos(x: tuple[Any, Any, float], y: tuple[Any, Any, float]) -> float | None:
        a1, a2 = x[1], y[1]
        if a1.shape != a2.shape:
            return None
        den = float(a1.norm() * a2.norm())
        return float((a1 * a2).sum()) / den if den > 0 else 0.0

    cos: list[list[float | None]] = []
    out_cos: list[list[float | None]] = []
    acos: list[list[float | None]] = []
    na: list[list[float | None]] = []
    nb: list[list[float | None]] = []
    for m in modules:
        row: list[float | None] = []
        orow: list[float | None] = []
        arow: list[float | None] = []
        ra: list[float | None] = []
        rb: list[float | None] = []
        for la in layers:
            x, y = fa.get((la, m)), fb.get((la, m))
            ra.append(None if x is None else inner(x, x) ** 0.5)
            rb.append(None if y is None else inner(y, y) ** 0.5)
            if x is None or y is None:
                row.append(None)
                orow.append(None)
                arow.append(None)
                continue
            row.append(cosine(inner, x, y))
            orow.append(cosine(gram, x, y))
            arow.append(a_cos(x, y))
        cos.append(row)
        out_cos.append(orow)
        acos.append(arow)
        na.append(ra)
        nb.append(rb)
    return {"modules": modules, "layers": layers, "cos": cos, "out_cos": out_cos,
            "a_cos": acos, "norm_a": na, "norm_b": nb}


def shared_init(a_dir: Path, b_dir: Path) -> dict[str, Any]:
    """Whether two adapters started from the same LoRA ``A`` (same training seed, base model
    and LoRA config; ``crossling train`` seeds torch right before creating the LoRA).

    Returns:
        ``{"seeds": [a, b], "same_seed", "same_lora_config", "identical_lora_a_init"}``
        (seeds None when an adapter has no crossling metadata: then unknown, recorded False).
    """
    from crossling.models.adapters import read_adapter_meta

    def meta(d: Path) -> tuple[int | None, str | None, dict[str, Any]]:
        try:
            m = read_adapter_meta(d)
            seed, base = m.seed, m.base_model
        except CrosslingError:
            seed, base = None, None
        cfg = json.loads((Path(d) / "adapter_config.json").read_text(encoding="utf-8"))
        keys = ("r", "lora_alpha", "target_modules", "init_lora_weights", "use_rslora")
        tm = cfg.get("target_modules")
        lora = {k: (sorted(tm) if k == "target_modules" and isinstance(tm, list) else cfg.get(k))
                for k in keys}
        return seed, base, lora

    (sa, ba, la), (sb, bb, lb) = meta(Path(a_dir)), meta(Path(b_dir))
    same_seed = sa is not None and sa == sb
    same_lora = la == lb and ba == bb
    return {"seeds": [sa, sb], "same_seed": same_seed, "same_lora_config": same_lora,
            "identical_lora_a_init": same_seed and same_lora}


def split_half(vec: Any) -> dict[str, Any] | None:
    """Split-half cosine per layer of one behaviour vector and its Spearman–Brown
    reliability ``2r / (1 + r)`` (0 where ``r ≤ 0``); None without halves."""
    if getattr(vec, "halves", None) is None:
        return None
    r = cosine_per_layer(vec.halves[0], vec.halves[1])
    return {"split_half_cos": r,
            "reliability": [2 * x / (1 + x) if x > 0 else 0.0 for x in r],
            "n_half": [len(h) for h in vec.half_ids or []]}


def ceiling(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[float] | None:
    """Expected cosine of two vectors of one true direction: ``√(R_a R_b)`` per layer."""
    if a is None or b is None:
        return None
    return [(x * y) ** 0.5 for x, y in zip(a["reliability"], b["reliability"], strict=True)]


def vector_geometry(vectors: dict[tuple[str, str], Any], adapters: dict[str, str],
                    langs: list[str], lang_vectors: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """Per-layer cosines between behaviour vectors (across languages, across adapters) and
    between behaviour and language vectors, each vector comparison with its noise ceiling
    (``ceiling``, None where a vector has no split halves).

    Args:
        vectors: ``(adapter, lang) → BehaviourVectors``.
        adapters: adapter name → training language.
        langs: languages measured.
        lang_vectors: ``(train_lang, lang) → SteeringVectors`` (direction train_lang ← lang).
    """
    halves = {k: split_half(v) for k, v in vectors.items()}
    across_langs = {}
    for a in adapters:
        pairs = list(itertools.combinations(langs, 2))
        across_langs[a] = {
            "rows": [f"{x}·{y}" for x, y in pairs],
            "cos": [cosine_per_layer(vectors[(a, x)].vectors, vectors[(a, y)].vectors)
                    for x, y in pairs],
            "ceiling": [ceiling(halves[(a, x)], halves[(a, y)]) for x, y in pairs]}
    across_adapters = {}
    for a, b in itertools.combinations(adapters, 2):
        across_adapters[f"{a}·{b}"] = {
            "rows": list(langs),
            "cos": [cosine_per_layer(vectors[(a, x)].vectors, vectors[(b, x)].vectors)
                    for x in langs],
            "ceiling": [ceiling(halves[(a, x)], halves[(b, x)]) for x in langs]}
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
            "relative_norm": norms,
            "noise_ceiling": {
                "method": "split-half: each vector rebuilt from two disjoint halves of its "
                          "prompts; split_half_cos = cosine of the halves per layer, "
                          "reliability = Spearman–Brown 2r/(1+r) (0 where r ≤ 0); the ceiling "
                          "of a cosine between vectors a and b is √(R_a·R_b)",
                "per_vector": {f"{a} in {x}": halves[(a, x)] for a in adapters for x in langs}}}


def mean_finite(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def run_geometry(stage: Stage, vectors: dict[tuple[str, str], Any]) -> GeometryFile:
    """Cosines of behaviour vectors, language vectors and LoRA updates, with heatmaps and a
    compact table; writes ``geometry.json`` (no model is loaded).

    Returns:
        The content of ``geometry.json``: ``vectors`` (:func:`vector_geometry` without its
        noise ceiling), ``noise_ceiling``, ``delta_w`` (``"a·b"`` → :func:`delta_w_cosines`
        with :func:`shared_init`), the compact ``table`` and the ``figures``.
    """
    from crossling.behaviour.plots import plot_cosine_heatmap, plot_relative_norms
    from crossling.steer.vector import SteeringVectors

    bdir, adapters, langs = stage.bdir, stage.adapters, stage.langs
    lang_vecs = {}
    for train in dict.fromkeys(adapters.values()):
        for x in langs:
            if x != train and train in langs:
                lang_vecs[(train, x)] = SteeringVectors.load(bdir.lang_vectors, train, x)
    geo = vector_geometry(vectors, adapters, langs, lang_vecs)
    dw = {f"{a}·{b}": {**delta_w_cosines(Path(stage.cfg.adapters[a]),
                                         Path(stage.cfg.adapters[b])),
                       "shared_init": shared_init(Path(stage.cfg.adapters[a]),
                                                  Path(stage.cfg.adapters[b]))}
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
    result = GeometryFile(noise_ceiling=geo.pop("noise_ceiling"), vectors=geo, delta_w=dw,
                          table=table, figures=figures)
    result.write(bdir.geometry)
    return result


def geometry_table(geo: dict[str, Any], dw: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison: the mean cosine over layers (and over modules for ΔW), the
    layer where it peaks, and for vector comparisons the noise ceiling averaged the same way
    (``ceiling_mean``, ``ceiling_at_peak``; None without split halves)."""
    rows = []

    def add(kind: str, what: str, per_layer: list[list[float]],
            ceilings: list[list[float] | None] | None = None) -> None:
        flat = [v for r in per_layer for v in r]
        if not flat:
            return
        means = [sum(c) / len(c) for c in zip(*per_layer, strict=True)]  # mean over rows
        peak = max(range(len(means)), key=lambda i: means[i])
        row: dict[str, Any] = {"kind": kind, "what": what, "mean_cos": sum(flat) / len(flat),
                               "peak_layer": peak, "peak_cos": means[peak]}
        if ceilings is not None:
            full = [c for c in ceilings if c is not None]
            ok = len(full) == len(ceilings) and full
            row["ceiling_mean"] = (sum(v for c in full for v in c) / sum(len(c) for c in full)
                                   if ok else None)
            row["ceiling_at_peak"] = sum(c[peak] for c in full) / len(full) if ok else None
        rows.append(row)

    for a, g in geo["across_langs"].items():
        add("behaviour · behaviour (languages)", f"adapter {a}", g["cos"], g.get("ceiling"))
    for pair, g in geo["across_adapters"].items():
        add("behaviour · behaviour (adapters)", pair, g["cos"], g.get("ceiling"))
    if geo["vs_lang"]["rows"]:
        add("behaviour · language vector", "all adapters", geo["vs_lang"]["cos"])
    for pair, d in dw.items():
        init = d.get("shared_init", {})
        for kind, key in (("LoRA ΔW (modules × layers)", "cos"),
                          ("LoRA ΔW output subspace (init-independent)", "out_cos"),
                          ("LoRA A (shared-init component)", "a_cos")):
            grid = d.get(key)
            flat = [v for r in grid or [] for v in r if v is not None]
            if not flat:
                continue
            kept = [[v if v is not None else 0.0 for v in r] for r in grid]
            by_layer = [sum(c) / len(c) for c in zip(*kept, strict=True)]
            peak = max(range(len(by_layer)), key=lambda i: by_layer[i])
            rows.append({"kind": kind, "what": pair, "mean_cos": sum(flat) / len(flat),
                         "peak_layer": d["layers"][peak], "peak_cos": by_layer[peak],
                         "identical_lora_a_init": init.get("identical_lora_a_init")})
    return rows
