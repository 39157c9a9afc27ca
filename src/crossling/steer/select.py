"""Score a sweep's logged generations and pick the best (layer, strength) under constraints.

Why scoring is separate from generating: generations are saved first (resumable, re-scorable
with new metrics); this module only reads them. The pick maximises the behaviour metric
subject to guards that catch "the behaviour came back because the model broke":
language fidelity (the answer is still in the prompt's language), the KL divergence of
next-token distributions on harmless prompts (steered vs unsteered) and, for the refusal
task, over-refusal: a cell wins nothing by making the model refuse everything, so the
refusal rate on harmless prompts may rise at most ``max_over_refusal`` above the unsteered
baseline's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from crossling.analysis.quality import MAX_DEGENERATE

FIDELITY = "lang_fidelity"
DEGENERATE = "degenerate"
OVER_REFUSAL = "over_refusal"


def steer_key(layer: int | None, strength: float, toward: str) -> str:
    """The ``steer`` field of a logged row, e.g. ``layer=4,strength=2.0,toward=en``."""
    return f"layer={'none' if layer is None else layer},strength={float(strength)},toward={toward}"


def score_rows(generations: list[dict[str, Any]], metric: str,
               scorer_langs: list[str], ctx: Any = None) -> dict[str, float | None]:
    """Prompt id → ``metric`` of each logged row (None for N/A or a failed row)."""
    from crossling.evaluate.scorers import ScorerContext, get_scorer, score_values

    scorer = get_scorer(metric, ctx or ScorerContext(langs=scorer_langs))
    ok = [r for r in generations if r.get("status", "ok") == "ok"]
    values = score_values(scorer, ok)
    out: dict[str, float | None] = {str(r["id"]): None for r in generations}
    out.update({str(r["id"]): v for r, v in zip(ok, values, strict=True)})
    return out


def score_table(
    generations: list[dict[str, Any]],
    kl_rows: list[dict[str, Any]],
    metrics: list[str],
    scorer_langs: list[str],
    seed: int,
    ctx: Any = None,
    n_boot: int = 2000,
    rates: Collection[str] = (),
    harmless_metric: str | None = None,
) -> list[dict[str, Any]]:
    """One row per (lang, layer, strength) with mean and 95 % interval of every metric.

    Args:
        generations: logged rows (``steer``, ``layer``, ``strength``, ``lang``, ``response``,
            ``status``, ``kind``); cells whose status is not 'ok' keep their status and no
            metrics. Rows of kind ``harmless`` only feed ``over_refusal``.
        kl_rows: logged KL rows (``steer``, ``lang``, ``kl``, ``status``).
        metrics: scorer names (behaviour metrics and lang_fidelity).
        scorer_langs: languages in play for language identification.
        seed: Monte Carlo seed.
        ctx: a ``ScorerContext`` (the base model for ``fluency``, the system prompt);
            by default one with ``scorer_langs`` only.
        n_boot: Monte Carlo draws.
        rates: metrics that are 0/1 rates (besides those whose scorer declares ``rate``);
            intervals come from :func:`crossling.analysis.stats.describe` with the scorer's
            declared bounds.
        harmless_metric: scorer whose mean over the cell's harmless rows is its
            ``over_refusal`` (None: no over-refusal columns).

    Returns:
        Rows with ``lang, layer, strength, status, n, n_empty, kl, <m>, <m>_ci_low,
        <m>_ci_high`` (and ``n_harmless, over_refusal, over_refusal_ci_low,
        over_refusal_ci_high``); the unsteered baseline appears once per language with
        ``layer`` None.
    """
    from crossling.analysis.stats import describe
    from crossling.evaluate.scorers import ScorerContext, get_scorer, rate_scorers, score_bounds
    from crossling.evaluate.scorers.base import score_values

    bounds, declared = score_bounds(), rate_scorers()
    if ctx is None:
        ctx = ScorerContext(langs=scorer_langs)
    scorers = {m: get_scorer(m, ctx) for m in metrics}
    cells: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    harmless: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for g in generations:
        (harmless if g.get("kind") == "harmless" else cells)[(g["lang"], g["steer"])].append(g)
    kl = {(r["lang"], r["steer"]): r for r in kl_rows}
    table = []
    for (lang, key), rows in sorted(cells.items()):
        first = rows[0]
        status = "ok"
        if any(r.get("status", "ok") != "ok" for r in rows):
            status = next(r["status"] for r in rows if r.get("status", "ok") != "ok")
        k = kl.get((lang, key), {})
        if k.get("status", "ok") != "ok":
            status = k["status"]
        out: dict[str, Any] = {
            "lang": lang, "layer": first["layer"], "strength": float(first["strength"]),
            "toward": first["toward"], "status": status, "n": len(rows),
            "n_empty": sum(not str(r.get("response", "")).strip() for r in rows
                           if r.get("status", "ok") == "ok"),
            "kl": k.get("kl"),
        }
        for m, scorer in scorers.items():
            if status != "ok":
                out[m] = out[f"{m}_ci_low"] = out[f"{m}_ci_high"] = None
                continue
            values = score_values(scorer, rows)
            d = describe(values, seed, n_boot, rate=m in rates or m in declared,
                         bounds=bounds.get(m))
            out[m], out[f"{m}_ci_low"], out[f"{m}_ci_high"] = d["mean"], d["ci_low"], d["ci_high"]
        if harmless_metric is not None:
            _over_refusal(out, harmless.get((lang, key), []), harmless_metric, ctx, seed)
        table.append(out)
    table.sort(key=lambda r: (r["lang"], -1 if r["layer"] is None else r["layer"], r["strength"]))
    return table


def _over_refusal(out: dict[str, Any], rows: list[dict[str, Any]], metric: str, ctx: Any,
                  seed: int) -> None:
    """Add ``n_harmless`` and ``over_refusal`` (+ CI) to a table row, from harmless rows."""
    from crossling.analysis.stats import describe
    from crossling.evaluate.scorers import get_scorer, score_values

    out["n_harmless"] = len(rows)
    vals: list[float | None] = []
    if rows and out["status"] == "ok" and all(r.get("status", "ok") == "ok" for r in rows):
        vals = score_values(get_scorer(metric, ctx), rows)
    d = (describe(vals, seed, rate=True) if vals
         else {"mean": None, "ci_low": None, "ci_high": None})
    out[OVER_REFUSAL] = d["mean"]
    out[f"{OVER_REFUSAL}_ci_low"], out[f"{OVER_REFUSAL}_ci_high"] = d["ci_low"], d["ci_high"]


def guard_reasons(
    row: dict[str, Any], primary: str, min_fidelity: float, max_kl: float,
    max_degenerate: float, max_over_refusal: float | None = None,
    baseline_over: float | None = None,
) -> list[str]:
    """Why a cell (a :func:`score_table` row) fails the guards; empty when it passes. The
    sweep applies the same function on the selection ids (the pick) and on the
    confirmation half (the check)."""
    if row["status"] != "ok":
        return [f"status {row['status']}"]
    reasons = []
    deg = row.get(DEGENERATE)
    if deg is not None and deg > max_degenerate:
        reasons.append(f"{DEGENERATE} {round(deg, 3)} > {max_degenerate}")
    if max_over_refusal is not None:
        over = row.get(OVER_REFUSAL)
        if over is None or baseline_over is None:
            reasons.append("over_refusal not measured")
        elif over - baseline_over > max_over_refusal + 1e-12:
            reasons.append(f"over_refusal {round(over, 3)} > baseline {round(baseline_over, 3)}"
                           f" + {max_over_refusal}")
    fid = row.get(FIDELITY)
    if fid is None or fid < min_fidelity:
        reasons.append(f"{FIDELITY} {fid if fid is None else round(fid, 3)} < {min_fidelity}")
    kl = row.get("kl")
    if kl is None or not math.isfinite(kl) or kl > max_kl:
        reasons.append(f"kl {kl if kl is None else round(kl, 4)} > {max_kl}")
    if row.get(primary) is None:
        reasons.append(f"{primary} is N/A")
    return reasons


def pick_best(
    table: list[dict[str, Any]], primary: str, min_fidelity: float, max_kl: float,
    max_degenerate: float = MAX_DEGENERATE,
    max_over_refusal: float | None = None,
) -> dict[str, Any]:
    """The steered cell with the highest ``primary`` per language, among cells that pass.

    A cell passes when its answers stay in the prompt's language (``min_fidelity``), its
    next-token KL stays under ``max_kl`` and at most ``max_degenerate`` of its answers are
    degenerate (the report's garbage flag): a behaviour "restored" by broken text is no win.
    ``max_over_refusal`` (refusal task): a cell passes only when its ``over_refusal`` is at
    most this much above the unsteered baseline's, in the same language; None skips the
    check (tasks without harmless prompts).

    Ties go to the smaller |strength|, then the lower layer. Cells that fail a guard are
    listed in ``excluded`` with their reasons; a language with no passing cell gets
    ``best: null``. ``overall`` is the (layer, strength) with the best mean ``primary`` over
    languages among cells that pass in every language.

    Returns:
        ``{"metric", "min_fidelity", "max_kl", "max_degenerate", "max_over_refusal",
        "per_lang": {lang:
        {"baseline", "best", "gain"}}, "overall", "excluded": [...]}``.
    """
    per_lang: dict[str, Any] = {}
    excluded = []
    passing: dict[tuple[int, float], dict[str, float]] = defaultdict(dict)
    langs = sorted({r["lang"] for r in table})
    for lang in langs:
        rows = [r for r in table if r["lang"] == lang]
        baseline = next((r for r in rows if r["layer"] is None), None)
        base_over = baseline.get(OVER_REFUSAL) if baseline else None
        ok = []
        for r in rows:
            if r["layer"] is None:
                continue
            reasons = guard_reasons(r, primary, min_fidelity, max_kl, max_degenerate,
                               max_over_refusal, base_over)
            if reasons:
                excluded.append({"lang": lang, "layer": r["layer"], "strength": r["strength"],
                                 "reasons": reasons})
            else:
                ok.append(r)
                passing[(r["layer"], r["strength"])][lang] = r[primary]
        best = max(ok, key=lambda r: (r[primary], -abs(r["strength"]), -r["layer"]), default=None)
        gain = None
        if best is not None and baseline is not None and baseline.get(primary) is not None:
            gain = best[primary] - baseline[primary]
        per_lang[lang] = {"baseline": baseline, "best": best, "gain": gain}
    everywhere = {k: v for k, v in passing.items() if len(v) == len(langs)}
    overall = None
    if everywhere:
        (layer, strength), vals = max(
            everywhere.items(),
            key=lambda kv: (sum(kv[1].values()) / len(kv[1]), -abs(kv[0][1]), -kv[0][0]),
        )
        overall = {"layer": layer, "strength": strength,
                   f"mean_{primary}": sum(vals.values()) / len(vals)}
    return {"metric": primary, "min_fidelity": min_fidelity, "max_kl": max_kl,
            "max_degenerate": max_degenerate, "max_over_refusal": max_over_refusal,
            "per_lang": per_lang, "overall": overall, "excluded": excluded}
