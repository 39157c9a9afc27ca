"""The behaviour-transfer matrix: an adapter's behaviour vector from language X, added to the
*base* model, on eval prompts of language Y.

Why this matrix: side by side with the LoRA transfer matrix it says whether the behaviour is
carried by one shared direction (the X ≠ Y cells reach the X = Y cells) or by language-specific
features (only the diagonal works).

Protocol (the steering sweep's): for each adapter, the layer and strength are chosen on the
*selection* ids, with its own training language's vector on prompts in that language, as the
cell with the highest behaviour metric among those that keep language fidelity ≥
``min_fidelity`` and next-token KL on held-out prompts ≤ ``max_kl`` (``steer.select``).
That one setting is then used for every X × Y cell on the *confirmation* ids, which took
no part in the choice; each cell is reported with the unsteered base model and the adapter
itself on the same prompts, differences paired over prompts.
"""

from __future__ import annotations

from typing import Any

from crossling.behaviour.scoring import (
    cell_values,
    coherence_log,
    mean_of,
    paired_delta,
    score_log,
    summary,
)
from crossling.behaviour.stage import BASE, Stage, setting_key
from crossling.behaviour.vectors import BehaviourVectors, adapter_active
from crossling.io import JsonlAppender, atomic_write_json, read_jsonl
from crossling.steer.apply import add_to_layers, check_layers
from crossling.steer.select import FIDELITY, TASK_METRICS, pick_best, score_table, steer_key

BASE_SETTING = setting_key("base", BASE, None, None, None)


def lora_setting(adapter: str) -> str:
    return setting_key("lora", adapter, None, None, None)


def add_hook(stage: Stage, vec: BehaviourVectors, layer: int, strength: float) -> Any:
    """A factory of the context that adds ``strength × vec[layer]`` at ``layer`` (every real
    position, prompt and generated)."""
    delta = {layer: vec.vectors[layer].float() * float(strength)}
    return lambda: add_to_layers(stage.model, delta, positions="all",
                                 layers_path=stage.cfg.model.layers_path)


def generate_base_and_lora(stage: Stage, adapters: list[str] | None = None) -> None:
    """The unsteered base model and each adapter on every eval prompt (shared references)."""
    every = [(lang, i) for lang in stage.langs for i in stage.rows[lang]]
    stage.generate(None, BASE_SETTING, every, phase="base")
    for a in adapters if adapters is not None else stage.adapters:
        stage.generate(a, lora_setting(a), every, phase="lora", vector_adapter=a)


def selection_lang(stage: Stage, adapter: str) -> str:
    """The adapter's training language when it is in play, else the first language."""
    lang = stage.adapters[adapter]
    return lang if lang in stage.langs else stage.langs[0]


def _kl_cells(stage: Stage, vectors: dict[tuple[str, str], BehaviourVectors]) -> list[dict[str, Any]]:
    """Next-token KL (base ‖ steered base) of every selection cell, logged and resumed."""
    from crossling.steer.sweep import kl_logprobs, mean_kl

    cfg = stage.cfg
    logged = {r["setting"]: r for r in read_jsonl(stage.bdir.kl) if r.get("run") == stage.run}
    base_lp: dict[str, Any] = {}
    with JsonlAppender(stage.bdir.kl) as log:
        for a in stage.adapters:
            lang = selection_lang(stage, a)
            ref = lora_setting(a)  # the adapter's own KL: the scale a behaviour change has
            if ref not in logged:
                stage.ensure_model()
                texts = [stage.parallel[lang][i] for i in stage.kl]
                tok, system = stage.loaded.tokenizer, stage.loaded.config.system_prompt
                with adapter_active(stage.model, None):
                    base_lp[lang] = kl_logprobs(stage.model, tok, texts, system,
                                                        cfg.batch_size)
                with adapter_active(stage.model, a):
                    lp = kl_logprobs(stage.model, tok, texts, system, cfg.batch_size)
                row = {"run": stage.run, "setting": ref, "lang": lang,
                       "kl": mean_kl(base_lp[lang], lp), "status": "ok"}
                log.write(row)
                logged[ref] = row
            for layer in cfg.layers:
                for s in cfg.strengths:
                    key = setting_key("select", a, lang, layer, s)
                    if key in logged:
                        continue
                    stage.ensure_model()
                    texts = [stage.parallel[lang][i] for i in stage.kl]
                    tok, system = stage.loaded.tokenizer, stage.loaded.config.system_prompt
                    with adapter_active(stage.model, None):
                        if lang not in base_lp:
                            base_lp[lang] = kl_logprobs(stage.model, tok, texts, system,
                                                                cfg.batch_size)
                        with add_hook(stage, vectors[(a, lang)], layer, s)():
                            lp = kl_logprobs(stage.model, tok, texts, system,
                                                     cfg.batch_size)
                    value = mean_kl(base_lp[lang], lp)
                    ok = value == value and value != float("inf")
                    row = {"run": stage.run, "setting": key, "lang": lang,
                           "kl": value if ok else None, "status": "ok" if ok else "nonfinite"}
                    log.write(row)
                    logged[key] = row
    return list(logged.values())


