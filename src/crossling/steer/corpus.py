"""Parallel prompts for language vectors: the same items, aligned by id, in several languages.

Why aligned by id: a language direction is the difference between the activations of a
prompt and *its translation*; anything but the language (topic, length, task) then cancels
in the mean. Sources: the built-in instruction corpus, a data dir (eval.jsonl and
train_<lang>.jsonl), a long jsonl (id, lang, prompt), a wide jsonl (id plus one column per
language code, like polyrefuse harmless.jsonl), or a built-in corpus file (rows with an
``instruction`` dict keyed by language).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.io import read_jsonl
from crossling.languages import LANGUAGES
from crossling.paths import DataDir

# lang -> {id: prompt text}
Parallel = dict[str, dict[str, str]]


def _add(out: Parallel, lang: str, item_id: Any, text: Any) -> None:
    if not isinstance(text, str) or not text.strip() or item_id is None:
        return
    out.setdefault(lang, {}).setdefault(str(item_id), text)


def _from_rows(rows: Iterable[dict[str, Any]], out: Parallel, where: str) -> None:
    """Add rows of any supported shape to ``out`` (first text per (lang, id) wins)."""
    for i, row in enumerate(rows):
        if isinstance(row.get("instruction"), dict):  # built-in corpus shape
            for lang, text in row["instruction"].items():
                _add(out, lang, row.get("id"), text)
        elif "lang" in row and ("prompt" in row or "instruction" in row):  # long shape
            _add(out, row["lang"], row.get("id"), row.get("prompt", row.get("instruction")))
        else:  # wide shape: one column per language code
            langs = [k for k in row if k in LANGUAGES]
            if not langs:
                raise CrosslingError(
                    f"{where} row {i + 1} has neither 'lang'+'prompt' (long), an "
                    "'instruction' dict (built-in corpus) nor language-code columns (wide); "
                    "convert it to one of these shapes."
                )
            for lang in langs:
                _add(out, lang, row.get("id", i), row[lang])


def load_parallel(source: str) -> Parallel:
    """Load every prompt of ``source`` as ``{lang: {id: text}}``.

    Args:
        source: 'builtin' / 'builtin:instructions' / 'builtin:harmful', a data dir, or a
            .jsonl file (long, wide or built-in corpus shape).

    Returns:
        Prompts per language keyed by parallel id.

    Raises:
        CrosslingError: missing path or a file of unknown shape.
    """
    out: Parallel = {}
    if source == "builtin" or source.startswith("builtin:"):
        from crossling.data import load_builtin

        name = source.split(":", 1)[1] if ":" in source else "instructions"
        for r in load_builtin(name):
            _add(out, r.lang, r.id, r.instruction)
        return out
    path = Path(source).expanduser()
    if not path.exists():
        raise CrosslingError(
            f"parallel prompt source not found: {path}; pass 'builtin', a data dir or a .jsonl."
        )
    if path.is_dir():
        d = DataDir(path)
        files = [d.eval_file, *sorted(path.glob("train_*.jsonl")), d.eval_harmless_file]
        files = [f for f in files if f.exists()]
        if not files:
            raise CrosslingError(
                f"{path} has no eval.jsonl or train_<lang>.jsonl; build it with "
                "'crossling data build' or pass a .jsonl file."
            )
        for f in files:
            _from_rows(read_jsonl(f), out, str(f))
        return out
    if path.suffix.lower() != ".jsonl":
        raise CrosslingError(f"{path}: parallel prompts must be a .jsonl file or a data dir.")
    _from_rows(read_jsonl(path), out, str(path))
    return out


def aligned_ids(
    parallel: Parallel,
    langs: Iterable[str],
    *,
    min_prompts: int = 2,
    max_prompts: int | None = None,
    exclude: Iterable[str] = (),
) -> list[str]:
    """Ids present in every language of ``langs`` (sorted, minus ``exclude``, capped).

    Raises:
        CrosslingError: fewer than ``min_prompts`` parallel ids; says how many were found
            per language so the user can see which translation is missing.
    """
    langs = list(langs)
    skip = set(exclude)
    common: set[str] | None = None
    for lang in langs:
        ids = set(parallel.get(lang, {})) - skip
        common = ids if common is None else common & ids
    found = sorted(common or set())
    if len(found) < min_prompts:
        per_lang = ", ".join(f"{lang}: {len(set(parallel.get(lang, {})) - skip)}" for lang in langs)
        raise CrosslingError(
            f"only {len(found)} parallel prompts shared by {'+'.join(langs)} (need at least "
            f"{min_prompts}; per language: {per_lang}); use a source with more translated "
            "prompts or lower min_prompts."
        )
    return found[:max_prompts] if max_prompts else found
