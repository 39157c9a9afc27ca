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
            lines.append(f"[{r['lang']}] n={r['n']} (N/A: {r['n_na']}, empty answers: "
                         f"{r.get('n_empty', 0)})")
            if r["mean"] is None:
                lines.append("  N/A: this language's script has no case or no value was scored")
                continue
            approx = ", approximate: n < 30" if r.get("approximate") else ""
            lines.append(f"  mean={r['mean']:.2f} std={r['std']:.2f} "
                         f"95% CI=[{r['ci_low']:.2f}, {r['ci_high']:.2f}] "
                         f"({r.get('method') or 'bootstrap over prompts'}{approx})")
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


def judge_agreement(scores: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Cohen's kappa between the refusal judges on the rows both scored, overall and per
    (adapter, lang, kind). Empty when fewer than two judges ran."""
    per: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
    for s in scores:
        if s["scorer"] in REFUSAL_JUDGES and s.get("value") is not None:
            per[gen_key(s)][str(s["scorer"])] = float(s["value"])
    pairs = [(k, v) for k, v in per.items() if all(j in v for j in REFUSAL_JUDGES)]
    if not pairs:
        return {}
    a = [v[REFUSAL_JUDGES[0]] for _, v in pairs]
    b = [v[REFUSAL_JUDGES[1]] for _, v in pairs]
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    for k, v in pairs:
        groups[(k[0], k[1], k[2])].append((v[REFUSAL_JUDGES[0]], v[REFUSAL_JUDGES[1]]))
    return {
        "judges": list(REFUSAL_JUDGES),
        "n": len(pairs),
        "agreement": sum(x == y for x, y in zip(a, b, strict=True)) / len(pairs),
        "kappa": cohens_kappa(a, b),
        "groups": [
            {"adapter": g[0], "lang": g[1], "kind": g[2], "n": len(v),
             "kappa": cohens_kappa([x for x, _ in v], [y for _, y in v])}
            for g, v in groups.items()
        ],
    }
