"""Precision and recall of the garbage instruments, per language, on labelled answers.

Why: the per-answer garbage verdict (``degenerate``) decides which cells of a study are
flagged and which steering settings are never chosen, so its error rates must be known per
language and on what models actually write — not only on sentences written with the rules
in mind. The labelled set (``crossling/data/coherence_labelled/*.jsonl``, rules in its
README.md) holds real answers of the packaged models and of caps and refusal adapters, each
labelled ``coherent`` or ``incoherent`` by a reader who did not see any verdict, and
hand-made hard cases (coherent answers built to look odd: markdown tables, code, lists,
very short answers, wrong facts); the two parts are reported apart. Where the project's
shared data is present (``../shared/data/natural_outputs/coherence_hplt.jsonl``, answers
of a multilingual 0.5B chat model the project cannot load), it is a third part.

Positive class: ``incoherent``. A scorer's N/A counts as "not flagged" for precision and
recall; the N/A column says how often it happened.

The second axis of a transfer cell, ``behaving_coherent`` (caps: all caps, in the prompt's
language, not garbage), is read the same way on the answers that are all caps and in their
prompt's language: the reader's ``coherent`` label is the truth, so its precision says how
often an answer it counts as behaving-and-coherent is in fact incoherent (the cells it
overstates), per part.

Usage::

    python benchmarks/quality_scorers.py                          # degenerate
    python benchmarks/quality_scorers.py --model smollm2-135m     # + fluency threshold scan
    python benchmarks/quality_scorers.py --local-judge smollm2-135m --limit 10   # + coherence_llm
    python benchmarks/quality_scorers.py --judge-model M --judge-base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from importlib.resources import files
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "natural_outputs"
POSITIVE = "incoherent"
BEHAVING = "behaving_coherent"


def load_labelled(paths: list[Path] | None = None) -> list[dict[str, Any]]:
    """Every labelled row of the shipped set (or of ``paths``, files or folders), with a
    ``part``: ``natural`` (model output) or ``hand`` (written as a hard case)."""
    roots = paths or [Path(str(files("crossling.data") / "coherence_labelled"))]
    rows = []
    for root in roots:
        for path in sorted(root.glob("*.jsonl")) if root.is_dir() else [root]:
            with path.open(encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        r = json.loads(line)
                        r.setdefault("part", "hand" if r.get("source") == "hand" else "natural")
                        rows.append(r)
    return rows


def load_shared() -> list[dict[str, Any]]:
    """The shared natural answers (another model's), when this checkout has them."""
    path = SHARED / "coherence_hplt.jsonl"
    if not path.exists():
        return []
    rows = load_labelled([path])
    for r in rows:
        r["part"] = "shared"
    return rows


def prf(gold: list[str], pred: list[float | None]) -> dict[str, Any]:
    """Precision, recall and accuracy of ``incoherent`` for one scorer on some rows."""
    pos = [g.lower() == POSITIVE for g in gold]
    hit = [p == 1.0 for p in pred]
    tp = sum(a and b for a, b in zip(pos, hit, strict=True))
    fp = sum(b and not a for a, b in zip(pos, hit, strict=True))
    fn = sum(a and not b for a, b in zip(pos, hit, strict=True))
    return {
        "n": len(gold), "incoherent": tp + fn, "tp": tp, "fp": fp, "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "accuracy": sum(a == b for a, b in zip(pos, hit, strict=True)) / len(gold) if gold else None,
        "na": sum(p is None for p in pred),
    }


def kappa(a: list[float | None], b: list[float | None]) -> tuple[float | None, int]:
    """Cohen's kappa of two 0/1 scorers on the rows both scored, and how many rows."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    n = len(pairs)
    if not n:
        return None, 0
    po = sum(x == y for x, y in pairs) / n
    pa, pb = sum(x for x, _ in pairs) / n, sum(y for _, y in pairs) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return ((po - pe) / (1 - pe) if pe < 1 else None), n


def _fmt(v: float | None) -> str:
    return "  n/a" if v is None else f"{v:5.2f}"


def table(rows: list[dict[str, Any]], vals: list[float | None], title: str) -> list[str]:
    """Per-language precision/recall lines of one scorer on one part, then the total."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_lang[r["lang"]].append(i)
    lines = [title, f"{'lang':<6}{'n':>5}{'incoh':>6}{'prec':>7}{'recall':>7}{'acc':>7}{'N/A':>5}"]
    for lang in [*sorted(by_lang), "ALL"]:
        idx = list(range(len(rows))) if lang == "ALL" else by_lang[lang]
        m = prf([rows[i]["label"] for i in idx], [vals[i] for i in idx])
        lines.append(f"{lang:<6}{m['n']:>5}{m['incoherent']:>6}{_fmt(m['precision']):>7}"
                     f"{_fmt(m['recall']):>7}{_fmt(m['accuracy']):>7}{m['na']:>5}")
    return lines


def behaving_coherent_lines(rows: list[dict[str, Any]], parts: list[str]) -> tuple[
        list[str], dict[str, Any]]:
    """``behaving_coherent`` (task caps) against the reader's label on the answers that are
    all caps and in their prompt's language: per part, how many it counts, and precision /
    recall of "behaving and coherent" (positive class: the reader's ``coherent``)."""
    from crossling.analysis.quality import BEHAVING_COHERENT
    from crossling.evaluate.scorers import ScorerContext, get_scorer

    ctx = ScorerContext(langs=sorted({r["lang"] for r in rows}), task="caps")
    caps, fid, bc = (get_scorer(n, ctx) for n in ("all_caps", "lang_fidelity",
                                                  BEHAVING_COHERENT))
    lines = ["behaving_coherent (caps) — answers all caps and in the prompt's language",
             f"{'part':<9}{'n':>5}{'coher':>6}{'counted':>8}{'prec':>7}{'recall':>7}"]
    out: dict[str, Any] = {}
    for part in parts:
        gold, pred = [], []
        for r in rows:
            if r["part"] != part:
                continue
            row = {**r, "response": r["response"]}
            if (caps.score(r["response"], r["lang"], row) == 1.0
                    and fid.score(r["response"], r["lang"], row) == 1.0):
                gold.append(r["label"].lower() == "coherent")
                pred.append(bc.score(r["response"], r["lang"], row) == 1.0)
        tp = sum(g and p for g, p in zip(gold, pred, strict=True))
        m = {"n": len(gold), "coherent": sum(gold), "counted": sum(pred),
             "precision": tp / sum(pred) if sum(pred) else None,
             "recall": tp / sum(gold) if sum(gold) else None}
        out[part] = m
        lines.append(f"{part:<9}{m['n']:>5}{m['coherent']:>6}{m['counted']:>8}"
                     f"{_fmt(m['precision']):>7}{_fmt(m['recall']):>7}")
    return lines, out


def fluency_scan(rows: list[dict[str, Any]], flu: list[float | None],
                 ref: list[float | None]) -> tuple[list[str], bool | None]:
    """Whether a threshold on fluency (alone, or minus the reference answer's fluency)
    flags incoherent answers with precision ≥ 0.9: the best precision each reaches at
    recall ≥ 0.2, beside the share of incoherent answers (the precision of flagging at
    random), and the medians by label.

    Returns:
        The report lines, and whether fluency alone passed (None: no values).
    """
    gold = [r["label"].lower() == POSITIVE for r in rows]
    out = []
    passed: bool | None = None
    for name, xs in (("fluency", flu), ("fluency - reference", [
            None if f is None or g is None else f - g for f, g in zip(flu, ref, strict=True)])):
        pts = [(x, y) for x, y in zip(xs, gold, strict=True) if x is not None]
        if not pts:
            out.append(f"{name}: no values")
            continue
        med = {lab: sorted(x for x, y in pts if y == lab) for lab in (False, True)}
        medians = {lab: (v[len(v) // 2] if v else None) for lab, v in med.items()}
        best = (0.0, None, 0.0)
        for t in sorted({x for x, _ in pts}):
            flagged = [y for x, y in pts if x <= t]
            tp = sum(flagged)
            recall = tp / max(1, sum(y for _, y in pts))
            prec = tp / len(flagged)
            if recall >= 0.2 and prec > best[0]:
                best = (prec, t, recall)
        base_rate = sum(y for _, y in pts) / len(pts)
        ok = best[0] >= 0.9
        if name == "fluency":
            passed = ok
        out.append(f"{name}: median coherent {_fmt(medians[False])}, incoherent "
                   f"{_fmt(medians[True])}; best precision at recall >= 0.2: {best[0]:.2f} "
                   f"(threshold {_fmt(best[1])}, recall {best[2]:.2f}; flagging at random: "
                   f"{base_rate:.2f}) -> {'passes' if ok else 'fails'} precision >= 0.9 here")
    return out, passed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, action="append",
                   help="labelled *.jsonl file or folder (default: the shipped set)")
    p.add_argument("--no-shared", action="store_true", help="leave out ../shared's answers")
    p.add_argument("--langs", help="only these languages, e.g. en,de")
    p.add_argument("--limit", type=int, help="at most N rows per language and part (judges)")
    p.add_argument("--model", help="also score fluency under this base model and scan it")
    p.add_argument("--local-judge", metavar="MODEL", help="also run coherence_llm in-process")
    p.add_argument("--judge-model", help="also run coherence_llm on an OpenAI-compatible endpoint")
    p.add_argument("--judge-base-url", help="OpenAI-compatible endpoint (default: OpenAI)")
    p.add_argument("--judge-api-key-env", default="OPENAI_API_KEY")
    p.add_argument("--device", default="auto", help="device of the local judge and model")
    p.add_argument("--json", type=Path, help="also write the metrics as JSON here")
    args = p.parse_args(argv)

    from crossling.evaluate.config import JudgeConfig
    from crossling.evaluate.run import BaseModel
    from crossling.evaluate.score_file import score_rows
    from crossling.evaluate.scorers import ScorerContext, get_scorer
    from crossling.models.config import ModelConfig

    rows = load_labelled(args.data) + ([] if args.no_shared or args.data else load_shared())
    if args.langs:
        keep = set(args.langs.split(","))
        rows = [r for r in rows if r["lang"] in keep]
    if args.limit:
        seen: Counter[tuple[str, str, str]] = Counter()
        picked = []
        for r in rows:  # labels in turn, so both are represented
            key = (r["part"], r["lang"], r["label"].lower())
            if seen[key] < (args.limit + 1) // 2:
                seen[key] += 1
                picked.append(r)
        rows = picked
    langs = sorted({r["lang"] for r in rows})
    base = BaseModel(ModelConfig(name=args.model, device=args.device)) if args.model else None
    ctx = ScorerContext(langs=langs, base_model=base)
    scorers = [get_scorer("degenerate", ctx)]
    if args.local_judge or args.judge_model:
        cfg = (JudgeConfig(backend="local", model=args.local_judge, device=args.device)
               if args.local_judge else
               JudgeConfig(model=args.judge_model, base_url=args.judge_base_url,
                           api_key_env=args.judge_api_key_env))
        scorers.append(get_scorer("coherence_llm", ScorerContext(langs=langs, judge=cfg)))
    if base is not None:
        scorers += [get_scorer("fluency", ctx), get_scorer("fluency_ref", ctx)]
    values = score_rows(scorers, rows)
    parts = list(dict.fromkeys(r["part"] for r in rows))
    print(f"{len(rows)} labelled answers in {len(langs)} languages; parts: "
          + ", ".join(f"{p} {sum(r['part'] == p for r in rows)}" for p in parts)
          + " (positive class: incoherent; N/A counts as not flagged)")
    metrics: dict[str, Any] = {}
    for name in ("degenerate", "coherence_llm"):
        if name not in values:
            continue
        for part in parts:
            idx = [i for i, r in enumerate(rows) if r["part"] == part]
            sub = [rows[i] for i in idx]
            vals = [values[name][i] for i in idx]
            print("\n" + "\n".join(table(sub, vals, f"{name} — {part} answers")))
            metrics.setdefault(name, {})[part] = {
                lang: prf([r["label"] for r in sub if r["lang"] == lang],
                          [v for r, v in zip(sub, vals, strict=True) if r["lang"] == lang])
                for lang in sorted({r["lang"] for r in sub})}
    lines, metrics[BEHAVING] = behaving_coherent_lines(rows, parts)
    print("\n" + "\n".join(lines))
    if "coherence_llm" in values:
        k, n = kappa(values["coherence_llm"], values["degenerate"])
        print(f"\ncoherence_llm vs degenerate: kappa {_fmt(k)} on {n} rows both scored")
    if "fluency" in values:
        verdicts = []
        for part in parts:
            idx = [i for i, r in enumerate(rows) if r["part"] == part]
            print(f"\nfluency — {part} answers")
            lines, passed = fluency_scan([rows[i] for i in idx],
                                         [values["fluency"][i] for i in idx],
                                         [values["fluency_ref"][i] for i in idx])
            verdicts += [passed] if passed is not None else []
            for line in lines:
                print("  " + line)
        ok = bool(verdicts) and all(verdicts)
        print(f"\nfluency as a flag: {'VALIDATED' if ok else 'NOT validated'} (a threshold "
              "must reach precision >= 0.9 on every part; where most answers are incoherent "
              "any threshold looks precise)")
    from crossling.analysis.quality import degenerate_reason

    reasons = Counter(
        (r["part"], r["label"].lower(), degenerate_reason(r["response"], r["prompt"], None,
                                                          r["lang"]) or "-") for r in rows)
    print("\nrules that fired (part, label, rule: answers): " + "; ".join(
        f"{p}/{lab}/{why}: {n}" for (p, lab, why), n in sorted(reasons.items())))
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
