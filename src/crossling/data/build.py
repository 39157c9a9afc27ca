"""``crossling data build``: source → task rows → split → files + manifest."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crossling import __version__
from crossling.data.config import DataConfig
from crossling.data.rows import SourceRow
from crossling.data.sources import HubLoader, _hub_load, load_source
from crossling.data.splits import split_ids
from crossling.data.tasks import get_task, prompt_of
from crossling.errors import CrosslingError
from crossling.io import (
    atomic_dir,
    atomic_write_json,
    atomic_write_jsonl,
    read_json,
    read_jsonl,
    sha256_file,
)
from crossling.paths import DataDir

MANIFEST_KIND = "crossling-data"


def resolve_source(cfg: DataConfig) -> str:
    return get_task(cfg.task).builtin_source if cfg.source == "builtin" else cfg.source


def check_out_dir(out: Path) -> None:
    """Refuse to overwrite a folder that is not a crossling data dir (it may hold anything)."""
    if out.exists() and any(out.iterdir()):
        manifest = DataDir(out).manifest
        ok = False
        if manifest.exists():
            try:
                ok = read_json(manifest).get("kind") == MANIFEST_KIND
            except Exception:
                ok = False
        if not ok:
            raise CrosslingError(
                f"output folder {out} exists and is not a crossling data dir; "
                "choose a new or empty folder."
            )


def load_data_dir(path: str | Path) -> dict[str, Any]:
    """Read and validate a data dir's manifest (used by train/eval to reject other folders)."""
    d = DataDir(Path(path))
    if not d.manifest.exists():
        raise CrosslingError(
            f"{path} is not a crossling data dir (no manifest.json); "
            "make one with 'crossling data build'."
        )
    try:
        manifest = read_json(d.manifest)
    except Exception:
        manifest = {}
    if manifest.get("kind") != MANIFEST_KIND:
        raise CrosslingError(
            f"{path}/manifest.json is not from 'crossling data build'; rebuild the data dir."
        )
    if manifest.get("definition"):
        from crossling.evaluate.scorers.defined import define_from_manifest

        define_from_manifest(path)
    return dict(manifest)


def candidate_langs(path: str | Path, extra: Iterable[str] = ()) -> list[str]:
    """The languages language identification chooses among for a task's answers: every
    language of the data dir (the manifest's train and eval languages, else the languages of
    its files) plus ``extra`` (e.g. a steering target).

    Why one set: ``lang_fidelity`` depends on the candidates (an answer in Bulgarian is
    "Russian" when Bulgarian is not a candidate); eval, the steering sweep and the behaviour
    stage all call this, so one answer gets one verdict in every stage.
    """
    d = DataDir(Path(path))
    langs: list[str] = []
    if d.manifest.exists():
        try:
            m = read_json(d.manifest)
            langs = [*m.get("train_langs", []), *m.get("eval_langs", [])]
        except Exception:
            langs = []
    if not langs:
        langs = [f.stem.removeprefix("train_") for f in sorted(d.root.glob("train_*.jsonl"))]
        for f in (d.eval_file, d.eval_harmless_file):
            if f.exists():
                langs += [str(r["lang"]) for r in read_jsonl(f)]
    return sorted(dict.fromkeys([*langs, *extra]))


def _eval_rows(rows: list[SourceRow], ids: set[str], langs: list[str], kind: str) -> list[dict]:
    keep = [r for r in rows if r.id in ids and r.lang in langs]
    return [
        {"id": r.id, "lang": r.lang, "prompt": prompt_of(r), "reference": r.output, "kind": kind}
        for r in sorted(keep, key=lambda r: (langs.index(r.lang), r.id))
    ]


def run_data(cfg: DataConfig, out: str | Path, loader: HubLoader = _hub_load) -> DataDir:
    """Build a data dir for ``cfg.task`` and write it atomically.

    Args:
        cfg: the data config.
        out: output folder; must be new, empty, or an earlier crossling data dir.
        loader: hub loader (tests point it at local folders).

    Returns:
        The written ``DataDir``.
    """
    out = Path(out)
    task = get_task(cfg.task)
    check_out_dir(out)
    source = resolve_source(cfg)
    rows = [r for r in load_source(source, cfg, loader) if r.lang in cfg.all_langs]
    if not rows:
        raise CrosslingError(
            f"source '{source}' has no rows in languages {', '.join(cfg.all_langs)}; "
            "check the languages or the source."
        )
    split = split_ids(rows, cfg.train_langs, cfg.eval_langs, cfg.eval_size, cfg.seed)
    train = _train_rows(cfg, task, rows, set(split.train_ids))
    eval_rows = _eval_rows(rows, set(split.eval_ids), cfg.eval_langs, task.eval_kind)
    harmless = (_harmless_rows(cfg, loader) if task.uses_harmless and cfg.harmless_source
                else [])
    _write_data_dir(out, cfg, source, train, eval_rows, harmless, split.eval_ids)
    return DataDir(out)


