"""Steering sweep: layers × strengths for one adapter, chosen on one half of the prompts and
confirmed on the other.

The question (the seed study's): an adapter trained on a behaviour in one language transfers
worse to another; does adding a language direction (toward the language where the behaviour
is strong) to the residual stream bring it back, and at what cost?

Pipeline, every step resumable:

1. a seeded sample of the data's eval ids, split (:func:`selection_confirmation`) into
   selection ids, on which the best cell is chosen, and confirmation ids, on which it is
   reported — the maximum of many noisy cells is biased upward on the prompts it was
   picked on;
2. vectors ``toward ← eval_lang`` (computed on the base model into ``SWEEP/vectors`` unless
   a VectorDir is given) from items that are neither eval ids of the data nor KL prompts;
   a given VectorDir whose ``item_ids`` overlap them is refused unless ``allow_overlap``;
3. per cell (layer, strength) and eval language: the KL divergence (unsteered ‖ steered,
   nats) on held-out harmless prompts — over the prompt's next-token distributions when
   only the prompt is steered, else teacher-forced over the unsteered continuation's
   tokens, where generated-position steering acts — which also probes for inf/NaN before
   any generation is spent; a non-finite cell is recorded and skipped;
4. generations (the eval's decoding settings) logged to ``generations.jsonl`` with a
   ``steer`` field (``layer=4,strength=2.0,toward=en``); a rerun skips logged rows
   (refusal task: every selection cell also answers held-out harmless prompts,
   ``kind: harmless``, whose refusal rate is its over-refusal);
5. scoring from the log on the selection ids (behaviour metrics, language fidelity, and the
   quality scorers ``degenerate`` and ``fluency`` in every cell, over-refusal): ``sweep.csv``,
   the pick,
   heatmaps and curves;
   then the chosen cell and the baseline are generated on the confirmation ids and their
   paired difference goes into ``best.json`` (``confirmation``), with the smallest effect
   the confirmation could detect (80 % power) and every guard re-measured there — KL on the
   other half of the KL prompts, fidelity and garbage on the confirmation answers,
   over-refusal on the other half of the harmless prompts. A chosen cell that fails a guard
   on confirmation is reported as failed (``status``), not as the result.

Only strengths of the sign the hypothesis predicts (positive: toward ``toward``) are
searched unless ``search_negative`` is set.
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossling.analysis.confirm import paired_confirmation
from crossling.analysis.quality import BEHAVING_COHERENT
from crossling.analysis.split import selection_confirmation
from crossling.config_marks import results_dump
from crossling.errors import CrosslingError
from crossling.evaluate.records import GenKey, SweepRow, gen_key, read_rows
from crossling.evaluate.scorers.base import ScorerContext, score_bounds, with_quality_scorers
from crossling.io import (
    JsonlAppender,
    atomic_write_text,
    read_jsonl,
    sha256_json,
)
from crossling.names import BASE_ADAPTER
from crossling.paths import DataDir, SweepDir, VectorDir
from crossling.steer.apply import SteerState, check_layers, steer
from crossling.steer.config import SweepConfig, judging_fields
from crossling.steer.corpus import aligned_ids, load_parallel
from crossling.steer.kl import kl_logprobs, mean_kl
from crossling.steer.results import (
    CONFIRMED,
    FAILED_ON_CONFIRMATION,
    NO_CELL_CHOSEN,
    SweepBest,
)
from crossling.steer.select import (
    DEGENERATE,
    FIDELITY,
    OVER_REFUSAL,
    guard_reasons,
    pick_best,
    score_rows,
    score_table,
    steer_key,
)
from crossling.steer.vector import SteeringVectors
from crossling.tasks import get_task

#: Bumped when the meaning of a logged row changes (v2: teacher-forced KL; v3: KL rows of
#: the selection and confirmation halves of the KL prompts).
_LOG_VERSION = 3
SELECTION, CONFIRMATION = "selection", "confirmation"
#: Share of the KL and harmless prompts that guard the choice; the rest re-check it.
GUARD_SELECTION_SHARE = 0.5


def run_hash(cfg: SweepConfig) -> str:
    """Hash of every setting that can change a logged row (not the output folder, a
    speed-only setting or one that only judges answers, such as a guard's threshold):
    rows from another configuration are ignored, not mixed in."""
    kept = results_dump(cfg, exclude={"out", *judging_fields(SweepConfig)})
    return sha256_json([_LOG_VERSION, kept])[:16]


@dataclass(frozen=True)
class EvalSplit:
    """The sweep's eval prompts and their two halves.

    Attributes:
        rows: language → id → eval row (``prompt`` …) for every sampled id.
        selection_ids: ids the best cell is chosen on.
        confirmation_ids: ids the chosen cell is reported on (disjoint from selection).
        data_eval_ids: every id of the data's eval files (never used for vectors).
    """

    rows: dict[str, dict[str, dict[str, Any]]]
    selection_ids: list[str]
    confirmation_ids: list[str]
    data_eval_ids: list[str]


def eval_ids_of(data: str) -> list[str]:
    """Every id in a data dir's eval files (task, harmful and harmless prompts)."""
    d = DataDir(Path(data))
    ids = {str(r["id"]) for f in (d.eval_file, d.eval_harmless_file) if f.exists()
           for r in read_jsonl(f)}
    return sorted(ids)


def load_eval_rows(cfg: SweepConfig) -> EvalSplit:
    """A seeded sample of ``max_eval`` ids shared by the eval languages, split into selection
    and confirmation ids.

    Raises:
        CrosslingError: no eval.jsonl, a language without rows (lists the ones present), or
            fewer than two shared ids.
    """
    path = DataDir(Path(cfg.data)).eval_file
    if not path.exists():
        raise CrosslingError(
            f"{cfg.data} has no eval.jsonl; pass a data dir made by 'crossling data build'."
        )
    rows = [r for r in read_jsonl(path) if r.get("kind") != "harmless"]
    by_lang: dict[str, dict[str, dict[str, Any]]] = {}
    for lang in cfg.eval_langs:
        mine = {str(r["id"]): r for r in rows if r.get("lang") == lang}
        if not mine:
            have = sorted({str(r.get("lang")) for r in rows})
            raise CrosslingError(
                f"{path} has no eval prompts in '{lang}' (it has: {', '.join(have)}); rebuild "
                "the data with that language in eval_langs or choose another --eval-lang."
            )
        by_lang[lang] = mine
    shared = sorted(set.intersection(*(set(m) for m in by_lang.values())))
    if len(shared) < 2:
        raise CrosslingError(
            f"{path} has {len(shared)} eval id(s) shared by {', '.join(cfg.eval_langs)}; the "
            "sweep needs at least 2 (one to choose on, one to confirm on): raise eval_size."
        )
    size = len(shared) if cfg.max_eval is None else min(cfg.max_eval, len(shared))
    sample = sorted(random.Random(cfg.seed).sample(shared, size))
    sel, conf = selection_confirmation(sample, cfg.seed, cfg.selection_fraction)
    return EvalSplit({lang: {i: m[i] for i in sample} for lang, m in by_lang.items()},
                     sel, conf, eval_ids_of(cfg.data))


def load_harmless_rows(data: str, langs: list[str], max_eval: int | None,
                       seed: int = 0) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The first ``max_eval`` (None: all) harmless eval rows (by id) per language, for
    over-refusal, split by id into the half that guards the choice (``selection``) and the
    half that re-checks it (``confirmation``): over-refusal is never chosen and reported on
    the same prompts.

    Raises:
        CrosslingError: no eval_harmless.jsonl, or a language without harmless rows.
    """
    path = DataDir(Path(data)).eval_harmless_file
    if not path.exists():
        raise CrosslingError(
            f"{data} has no eval_harmless.jsonl, so the refusal sweep cannot measure "
            "over-refusal; rebuild the data with a harmless_source (e.g. "
            "builtin:instructions)."
        )
    rows = read_jsonl(path)
    out = {}
    for lang in langs:
        mine = sorted((r for r in rows if r.get("lang") == lang), key=lambda r: str(r["id"]))
        if not mine:
            raise CrosslingError(
                f"{path} has no harmless prompts in '{lang}'; rebuild the data with a "
                "harmless_source that covers it, or choose another --eval-lang."
            )
        kept = [{**r, "kind": "harmless"} for r in mine[:max_eval]]
        sel = set(selection_confirmation([str(r["id"]) for r in kept], seed,
                                         GUARD_SELECTION_SHARE)[0])
        out[lang] = {SELECTION: [r for r in kept if str(r["id"]) in sel],
                     CONFIRMATION: [r for r in kept if str(r["id"]) not in sel]}
    return out


def kl_prompts(cfg: SweepConfig, exclude: list[str] | tuple[str, ...] = ()
               ) -> tuple[list[str], dict[str, list[str]]]:
    """Held-out prompts for the KL guard: a seeded sample of ids shared by the eval
    languages, none of them in ``exclude`` (the data's eval ids). Returns the ids and, per
    eval language, the prompt texts (both halves: see :func:`kl_halves`)."""
    parallel = load_parallel(cfg.kl_data or cfg.vector_data)
    ids = aligned_ids(parallel, cfg.eval_langs, min_prompts=1, exclude=exclude)
    picked = sorted(random.Random(cfg.seed).sample(ids, min(cfg.kl_prompts, len(ids))))
    return picked, {lang: [parallel[lang][i] for i in picked] for lang in cfg.eval_langs}


def kl_halves(ids: list[str], texts: dict[str, list[str]], seed: int
              ) -> dict[str, dict[str, list[str]]]:
    """Split the KL prompts: ``selection`` guards the choice, ``confirmation`` re-measures
    the chosen cell's KL on prompts the choice never saw. Returns split → lang → texts."""
    sel = set(selection_confirmation(ids, seed, GUARD_SELECTION_SHARE)[0])
    keep = {SELECTION: [k for k, i in enumerate(ids) if i in sel],
            CONFIRMATION: [k for k, i in enumerate(ids) if i not in sel]}
    return {split: {lang: [t[k] for k in ks] for lang, t in texts.items()}
            for split, ks in keep.items()}


def held_out_ids(cfg: SweepConfig) -> list[str]:
    """Ids no vector of this sweep may be built from: the data's eval ids and the KL ids.

    A study computes its vectors before the sweep with ``exclude_ids`` set to this."""
    data_ids = eval_ids_of(cfg.data)
    return sorted({*data_ids, *kl_prompts(cfg, data_ids)[0]})


def get_vectors(
    cfg: SweepConfig, loaded: Any, sdir: SweepDir, eval_ids: list[str], kl_ids: list[str]
) -> tuple[dict[str, SteeringVectors], dict[str, Any]]:
    """Vectors ``toward ← lang`` per eval language, loaded or computed on the base model
    from items that are neither eval ids nor KL ids.

    Returns:
        The vectors and their provenance for ``best.json``: item count, the eval and KL
        ids found among the item ids (empty unless ``allow_overlap``), whether overlap was
        allowed.

    Raises:
        CrosslingError: a given VectorDir whose item ids include eval or KL ids (or that
            does not list its item ids) while ``allow_overlap`` is false.
    """
    from crossling.steer.build import run_vectors

    if cfg.vectors:
        vdir = VectorDir(Path(cfg.vectors))
    else:
        vcfg = cfg.vectors_config(str(sdir.vectors.root), batch_size=cfg.batch_size,
                                  exclude_ids=sorted({*eval_ids, *kl_ids}))
        vdir = run_vectors(vcfg, loaded=loaded)
    vecs = {lang: SteeringVectors.load(vdir, cfg.toward, lang) for lang in cfg.eval_langs}
    for v in vecs.values():
        v.check_model(loaded.model, cfg.model.layers_path)
    items = sorted({i for v in vecs.values() for i in v.item_ids})
    over_eval = sorted(set(items) & set(eval_ids))
    over_kl = sorted(set(items) & set(kl_ids))
    unlisted = any(not v.item_ids for v in vecs.values())
    if (over_eval or over_kl or unlisted) and not cfg.allow_overlap:
        what = ("does not list the item ids its vectors were made from" if unlisted else
                f"was made from {len(over_eval)} eval id(s) and {len(over_kl)} KL id(s) "
                f"(e.g. {(over_eval + over_kl)[0]})")
        raise CrosslingError(
            f"vector folder {vdir.root} {what}; recompute it with those ids excluded "
            "(leave 'vectors' empty and the sweep does), or set allow_overlap: true and the "
            "report will say so."
        )
    return vecs, {"n_item_ids": len(items), "overlap_eval_ids": over_eval,
                  "overlap_kl_ids": over_kl, "item_ids_listed": not unlisted,
                  "allow_overlap": cfg.allow_overlap}


def row_adapter(cfg: SweepConfig) -> str:
    """The ``adapter`` of this sweep's generation rows: the steered adapter's label, or
    the base model's name (as in evaluation) when the base model is steered."""
    return cfg.steered_label() or BASE_ADAPTER


def read_generations(cfg: SweepConfig, path: Path, rh: str) -> list[SweepRow]:
    """This run's rows of the sweep's generation log; rows logged before they named their
    adapter get this sweep's (a run hash covers the adapter, so it is the same)."""
    return read_rows(path, SweepRow, run=rh, fill={"adapter": row_adapter(cfg)})


def _write_csv(path: Path, table: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    fields = list(table[0]) if table else ["lang", "layer", "strength"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in fields})
    atomic_write_text(path, buf.getvalue())


class _Cells:
    """Runs (KL guard, then generation) for one cell and language on some ids, logging every
    row; what is already logged under this run hash is skipped."""

    def __init__(self, cfg: SweepConfig, backend: Any, loaded: Any,
                 vectors: dict[str, SteeringVectors], kl_texts: dict[str, dict[str, list[str]]],
                 glog: JsonlAppender, klog: JsonlAppender, sdir: SweepDir) -> None:
        self.cfg, self.backend, self.vectors, self.kl_texts = cfg, backend, vectors, kl_texts
        self.glog, self.klog = glog, klog
        self.model, self.tok = backend.model, loaded.tokenizer
        self.system = loaded.config.system_prompt
        self.gcfg = cfg.decoding()
        self.rh = run_hash(cfg)
        self.adapter = row_adapter(cfg)
        self.done = {r.key() for r in read_generations(cfg, sdir.generations, self.rh)}
        self.kl_done = {(r["split"], r["steer"], r["lang"]): r for r in read_jsonl(sdir.kl)
                        if r.get("run") == self.rh}
        self.base_lp: dict[tuple[str, str], Any] = {}

    def ctx(self, lang: str, layer: int | None, strength: float) -> Any:
        if layer is None:
            return contextlib.nullcontext(SteerState())
        return steer(self.model, self.vectors[lang], layer, strength,
                     normalize=self.cfg.normalize, positions=self.cfg.positions,
                     layers_path=self.cfg.model.layers_path, check_finite=True)

    def _reference(self, lang: str, split: str) -> Any:
        """Unsteered log-probs of one half of the KL prompts (with their unsteered
        continuations when generated positions are steered)."""
        if (split, lang) not in self.base_lp:
            texts = self.kl_texts[split][lang]
            conts = None
            if self.cfg.positions != "prompt":
                gens = self.backend.generate(texts, self.gcfg)
                conts = [list(self.tok(g.response, add_special_tokens=False)["input_ids"])
                         for g in gens]
            self.base_lp[(split, lang)] = (conts, kl_logprobs(
                self.model, self.tok, texts, self.system, self.cfg.batch_size, conts))
        return self.base_lp[(split, lang)]

    def kl(self, key: str, lang: str, layer: int | None, strength: float,
           split: str = SELECTION) -> str:
        """The cell's KL row on one half of the KL prompts (computed and logged once);
        returns its status."""
        row = self.kl_done.get((split, key, lang))
        if row is None:
            row = {"run": self.rh, "split": split, "steer": key, "lang": lang, "layer": layer,
                   "strength": strength, "kl": 0.0, "status": "ok",
                   "kl_over": "prompt" if self.cfg.positions == "prompt" else "continuation"}
            if layer is not None:
                conts, base = self._reference(lang, split)
                with self.ctx(lang, layer, strength) as st:
                    lp = kl_logprobs(self.model, self.tok, self.kl_texts[split][lang],
                                     self.system, self.cfg.batch_size, conts)
                value = mean_kl(base, lp)
                if st.nonfinite or value != value or value == float("inf"):
                    row.update(kl=None, status="nonfinite")
                else:
                    row["kl"] = value
            self.klog.write(row)
            self.kl_done[(split, key, lang)] = row
        return str(row["status"])

    def run(self, layer: int | None, strength: float, lang: str,
            rows: list[dict[str, Any]], split: str = SELECTION) -> None:
        key = steer_key(layer, strength, self.cfg.toward)

        def row_key(row: dict[str, Any]) -> GenKey:  # the key of (this cell, an eval row)
            return gen_key({**row, "adapter": self.adapter, "lang": lang, "steer": key})

        todo = [r for r in rows if row_key(r) not in self.done]
        if not todo and (split, key, lang) in self.kl_done:
            return
        status = self.kl(key, lang, layer, strength, split)

        def log(row: dict[str, Any], response: str, new_tokens: int, status: str) -> None:
            rec = SweepRow(**row_key(row)._asdict(), run=self.rh, layer=layer,
                           strength=strength, toward=self.cfg.toward, prompt=row["prompt"],
                           response=response, new_tokens=new_tokens, status=status)
            self.glog.write(rec.dump())
            self.done.add(rec.key())

        if status != "ok":  # record the failed cell, keep sweeping
            for r in todo:
                log(r, "", 0, status)
            return
        with self.ctx(lang, layer, strength) as st:

            def on_result(i: int, g: Any) -> None:
                log(todo[i], g.response, g.new_tokens, "nonfinite" if st.nonfinite else "ok")

            self.backend.generate([r["prompt"] for r in todo], self.gcfg, on_result=on_result)


@dataclass
class _Sweep:
    """What every phase of one sweep shares, built once by :func:`_build`.

    Attributes:
        cfg: the sweep config.
        strengths: the strengths searched.
        primary, behaviour, harmless_metric: the task's metrics.
        sdir: the output folder.
        split: eval rows and their selection / confirmation ids.
        kl_ids, kl_texts: the KL prompts and their two halves (split → lang → texts).
        harmless: lang → split → harmless rows (refusal task; else empty).
        loaded: the base model.
        vectors, provenance: the language vectors and where they came from.
        backend: the generation backend (the adapter active).
        metrics: every scorer of a cell; ctx, rates: how they are scored.
    """

    cfg: SweepConfig
    strengths: list[float]
    primary: str
    behaviour: tuple[str, ...]
    harmless_metric: str | None
    sdir: SweepDir
    split: EvalSplit
    kl_ids: list[str]
    kl_texts: dict[str, dict[str, list[str]]]
    harmless: dict[str, dict[str, list[dict[str, Any]]]]
    loaded: Any
    vectors: dict[str, SteeringVectors]
    provenance: dict[str, Any]
    backend: Any
    metrics: list[str]
    ctx: ScorerContext
    rates: Any

    def cells(self) -> list[tuple[int | None, float]]:
        """The unsteered baseline, then every (layer, strength) searched."""
        return [(None, 0.0), *((la, s) for la in self.cfg.layers for s in self.strengths)]

    def rows(self, lang: str, half: str) -> list[dict[str, Any]]:
        """Eval rows of one half of the ids, and the same half of the harmless prompts."""
        ids = self.split.selection_ids if half == SELECTION else self.split.confirmation_ids
        return ([self.split.rows[lang][i] for i in ids]
                + self.harmless.get(lang, {}).get(half, []))

    def logged(self, rh: str, path: Path, half: str | None = None) -> list[dict[str, Any]]:
        """Rows of this run's log at ``path`` (KL rows: of one half)."""
        return [r for r in read_jsonl(path)
                if r.get("run") == rh and (half is None or r.get("split") == half)]

    def generations(self, rh: str) -> list[dict[str, Any]]:
        """This run's generation rows (:class:`~crossling.evaluate.records.SweepRow`), as the
        dicts the scorers take."""
        return [r.dump() for r in read_generations(self.cfg, self.sdir.generations, rh)]


def _build(cfg: SweepConfig, loaded: Any) -> _Sweep:
    """Check the config, read the prompts, load the model and vectors, start the backend and
    run its canary in the sweep's decoding mode, steered.

    Raises:
        CrosslingError: see :func:`run_sweep`.
    """
    from crossling.data.build import candidate_langs
    from crossling.evaluate.backends.hf import HFBackend, verify_decoding
    from crossling.evaluate.scorers import SCORERS, rate_scorers

    task = get_task(cfg.task)  # unknown names: one line with a suggestion
    primary = task.aim(cfg.metric)
    SCORERS.get(primary)  # unknown metric: one line with a suggestion, before any loading
    if cfg.toward in cfg.eval_langs:
        raise CrosslingError(
            f"--toward {cfg.toward} is also an eval language; steer prompts in other "
            "languages toward it (e.g. --eval-lang de --toward en)."
        )
    strengths = cfg.searched_strengths()
    if not strengths:
        raise CrosslingError(
            f"strengths {cfg.strengths} have no positive value to search (negative ones steer "
            "away from the target); add a positive strength or set search_negative: true."
        )
    sdir = SweepDir(Path(cfg.out))
    split = load_eval_rows(cfg)
    kl_ids, kl_all = kl_prompts(cfg, split.data_eval_ids)
    harmless = (load_harmless_rows(cfg.data, cfg.eval_langs, cfg.max_eval, cfg.seed)
                if task.harmless_metric is not None else {})
    if cfg.adapter is not None:  # fail before loading anything
        from crossling.models.adapters import check_adapter_base
        from crossling.models.loading import model_spec

        check_adapter_base(Path(cfg.adapter), loaded.spec if loaded else model_spec(cfg.model))
    if loaded is None:
        from crossling.models import load_model

        loaded = load_model(cfg.model)
    vectors, provenance = get_vectors(cfg, loaded, sdir, split.data_eval_ids, kl_ids)
    check_layers(cfg.layers, next(iter(vectors.values())).n_layers)
    backend = HFBackend(loaded, {"adapter": Path(cfg.adapter)} if cfg.adapter else None)
    if cfg.adapter:
        backend.set_adapter("adapter")
    # the decode loop computes what the model computes, in the sweep's decoding mode and
    # steered (the mildest searched cell: its hooks, positions and vectors), or stop
    mild = min(strengths, key=abs)
    verify_decoding(backend, cfg.decoding(), steering=lambda: steer(
        backend.model, vectors[cfg.eval_langs[0]], cfg.layers[0], mild,
        normalize=cfg.normalize, positions=cfg.positions, layers_path=cfg.model.layers_path))
    ctx = ScorerContext(langs=candidate_langs(cfg.data, [*cfg.eval_langs, cfg.toward]),
                        system_prompt=loaded.config.system_prompt, base_model=lambda: loaded,
                        task=cfg.task)
    metrics = [*task.behaviour_metrics, primary, BEHAVING_COHERENT, FIDELITY]
    return _Sweep(
        cfg=cfg, strengths=strengths, primary=primary,
        behaviour=task.behaviour_metrics, harmless_metric=task.harmless_metric, sdir=sdir,
        split=split, kl_ids=kl_ids, kl_texts=kl_halves(kl_ids, kl_all, cfg.seed),
        harmless=harmless, loaded=loaded, vectors=vectors, provenance=provenance,
        backend=backend, metrics=with_quality_scorers(list(dict.fromkeys(metrics))),
        ctx=ctx, rates=rate_scorers(),
    )


def _select(sw: _Sweep, rh: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score every cell on the selection half and pick the best under the guards."""
    cfg = sw.cfg
    sel = set(sw.split.selection_ids)
    sel_harmless = {str(r["id"]) for h in sw.harmless.values() for r in h[SELECTION]}
    wanted = {steer_key(la, s, cfg.toward) for la, s in sw.cells()}
    table = score_table(
        [r for r in sw.generations(rh)
         if r["steer"] in wanted and r["lang"] in cfg.eval_langs
         and (str(r["id"]) in sel if r.get("kind") != "harmless"
              else str(r["id"]) in sel_harmless)],
        sw.logged(rh, sw.sdir.kl, SELECTION), sw.metrics, sw.ctx.langs, cfg.seed, sw.ctx,
        n_boot=cfg.n_boot, rates=sw.rates, harmless_metric=sw.harmless_metric)
    best = pick_best(table, sw.primary, cfg.min_fidelity, cfg.max_kl, cfg.max_degenerate,
                     max_over_refusal=cfg.max_over_refusal if sw.harmless_metric else None)
    return table, best


def _confirm(sw: _Sweep, rh: str, best: dict[str, Any]) -> dict[str, Any]:
    """Per language, the chosen cell vs the baseline on the confirmation half, with the
    guards re-measured there (:func:`confirm_choice`)."""
    gen_log = sw.generations(rh)
    guards = GuardInputs(sw.logged(rh, sw.sdir.kl, CONFIRMATION),
                         {str(r["id"]) for h in sw.harmless.values() for r in h[CONFIRMATION]},
                         sw.metrics, sw.rates, sw.harmless_metric)
    return {lang: confirm_choice(gen_log, best["per_lang"][lang]["best"], lang, sw.split,
                                 sw.cfg, sw.primary, sw.ctx, sw.primary in sw.rates,
                                 guards=guards)
            for lang in sw.cfg.eval_langs}


def run_sweep(cfg: SweepConfig, loaded: Any = None) -> SweepDir:
    """``crossling steer sweep``: build, run every cell on the selection ids, choose, run
    the choice and the baseline on the confirmation ids, confirm.

    Args:
        cfg: the sweep config.
        loaded: an already-loaded base model (tests); else ``cfg.model`` is loaded.

    Returns:
        The SweepDir with generations.jsonl, kl.jsonl, sweep.csv, best.json, heatmaps and
        strength_curves.png.

    Raises:
        CrosslingError: unknown task, toward ∈ eval_langs, no strength to search, missing
            data/adapter/vectors, vectors for another model or built from test ids, layers
            out of range.
    """
    from crossling.evaluate.scorers.defined import define_from_manifest
    from crossling.logs import ProgressLine

    define_from_manifest(cfg.data)  # a YAML task and its scorers, when the data dir has one
    sw = _build(cfg, loaded)
    line = ProgressLine("steer sweep cells", len(sw.cells()) * len(cfg.eval_langs))
    with JsonlAppender(sw.sdir.generations) as glog, JsonlAppender(sw.sdir.kl) as klog:
        runner = _Cells(cfg, sw.backend, sw.loaded, sw.vectors, sw.kl_texts, glog, klog,
                        sw.sdir)
        for layer, strength in sw.cells():  # selection: every cell on the selection ids
            for lang in cfg.eval_langs:
                line.update()
                runner.run(layer, strength, lang, sw.rows(lang, SELECTION))
        table, best = _select(sw, runner.rh)
        for lang in cfg.eval_langs:  # confirmation: baseline and the chosen cell only
            chosen = best["per_lang"][lang]["best"]
            runner.run(None, 0.0, lang, sw.rows(lang, CONFIRMATION), CONFIRMATION)
            if chosen is not None:
                runner.run(chosen["layer"], chosen["strength"], lang,
                           sw.rows(lang, CONFIRMATION), CONFIRMATION)
    confirmation = _confirm(sw, runner.rh, best)
    _write_csv(sw.sdir.sweep_csv, table)
    result = SweepBest(
        **best,
        toward=cfg.toward, adapter=cfg.adapter, adapter_lang=cfg.steered_label() or BASE_ADAPTER,
        normalize=cfg.normalize, positions=cfg.positions, kl_prompts=len(sw.kl_ids),
        kl_ids=sw.kl_ids, kl_over="prompt" if cfg.positions == "prompt" else "continuation",
        kl_held_out_of_vectors=not sw.provenance["overlap_kl_ids"], vectors=sw.provenance,
        strengths_searched=sw.strengths, search_negative=cfg.search_negative,
        generation=cfg.decoding().model_dump(mode="json"),
        selection_ids=sw.split.selection_ids, confirmation_ids=sw.split.confirmation_ids,
        table_over="selection ids", confirmation=confirmation, run=runner.rh,
    )
    result.write(sw.sdir.best)
    extra = [OVER_REFUSAL] if sw.harmless_metric else []
    _plots(sw.sdir, table, result, [*sw.metrics, "kl", *extra], sw.primary, cfg)
    return sw.sdir


@dataclass(frozen=True)
class GuardInputs:
    """What re-measuring the guards on the confirmation half needs.

    Attributes:
        kl_rows: KL rows logged on the confirmation half of the KL prompts.
        harmless_ids: ids of the confirmation half of the harmless prompts.
        metrics: scorers of a cell (behaviour, fidelity, quality).
        rates: the 0/1 scorers among them.
        harmless_metric: scorer of over-refusal (None: the task has none).
    """

    kl_rows: list[dict[str, Any]]
    harmless_ids: set[str]
    metrics: list[str]
    rates: Any
    harmless_metric: str | None


def confirm_choice(gen_log: list[dict[str, Any]], chosen: dict[str, Any] | None, lang: str,
                   split: EvalSplit, cfg: SweepConfig, primary: str, ctx: ScorerContext,
                   rate: bool, guards: GuardInputs | None = None) -> dict[str, Any]:
    """The chosen cell vs the unsteered baseline on the confirmation ids of ``lang``
    (:func:`crossling.analysis.confirm.paired_confirmation` of their ``primary`` scores),
    with the guards re-measured on the confirmation half.

    Returns:
        The paired statistics plus ``status``: ``confirmed`` (every guard holds on the
        confirmation half), ``failed guard on confirmation`` (then ``failed_guards`` says
        which; the difference is kept for the record but is not the result) or ``no cell
        chosen``; ``guards``: the chosen cell's and the baseline's guard values there.
    """
    conf = set(split.confirmation_ids)
    base_key = steer_key(None, 0.0, cfg.toward)
    rows = [r for r in gen_log if r["lang"] == lang and str(r["id"]) in conf
            and r.get("kind", "task") != "harmless"]
    baseline = score_rows([r for r in rows if r["steer"] == base_key], primary, ctx.langs, ctx)
    out: dict[str, Any] = {"lang": lang, "layer": None, "strength": None, "metric": primary}
    bounds = None if rate else score_bounds().get(primary)
    if chosen is None:
        stats = paired_confirmation({}, baseline, cfg.seed, cfg.n_boot, rate, bounds)
        return out | stats | {"status": NO_CELL_CHOSEN,
                              "note": "no cell passed the guards on the selection ids"}
    key = steer_key(chosen["layer"], chosen["strength"], cfg.toward)
    steered = score_rows([r for r in rows if r["steer"] == key], primary, ctx.langs, ctx)
    stats = paired_confirmation(steered, baseline, cfg.seed, cfg.n_boot, rate, bounds)
    out |= {"layer": chosen["layer"], "strength": chosen["strength"]} | stats
    if guards is not None:
        out |= confirmation_guards(gen_log, key, base_key, lang, conf, cfg, primary, ctx,
                                   guards)
    return out


def confirmation_guards(gen_log: list[dict[str, Any]], key: str, base_key: str, lang: str,
                        conf_ids: set[str], cfg: SweepConfig, primary: str,
                        ctx: ScorerContext, g: GuardInputs) -> dict[str, Any]:
    """The selection's guards (:func:`crossling.steer.select.guard_reasons`) on the chosen
    cell's answers to the confirmation ids, the confirmation KL prompts and harmless
    prompts."""
    rows = [r for r in gen_log if r["lang"] == lang and r["steer"] in (key, base_key)
            and str(r["id"]) in (g.harmless_ids if r.get("kind") == "harmless" else conf_ids)]
    table = score_table(rows, [r for r in g.kl_rows if r["lang"] == lang], g.metrics,
                        ctx.langs, cfg.seed, ctx, n_boot=cfg.n_boot, rates=g.rates,
                        harmless_metric=g.harmless_metric)
    cell = next((r for r in table if r["layer"] is not None), None)
    base = next((r for r in table if r["layer"] is None), None)
    if cell is None:
        return {"status": FAILED_ON_CONFIRMATION,
                "failed_guards": ["the chosen cell has no confirmation answers"], "guards": {}}
    base_over = base.get(OVER_REFUSAL) if base else None
    reasons = guard_reasons(cell, primary, cfg.min_fidelity, cfg.max_kl, cfg.max_degenerate,
                            cfg.max_over_refusal if g.harmless_metric else None, base_over)
    names = [FIDELITY, DEGENERATE, "kl", *([OVER_REFUSAL] if g.harmless_metric else [])]
    values = {n: {"chosen": cell.get(n), "baseline": base.get(n) if base else None}
              for n in names}
    return {"status": FAILED_ON_CONFIRMATION if reasons else CONFIRMED,
            "failed_guards": reasons, "guards": values,
            "guards_over": "confirmation ids, confirmation KL prompts and harmless prompts"}


def _plots(sdir: SweepDir, table: list[dict[str, Any]], best: SweepBest,
           metrics: list[str], primary: str, cfg: SweepConfig) -> None:
    from crossling.steer.plots import plot_curves, plot_heatmap

    for metric in metrics:
        plot_heatmap(table, metric, sdir.heatmap(metric))
    chosen, layers = best.chosen_layers(), {}
    for lang in best.per_lang:
        if lang in chosen:
            layers[lang] = chosen[lang]
        else:  # no cell passed the guards: show the layer where the metric peaks
            cands = [r for r in table if r["lang"] == lang and r["layer"] is not None
                     and r.get(primary) is not None]
            layers[lang] = max(cands, key=lambda r: r[primary])["layer"] if cands else cfg.layers[0]
    plot_curves(table, primary, layers, sdir.curves, cfg.toward)
