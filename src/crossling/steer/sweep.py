"""Steering sweep: layers × strengths for one adapter, scored, guarded and plotted.

The question (the seed study's): an adapter trained on a behaviour in one language transfers
worse to another; does adding a language direction (toward the language where the behaviour
is strong) to the residual stream bring it back, and at what cost?

Pipeline, every step resumable:

1. vectors ``toward ← eval_lang`` (computed on the base model into ``SWEEP/vectors`` unless
   a VectorDir is given), never from the held-out KL prompts;
2. per cell (layer, strength) and eval language: the next-token KL divergence (unsteered ‖
   steered, nats, mean over the real positions of held-out harmless prompts), which also
   probes for inf/NaN before any generation is spent; a non-finite cell is recorded and
   skipped, the sweep goes on;
3. greedy generations logged to ``generations.jsonl`` with a ``steer`` field
   (``layer=4,strength=2.0,toward=en``); a rerun skips logged rows;
   (refusal task: the held-out harmless prompts too, ``kind: harmless``, for
   over-refusal);
4. scoring from the log (behaviour metrics, language fidelity, the quality scorers
   ``degenerate`` and ``fluency`` in every cell, over-refusal), ``sweep.csv``,
   ``best.json``, heatmaps and the strength curves.
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError, unknown_name
from crossling.evaluate.scorers.base import ScorerContext, with_quality_scorers
from crossling.io import (
    JsonlAppender,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
    sha256_json,
)
from crossling.paths import DataDir, SweepDir, VectorDir
from crossling.steer.apply import SteerState, check_layers, steer
from crossling.steer.config import SweepConfig, VectorsConfig
from crossling.steer.corpus import aligned_ids, load_parallel
from crossling.steer.select import (
    FIDELITY,
    HARMLESS_METRIC,
    OVER_REFUSAL,
    TASK_METRICS,
    pick_best,
    score_table,
    steer_key,
)
from crossling.steer.vector import SteeringVectors

_RUN_FIELDS = {
    "model", "adapter", "task", "data", "eval_langs", "toward", "vectors", "vector_data",
    "kl_data", "kl_prompts", "normalize", "positions", "builder", "position", "max_eval",
    "max_new_tokens", "seed", "min_prompts", "vector_prompts",
}


def run_hash(cfg: SweepConfig) -> str:
    """Hash of everything that changes a cell's result (not the grid, thresholds or batch
    size): logged rows from another configuration are ignored, not mixed in."""
    return sha256_json(cfg.model_dump(include=_RUN_FIELDS))[:16]


def load_eval_rows(data: str, langs: list[str], max_eval: int) -> dict[str, list[dict[str, Any]]]:
    """The first ``max_eval`` eval rows (by id) per language from a data dir's eval.jsonl.

    Raises:
        CrosslingError: no eval.jsonl, or a language without rows (lists the ones present).
    """
    path = DataDir(Path(data)).eval_file
    if not path.exists():
        raise CrosslingError(
            f"{data} has no eval.jsonl; pass a data dir made by 'crossling data build'."
        )
    rows = [r for r in read_jsonl(path) if r.get("kind") != "harmless"]
    out = {}
    for lang in langs:
        mine = sorted((r for r in rows if r.get("lang") == lang), key=lambda r: str(r["id"]))
        if not mine:
            have = sorted({str(r.get("lang")) for r in rows})
            raise CrosslingError(
                f"{path} has no eval prompts in '{lang}' (it has: {', '.join(have)}); rebuild "
                "the data with that language in eval_langs or choose another --eval-lang."
            )
        out[lang] = mine[:max_eval]
    return out


def load_harmless_rows(data: str, langs: list[str], max_eval: int) -> dict[str, list[dict[str, Any]]]:
    """The first ``max_eval`` harmless eval rows (by id) per language, for over-refusal.

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
        out[lang] = [{**r, "kind": "harmless"} for r in mine[:max_eval]]
    return out


def kl_prompts(cfg: SweepConfig) -> tuple[list[str], dict[str, list[str]]]:
    """Held-out prompts for the KL guard: a seeded sample of ids shared by the eval
    languages. Returns the ids and, per eval language, the prompt texts."""
    parallel = load_parallel(cfg.kl_data or cfg.vector_data)
    ids = aligned_ids(parallel, cfg.eval_langs, min_prompts=1)
    picked = sorted(random.Random(cfg.seed).sample(ids, min(cfg.kl_prompts, len(ids))))
    return picked, {lang: [parallel[lang][i] for i in picked] for lang in cfg.eval_langs}


