"""Figures: the seed study's bar + box plot per adapter, and a transfer heatmap.

Why these two: the bar of means with 95 % CIs next to a box plot of the raw per-answer
scores is the seed study's figure (means hide bimodal "all caps or not at all" answers,
boxes show them); the heatmap (adapter rows × eval-language columns) is the cross-lingual
transfer matrix at a glance. Matplotlib's Agg backend, no LaTeX, 150 dpi PNGs written
atomically. Languages whose score is N/A (caps on Chinese) are labelled "N/A", never 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossling.io import atomic_path

DPI = 150
_TAB10 = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]


def language_colours(langs: Sequence[str]) -> dict[str, str]:
    """One stable colour per language (tab10 order)."""
    return {lang: _TAB10[i % len(_TAB10)] for i, lang in enumerate(langs)}


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.usetex"] = False
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, out: Path) -> Path:
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
    pyplot().close(fig)
    return out


def _finite(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def plot_adapter(
    summary: Sequence[dict[str, Any]],
    values: Mapping[str, Sequence[float | None]],
    out: Path,
    *,
    adapter: str,
    scorer: str,
    kind: str = "task",
    steer: str = "none",
    ylabel: str | None = None,
) -> Path:
    """Bar of per-language means with 95 % CI error bars, and a box plot of the raw scores.

    Args:
        summary: rows from ``crossling.analysis.stats.summarize`` (any adapters/scorers;
            the ones matching ``adapter``/``scorer``/``kind``/``steer`` are drawn).
        values: language → raw per-row scores (None = N/A) for the box plot.
        out: PNG path.
        adapter: adapter name (title).
        scorer: scorer name (title, default y label).
        kind: prompt kind ("task", "harmful", "harmless").
        steer: steering setting.
        ylabel: y-axis label.

    Returns:
        ``out``.
    """
    plt = pyplot()
    rows = [
        r for r in summary
        if r["adapter"] == adapter and r["scorer"] == scorer
        and r.get("kind", "task") == kind and r.get("steer", "none") == steer
    ]
    langs = [r["lang"] for r in rows]
    colours = language_colours(langs)
    fig, (ax_bar, ax_box) = plt.subplots(1, 2, figsize=(max(8.0, 1.6 * len(langs) + 4), 4.5))
    _mean_bars(ax_bar, rows, colours, scorer, adapter, ylabel)
    _boxes(ax_box, langs, values, colours, scorer, adapter, ylabel)
    suffix = f" [{kind}]" if kind != "task" else ""
    suffix += f" steer={steer}" if steer != "none" else ""
    fig.suptitle(f"{scorer} by language, adapter '{adapter}'{suffix}")
    fig.tight_layout()
    return save_figure(fig, out)


def _mean_bars(ax_bar: Any, rows: list[dict[str, Any]], colours: dict[str, Any], scorer: str,
               adapter: str, ylabel: str | None) -> None:
    """One bar per language row with its 95 % interval; N/A where the mean is missing."""
    langs = [r["lang"] for r in rows]
    for i, r in enumerate(rows):
        if _finite(r.get("mean")):
            lo, hi = r.get("ci_low"), r.get("ci_high")
            err = [[r["mean"] - lo], [hi - r["mean"]]] if _finite(lo) and _finite(hi) else None
            ax_bar.bar(i, r["mean"], color=colours[r["lang"]], yerr=err, capsize=5,
                       edgecolor="black", linewidth=0.6)
            ax_bar.annotate(f"{r['mean']:.2f}", (i, r["mean"]), ha="center", va="bottom",
                            xytext=(0, 3), textcoords="offset points", fontsize=9)
        else:
            ax_bar.text(i, 0, "N/A", ha="center", va="bottom", fontsize=10, color="dimgray")
    ax_bar.set_xticks(range(len(langs)), langs)
    ax_bar.set_title(f"Mean {scorer} (95% CI) — {adapter}")
    ax_bar.set_xlabel("language")
    ax_bar.set_ylabel(ylabel or scorer)
    ax_bar.grid(axis="y", alpha=0.3)
    ax_bar.set_xlim(-0.6, max(len(langs), 1) - 0.4)
    lo_y, hi_y = ax_bar.get_ylim()
    ax_bar.set_ylim(lo_y, hi_y + 0.08 * (hi_y - lo_y))  # room for the value labels


def _boxes(ax_box: Any, langs: list[str], values: Mapping[str, Sequence[float | None]],
           colours: dict[str, Any], scorer: str, adapter: str, ylabel: str | None) -> None:
    """A box plot of each language's raw scores; N/A where it has none."""
    data, pos, cols = [], [], []
    for i, lang in enumerate(langs):
        kept = [float(v) for v in values.get(lang, []) if v is not None and _finite(v)]
        if kept:
            data.append(kept)
            pos.append(i)
            cols.append(colours[lang])
        else:
            ax_box.text(i, 0.5, "N/A", ha="center", va="center", fontsize=10, color="dimgray",
                        transform=ax_box.get_xaxis_transform())
    if data:
        box = ax_box.boxplot(data, positions=pos, patch_artist=True, widths=0.6)
        for patch, c in zip(box["boxes"], cols, strict=True):
            patch.set_facecolor(c)
            patch.set_alpha(0.7)
    ax_box.set_xticks(range(len(langs)), langs)
    ax_box.set_xlim(-0.6, max(len(langs), 1) - 0.4)
    ax_box.set_title(f"Distribution of {scorer} — {adapter}")
    ax_box.set_xlabel("language")
    ax_box.set_ylabel(ylabel or scorer)
    ax_box.grid(axis="y", alpha=0.3)


