"""Precision and recall of every refusal scorer, per language, on the labelled answers.

Why: the keyword judge is the refusal headline and the metric the steering sweep
optimises, so its error rates must be known per language, not assumed — and known on what
models write, not only on sentences written with the phrase lists in mind. The labelled set
(``crossling/data/refusal_labelled/*.jsonl``, labelling rule in its README.md) holds a
**natural** part — real answers of a multilingual 0.5B chat model to public harmful
requests, and of the packaged SmolLM2 with and without refusal adapters — and a **hand**
part of hard cases written by a maintainer; every table is printed for each part apart.
Each answer is labelled ``refusal``, ``compliance`` or ``other``.

Positive class: ``refusal``. A scorer's N/A (the LLM judge's OTHER) counts as "not a
refusal" for precision/recall; the table also shows how often each scorer said N/A and
its accuracy on the three-way labels where it has them (the LLM judge: REFUSAL / COMPLIANCE
/ OTHER against refusal / compliance / other).

Usage::

    python benchmarks/refusal_scorers.py                      # keyword judge
    python benchmarks/refusal_scorers.py --local-judge smollm2-135m   # + in-process judge
    OPENAI_API_KEY=... python benchmarks/refusal_scorers.py --judge-model gpt-4o
    python benchmarks/refusal_scorers.py --judge-model M --judge-base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from importlib.resources import files
from pathlib import Path
from typing import Any


def load_labelled(folder: Path | None = None) -> list[dict[str, Any]]:
    """Every labelled row of the shipped set (or of ``folder``), with its ``part``:
    ``natural`` (a model's answer) or ``hand`` (written as a hard case)."""
    root = folder or Path(str(files("crossling.data") / "refusal_labelled"))
    rows = []
    for path in sorted(root.glob("*.jsonl")) if root.is_dir() else [root]:
        with path.open(encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    for r in rows:
        r.setdefault("part", "hand" if r.get("source") == "hand" else "natural")
    return rows


def per_language_sample(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most ``limit`` rows per language, taking the labels in turn (refusal,
    compliance, other, refusal, ...) in file order, so every label is represented."""
    out = []
    for lang in dict.fromkeys(r["lang"] for r in rows):
        queues = {lab: [r for r in rows if r["lang"] == lang and r["label"] == lab]
                  for lab in ("refusal", "compliance", "other")}
        picked: list[dict[str, Any]] = []
        while len(picked) < limit and any(queues.values()):
            for q in queues.values():
                if q and len(picked) < limit:
                    picked.append(q.pop(0))
        out += picked
    return out


def prf(gold: list[str], pred: list[float | None]) -> dict[str, Any]:
    """Precision, recall and accuracy of "refusal" for one scorer on some rows."""
    tp = sum(g == "refusal" and p == 1.0 for g, p in zip(gold, pred, strict=True))
    fp = sum(g != "refusal" and p == 1.0 for g, p in zip(gold, pred, strict=True))
    fn = sum(g == "refusal" and p != 1.0 for g, p in zip(gold, pred, strict=True))
    correct = sum((g == "refusal") == (p == 1.0) for g, p in zip(gold, pred, strict=True))
    return {
        "n": len(gold), "refusals": tp + fn, "tp": tp, "fp": fp, "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "accuracy": correct / len(gold) if gold else None,
        "na": sum(p is None for p in pred),
    }


def three_way_accuracy(gold: list[str], pred: list[float | None]) -> float | None:
    """Agreement of an LLM judge's three verdicts with the three labels."""
    verdict = {1.0: "refusal", 0.0: "compliance", None: "other"}
    return sum(verdict[p] == g for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else None


def _fmt(v: float | None) -> str:
    return "  n/a" if v is None else f"{v:5.2f}"


def report(rows: list[dict[str, Any]], values: dict[str, list[float | None]]) -> str:
    """The per-language precision/recall tables of every scorer, one per part of the set
    (natural answers, hand-made hard cases), each with its totals."""
    out = []
    for part in dict.fromkeys(r.get("part", "natural") for r in rows):
        idx = [i for i, r in enumerate(rows) if r.get("part", "natural") == part]
        out.append(_report([rows[i] for i in idx],
                           {k: [v[i] for i in idx] for k, v in values.items()}, part))
    return "\n".join(out)


def _report(rows: list[dict[str, Any]], values: dict[str, list[float | None]], part: str) -> str:
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_lang[r["lang"]].append(i)
    lines = []
    for name, vals in values.items():
        lines.append(f"\n{name} — {part} answers")
        lines.append(f"{'lang':<6}{'n':>5}{'refus':>6}{'prec':>7}{'recall':>7}{'acc':>7}"
                     f"{'N/A':>5}{'3-way':>7}")
        for lang in [*sorted(by_lang, key=lambda x: -len(by_lang[x])), "ALL"]:
            idx = list(range(len(rows))) if lang == "ALL" else by_lang[lang]
            gold = [rows[i]["label"] for i in idx]
            pred = [vals[i] for i in idx]
            m = prf(gold, pred)
            three = three_way_accuracy(gold, pred) if name == "refusal_llm" else None
            lines.append(f"{lang:<6}{m['n']:>5}{m['refusals']:>6}{_fmt(m['precision']):>7}"
                         f"{_fmt(m['recall']):>7}{_fmt(m['accuracy']):>7}{m['na']:>5}"
                         f"{_fmt(three):>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path,
                   help="labelled *.jsonl file or folder (default: the shipped set)")
    p.add_argument("--langs", help="only these languages, e.g. en,de")
    p.add_argument("--limit", type=int,
                   help="at most N rows per language, labels interleaved (slow judges)")
    p.add_argument("--local-judge", metavar="MODEL",
                   help="also run refusal_llm in-process with this model (e.g. smollm2-135m)")
    p.add_argument("--judge-model", help="also run refusal_llm on an OpenAI-compatible endpoint")
    p.add_argument("--judge-base-url", help="OpenAI-compatible endpoint (default: OpenAI)")
    p.add_argument("--judge-api-key-env", default="OPENAI_API_KEY")
    p.add_argument("--device", default="auto", help="device of the local judge")
    p.add_argument("--json", type=Path, help="also write the metrics as JSON here")
    args = p.parse_args(argv)

    from crossling.evaluate.config import JudgeConfig
    from crossling.evaluate.score_file import score_rows
    from crossling.evaluate.scorers import ScorerContext, get_scorer

    rows = load_labelled(args.data)
    if args.langs:
        keep = set(args.langs.split(","))
        rows = [r for r in rows if r["lang"] in keep]
    if args.limit:
        rows = per_language_sample(rows, args.limit)
    langs = sorted({r["lang"] for r in rows})
    scorers = [get_scorer("refusal_keyword")]
    if args.local_judge:
        cfg = JudgeConfig(backend="local", model=args.local_judge, device=args.device)
        scorers.append(get_scorer("refusal_llm", ScorerContext(langs=langs, judge=cfg)))
    elif args.judge_model:
        cfg = JudgeConfig(model=args.judge_model, base_url=args.judge_base_url,
                          api_key_env=args.judge_api_key_env)
        scorers.append(get_scorer("refusal_llm", ScorerContext(langs=langs, judge=cfg)))
    values = score_rows(scorers, rows)
    print(f"{len(rows)} labelled answers in {len(langs)} languages "
          f"({sum(r['part'] == 'natural' for r in rows)} natural, "
          f"{sum(r['part'] == 'hand' for r in rows)} hand-made; positive class: refusal; "
          "N/A counts as not a refusal)")
    print(report(rows, values))
    if args.json:
        metrics = {name: {part: {lang: prf(
            [r["label"] for r in rows if r["lang"] == lang and r["part"] == part],
            [v for r, v in zip(rows, vals, strict=True) if r["lang"] == lang
             and r["part"] == part]) for lang in langs}
            for part in dict.fromkeys(r["part"] for r in rows)}
            for name, vals in values.items()}
        args.json.write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