def get_vectors(
    cfg: SweepConfig, loaded: Any, sdir: SweepDir, exclude: list[str]
) -> tuple[dict[str, SteeringVectors], bool]:
    """Vectors ``toward ← lang`` per eval language, loaded or computed on the base model.

    Returns:
        The vectors and whether the KL prompts were held out of them.
    """
    from crossling.steer.build import run_vectors

    if cfg.vectors:
        vdir = VectorDir(Path(cfg.vectors))
        held_out = False
    else:
        vcfg = VectorsConfig(
            model=cfg.model, langs=[*cfg.eval_langs, cfg.toward], data=cfg.vector_data,
            out=str(sdir.vectors.root), builder=cfg.builder, position=cfg.position,
            exclude_ids=exclude, min_prompts=cfg.min_prompts, max_prompts=cfg.vector_prompts,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
        )
        vdir = run_vectors(vcfg, loaded=loaded)
        held_out = True
    vecs = {lang: SteeringVectors.load(vdir, cfg.toward, lang) for lang in cfg.eval_langs}
    for v in vecs.values():
        v.check_model(loaded.model, cfg.model.layers_path)
    return vecs, held_out


def next_token_logprobs(
    model: Any, tokenizer: Any, prompts: list[str], system_prompt: str | None, batch_size: int
) -> list[tuple[Any, Any]]:
    """Per batch: (attention mask ``[b, seq]``, log-probs ``[b, seq, vocab]`` float32)."""
    import torch

    from crossling.steer.record import render_prompts

    texts = render_prompts(tokenizer, prompts, system_prompt)
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start : start + batch_size], return_tensors="pt",
                            padding=True, add_special_tokens=False).to(device)
            logits = model(**enc, use_cache=False).logits  # [b, seq, vocab]
            out.append((enc["attention_mask"].bool(), logits.float().log_softmax(-1)))
    return out


def mean_kl(base: list[tuple[Any, Any]], steered: list[tuple[Any, Any]]) -> float:
    """KL(base ‖ steered) in nats, averaged over real (non-padding) positions."""
    total, count = 0.0, 0
    for (mask, lp_b), (_, lp_s) in zip(base, steered, strict=True):
        kl = (lp_b.exp() * (lp_b - lp_s)).sum(-1)  # [b, seq]
        total += float(kl[mask].sum())
        count += int(mask.sum())
    return total / max(count, 1)


def _write_csv(path: Path, table: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    fields = list(table[0]) if table else ["lang", "layer", "strength"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in fields})
    atomic_write_text(path, buf.getvalue())


