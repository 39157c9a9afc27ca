"""Make language steering vectors for every ordered pair of languages.

Why every pair from one recording: each language's prompts are run once (all layers in one
pass per batch); a pair only re-pools the recorded activations over the ids both languages
share, so ``n`` languages cost ``n`` recordings, not ``n²``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.io import read_json, sha256_json
from crossling.paths import VectorDir
from crossling.steer.builders import get_builder
from crossling.steer.config import VectorsConfig
from crossling.steer.corpus import Parallel, aligned_ids, load_parallel
from crossling.steer.record import record_activations
from crossling.steer.vector import SteeringVectors


def _pair_ids(parallel: Parallel, langs: list[str], min_prompts: int,
              max_prompts: int | None, exclude_ids: list[str] | tuple[str, ...], seed: int
              ) -> dict[tuple[str, str], list[str]]:
    """The parallel ids of every ordered language pair, checked before any forward pass
    (too few raise), sampled with ``seed`` down to ``max_prompts``."""
    pair_ids = {}
    for t in langs:
        for s in langs:
            if t != s:
                found = aligned_ids(parallel, [t, s], min_prompts=min_prompts,
                                    exclude=exclude_ids)
                if max_prompts and len(found) > max_prompts:
                    found = sorted(random.Random(seed).sample(found, max_prompts))
                pair_ids[(t, s)] = found
    return pair_ids


def compute_vectors(
    loaded: Any,
    parallel: Parallel,
    langs: list[str],
    *,
    builder: str = "mean_diff",
    position: str = "mean",
    min_prompts: int = 8,
    max_prompts: int | None = None,
    exclude_ids: list[str] | tuple[str, ...] = (),
    batch_size: int = 16,
    layers_path: str | None = None,
    extra: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[tuple[str, str], SteeringVectors]:
    """Vectors ``target ← source`` for every ordered pair of ``langs``.

    Args:
        loaded: a LoadedModel (model, tokenizer, spec, config).
        parallel: prompts ``{lang: {id: text}}``.
        langs: at least two language codes.
        builder: 'mean_diff' or 'pca'.
        position: 'mean' or 'last' pooling.
        min_prompts: fail when a pair shares fewer parallel ids.
        max_prompts: cap on ids per pair (a sample seeded by ``seed``).
        exclude_ids: ids never used (held-out prompts).
        batch_size: prompts per forward pass.
        layers_path: decoder-layer path override.
        extra: recorded in each vector's metadata.
        seed: seed of the sample of ids when a pair shares more than ``max_prompts``.

    Returns:
        ``{(target, source): SteeringVectors}``.

    Raises:
        CrosslingError: fewer than two languages or too few parallel prompts.
    """
    import torch

    if len(langs) < 2:
        raise CrosslingError(
            f"steering vectors need at least two languages, got {langs}; pass e.g. --langs en,ru."
        )
    build = get_builder(builder)
    pair_ids = _pair_ids(parallel, langs, min_prompts, max_prompts, exclude_ids, seed)
    system = loaded.config.system_prompt
    recorded: dict[str, dict[str, Any]] = {}
    token_norms = {}
    for lang in langs:
        ids = sorted({i for (t, s), ids in pair_ids.items() if lang in (t, s) for i in ids})
        rec = record_activations(
            loaded.model, loaded.tokenizer, [parallel[lang][i] for i in ids],
            position=position, system_prompt=system, batch_size=batch_size,
            layers_path=layers_path,
        )
        recorded[lang] = {i: rec.pooled[k] for k, i in enumerate(ids)}  # id -> [L, d]
        token_norms[lang] = rec.token_norm
    out = {}
    for (t, s), ids in pair_ids.items():
        tgt = torch.stack([recorded[t][i] for i in ids])  # [n, L, d]
        src = torch.stack([recorded[s][i] for i in ids])
        vecs = torch.stack(
            [build(tgt[:, layer], src[:, layer]) for layer in range(tgt.shape[1])]
        )  # [L, d]
        out[(t, s)] = SteeringVectors(
            vectors=vecs.float(),
            resid_norm=((token_norms[t] + token_norms[s]) / 2).float(),
            target=t,
            source=s,
            model_spec=loaded.spec,
            n_prompts=len(ids),
            ids_hash=sha256_json(ids),
            position=position,
            builder=builder,
            item_ids=list(ids),
            extra=dict(extra or {}),
        )
    return out


def _cfg_hash(cfg: VectorsConfig) -> str:
    """What the vectors depend on (not where they go, nor any speed-only setting)."""
    from crossling.config_marks import results_dump

    return sha256_json(results_dump(cfg, exclude={"out"}))


def run_vectors(cfg: VectorsConfig, loaded: Any = None) -> VectorDir:
    """``crossling steer vectors``: compute, save and diagnose vectors for ``cfg.langs``.

    Resumes: when every pair already exists with the same config hash, nothing is recomputed.

    Args:
        cfg: the stage config.
        loaded: an already-loaded model (tests, the sweep); else ``cfg.model`` is loaded.

    Returns:
        The VectorDir written.
    """
    from crossling.steer.diagnostics import write_diagnostics

    vdir = VectorDir(Path(cfg.out))
    h = _cfg_hash(cfg)
    pairs = [(t, s) for t in cfg.langs for s in cfg.langs if t != s]

    def done(t: str, s: str) -> bool:
        meta = vdir.metadata(t, s)
        return (
            meta.exists()
            and vdir.vectors(t, s).exists()
            and read_json(meta).get("extra", {}).get("config_hash") == h
            and "item_ids" in read_json(meta)
        )

    if not all(done(t, s) for t, s in pairs):
        if loaded is None:
            from crossling.models import load_model

            loaded = load_model(cfg.model)
        parallel = load_parallel(cfg.vector_data)
        vecs = compute_vectors(
            loaded, parallel, cfg.langs, builder=cfg.builder, position=cfg.position,
            min_prompts=cfg.min_prompts, max_prompts=cfg.vector_prompts,
            exclude_ids=cfg.exclude_ids, batch_size=cfg.batch_size,
            layers_path=cfg.model.layers_path, seed=cfg.seed,
            extra={"config_hash": h, "data": cfg.vector_data,
                   "system_prompt": cfg.model.system_prompt},
        )
        for v in vecs.values():
            v.save(vdir)
    write_diagnostics(vdir, cfg.langs)
    return vdir
