"""Figures of the behaviour stage: transfer matrices, ablation bars, geometry heatmaps.

Why these: the X × Y matrix next to the adapter's own row shows at a glance whether the
off-diagonal reaches the diagonal; ablation bars put adapter, ablated adapter and base side
by side with their intervals; cosine heatmaps (rows × layers, fixed −1..1 scale) make layers
where directions align stand out. Matplotlib setup and atomic saving are the report's
(``crossling.analysis.plots``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from crossling.analysis.plots import language_colours, pyplot, save_figure
from crossling.behaviour.results import AblationEntry, TransferEntry
from crossling.names import BASE_ADAPTER


def _fmt(v: Any, digits: int = 1) -> str:
    return "N/A" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def plot_behaviour_transfer(entries: list[TransferEntry], adapter: str, langs: list[str],
                            out: Path) -> Path:
    """From-language rows (plus 'base' and 'LoRA' reference rows) × to-language columns."""
    import numpy as np

    plt = pyplot()
    mine = {(e.from_lang, e.to_lang): e for e in entries if e.adapter == adapter}
    rows = [*langs, BASE_ADAPTER, "LoRA"]
    grid = np.full((len(rows), len(langs)), np.nan)  # [rows, to-langs]
    text = [["–"] * len(langs) for _ in rows]
    for j, y in enumerate(langs):
        ref = next((e for (_, yy), e in mine.items() if yy == y), None)
        for i, r in enumerate(rows):
            if r in (BASE_ADAPTER, "LoRA"):
                e = ref
                if e is None:
                    continue
                m = e.baseline_mean if r == BASE_ADAPTER else e.lora_mean
                lo = e.baseline_ci_low if r == BASE_ADAPTER else e.lora_ci_low
                hi = e.baseline_ci_high if r == BASE_ADAPTER else e.lora_ci_high
            else:
                e = mine.get((r, y))
                if e is None:
                    continue
                m, lo, hi = e.mean, e.ci_low, e.ci_high
            if m is not None:
                grid[i, j] = m
            text[i][j] = "N/A" if m is None else f"{_fmt(m)}\n[{_fmt(lo)}, {_fmt(hi)}]"
    fig, ax = plt.subplots(figsize=(1.3 * len(langs) + 2.5, 0.7 * len(rows) + 1.8))
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgray")
    finite = grid[np.isfinite(grid)]
    vmax = max(float(finite.max()) if finite.size else 1.0, 1e-9)
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=vmax, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(langs)):
            v = grid[i, j]
            colour = "white" if not np.isfinite(v) or v / vmax < 0.5 else "black"
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7,
                    color="black" if not np.isfinite(v) else colour)
    ax.axhline(len(langs) - 0.5, color="white", lw=2)
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(rows)), [f"vector from {r}" if r in langs else r for r in rows])
    ax.set_xlabel("prompt language (confirmation ids)")
    e0 = next(iter(mine.values()), None)
    where = f" at layer {e0.layer}, strength {e0.strength:g}" if e0 else ""
    metric = e0.metric if e0 else ""
    ax.set_title(f"Behaviour vector of adapter {adapter} added to the base model{where}\n"
                 f"mean {metric} [95% CI over prompts]")
    fig.colorbar(im, ax=ax, label=metric)
    fig.tight_layout()
    return save_figure(fig, out)


def plot_ablation(entries: list[AblationEntry], out: Path) -> Path:
    """Per adapter × language: adapter, ablated adapter and base model bars with 95 % CIs."""
    plt = pyplot()
    adapters = list(dict.fromkeys(e.adapter for e in entries))
    langs = list(dict.fromkeys(e.lang for e in entries))
    fig, axes = plt.subplots(1, max(len(adapters), 1), squeeze=False,
                             figsize=(max(4.0, 1.1 * len(langs) + 1.5) * len(adapters), 3.6))
    colours = {"adapter": "#1f77b4", "ablated": "#ff7f0e", BASE_ADAPTER: "#7f7f7f"}
    for ax, a in zip(axes[0], adapters, strict=False):
        mine = {e.lang: e for e in entries if e.adapter == a}
        w = 0.27
        for k, label in enumerate(("adapter", "ablated", BASE_ADAPTER)):
            xs: list[float] = []
            ys: list[float] = []
            errs: list[list[float]] = [[], []]
            for j, lang in enumerate(langs):
                e = mine.get(lang)
                m, lo, hi = _bar(e, label) if e is not None else (None, None, None)
                if m is None:
                    continue
                xs.append(j + (k - 1) * w)
                ys.append(m)
                errs[0].append(m - lo if lo is not None else 0.0)
                errs[1].append(hi - m if hi is not None else 0.0)
            ax.bar(xs, ys, w, yerr=errs, capsize=2, label=label, color=colours[label])
        ax.set_xticks(range(len(langs)), langs)
        metric = next(iter(mine.values())).metric if mine else ""
        ax.set_ylabel(metric)
        ax.set_title(f"adapter {a}: direction projected out")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out)


def _bar(e: AblationEntry, label: str) -> tuple[float | None, float | None, float | None]:
    """Mean and 95 % interval of one ablation bar: the adapter, the ablated adapter, or the
    base model (no interval: it is shown for scale)."""
    if label == "adapter":
        return e.mean, e.ci_low, e.ci_high
    if label == "ablated":
        return e.ablated_mean, e.ablated_ci_low, e.ablated_ci_high
    return e.baseline_mean, None, None


def plot_cosine_heatmap(rows: list[str], layers: list[int], grid: list[list[float | None]],
                        title: str, out: Path) -> Path:
    """Rows × layers of cosines on a fixed −1..1 scale (missing values grey)."""
    import numpy as np

    plt = pyplot()
    g = np.array([[np.nan if v is None else v for v in r] for r in grid], dtype=float)
    fig, ax = plt.subplots(figsize=(min(0.28 * len(layers) + 3.0, 14), 0.35 * len(rows) + 1.6))
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="lightgray")
    im = ax.imshow(np.ma.masked_invalid(g), cmap=cmap, vmin=-1, vmax=1, aspect="auto")
    step = max(1, len(layers) // 15)
    ax.set_xticks(range(0, len(layers), step), [str(x) for x in layers[::step]])
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_xlabel("decoder layer")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="cosine")
    fig.tight_layout()
    return save_figure(fig, out)


def plot_relative_norms(norms: dict[str, list[float]], out: Path) -> Path:
    """‖behaviour vector‖ / mean residual norm per layer, one line per (adapter, language)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    langs = [k.split(" in ")[-1] for k in norms]
    colours = language_colours(list(dict.fromkeys(langs)))
    styles = ["-", "--", ":", "-."]
    adapters = list(dict.fromkeys(k.split(" in ")[0] for k in norms))
    for k, ys in norms.items():
        a, lang = k.split(" in ")
        ax.plot(range(len(ys)), ys, styles[adapters.index(a) % 4], color=colours[lang],
                label=k, lw=1.2)
    ax.set_xlabel("decoder layer")
    ax.set_ylabel("‖vector‖ / residual norm")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return save_figure(fig, out)