def run_selection(stage: Stage, vectors: dict[tuple[str, str], BehaviourVectors]) -> dict[str, Any]:
    """Choose (layer, strength) per adapter on the selection ids; writes ``selection.json``.

    Returns:
        ``{adapter: {"lang", "chosen": {"layer", "strength"} | None, "pick": pick_best(...)}}``.
    """
    cfg = stage.cfg
    check_layers(cfg.layers, next(iter(vectors.values())).n_layers)
    primary, behaviour = TASK_METRICS[cfg.task]
    generate_base_and_lora(stage, [])
    kl_rows = {r["setting"]: r for r in _kl_cells(stage, vectors)}
    for a in stage.adapters:
        lang = selection_lang(stage, a)
        for layer in cfg.layers:
            for s in cfg.strengths:
                key = setting_key("select", a, lang, layer, s)
                if kl_rows[key]["status"] != "ok":
                    continue  # broken cell: excluded by the guard, no generation spent
                stage.generate(None, key, [(lang, i) for i in stage.selection],
                               hook=add_hook(stage, vectors[(a, lang)], layer, s),
                               phase="select", vector_adapter=a, from_lang=lang, layer=layer,
                               strength=s)
    logged = stage.logged()
    out: dict[str, Any] = {}
    for a in stage.adapters:
        lang = selection_lang(stage, a)
        sel = set(stage.selection)
        gens, kls = [], [{"lang": lang, "steer": steer_key(None, 0.0, a), "kl": 0.0,
                          "status": "ok"}]
        for r in logged:
            if r["id"] not in sel or r["lang"] != lang:
                continue
            if r["setting"] == BASE_SETTING:
                gens.append({**r, "steer": steer_key(None, 0.0, a), "layer": None,
                             "strength": 0.0, "toward": a})
            elif r.get("phase") == "select" and r.get("vector_adapter") == a:
                gens.append({**r, "steer": steer_key(r["layer"], r["strength"], a), "toward": a})
        for layer in cfg.layers:
            for s in cfg.strengths:
                k = kl_rows[setting_key("select", a, lang, layer, s)]
                kls.append({"lang": lang, "steer": steer_key(layer, s, a), "kl": k["kl"],
                            "status": k["status"]})
        table = score_table(gens, kls, [*behaviour, FIDELITY], stage.langs, cfg.seed)
        coh = coherence_log([{**g, "setting": g["steer"]} for g in gens])
        for row in table:  # a cell of degenerate loops is excluded like a broken one
            key = steer_key(row["layer"], row["strength"], a)
            row["coherence"] = mean_of({i: v for (k, _, i), v in coh.items() if k == key})
            if (row["layer"] is not None and row["status"] == "ok"
                    and (row["coherence"] or 0.0) < cfg.min_coherence):
                row["status"] = "degenerate"
        pick = pick_best(table, primary, cfg.min_fidelity, cfg.max_kl)
        best = pick["per_lang"].get(lang, {}).get("best")
        out[a] = {"adapter": a, "adapter_lang": stage.adapters[a], "lang": lang,
                  "adapter_kl": kl_rows.get(lora_setting(a), {}).get("kl"),
                  "chosen": ({"layer": best["layer"], "strength": best["strength"]}
                             if best else None),
                  "table": table, "pick": pick}
    atomic_write_json(stage.bdir.selection, {
        "metric": primary, "selection_ids": stage.selection, "min_fidelity": cfg.min_fidelity,
        "min_coherence": cfg.min_coherence,
        "max_kl": cfg.max_kl, "kl_prompts": len(stage.kl), "adapters": out})
    return out