def plot_transfer_heatmap(
    summary: Sequence[dict[str, Any]],
    out: Path,
    *,
    scorer: str,
    kind: str = "task",
    steer: str = "none",
    adapters: Sequence[str] | None = None,
    langs: Sequence[str] | None = None,
) -> Path:
    """Adapter rows × eval-language columns; each cell shows the mean and its 95 % CI.

    Args:
        summary: rows from ``summarize``.
        out: PNG path.
        scorer: which scorer's means to show.
        kind: prompt kind.
        steer: steering setting.
        adapters: row order (default: first-seen order).
        langs: column order (default: first-seen order).

    Returns:
        ``out``.
    """
    import numpy as np

    plt = pyplot()
    rows = [
        r for r in summary
        if r["scorer"] == scorer and r.get("kind", "task") == kind
        and r.get("steer", "none") == steer
    ]
    adapters = list(adapters or dict.fromkeys(r["adapter"] for r in rows))
    langs = list(langs or dict.fromkeys(r["lang"] for r in rows))
    cell = {(r["adapter"], r["lang"]): r for r in rows}
    grid = np.full((len(adapters), len(langs)), np.nan)  # [adapters, langs]
    for i, a in enumerate(adapters):
        for j, lang in enumerate(langs):
            r = cell.get((a, lang))
            if r is not None and _finite(r.get("mean")):
                grid[i, j] = r["mean"]
    finite = grid[np.isfinite(grid)]
    vmin = float(finite.min()) if finite.size else 0.0
    vmax = float(finite.max()) if finite.size else 1.0
    if vmax == vmin:
        vmax = vmin + 1.0
    fig, ax = plt.subplots(figsize=(1.5 * len(langs) + 2.5, 0.8 * len(adapters) + 1.8))
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgray")
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for i, a in enumerate(adapters):
        for j, lang in enumerate(langs):
            r = cell.get((a, lang))
            if r is None:
                text = "–"
                colour = "black"
            elif not _finite(r.get("mean")):
                text = "N/A"
                colour = "black"
            else:
                m = r["mean"]
                text = f"{m:.2f}"
                if _finite(r.get("ci_low")) and _finite(r.get("ci_high")):
                    text += f"\n[{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
                colour = "white" if (m - vmin) / (vmax - vmin) < 0.5 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(adapters)), adapters)
    ax.set_xlabel("evaluation language")
    ax.set_ylabel("adapter (training language)")
    title = f"Transfer: mean {scorer} (95% CI)"
    title += f" [{kind}]" if kind != "task" else ""
    title += f" steer={steer}" if steer != "none" else ""
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=scorer)
    fig.tight_layout()
    return save_figure(fig, out)


def plot_model_transfer(
    into: Mapping[str, Mapping[str, Mapping[str, Any]]],
    out: Path,
    *,
    langs: Sequence[str],
    scorer: str,
    title: str = "",
) -> Path:
    """Several models' off-diagonal transfer: x = eval language, one bar per model in each
    language's group, y = the mean over the other languages' adapters of adapter minus
    control there, with its 95 % interval; N/A where a model has no such cell.

    Args:
        into: model label → eval language → cell (``mean``, ``ci_low``, ``ci_high``; an
            interval left out when it is None).
        out: PNG path.
        langs: eval languages, in order.
        scorer: the scorer (y label).
        title: figure title.

    Returns:
        ``out``.
    """
    plt = pyplot()
    models = list(into)
    colours = {m: _TAB10[i % len(_TAB10)] for i, m in enumerate(models)}
    width = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(langs) * max(len(models), 1) + 2), 4.5))
    for k, m in enumerate(models):
        for j, lang in enumerate(langs):
            x = j - 0.4 + width * (k + 0.5)
            c = into[m].get(lang)
            if c is None or not _finite(c.get("mean")):
                ax.text(x, 0, "N/A", ha="center", va="bottom", fontsize=8, color="dimgray",
                        rotation=90)
                continue
            lo, hi = c.get("ci_low"), c.get("ci_high")
            err = ([[c["mean"] - lo], [hi - c["mean"]]]
                   if _finite(lo) and _finite(hi) else None)
            ax.bar(x, c["mean"], width=width * 0.9, color=colours[m], yerr=err, capsize=4,
                   edgecolor="black", linewidth=0.6, label=m if j == 0 else None)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[m]) for m in models]
    ax.legend(handles, models, title="model", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(langs)), langs)
    ax.set_xlim(-0.6, max(len(langs), 1) - 0.4)
    ax.set_xlabel("evaluation language")
    ax.set_ylabel(f"{scorer}: adapter − control (off-diagonal mean)")
    ax.set_title(title or f"Transfer into each language by model (95% CI), {scorer}")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out)


