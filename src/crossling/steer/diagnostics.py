"""Diagnostics of language vectors: how big they are and how alike, layer by layer.

Why: a vector's norm relative to the residual shows where the language signal lives; the
cosine between two vectors with the same source (ru←en vs de←en) shows whether the model
has a shared "not English" direction (high cosine) or language-specific ones.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from crossling.io import atomic_path, atomic_write_json
from crossling.paths import VectorDir
from crossling.steer.vector import SteeringVectors


def vector_diagnostics(vectors: dict[tuple[str, str], SteeringVectors]) -> dict[str, Any]:
    """Norms and cosine similarities of vectors, per layer.

    Args:
        vectors: ``{(target, source): SteeringVectors}``.

    Returns:
        ``{"norms": {"ru<-en": [L floats]}, "relative_norms": {...: norm / resid_norm},
        "cosines": {"ru<-en|de<-en": [L floats]}}``; cosines for every pair of vectors that
        share a source.
    """
    import torch

    def key(t: str, s: str) -> str:
        return f"{t}<-{s}"

    norms = {key(t, s): v.norms() for (t, s), v in sorted(vectors.items())}
    rel = {
        key(t, s): [float(x) for x in v.vectors.norm(dim=-1) / v.resid_norm.clamp_min(1e-12)]
        for (t, s), v in sorted(vectors.items())
    }
    cosines = {}
    for (a, b) in combinations(sorted(vectors), 2):
        if a[1] != b[1]:
            continue
        cos = torch.nn.functional.cosine_similarity(
            vectors[a].vectors.float(), vectors[b].vectors.float(), dim=-1
        )  # [L]
        cosines[f"{key(*a)}|{key(*b)}"] = [float(x) for x in cos]
    return {"norms": norms, "relative_norms": rel, "cosines": cosines}


def plot_diagnostics(diag: dict[str, Any], path: Any) -> None:
    """Two panels: relative norm per layer (one line per vector), cosines per layer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, ys in diag["relative_norms"].items():
        ax1.plot(range(len(ys)), ys, marker=".", label=name)
    ax1.set(xlabel="layer", ylabel="‖vector‖ / mean ‖residual‖", title="Vector norm")
    ax1.legend(fontsize=7)
    for name, ys in diag["cosines"].items():
        ax2.plot(range(len(ys)), ys, marker=".", label=name.replace("|", " vs "))
    ax2.set(xlabel="layer", ylabel="cosine", title="Cosine between vectors (same source)")
    ax2.set_ylim(-1, 1)
    ax2.axhline(0, color="grey", lw=0.5)
    if diag["cosines"]:
        ax2.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def write_diagnostics(vdir: VectorDir, langs: list[str]) -> dict[str, Any]:
    """Load every pair of ``langs`` from ``vdir``, write diagnostics.json and the plot."""
    vectors = {
        (t, s): SteeringVectors.load(vdir, t, s) for t in langs for s in langs if t != s
    }
    diag = vector_diagnostics(vectors)
    atomic_write_json(vdir.diagnostics_json, diag)
    plot_diagnostics(diag, vdir.diagnostics_plot)
    return diag