def run_transfer(stage: Stage, vectors: dict[tuple[str, str], BehaviourVectors]) -> dict[str, Any]:
    """``crossling behaviour transfer``: select, then fill the X × Y matrix on confirmation ids.

    Returns:
        The content of ``transfer.json``: ``{"metric", "interval", "entries": [...],
        "skipped": [...]}``; one entry per adapter × from-language × to-language.
    """
    chosen = run_selection(stage, vectors)
    generate_base_and_lora(stage)
    conf = [(lang, i) for lang in stage.langs for i in stage.confirmation]
    for a, info in chosen.items():
        if info["chosen"] is None:
            continue
        layer, s = info["chosen"]["layer"], info["chosen"]["strength"]
        for x in stage.langs:
            stage.generate(None, setting_key("transfer", a, x, layer, s), conf,
                           hook=add_hook(stage, vectors[(a, x)], layer, s), phase="transfer",
                           vector_adapter=a, from_lang=x, layer=layer, strength=s)
    result = transfer_results(stage, chosen)
    atomic_write_json(stage.bdir.transfer, result)
    return result


def transfer_results(stage: Stage, chosen: dict[str, Any]) -> dict[str, Any]:
    """Score the logged transfer cells (confirmation ids only) against base and adapter."""
    cfg = stage.cfg
    primary, _ = TASK_METRICS[cfg.task]
    logged = stage.logged()
    scores = score_log(logged, [primary, FIDELITY], stage.langs)
    coh = coherence_log(logged)
    ids = stage.confirmation
    entries, skipped = [], []
    for a, info in chosen.items():
        if info["chosen"] is None:
            skipped.append({"adapter": a, "reason": "no (layer, strength) passed the fidelity "
                            "and KL guards on the selection ids"})
            continue
        layer, s = info["chosen"]["layer"], info["chosen"]["strength"]
        for x in stage.langs:
            key = setting_key("transfer", a, x, layer, s)
            for y in stage.langs:
                steered = cell_values(scores[primary], key, y, ids)
                base = cell_values(scores[primary], BASE_SETTING, y, ids)
                lora = cell_values(scores[primary], lora_setting(a), y, ids)
                st = summary(steered, cfg.seed, cfg.n_boot)
                bs = summary(base, cfg.seed, cfg.n_boot)
                lo = summary(lora, cfg.seed, cfg.n_boot)
                d = paired_delta(steered, base, cfg.seed, cfg.n_boot)
                entries.append({
                    "adapter": a, "adapter_lang": stage.adapters[a], "from_lang": x,
                    "to_lang": y, "layer": layer, "strength": s, "metric": primary,
                    "mean": st["mean"], "ci_low": st["ci_low"], "ci_high": st["ci_high"],
                    "n": st["n"], "baseline_mean": bs["mean"], "baseline_ci_low": bs["ci_low"],
                    "baseline_ci_high": bs["ci_high"], "delta": d["mean"],
                    "delta_ci_low": d["ci_low"], "delta_ci_high": d["ci_high"],
                    "lora_mean": lo["mean"], "lora_ci_low": lo["ci_low"],
                    "lora_ci_high": lo["ci_high"],
                    "lang_fidelity": mean_of(cell_values(scores[FIDELITY], key, y, ids)),
                    "coherence": mean_of(cell_values(coh, key, y, ids)),
                    "lora_coherence": mean_of(cell_values(coh, lora_setting(a), y, ids)),
                })
    return {
        "metric": primary, "confirmation_ids": ids, "selection_ids": stage.selection,
        "interval": f"95 % percentile bootstrap over the {len(ids)} confirmation prompts "
                    f"({cfg.n_boot} resamples, seed {cfg.seed}); delta = steered − base, "
                    "paired over prompts",
        "entries": entries, "skipped": skipped,
    }