def _train_rows(cfg: DataConfig, task: Any, rows: list[SourceRow], train_set: set[str]
                ) -> dict[str, list[dict]]:
    """Per training language, the (seeded, ``train_size``-limited) training rows with the
    task's targets."""
    train: dict[str, list[dict]] = {}
    for lang in cfg.train_langs:
        rng = random.Random(f"{cfg.seed}:{lang}")
        lang_rows = sorted((r for r in rows if r.lang == lang and r.id in train_set),
                           key=lambda r: r.id)
        if cfg.train_size is not None and len(lang_rows) > cfg.train_size:
            # a seeded sample, not the first ids in sort order (ids often encode the source)
            picked = random.Random(f"{cfg.seed}:{lang}:train_size").sample(
                range(len(lang_rows)), cfg.train_size)
            lang_rows = [lang_rows[i] for i in sorted(picked)]
        if not lang_rows:
            raise CrosslingError(
                f"no training rows left for '{lang}' after holding out {cfg.eval_size} eval ids; "
                "lower eval_size or use a bigger source."
            )
        train[lang] = [
            {"id": r.id, "lang": lang, "prompt": prompt_of(r),
             "target": task.target(r, rng, cfg.responses)}
            for r in lang_rows
        ]
    return train


def _harmless_rows(cfg: DataConfig, loader: HubLoader) -> list[dict]:
    """Over-refusal prompts in the eval languages the harmless source covers."""
    hrows = [r for r in load_source(str(cfg.harmless_source), cfg, loader)
             if r.lang in cfg.eval_langs]
    hlangs = [lang for lang in cfg.eval_langs if any(r.lang == lang for r in hrows)]
    if not hlangs:
        return []
    common = set.intersection(*({r.id for r in hrows if r.lang == lang} for lang in hlangs))
    hsplit = split_ids(hrows, hlangs, hlangs, min(cfg.eval_size, len(common)), cfg.seed)
    return _eval_rows(hrows, set(hsplit.eval_ids), hlangs, "harmless")


def _write_data_dir(out: Path, cfg: DataConfig, source: str, train: dict[str, list[dict]],
                    eval_rows: list[dict], harmless: list[dict], eval_ids: list[str]) -> None:
    """Write the files and, last, the manifest (with every file's hash), atomically."""
    with atomic_dir(out) as tmp:
        d = DataDir(tmp)
        for lang, lrows in train.items():
            atomic_write_jsonl(d.train_file(lang), lrows)
        atomic_write_jsonl(d.eval_file, eval_rows)
        files = [d.eval_file, *(d.train_file(lang) for lang in train)]
        if harmless:
            atomic_write_jsonl(d.eval_harmless_file, harmless)
            files.append(d.eval_harmless_file)
        counts: dict[str, dict[str, int]] = {"train": {k: len(v) for k, v in train.items()},
                                             "eval": {}, "eval_harmless": {}}
        for r in eval_rows:
            counts["eval"][r["lang"]] = counts["eval"].get(r["lang"], 0) + 1
        for r in harmless:
            counts["eval_harmless"][r["lang"]] = counts["eval_harmless"].get(r["lang"], 0) + 1
        atomic_write_json(d.manifest, {
            "kind": MANIFEST_KIND,
            "task": cfg.task,
            "source": source,
            "train_langs": cfg.train_langs,
            "eval_langs": cfg.eval_langs,
            "seed": cfg.seed,
            "responses": cfg.responses,
            **({"definition": cfg.define.model_dump(mode="json")} if cfg.define else {}),
            "counts": counts,
            "eval_ids": eval_ids,
            "hashes": {f.name: sha256_file(f) for f in files},
            "config": cfg.model_dump(mode="json"),
            "crossling_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