def plot_side_by_side(images: Sequence[Path], titles: Sequence[str], out: Path,
                      title: str = "") -> Path:
    """Existing PNG figures next to each other in one figure (e.g. every model's transfer
    heatmap), each under its title; a missing file is left blank with 'no figure'.

    Returns:
        ``out``.
    """
    plt = pyplot()
    n = max(len(images), 1)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4.5), squeeze=False)
    for ax, path, name in zip(axes[0], images, titles, strict=False):
        ax.axis("off")
        ax.set_title(name)
        if Path(path).exists():
            ax.imshow(plt.imread(str(path)))
        else:
            ax.text(0.5, 0.5, "no figure", ha="center", va="center", color="dimgray")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, out)


def _label_points(ax: Any, points: list[tuple[float, float, str]]) -> None:
    """Label each (x, y, text) point, lifting a label above others it would cover (with a
    line back to its point): boxes are estimated in axis fractions (a 5-character label
    ≈ 12 % of the width, one line ≈ 4.5 % of the height), so neighbours on the same row
    stay readable."""
    if not points:
        return
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, dx = min(xs), (max(xs) - min(xs)) or 1.0
    y0, dy = min(ys), (max(ys) - min(ys)) or 1.0
    boxes: list[tuple[float, float, float]] = []  # left, bottom, width (axis fractions)
    height = 0.045
    for x, y, text in points:
        left, width = (x - x0) / dx * 0.9, 0.024 * len(text)
        k = 0
        while any(left < bl + bw and bl < left + width
                  and abs((y - y0) / dy * 0.9 + k * height - bb) < height
                  for bl, bb, bw in boxes):
            k += 1
        boxes.append((left, (y - y0) / dy * 0.9 + k * height, width))
        ax.annotate(text, (x, y), fontsize=7, xytext=(4, 3 + 9 * k),
                    textcoords="offset points",  # a lifted label keeps a line to its point
                    arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "grey"} if k else None)


def plot_two_axis(cells: Sequence[Mapping[str, Any]], out: Path, *, scorer: str,
                  langs: Sequence[str], title: str) -> Path:
    """Damage against behaviour, one point per adapter × language, both minus the control.

    Left panel: x = damage (share of garbage answers) minus the control's, y = the headline
    metric minus the control's; right panel: the same x, y = behaving-and-coherent minus the
    control's. Error bars are the cells' 95 % paired intervals; filled markers are the
    diagonal (each adapter in its own training language), open ones transfer. A point far
    right and high on the left but low on the right is behaviour that came with broken
    answers.

    Args:
        cells: per cell ``adapter``, ``lang``, ``diagonal`` and the control-subtracted
            intervals ``damage_delta``, ``behaviour_delta``, ``behaving_coherent_delta``
            (dicts with ``mean``, ``ci_low``, ``ci_high``; None: not measured).
        out: PNG path.
        scorer: the headline scorer (left y axis).
        langs: colour order.
        title: figure title.

    Returns:
        ``out``.
    """
    plt = pyplot()
    colours = language_colours(langs)
    adapters = sorted({str(c["adapter"]) for c in cells})
    markers = dict(zip(adapters, "os^DvP*Xh", strict=False))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, ykey, ylabel in ((axes[0], "behaviour_delta", f"{scorer} − control"),
                             (axes[1], "behaving_coherent_delta",
                              "behaving-and-coherent − control")):
        placed: list[tuple[float, float, str]] = []
        for c in cells:
            x, y = c.get("damage_delta"), c.get(ykey)
            if not x or not y or not _finite(x.get("mean")) or not _finite(y.get("mean")):
                continue

            def err(d: Mapping[str, Any]) -> Any:
                lo, hi = d.get("ci_low"), d.get("ci_high")
                return ([[d["mean"] - lo], [hi - d["mean"]]]
                        if _finite(lo) and _finite(hi) else None)

            colour = colours.get(str(c["lang"]), "black")
            ax.errorbar(x["mean"], y["mean"], xerr=err(x), yerr=err(y), fmt="none",
                        ecolor=colour, alpha=0.5, linewidth=0.8)
            ax.scatter(x["mean"], y["mean"], marker=markers.get(str(c["adapter"]), "o"),
                       s=60, edgecolors=colour,
                       facecolors=colour if c.get("diagonal") else "none", linewidths=1.5)
            placed.append((float(x["mean"]), float(y["mean"]),
                           f"{str(c['adapter']).upper()}→{str(c['lang']).upper()}"))
        _label_points(ax, placed)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlabel("damage − control (share of garbage answers)")
        ax.set_ylabel(ylabel)
    handles = [plt.Line2D([], [], marker=markers[a], linestyle="none", color="black",
                          markerfacecolor="none", label=f"{a.upper()}-trained")
               for a in adapters]
    handles += [plt.Line2D([], [], marker="o", linestyle="none", color="black",
                           label="filled: own training language")]
    handles += [plt.Line2D([], [], marker="s", linestyle="none", color=colours[lang],
                           label=lang) for lang in langs]
    axes[1].legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out)
