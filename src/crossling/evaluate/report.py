"""Evaluation outputs derived from ``scores.jsonl``: summary, text report, io pairs, judge
agreement.

Why derived files only: they are rebuilt from the two logs on every run, so they can never
disagree with the generations and scores they describe. The text report keeps the seed
study's layout: a summary table, then per language the detail with percentiles, then the
raw values.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from crossling.analysis.stats import GROUP_FIELDS, PERCENTILES, cohens_kappa
from crossling.evaluate.records import gen_key

REFUSAL_JUDGES = ("refusal_keyword", "refusal_llm")
COHERENCE_JUDGES = ("degenerate", "coherence_llm")
STAT_FIELDS = ("n", "n_na", "n_empty", "mean", "std", "median",
               *[f"p{p}" for p in PERCENTILES], "ci_low", "ci_high", "method", "approximate")


def _fmt(v: Any, width: int = 8) -> str:
    if v is None:
        return "N/A".rjust(width)
    if isinstance(v, float):
        return f"{v:{width}.2f}"
    return str(v).rjust(width)


def summary_csv(summary: Sequence[dict[str, Any]]) -> str:
    """The summary rows as CSV text (N/A cells empty)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*GROUP_FIELDS, *STAT_FIELDS], lineterminator="\n")
    writer.writeheader()
    for row in summary:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in writer.fieldnames})
    return buf.getvalue()


def group_values(scores: Sequence[dict[str, Any]]) -> dict[tuple[str, ...], list[float | None]]:
    """(adapter, lang, kind, steer, scorer) → raw values in log order."""
    out: dict[tuple[str, ...], list[float | None]] = defaultdict(list)
    for r in scores:
        k = gen_key(r)
        out[(k[0], k[1], k[2], k[4], str(r["scorer"]))].append(r.get("value"))
    return out


def text_report(
    summary: Sequence[dict[str, Any]], scores: Sequence[dict[str, Any]], title: str
) -> str:
    """The seed study's text report for every adapter, kind, steer setting and scorer.

    Args:
        summary: rows of ``crossling.analysis.stats.summarize``.
        scores: the score rows (raw values section).
        title: first line (model and data).
    """
    raw = group_values(scores)
    lines = [title, "=" * len(title), ""]
    sections: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in summary:
        sections[(r["adapter"], r["kind"], r["steer"], r["scorer"])].append(r)
    for (adapter, kind, steer, scorer), rows in sections.items():
        head = f"adapter={adapter}  kind={kind}  steer={steer}  scorer={scorer}"
        lines += [head, "-" * len(head), "SUMMARY"]
        lines.append(f"{'lang':>6} {'n':>5} {'mean':>8} {'std':>8} {'median':>8} "
                     f"{'ci_low':>8} {'ci_high':>8}")
        for r in rows:
            lines.append(f"{r['lang']:>6} {r['n']:>5} {_fmt(r['mean'])} {_fmt(r['std'])} "
                         f"{_fmt(r['median'])} {_fmt(r['ci_low'])} {_fmt(r['ci_high'])}")
        lines += ["", "DETAIL"]
        for r in rows:
            na = "OTHER (N/A)" if scorer == "refusal_llm" else "N/A"
            lines.append(f"[{r['lang']}] n={r['n']} ({na}: {r['n_na']}, empty answers: "
                         f"{r.get('n_empty', 0)})")
            if r["mean"] is None:
                lines.append("  N/A: no answer could be read by this scorer (a script without "
                             "case, no cased letters, empty answers)")
                continue
            approx = ", approximate: n < 30" if r.get("approximate") else ""
            lines.append(f"  mean={r['mean']:.2f} std={r['std']:.2f} "
                         f"95% CI=[{r['ci_low']:.2f}, {r['ci_high']:.2f}] "
                         f"({r.get('method') or 'over prompts'}{approx})")
            lines.append("  " + "  ".join(f"p{p}={r[f'p{p}']:.2f}" for p in PERCENTILES))
        lines += ["", "RAW VALUES"]
        for r in rows:
            vals = raw.get((adapter, r["lang"], kind, steer, scorer), [])
            shown = ", ".join("N/A" if v is None else f"{v:.1f}" for v in vals)
            lines.append(f"[{r['lang']}] {shown}")
        lines.append("")
    return "\n".join(lines) + "\n"


