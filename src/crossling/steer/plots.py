"""Sweep figures: a layer × strength heatmap per metric, and the seed study's strength curves.

Why both: the heatmap shows where in depth a direction works and where it breaks the model;
the curves (mean % uppercase vs strength, one line per language) are the original study's
figure, drawn at the layer the sweep picked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from crossling.io import atomic_path


def save_figure(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _grid(table: list[dict[str, Any]], lang: str, metric: str) -> tuple[list[int], list[float], Any]:
    """``[n_layers, n_strengths]`` array of ``metric`` (NaN where missing or failed); the
    unsteered baseline fills the strength-0 column of every layer."""
    import numpy as np

    rows = [r for r in table if r["lang"] == lang]
    layers = sorted({r["layer"] for r in rows if r["layer"] is not None})
    strengths = sorted({r["strength"] for r in rows})
    grid = np.full((len(layers), len(strengths)), np.nan)
    base = next((r for r in rows if r["layer"] is None), None)
    for i, layer in enumerate(layers):
        for j, s in enumerate(strengths):
            if s == 0 and base is not None:
                r: dict[str, Any] | None = base
            else:
                r = next((x for x in rows if x["layer"] == layer and x["strength"] == s), None)
            v = None if r is None else r.get(metric)
            if v is not None and math.isfinite(v):
                grid[i, j] = v
    return layers, strengths, grid


def plot_heatmap(table: list[dict[str, Any]], metric: str, path: Path) -> None:
    """One panel per language: layers (rows) × strengths (columns), values annotated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted({r["lang"] for r in table})
    fig, axes = plt.subplots(1, len(langs), figsize=(1.0 + 4.5 * len(langs), 4), squeeze=False)
    for ax, lang in zip(axes[0], langs, strict=True):
        layers, strengths, grid = _grid(table, lang, metric)
        im = ax.imshow(grid, aspect="auto", cmap="viridis", origin="lower")
        ax.set_xticks(range(len(strengths)), [f"{s:g}" for s in strengths])
        ax.set_yticks(range(len(layers)), [str(x) for x in layers])
        ax.set(xlabel="strength", ylabel="layer", title=f"{metric} ({lang})")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                v = grid[i, j]
                ax.text(j, i, "×" if math.isnan(v) else f"{v:.2g}", ha="center", va="center",
                        fontsize=7, color="white")
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    save_figure(fig, path)


def plot_curves(
    table: list[dict[str, Any]], metric: str, layers: dict[str, int], path: Path, toward: str
) -> None:
    """Mean ``metric`` vs strength, one line per language at that language's layer, with
    95 % intervals as bands (the seed study's figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for lang, layer in sorted(layers.items()):
        rows = [r for r in table if r["lang"] == lang]
        pts = []
        for r in rows:
            if (r["layer"] == layer or r["layer"] is None) and r.get(metric) is not None:
                pts.append((r["strength"], r[metric], r[f"{metric}_ci_low"], r[f"{metric}_ci_high"]))
        pts.sort()
        if not pts:
            continue
        xs, ys, lo, hi = zip(*pts, strict=True)
        ax.plot(xs, ys, marker="o", label=f"{lang} (layer {layer})")
        ax.fill_between(xs, lo, hi, alpha=0.2)
    ax.set(xlabel=f"strength (toward {toward})", ylabel=f"mean {metric}",
           title=f"{metric} vs steering strength")
    ax.axvline(0, color="grey", lw=0.5)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
