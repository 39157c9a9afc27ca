"""Plots: PNG files at 150 dpi, N/A languages drawn as such, heatmap of adapters × langs."""

from __future__ import annotations

from pathlib import Path

from crossling.analysis.plots import DPI, plot_adapter, plot_transfer_heatmap
from crossling.analysis.stats import summarize


def _scores() -> list[dict]:
    rows = []
    for adapter, level in (("base", 2.0), ("en", 90.0), ("de", 40.0)):
        for lang in ("en", "de", "ru", "zh"):
            for i in range(12):
                value = None if lang == "zh" else level + (i % 5) * (3 if lang == "en" else 1)
                rows.append({"adapter": adapter, "lang": lang, "kind": "task", "id": str(i),
                             "steer": "none", "scorer": "caps_pct", "value": value})
    return rows


def _png_info(path: Path) -> tuple[int, int, float]:
    from PIL import Image

    with Image.open(path) as im:
        dpi = im.info.get("dpi", (0, 0))[0]
        return im.width, im.height, float(dpi)


def test_adapter_plot_and_heatmap(tmp_path: Path) -> None:
    scores = _scores()
    summary = summarize(scores, seed=0, n_boot=200)
    values = {lang: [r["value"] for r in scores if r["adapter"] == "en" and r["lang"] == lang]
              for lang in ("en", "de", "ru", "zh")}
    out = plot_adapter(summary, values, tmp_path / "p" / "caps_en.png", adapter="en",
                       scorer="caps_pct")
    w, h, dpi = _png_info(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert round(dpi) == DPI and w > 800 and h > 400
    heat = plot_transfer_heatmap(summary, tmp_path / "heat.png", scorer="caps_pct",
                                 adapters=["base", "en", "de"])
    w2, h2, dpi2 = _png_info(heat)
    assert round(dpi2) == DPI and w2 > 500 and h2 > 300
    assert not list(tmp_path.glob("**/.*.tmp"))  # atomic writes leave no temp files


def test_heatmap_text_shows_na_and_ci(tmp_path: Path, monkeypatch) -> None:
    """The cell texts are what a reader sees: mean with CI, and N/A for caseless scripts."""
    import matplotlib.axes

    texts: list[str] = []
    orig = matplotlib.axes.Axes.text

    def spy(self, x, y, s, *a, **k):
        texts.append(str(s))
        return orig(self, x, y, s, *a, **k)

    monkeypatch.setattr(matplotlib.axes.Axes, "text", spy)
    summary = summarize(_scores(), seed=0, n_boot=200)
    plot_transfer_heatmap(summary, tmp_path / "h.png", scorer="caps_pct")
    assert texts.count("N/A") == 3  # zh for each of the 3 adapters
    en_en = next(r for r in summary if r["adapter"] == "en" and r["lang"] == "en")
    assert any(t.startswith(f"{en_en['mean']:.2f}\n[") for t in texts)