def io_pairs(
    generations: Sequence[dict[str, Any]], scores: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Input, output and every score of each generated row (for reading examples)."""
    by_key: dict[tuple[str, ...], dict[str, Any]] = defaultdict(dict)
    for s in scores:
        by_key[gen_key(s)][str(s["scorer"])] = s.get("value")
    return [
        {"adapter": g["adapter"], "lang": g["lang"], "kind": gen_key(g)[2], "steer": gen_key(g)[4],
         "id": g["id"], "input": g["prompt"], "output": g["response"],
         "scores": by_key.get(gen_key(g), {})}
        for g in generations
    ]


def llm_judge_summary(scores: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the three-way LLM judge said, per (adapter, lang, kind) and overall.

    Returns:
        ``{"n", "other", "other_rate", "refusal_rate", "groups": [...]}``: ``n`` rows judged,
        ``other`` of them OTHER (N/A: empty, garbled, off-topic, wrong language), and the
        refusal rate over the rows judged REFUSAL or COMPLIANCE (None when there are none).
        Empty when ``refusal_llm`` scored nothing.
    """
    groups: dict[tuple[str, str, str], list[float | None]] = defaultdict(list)
    for s in scores:
        if s["scorer"] == "refusal_llm":
            k = gen_key(s)
            groups[(k[0], k[1], k[2])].append(s.get("value"))

    def stats(vals: list[float | None]) -> dict[str, Any]:
        scored = [v for v in vals if v is not None]
        return {"n": len(vals), "other": len(vals) - len(scored),
                "other_rate": (len(vals) - len(scored)) / len(vals) if vals else None,
                "refusal_rate": sum(scored) / len(scored) if scored else None}

    if not groups:
        return {}
    every = [v for vals in groups.values() for v in vals]
    return {**stats(every), "groups": [
        {"adapter": g[0], "lang": g[1], "kind": g[2], **stats(v)} for g, v in groups.items()
    ]}


def _agreement(scores: Sequence[dict[str, Any]], judges: tuple[str, str]) -> dict[str, Any]:
    """Cohen's kappa of two 0/1 scorers on the rows both scored (N/A rows left out),
    overall and per (adapter, lang, kind); empty when no row has both."""
    per: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
    for s in scores:
        if s["scorer"] in judges and s.get("value") is not None:
            per[gen_key(s)][str(s["scorer"])] = float(s["value"])
    pairs = [(k, v) for k, v in per.items() if all(j in v for j in judges)]
    if not pairs:
        return {}
    a = [v[judges[0]] for _, v in pairs]
    b = [v[judges[1]] for _, v in pairs]
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    for k, v in pairs:
        groups[(k[0], k[1], k[2])].append((v[judges[0]], v[judges[1]]))
    return {
        "judges": list(judges),
        "n": len(pairs),
        "agreement": sum(x == y for x, y in zip(a, b, strict=True)) / len(pairs),
        "kappa": cohens_kappa(a, b),
        "groups": [
            {"adapter": g[0], "lang": g[1], "kind": g[2], "n": len(v),
             "kappa": cohens_kappa([x for x, _ in v], [y for _, y in v])}
            for g, v in groups.items()
        ],
    }


def coherence_agreement(scores: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The LLM coherence judge beside the rule-based garbage verdict: kappa of
    ``coherence_llm`` with ``degenerate`` (both 1 = garbage) on the rows both scored, the
    judge's incoherent rate and its N/A count (no parseable verdict, or an empty answer).
    Empty when ``coherence_llm`` did not run."""
    mine = [s for s in scores if s["scorer"] == COHERENCE_JUDGES[1]]
    if not mine:
        return {}
    scored = [float(s["value"]) for s in mine if s.get("value") is not None]
    return {**_agreement(scores, COHERENCE_JUDGES), "llm": {
        "n": len(mine), "na": len(mine) - len(scored),
        "incoherent_rate": sum(scored) / len(scored) if scored else None}}


def judge_agreement(scores: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Cohen's kappa between the refusal judges on the rows both scored (the LLM judge's
    OTHER rows are N/A and left out), overall and per (adapter, lang, kind), plus the LLM
    judge's own summary (:func:`llm_judge_summary`, key ``llm``) and, when the coherence
    judge ran, its agreement with ``degenerate`` (key ``coherence``). Empty when no LLM
    judge ran; no kappa keys when only one refusal judge did."""
    llm = llm_judge_summary(scores)
    out: dict[str, Any] = _agreement(scores, REFUSAL_JUDGES)
    if llm:
        out["llm"] = llm
    coherence = coherence_agreement(scores)
    if coherence:
        out["coherence"] = coherence
    return out
