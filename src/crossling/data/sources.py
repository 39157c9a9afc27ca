"""Data sources: the built-in corpus, local files (long or wide), and hub datasets.

Every source returns ``list[SourceRow]``; the parallel item ``id`` ties translations together
so the split can hold an item out in every language at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from crossling.data.config import ColumnMap, DataConfig
from crossling.data.rows import SourceRow
from crossling.errors import CrosslingError
from crossling.languages import LANGUAGES, get_language

BUILTIN_CORPORA = ("instructions", "harmful")
LOCAL_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")


def builtin_dir() -> Path:
    return Path(str(files("crossling.data") / "builtin"))


def load_builtin(name: str) -> list[SourceRow]:
    """The corpus shipped with crossling: parallel rows in en, de, ru, bg, es, fr, zh.

    ``instructions``: ≥ 80 items with a 1–3 sentence reference response.
    ``harmful``: ≥ 40 mild harmful requests (no responses).
    """
    if name not in BUILTIN_CORPORA:
        raise CrosslingError(
            f"unknown built-in corpus '{name}'; use one of: "
            + ", ".join(f"builtin:{n}" for n in BUILTIN_CORPORA)
        )
    rows: list[SourceRow] = []
    for path in sorted(builtin_dir().glob(f"{name}*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            outputs = item.get("output") or {}
            for lang, text in item["instruction"].items():
                rows.append(SourceRow(item["id"], lang, text, None, outputs.get(lang)))
    return rows


def _read_table(path: Path) -> list[dict[str, Any]]:
    """Read a local file into a list of records, with one-line errors for bad files."""
    import pandas as pd

    if not path.exists():
        raise CrosslingError(f"data file not found: {path}; check the path in 'source'.")
    suffix = path.suffix.lower()
    if suffix not in LOCAL_SUFFIXES:
        raise CrosslingError(
            f"unsupported data file type '{suffix}' ({path}); use one of {', '.join(LOCAL_SUFFIXES)}."
        )
    try:
        if suffix == ".jsonl":
            df = pd.read_json(path, lines=True, dtype=False)
        elif suffix == ".json":
            df = pd.read_json(path, dtype=False)
        elif suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            df = pd.read_parquet(path)
    except Exception as e:  # pandas raises many types for malformed files
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CrosslingError(
            f"cannot parse {path} as {suffix[1:]}: {first}; fix the file or its extension."
        ) from None
    if df.empty:
        raise CrosslingError(f"data file {path} has no rows; give a file with data.")
    return [{str(k): v for k, v in r.items()} for r in df.to_dict(orient="records")]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from pandas
        return None
    text = str(value).strip()
    return text or None


def rows_from_records(
    records: list[dict[str, Any]], cols: ColumnMap, fmt: str, origin: str
) -> list[SourceRow]:
    """Turn records of a long or wide table into SourceRows.

    Long: one record per (id, lang) with ``cols.lang`` and ``cols.instruction``.
    Wide: one record per id with one column per language code (``en``, ``de``, ...) holding
    the instruction, and optional ``<code>_output`` columns.
    """
    found = sorted(records[0])
    lang_cols = [c for c in found if c in LANGUAGES]
    if fmt == "auto":
        fmt = "long" if cols.lang in found else "wide" if lang_cols else "long"
    rows: list[SourceRow] = []
    if fmt == "long":
        missing = [c for c in (cols.id, cols.lang, cols.instruction) if c not in found]
        if missing:
            raise CrosslingError(
                f"{origin} lacks column(s) {', '.join(missing)} (found: {', '.join(found)}); "
                "set data.columns to map them, or use a wide file with one column per language."
            )
        for r in records:
            lang = str(r[cols.lang]).strip().lower()
            get_language(lang)
            text = _text(r[cols.instruction])
            if text is None:
                continue
            rows.append(
                SourceRow(str(r[cols.id]), lang, text, _text(r.get(cols.input)),
                          _text(r.get(cols.output)))
            )
        return rows
    if not lang_cols:
        raise CrosslingError(
            f"{origin} has no language-code columns for wide format (found: {', '.join(found)}); "
            "name columns by language code (en, de, ...) or use long format with a lang column."
        )
    for i, r in enumerate(records):
        item_id = str(r[cols.id]) if cols.id in r else str(i)
        for lang in lang_cols:
            text = _text(r[lang])
            if text is not None:
                rows.append(SourceRow(item_id, lang, text, None, _text(r.get(f"{lang}_output"))))
    return rows


def load_local(path: Path, cfg: DataConfig) -> list[SourceRow]:
    return rows_from_records(_read_table(path), cfg.columns, cfg.format, str(path))


HubLoader = Callable[..., Any]


def _hub_load(name: str, **kwargs: Any) -> Any:
    """``datasets.load_dataset`` with the HF token from the environment (never logged)."""
    import datasets

    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    try:
        return datasets.load_dataset(name, token=token, **kwargs)
    except FileNotFoundError as e:
        raise CrosslingError(
            f"dataset '{name}' not found ({str(e).splitlines()[0]}); check the name or path."
        ) from None
    except ConnectionError:
        raise CrosslingError(
            f"cannot reach the Hugging Face hub for '{name}'; go online or use a local file."
        ) from None


def load_alpaca(
    repos: dict[str, str], langs: list[str], cols: ColumnMap, loader: HubLoader = _hub_load
) -> list[SourceRow]:
    """Alpaca-cleaned and its row-aligned translations: parallel id = row index.

    Why the length check: the translations are aligned by position only, so a dataset with
    a different number of rows would silently pair unrelated items.
    """
    tables: dict[str, Any] = {}
    for lang in langs:
        if lang not in repos:
            raise CrosslingError(
                f"source 'alpaca' has no dataset for language '{lang}' (have: "
                f"{', '.join(repos)}); add it to data.alpaca_repos or drop the language."
            )
        tables[lang] = loader(repos[lang], split="train")
    lengths = {lang: len(t) for lang, t in tables.items()}
    if len(set(lengths.values())) > 1:
        raise CrosslingError(
            "parallel sources have different lengths "
            + ", ".join(f"{k}={v}" for k, v in lengths.items())
            + "; row-aligned translations must have equal row counts (check alpaca_repos)."
        )
    rows: list[SourceRow] = []
    for lang, table in tables.items():
        names = list(table.column_names)
        if cols.instruction not in names:
            raise CrosslingError(
                f"dataset {repos[lang]} lacks column '{cols.instruction}' (found: "
                f"{', '.join(names)}); set data.columns.instruction."
            )
        for i, r in enumerate(table):
            text = _text(r[cols.instruction])
            if text is not None:
                rows.append(
                    SourceRow(str(i), lang, text, _text(r.get(cols.input)),
                              _text(r.get(cols.output)))
                )
    return rows


# SORRY-Bench prompt_style → language code (the base style is English).
SORRY_BENCH_STYLES = {"base": "en", "translate-fr": "fr", "translate-zh": "zh",
                      "translate-ta": "ta", "translate-mr": "mr", "translate-ml": "ml"}


def load_sorry_bench(repo: str, loader: HubLoader = _hub_load) -> list[SourceRow]:
    """SORRY-Bench 2024-06 ``question.jsonl``: parallel id = question_id; languages from the
    ``prompt_style`` column (base → en, translate-fr → fr, translate-zh → zh)."""
    table = loader(repo, data_files="question.jsonl", split="train")
    names = list(table.column_names)
    missing = [c for c in ("question_id", "turns", "prompt_style") if c not in names]
    if missing:
        raise CrosslingError(
            f"{repo} lacks column(s) {', '.join(missing)} (found: {', '.join(names)}); "
            "point sorry_bench_repo at SORRY-Bench's question.jsonl."
        )
    rows: list[SourceRow] = []
    for r in table:
        lang = SORRY_BENCH_STYLES.get(r["prompt_style"])
        if lang is None or lang not in LANGUAGES:
            continue
        rows.append(SourceRow(str(r["question_id"]), lang, str(r["turns"][0]).strip()))
    return rows


def load_source(source: str, cfg: DataConfig, loader: HubLoader = _hub_load) -> list[SourceRow]:
    """Dispatch a ``source`` string to its loader. ``builtin`` resolves per task elsewhere."""
    if source.startswith("builtin:"):
        return load_builtin(source.split(":", 1)[1])
    if source == "alpaca":
        return load_alpaca(cfg.alpaca_repos, cfg.all_langs, cfg.columns, loader)
    if source == "sorry-bench":
        return load_sorry_bench(cfg.sorry_bench_repo, loader)
    if source.startswith("hf:"):
        table = loader(source[3:], split="train")
        return rows_from_records([dict(r) for r in table], cfg.columns, cfg.format, source)
    path = Path(source).expanduser()
    if path.suffix.lower() in LOCAL_SUFFIXES or path.exists() or "/" in source:
        return load_local(path, cfg)
    raise CrosslingError(
        f"unknown source '{source}'; use builtin, builtin:instructions, builtin:harmful, alpaca, "
        "sorry-bench, hf:<dataset> or a local .json/.jsonl/.csv/.parquet file."
    )
