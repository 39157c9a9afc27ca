"""``crossling score``: score any file of answers, not only crossling's own generations.

Why: answers of an API model, of another toolkit or of a human study are worth the same
judges (keyword, three-way LLM judge, garbage verdict, LLM coherence judge, language
fidelity, caps; fluency with ``--model``). The input is a
JSONL file of rows ``{id, lang, prompt, response}`` (extra fields are kept); the output
is the same rows with one field per scorer (``null`` for N/A), written atomically, plus a
per-language summary. Every row is checked before anything is scored, and a bad row is
named by its line number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from crossling.errors import CrosslingError
from crossling.evaluate.config import Judged, split_names
from crossling.io import atomic_write_text
from crossling.languages import LANGUAGES
from crossling.models.config import ModelConfig

REQUIRED = ("id", "lang", "prompt", "response")


class ScoreConfig(Judged):
    """Score a JSONL file of answers with any registered scorers."""

    model_config = ConfigDict(extra="forbid")

    input: str = Field(..., description="JSONL file of rows {id, lang, prompt, response}.")
    out: str = Field(..., description="Output JSONL: the input rows plus one field per scorer.")
    scorers: list[str] = Field(
        default_factory=lambda: ["refusal_keyword"],
        description="Scorer names (refusal_keyword, refusal_llm, coherence_llm, degenerate, "
        "lang_fidelity, caps_pct, all_caps, fluency, fluency_ref, ...).",
    )
    model: ModelConfig | None = Field(
        default=None,
        description="Base model the fluency scorers read the answers with (loaded only when "
        "a fluency scorer is asked for); null: none.",
    )

    @field_validator("scorers", mode="before")
    @classmethod
    def _scorers(cls, v: object) -> object:
        return split_names(v)

    @model_validator(mode="after")
    def _model_for_fluency(self) -> ScoreConfig:
        needs = [s for s in self.scorers if s in ("fluency", "fluency_ref")]
        if needs and self.model is None:
            raise ValueError(f"{needs[0]} reads answers with a base model: pass --model "
                             "(e.g. --model smollm2-135m).")
        return self


@dataclass
class ScoreResult:
    """What ``run_score`` wrote: the scored rows and the per-language summary."""

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    out: Path


def read_answers(path: Path) -> list[dict[str, Any]]:
    """Read and check the input rows.

    Raises:
        CrosslingError: missing file, a line that is not a JSON object, a missing or
            non-string field, or an unknown language code (naming the line).
    """
    if not path.exists():
        raise CrosslingError(f"{path} not found; pass a JSONL file of {{id, lang, prompt, "
                             "response}} rows.")
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path} line {n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise CrosslingError(f"{where} is not valid JSON ({e.msg}); each line must "
                                     "be one JSON object.") from None
            if not isinstance(row, dict):
                raise CrosslingError(f"{where} is not a JSON object; write "
                                     '{"id": ..., "lang": ..., "prompt": ..., "response": ...}.')
            missing = [k for k in REQUIRED if k not in row]
            if missing:
                raise CrosslingError(f"{where} lacks {', '.join(missing)}; every row needs "
                                     f"{', '.join(REQUIRED)}.")
            for k in ("lang", "prompt", "response"):
                if not isinstance(row[k], str):
                    raise CrosslingError(f"{where}: '{k}' must be a string, got "
                                         f"{type(row[k]).__name__}.")
            if row["lang"] not in LANGUAGES:
                from crossling.errors import did_you_mean

                raise CrosslingError(
                    f"{where}: unknown language code '{row['lang']}'."
                    f"{did_you_mean(row['lang'], LANGUAGES)} Known: {', '.join(LANGUAGES)}.")
            rows.append(row)
    if not rows:
        raise CrosslingError(f"{path} holds no rows.")
    return rows


def summarize_by_lang(rows: list[dict[str, Any]], scorers: list[str]) -> list[dict[str, Any]]:
    """Per language: row count, and per scorer the mean over non-N/A values and the N/A
    count (``refusal_llm``'s N/A rows are its OTHER verdicts)."""
    out = []
    for lang in dict.fromkeys(r["lang"] for r in rows):
        mine = [r for r in rows if r["lang"] == lang]
        rec: dict[str, Any] = {"lang": lang, "n": len(mine)}
        for s in scorers:
            vals = [r[s] for r in mine if r.get(s) is not None]
            rec[s] = sum(vals) / len(vals) if vals else None
            rec[f"{s}_na"] = len(mine) - len(vals)
        out.append(rec)
    return out


def format_summary(summary: list[dict[str, Any]], scorers: list[str]) -> str:
    """The per-language summary as a plain-text table (mean, and N/A count in brackets)."""
    head = f"{'lang':<6} {'n':>5} " + " ".join(f"{s:>22}" for s in scorers)
    lines = [head, "-" * len(head)]
    for rec in summary:
        cells = []
        for s in scorers:
            m = rec[s]
            cells.append(f"{'N/A' if m is None else f'{m:.3f}':>14} (N/A {rec[f'{s}_na']:>3})")
        lines.append(f"{rec['lang']:<6} {rec['n']:>5} " + " ".join(cells))
    return "\n".join(lines)


def score_rows(scorers: list[Any], rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Scorer name → its value for every row; judges score all rows in one batch.

    Raises:
        CrosslingError: a judge left rows unscored (verdicts obtained so far are cached).
    """
    from crossling.evaluate.scorers.base import score_all

    out: dict[str, list[Any]] = {}
    for scorer in scorers:
        results = score_all(scorer, rows)
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise CrosslingError(
                f"{scorer.name} left {len(errors)} of {len(rows)} rows unscored "
                f"({errors[0]}); nothing written, rerun to finish (verdicts are cached).")
        out[scorer.name] = results
    return out


def run_score(cfg: ScoreConfig) -> ScoreResult:
    """Score every row of ``cfg.input`` with every scorer and write ``cfg.out``.

    Raises:
        CrosslingError: a bad row (before any scoring), an unknown scorer, a judge
            without a key, or rows a judge could not score (nothing is written then;
            verdicts obtained so far are cached, so a rerun only asks for the rest).
    """
    from crossling.evaluate.run import BaseModel, build_scorers
    from crossling.evaluate.scorers.base import ScorerContext

    src = Path(cfg.input).expanduser()
    rows = read_answers(src)
    langs = list(dict.fromkeys(r["lang"] for r in rows))
    base = BaseModel(cfg.model) if cfg.model is not None else None
    scorers = build_scorers(cfg.scorers, ScorerContext(langs=langs, judge=cfg.judge,
                                                       base_model=base))
    scored = [dict(r) for r in rows]
    for name, values in score_rows(scorers, scored).items():
        for row, value in zip(scored, values, strict=True):
            row[name] = value
    out = Path(cfg.out).expanduser()
    atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in scored))
    names = [s.name for s in scorers]
    return ScoreResult(rows=scored, summary=summarize_by_lang(scored, names), out=out)