def run_sweep(cfg: SweepConfig, loaded: Any = None) -> SweepDir:
    """``crossling steer sweep``: generate, score and pick the best (layer, strength).

    Args:
        cfg: the sweep config.
        loaded: an already-loaded base model (tests); else ``cfg.model`` is loaded.

    Returns:
        The SweepDir with generations.jsonl, kl.jsonl, sweep.csv, best.json, heatmaps and
        strength_curves.png.

    Raises:
        CrosslingError: unknown task, toward ∈ eval_langs, missing data/adapter/vectors,
            vectors for another model, layers out of range.
    """
    from crossling.evaluate.backends.base import GenerationConfig
    from crossling.evaluate.backends.hf import HFBackend, verify_decoding

    if cfg.task not in TASK_METRICS:
        raise unknown_name("steering task", cfg.task, TASK_METRICS)
    if cfg.toward in cfg.eval_langs:
        raise CrosslingError(
            f"--toward {cfg.toward} is also an eval language; steer prompts in other "
            "languages toward it (e.g. --eval-lang de --toward en)."
        )
    primary, behaviour = TASK_METRICS[cfg.task]
    sdir = SweepDir(Path(cfg.out))
    rows = load_eval_rows(cfg.data, cfg.eval_langs, cfg.max_eval)
    harmless_metric = HARMLESS_METRIC.get(cfg.task)
    if harmless_metric is not None:
        harmless = load_harmless_rows(cfg.data, cfg.eval_langs, cfg.max_eval)
        rows = {lang: rows[lang] + harmless[lang] for lang in rows}
    kl_ids, kl_texts = kl_prompts(cfg)
    if cfg.adapter is not None:  # fail before loading anything
        from crossling.models.adapters import check_adapter_base
        from crossling.models.loading import model_spec

        check_adapter_base(Path(cfg.adapter), loaded.spec if loaded else model_spec(cfg.model))
    if loaded is None:
        from crossling.models import load_model

        loaded = load_model(cfg.model)
    vectors, held_out = get_vectors(cfg, loaded, sdir, kl_ids)
    check_layers(cfg.layers, next(iter(vectors.values())).n_layers)

    backend = HFBackend(loaded, {"adapter": Path(cfg.adapter)} if cfg.adapter else None)
    if cfg.adapter:
        backend.set_adapter("adapter")
    verify_decoding(backend)  # the decode loop agrees with model.generate, or stop
    model, tok, system = backend.model, loaded.tokenizer, loaded.config.system_prompt
    gcfg = GenerationConfig(max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size,
                            seed=cfg.seed)
    rh = run_hash(cfg)
    gen_log = [r for r in read_jsonl(sdir.generations) if r.get("run") == rh]
    kl_log = [r for r in read_jsonl(sdir.kl) if r.get("run") == rh]
    done = {(r["steer"], r["lang"], r.get("kind", "task"), r["id"]) for r in gen_log}
    kl_done = {(r["steer"], r["lang"]): r for r in kl_log}
    cells: list[tuple[int | None, float]] = [(None, 0.0)]
    cells += [(layer, s) for layer in cfg.layers for s in cfg.strengths if s != 0]
    base_lp: dict[str, Any] = {}

    with JsonlAppender(sdir.generations) as glog, JsonlAppender(sdir.kl) as klog:
        for layer, strength in cells:
            key = steer_key(layer, strength, cfg.toward)
            for lang in cfg.eval_langs:
                todo = [r for r in rows[lang]
                        if (key, lang, r.get("kind", "task"), r["id"]) not in done]
                kl_row = kl_done.get((key, lang))
                if not todo and kl_row is not None:
                    continue

                def ctx(lang: str = lang, layer: int | None = layer,
                        strength: float = strength) -> Any:
                    if layer is None:
                        return contextlib.nullcontext(SteerState())
                    return steer(model, vectors[lang], layer, strength,
                                 normalize=cfg.normalize, positions=cfg.positions,
                                 layers_path=cfg.model.layers_path, check_finite=True)

                if kl_row is None:
                    kl_row = {"run": rh, "steer": key, "lang": lang, "layer": layer,
                              "strength": strength, "kl": 0.0, "status": "ok"}
                    if layer is not None:
                        if lang not in base_lp:
                            base_lp[lang] = next_token_logprobs(
                                model, tok, kl_texts[lang], system, cfg.batch_size)
                        with ctx() as st:
                            lp = next_token_logprobs(model, tok, kl_texts[lang], system,
                                                     cfg.batch_size)
                        value = mean_kl(base_lp[lang], lp)
                        if st.nonfinite or value != value or value == float("inf"):
                            kl_row.update(kl=None, status="nonfinite")
                        else:
                            kl_row["kl"] = value
                    klog.write(kl_row)
                    kl_done[(key, lang)] = kl_row
                status = kl_row["status"]

                def log(row: dict[str, Any], response: str, new_tokens: int, status: str,
                        key: str = key, lang: str = lang, layer: int | None = layer,
                        strength: float = strength) -> None:
                    glog.write({"run": rh, "steer": key, "layer": layer, "strength": strength,
                                "toward": cfg.toward, "lang": lang, "id": row["id"],
                                "kind": row.get("kind", "task"), "prompt": row["prompt"],
                                "response": response, "new_tokens": new_tokens,
                                "status": status})
                    done.add((key, lang, row.get("kind", "task"), row["id"]))

                if status != "ok":  # record the failed cell, keep sweeping
                    for r in todo:
                        log(r, "", 0, status)
                    continue
                with ctx() as st:

                    def on_result(i: int, g: Any, todo: list[dict[str, Any]] = todo,
                                  st: SteerState = st) -> None:
                        log(todo[i], g.response, g.new_tokens,
                            "nonfinite" if st.nonfinite else "ok")

                    backend.generate([r["prompt"] for r in todo], gcfg, on_result=on_result)

    gen_log = [r for r in read_jsonl(sdir.generations) if r.get("run") == rh]
    kl_log = [r for r in read_jsonl(sdir.kl) if r.get("run") == rh]
    wanted = {steer_key(la, s, cfg.toward) for la, s in cells}
    gen_log = [r for r in gen_log if r["steer"] in wanted and r["lang"] in cfg.eval_langs]
    scorer_langs = [*cfg.eval_langs, cfg.toward]
    scorer_ctx = ScorerContext(langs=scorer_langs, system_prompt=system,
                               base_model=lambda: loaded)
    table = score_table(gen_log, kl_log, with_quality_scorers([*behaviour, FIDELITY]),
                        scorer_langs, cfg.seed, scorer_ctx, harmless_metric)
    _write_csv(sdir.sweep_csv, table)
    best = pick_best(table, primary, cfg.min_fidelity, cfg.max_kl,
                     max_over_refusal=cfg.max_over_refusal if harmless_metric else None)
    best.update(
        toward=cfg.toward, adapter=cfg.adapter, adapter_lang=cfg.adapter_lang,
        normalize=cfg.normalize, positions=cfg.positions, kl_prompts=len(kl_ids),
        kl_held_out_of_vectors=held_out, run=rh,
    )
    atomic_write_json(sdir.best, best)
    extra = [OVER_REFUSAL] if harmless_metric else []
    _plots(sdir, table, best, [*with_quality_scorers([*behaviour, FIDELITY]), "kl", *extra],
           primary, cfg)
    return sdir


def _plots(sdir: SweepDir, table: list[dict[str, Any]], best: dict[str, Any],
           metrics: list[str], primary: str, cfg: SweepConfig) -> None:
    from crossling.steer.plots import plot_curves, plot_heatmap

    for metric in metrics:
        plot_heatmap(table, metric, sdir.heatmap(metric))
    layers = {}
    for lang, info in best["per_lang"].items():
        if info["best"] is not None:
            layers[lang] = info["best"]["layer"]
        else:  # no cell passed the guards: show the layer where the metric peaks
            cands = [r for r in table if r["lang"] == lang and r["layer"] is not None
                     and r.get(primary) is not None]
            layers[lang] = max(cands, key=lambda r: r[primary])["layer"] if cands else cfg.layers[0]
    plot_curves(table, primary, layers, sdir.curves, cfg.toward)
