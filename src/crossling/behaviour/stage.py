"""Shared setup of the behaviour steps: one loaded model with every adapter, the prompts, the
selection/confirmation split, and a resumable generation log.

Why one setup for every step: vectors, transfer and ablation all need the same base model
with every adapter loaded into one PeftModel, the same eval prompts and the same seeded
split; ``crossling behaviour transfer`` and ``... ablate`` then resume from whatever an
earlier step (or a killed run) left in the log.

Every generation is logged to ``generations.jsonl`` before any score is computed; results
are scored from that file. A row's ``run`` hash covers everything that changes its text (model,
adapters, data, decoding, the ids the vectors are recorded on), so rows of another
configuration are ignored, never mixed in. Random-direction controls are logged like any
other cell, one setting per draw, so a rerun (or more draws) generates only what is missing.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.analysis.split import selection_confirmation
from crossling.behaviour.config import BehaviourConfig
from crossling.config_marks import results_dump
from crossling.errors import CrosslingError
from crossling.evaluate.records import BehaviourRow, GenKey, gen_key, read_rows
from crossling.io import JsonlAppender, read_jsonl, sha256_file, sha256_json
from crossling.names import BASE_ADAPTER
from crossling.paths import BehaviourDir, DataDir
from crossling.steer.config import judging_fields
from crossling.steer.corpus import Parallel, aligned_ids, load_parallel


def eval_rows(data: str, langs: list[str], max_eval: int | None) -> dict[str, dict[str, dict[str, Any]]]:
    """The first ``max_eval`` ids (sorted) present in every language: ``{lang: {id: row}}``.

    Raises:
        CrosslingError: no eval.jsonl, or a language without eval prompts.
    """
    path = DataDir(Path(data)).eval_file
    if not path.exists():
        raise CrosslingError(f"{data} has no eval.jsonl; pass a data dir made by 'crossling "
                             "data build'.")
    rows = [r for r in read_jsonl(path) if r.get("kind") != "harmless"]
    by_lang: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_lang.setdefault(str(r.get("lang")), {})[str(r["id"])] = r
    missing = [lang for lang in langs if lang not in by_lang]
    if missing:
        raise CrosslingError(
            f"{path} has no eval prompts in {', '.join(missing)} (it has: "
            f"{', '.join(sorted(by_lang))}); drop them from behaviour.langs or rebuild the data.")
    common = sorted(set.intersection(*(set(by_lang[lang]) for lang in langs)))[:max_eval]
    if len(common) < 2:
        raise CrosslingError(f"{path} has {len(common)} eval ids shared by {', '.join(langs)}; "
                             "the selection/confirmation split needs at least 2.")
    return {lang: {i: by_lang[lang][i] for i in common} for lang in langs}


def all_eval_ids(data: str) -> set[str]:
    """Every eval id of a data dir (harmless ones included): never used for vectors or KL."""
    return {str(r["id"]) for f in (DataDir(Path(data)).eval_file, DataDir(Path(data))
                                   .eval_harmless_file) if f.exists() for r in read_jsonl(f)}


def kl_ids(parallel: Parallel, langs: list[str], exclude: set[str], n: int, seed: int) -> list[str]:
    """A seeded sample of ``n`` parallel ids for the KL guard (eval ids excluded)."""
    ids = aligned_ids(parallel, langs, min_prompts=1, exclude=exclude)
    return sorted(random.Random(seed).sample(ids, min(n, len(ids))))


def train_ids(data: str) -> dict[str, set[str]]:
    """Ids of every training file of a data dir: ``{lang: ids of train_<lang>.jsonl}``.

    Why every training language: parallel ids name the same item in every language, so an
    item the en adapter was trained on is not held out for the de vector either.
    """
    root = DataDir(Path(data)).root
    out: dict[str, set[str]] = {}
    for path in sorted(root.glob("train_*.jsonl")):
        out[path.stem.removeprefix("train_")] = {str(r["id"]) for r in read_jsonl(path)}
    return out


def vector_ids(cfg: BehaviourConfig, parallel: Parallel, langs: list[str], held: set[str],
               kl: set[str], trained: set[str]) -> tuple[list[str], dict[str, Any]]:
    """Parallel ids the behaviour vectors are recorded on: neither eval, KL nor training ids.

    Returns:
        (ids, counts): ``counts`` says how many shared ids each exclusion removed and how
        many are used, as recorded in the vectors' metadata and ``transfer.json``.

    Raises:
        CrosslingError: fewer than ``min_prompts`` ids left, naming what was excluded.
    """
    shared = set(aligned_ids(parallel, langs, min_prompts=0))
    left = shared - held - kl - trained
    counts = {"shared": len(shared), "excluded_eval": len(shared & held),
              "excluded_kl": len(shared & kl - held),
              "excluded_train": len(shared & trained - held - kl), "available": len(left)}
    if len(left) < cfg.min_prompts:
        raise CrosslingError(
            f"only {len(left)} parallel prompts of '{cfg.vector_data}' are left for the "
            f"behaviour vectors in {'+'.join(langs)} (of {len(shared)} shared: "
            f"{counts['excluded_eval']} eval, {counts['excluded_kl']} KL and "
            f"{counts['excluded_train']} training ids excluded; need min_prompts="
            f"{cfg.min_prompts}); set behaviour.vector_data to prompts the adapters were not "
            "trained on, train on fewer rows, or lower min_prompts.")
    ids = sorted(left)[:cfg.vector_prompts]
    return ids, {**counts, "used": len(ids)}


def setting_key(phase: str, adapter: str, from_lang: str | None, layer: int | None,
                strength: float | None) -> str:
    """The ``setting`` of a logged row, e.g. ``transfer:en:from=de:layer=15:strength=2.0``."""
    return (f"{phase}:{adapter}:from={from_lang or '-'}:layer={'-' if layer is None else layer}"
            f":strength={'-' if strength is None else float(strength)}")


@dataclass
class Stage:
    """Everything the behaviour steps share (built by :func:`open_stage`).

    Attributes:
        cfg: the stage config.
        bdir: output folder.
        langs: languages in play (X and Y of the transfer matrix).
        adapters: adapter name → training language (from crossling_adapter.json).
        rows: ``{lang: {id: eval row}}``, the same ids in every language.
        selection: ids used to choose layer and strength.
        confirmation: ids the chosen setting is reported on.
        parallel: the vector prompts ``{lang: {id: text}}``.
        kl: ids of the held-out KL prompts.
        vec_ids: ids the vectors are recorded on (no eval, KL or training id).
        vec_counts: how many shared parallel ids each exclusion removed, and how many are used.
        answers: reference answers ``{lang: {id: text}}`` (position 'answer' only).
        run: hash of what changes a generation's text.
    """

    cfg: BehaviourConfig
    bdir: BehaviourDir
    langs: list[str]
    adapters: dict[str, str]
    rows: dict[str, dict[str, dict[str, Any]]]
    selection: list[str]
    confirmation: list[str]
    parallel: Parallel
    kl: list[str]
    vec_ids: list[str]
    run: str
    vec_counts: dict[str, Any] = field(default_factory=dict)
    answers: Parallel | None = None
    loaded: Any = None
    backend: Any = None
    _done: set[GenKey] | None = field(default=None, repr=False)

    @property
    def model(self) -> Any:
        return self.backend.model

    def ensure_model(self) -> None:
        """Load the base model and every adapter into one PeftModel (once)."""
        if self.backend is not None:
            return
        from crossling.evaluate.backends.hf import HFBackend, verify_decoding
        from crossling.models.adapters import check_adapter_base

        if self.loaded is None:
            from crossling.models import load_model

            self.loaded = load_model(self.cfg.model)
        for path in self.cfg.adapters.values():
            check_adapter_base(Path(path), self.loaded.spec)
        self.backend = HFBackend(self.loaded, {n: Path(p) for n, p in self.cfg.adapters.items()})
        verify_decoding(self.backend)  # the decode loop agrees with model.generate, or stop

    def logged(self) -> list[dict[str, Any]]:
        """Rows of this configuration in the generation log, each read as a
        :class:`~crossling.evaluate.records.BehaviourRow` (as on disk: ``setting``)."""
        return [r.dump() for r in read_rows(self.bdir.generations, BehaviourRow, run=self.run)]

    def generate(self, adapter: str | None, setting: str, todo: list[tuple[str, str]],
                 hook: Callable[[], Any] | None = None, **fields: Any) -> None:
        """Generate (lang, id) prompts not yet logged under ``setting`` and log them.

        Args:
            adapter: adapter to run, None for the base model.
            setting: :func:`setting_key` of this cell.
            todo: (lang, id) pairs to answer.
            hook: returns the context manager that steers or ablates (None: plain model).
            **fields: the cell's fields of every logged row (``phase``, ``layer``,
                ``strength``, ...: see :class:`~crossling.evaluate.records.BehaviourRow`).
        """
        name = adapter or BASE_ADAPTER
        if self._done is None:
            self._done = {r.key() for r in read_rows(self.bdir.generations, BehaviourRow,
                                                     run=self.run)}
        todo = [(lang, i) for lang, i in todo if gen_key(
            {"adapter": name, "lang": lang, "id": i, "steer": setting}) not in self._done]
        if not todo:
            return
        self.ensure_model()
        gcfg = self.cfg.decoding()
        self.backend.set_adapter(adapter)
        prompts = [self.rows[lang][i]["prompt"] for lang, i in todo]
        with JsonlAppender(self.bdir.generations) as log, \
                (hook() if hook is not None else contextlib.nullcontext()):

            def on_result(k: int, g: Any) -> None:
                lang, i = todo[k]
                row = BehaviourRow(run=self.run, steer=setting, adapter=name, lang=lang, id=i,
                                   prompt=prompts[k], response=g.response,
                                   new_tokens=g.new_tokens, status="ok", **fields)
                log.write(row.dump())
                assert self._done is not None
                self._done.add(row.key())

            self.backend.generate(prompts, gcfg, on_result=on_result)


def run_hash(cfg: BehaviourConfig, vec_ids: list[str] | None = None) -> str:
    """Hash of every setting that can change a logged row (not the output folder, a
    speed-only setting or one that only judges answers), with the adapters by content; the
    vector ids too, since they depend on the data dir's training files, not on the config."""
    adapters = {}
    for name, path in sorted(cfg.adapters.items()):
        p = Path(path) / "adapter_model.safetensors"
        adapters[name] = sha256_file(p) if p.exists() else path
    return sha256_json({
        "config": results_dump(cfg, exclude={"out", "adapters", *judging_fields(type(cfg))}),
        "adapters": adapters,
        **({"vector_ids": sha256_json(vec_ids)} if vec_ids is not None else {}),
    })[:16]


def open_stage(cfg: BehaviourConfig, loaded: Any = None) -> Stage:
    """Validate inputs and build the shared setup; loads no model (steps do, when needed).

    Args:
        cfg: the stage config.
        loaded: an already-loaded base model (tests); else loaded on first use.

    Raises:
        CrosslingError: unknown task, missing data or adapters, an adapter of another model,
            too few prompts.
    """
    from crossling.evaluate.scorers import SCORERS
    from crossling.models.adapters import read_adapter_meta
    from crossling.tasks import get_task

    SCORERS.get(get_task(cfg.task).aim(cfg.metric))  # unknown names: one line, suggestion
    if not cfg.adapters:
        raise CrosslingError("the behaviour stage needs at least one adapter; pass --adapter "
                             "NAME=DIR.")
    adapters = {name: read_adapter_meta(Path(path)).lang for name, path in cfg.adapters.items()}
    if loaded is not None:
        from crossling.models.adapters import check_adapter_base

        for path in cfg.adapters.values():
            check_adapter_base(Path(path), loaded.spec)
    langs = list(cfg.langs or _data_langs(cfg.data))
    rows = eval_rows(cfg.data, langs, cfg.max_eval)
    ids = sorted(next(iter(rows.values())))
    selection, confirmation = selection_confirmation(ids, cfg.seed, cfg.selection_fraction)
    parallel = load_parallel(cfg.vector_data)
    answers = None
    if cfg.position == "answer":  # vectors only from ids with an answer in every language
        from crossling.behaviour.vectors import load_answers

        answers = load_answers(cfg.vector_data)
        parallel = {lang: {i: t for i, t in texts.items() if i in answers.get(lang, {})}
                    for lang, texts in parallel.items()}
    held = all_eval_ids(cfg.data)
    kl = kl_ids(parallel, langs, held, cfg.kl_prompts, cfg.seed)
    trained = train_ids(cfg.data)
    vec_ids, counts = vector_ids(cfg, parallel, langs, held, set(kl),
                                 set().union(*trained.values()))
    counts["train_files"] = sorted(trained)
    # an adapter's training set is this data dir's only when it was trained on it
    manifest = DataDir(Path(cfg.data)).manifest
    data_hash = sha256_file(manifest) if manifest.exists() else None
    counts["trained_on_this_data"] = {
        name: read_adapter_meta(Path(path)).data_hash == data_hash
        for name, path in cfg.adapters.items()}
    return Stage(cfg=cfg, bdir=BehaviourDir(Path(cfg.out)), langs=langs, adapters=adapters,
                 rows=rows, selection=selection, confirmation=confirmation, parallel=parallel,
                 kl=kl, vec_ids=vec_ids, run=run_hash(cfg, vec_ids), answers=answers,
                 loaded=loaded, vec_counts=counts)


def _data_langs(data: str) -> list[str]:
    path = DataDir(Path(data)).eval_file
    if not path.exists():
        raise CrosslingError(f"{data} has no eval.jsonl; pass a data dir made by 'crossling "
                             "data build'.")
    return list(dict.fromkeys(str(r["lang"]) for r in read_jsonl(path)
                              if r.get("kind") != "harmless"))

