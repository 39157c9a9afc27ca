"""The behaviour-transfer matrix: an adapter's behaviour vector from language X, added to the
*base* model, on eval prompts of language Y.

Why this matrix: side by side with the LoRA transfer matrix it says whether the behaviour is
carried by one shared direction (the X ≠ Y cells reach the X = Y cells) or by language-specific
features (only the diagonal works).

Protocol (the steering sweep's): for each adapter, one layer and strength are chosen on the
*selection* ids and used for every X × Y cell on the *confirmation* ids, which took no part in
the choice; each cell is reported with the unsteered base model, the adapter itself and a
random-direction control (:mod:`crossling.behaviour.controls`) on the same prompts,
differences paired over prompts.

Selection is pooled over every language of the matrix: each candidate (layer, strength)
steers the selection prompts of every language Y with Y's own vector (the X = Y cells), and
the pick (``steer.select.pick_best``'s ``overall``) is the candidate with the highest mean
behaviour metric over the languages among those that keep language fidelity ≥
``min_fidelity``, coherence ≥ ``min_coherence`` and next-token KL ≤ ``max_kl`` in *every*
language. Why each language's own vector rather than the training language's vector on
every language: the training-language row is one row of the matrix, and tuning on it would
favour exactly the cross-language cells (X = train, Y ≠ X) the matrix is meant to test; the
X = Y cells treat every language alike, no language's prompts or vector get a setting tuned
for them alone, and any off-diagonal cell that reaches the diagonal does so under a setting
chosen for the diagonal — a conservative test of transfer. ``transfer.json`` records it as
``selection: {"mode": "pooled", "vector": "own", "langs": [...]}``.

The KL guard is measured where the vector is added: steering adds it at every real position
(prompt and generated), so KL(base ‖ steered base) is averaged over every position of each
held-out KL prompt followed by the unsteered base model's greedy answer to it,
teacher-forced (:func:`crossling.steer.kl.kl_all_positions`).
"""

from __future__ import annotations

from typing import Any

from crossling.behaviour.controls import control_fields, draw_setting, random_like
from crossling.behaviour.results import (
    AdapterSelection,
    ControlInfo,
    SelectionFile,
    SelectionInfo,
    TransferFile,
)
from crossling.behaviour.scoring import (
    cell_values,
    coherence_log,
    mean_of,
    paired_delta,
    score_log,
    summary,
)
from crossling.behaviour.stage import Stage, setting_key
from crossling.behaviour.vectors import BehaviourVectors, adapter_active
from crossling.data.build import candidate_langs
from crossling.io import JsonlAppender, read_jsonl
from crossling.names import BASE_ADAPTER
from crossling.steer.apply import add_to_layers, check_layers
from crossling.steer.kl import kl_all_positions, mean_kl
from crossling.steer.select import FIDELITY, pick_best, score_table, steer_key
from crossling.tasks import get_task

BASE_SETTING = setting_key("base", BASE_ADAPTER, None, None, None)
# the positions KL rows were measured at; rows measured otherwise (an older run) are redone
KL_POSITIONS = "prompt+base_answer"


def lora_setting(adapter: str) -> str:
    return setting_key("lora", adapter, None, None, None)


def random_setting(adapter: str, from_lang: str, layer: int, strength: float, draw: int) -> str:
    """The logged setting of random draw ``draw`` of the control of cell (adapter, X)."""
    return draw_setting(setting_key("random", adapter, from_lang, layer, strength), draw)


def add_hook(stage: Stage, vec: BehaviourVectors, layer: int, strength: float) -> Any:
    """A factory of the context that adds ``strength × vec[layer]`` at ``layer`` (every real
    position, prompt and generated)."""
    delta = {layer: vec.vectors[layer].float() * float(strength)}
    return lambda: add_to_layers(stage.model, delta, positions="all",
                                 layers_path=stage.cfg.model.layers_path)


def random_hook(stage: Stage, vec: BehaviourVectors, layer: int, strength: float,
                draw: int) -> Any:
    """Like :func:`add_hook` with a random direction of the same norm as ``strength ×
    vec[layer]``, seeded by the config seed, the cell and the draw."""
    delta = {layer: random_like(vec.vectors[layer].float() * float(strength), stage.cfg.seed,
                                "transfer", vec.adapter, vec.lang, layer, float(strength),
                                draw)}
    return lambda: add_to_layers(stage.model, delta, positions="all",
                                 layers_path=stage.cfg.model.layers_path)


def generate_base_and_lora(stage: Stage, adapters: list[str] | None = None) -> None:
    """The unsteered base model and each adapter on every eval prompt (shared references)."""
    every = [(lang, i) for lang in stage.langs for i in stage.rows[lang]]
    stage.generate(None, BASE_SETTING, every, phase="base")
    for a in adapters if adapters is not None else stage.adapters:
        stage.generate(a, lora_setting(a), every, phase="lora", vector_adapter=a)


def training_lang(stage: Stage, adapter: str) -> str:
    """The adapter's training language when it is in play, else the first language (the
    direction ablated with ``ablation_direction: train``)."""
    lang = stage.adapters[adapter]
    return lang if lang in stage.langs else stage.langs[0]


class _KL:
    """KL(base ‖ model) on the KL prompts of one language at every steered position; the
    base model's greedy answers and log-probs are computed once per language."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.ref: dict[str, tuple[list[list[int]], Any]] = {}

    def _reference(self, lang: str) -> tuple[list[list[int]], Any]:
        if lang not in self.ref:
            st, cfg = self.stage, self.stage.cfg
            st.ensure_model()
            texts = [st.parallel[lang][i] for i in st.kl]
            st.backend.set_adapter(None)
            gens = st.backend.generate(texts, cfg.decoding())
            tok = st.loaded.tokenizer
            conts = [list(tok(g.response, add_special_tokens=False)["input_ids"]) for g in gens]
            with adapter_active(st.model, None):
                lp = self._logprobs(lang, conts)
            self.ref[lang] = (conts, lp)
        return self.ref[lang]

    def _logprobs(self, lang: str, conts: list[list[int]]) -> Any:
        st = self.stage
        return kl_all_positions(st.model, st.loaded.tokenizer,
                                [st.parallel[lang][i] for i in st.kl],
                                st.loaded.config.system_prompt, st.cfg.batch_size, conts)

    def __call__(self, lang: str, adapter: str | None, hook: Any = None) -> float:
        """Mean KL of the base model vs ``adapter`` (None: the base model) under ``hook``."""
        import contextlib

        conts, base = self._reference(lang)
        st = self.stage
        with adapter_active(st.model, adapter), (
                hook() if hook is not None else contextlib.nullcontext()):
            lp = self._logprobs(lang, conts)
        return mean_kl(base, lp)


def _kl_cells(stage: Stage, vectors: dict[tuple[str, str], BehaviourVectors]) -> list[dict[str, Any]]:
    """Next-token KL (base ‖ steered base) of every selection cell (each language with its
    own vector) and of each adapter itself, logged and resumed."""
    cfg = stage.cfg
    logged = {r["setting"]: r for r in read_jsonl(stage.bdir.kl)
              if r.get("run") == stage.run and r.get("positions") == KL_POSITIONS}
    kl = _KL(stage)
    with JsonlAppender(stage.bdir.kl) as log:

        def measure(key: str, lang: str, adapter: str | None, hook: Any = None) -> None:
            if key in logged:
                return
            value = kl(lang, adapter, hook)
            ok = value == value and value != float("inf")
            row = {"run": stage.run, "setting": key, "lang": lang, "positions": KL_POSITIONS,
                   "kl": value if ok else None, "status": "ok" if ok else "nonfinite"}
            log.write(row)
            logged[key] = row

        for a in stage.adapters:
            for lang in stage.langs:
                # the adapter's own KL: the scale a full behaviour change has
                measure(setting_key("lora-kl", a, lang, None, None), lang, a)
                for layer in cfg.layers:
                    for s in cfg.strengths:
                        measure(setting_key("select", a, lang, layer, s), lang, None,
                                add_hook(stage, vectors[(a, lang)], layer, s))
    return list(logged.values())


def run_selection(stage: Stage, vectors: dict[tuple[str, str], BehaviourVectors]
                  ) -> dict[str, AdapterSelection]:
    """Choose (layer, strength) per adapter on the selection ids, pooled over languages (each
    with its own vector); writes ``selection.json``.

    Returns:
        Adapter → its choice (``chosen`` None when no setting passed every guard), as
        written to ``selection.json``.
    """
    cfg = stage.cfg
    check_layers(cfg.layers, next(iter(vectors.values())).n_layers)
    from crossling.evaluate.scorers import ScorerContext

    task = get_task(cfg.task)
    primary = task.aim(cfg.metric)  # a known scorer: open_stage checked it
    behaviour = list(dict.fromkeys([*task.behaviour_metrics, primary]))
    generate_base_and_lora(stage, [])
    kl_rows = {r["setting"]: r for r in _kl_cells(stage, vectors)}
    for a in stage.adapters:
        for lang in stage.langs:
            for layer in cfg.layers:
                for s in cfg.strengths:
                    key = setting_key("select", a, lang, layer, s)
                    if kl_rows[key]["status"] != "ok":
                        continue  # broken cell: excluded by the guard, no generation spent
                    stage.generate(None, key, [(lang, i) for i in stage.selection],
                                   hook=add_hook(stage, vectors[(a, lang)], layer, s),
                                   phase="select", vector_adapter=a, from_lang=lang,
                                   layer=layer, strength=s)
    logged = stage.logged()
    sel = set(stage.selection)
    out: dict[str, Any] = {}
    for a in stage.adapters:
        gens: list[dict[str, Any]] = []
        kls: list[dict[str, Any]] = []
        for r in logged:
            if r["id"] not in sel or r["lang"] not in stage.langs:
                continue
            if r["setting"] == BASE_SETTING:
                gens.append({**r, "steer": steer_key(None, 0.0, a), "layer": None,
                             "strength": 0.0, "toward": a})
            elif (r.get("phase") == "select" and r.get("vector_adapter") == a
                  and r.get("from_lang") == r["lang"]):
                gens.append({**r, "steer": steer_key(r["layer"], r["strength"], a), "toward": a})
        for lang in stage.langs:
            kls.append({"lang": lang, "steer": steer_key(None, 0.0, a), "kl": 0.0,
                        "status": "ok"})
            for layer in cfg.layers:
                for s in cfg.strengths:
                    k = kl_rows[setting_key("select", a, lang, layer, s)]
                    kls.append({"lang": lang, "steer": steer_key(layer, s, a), "kl": k["kl"],
                                "status": k["status"]})
        langs = candidate_langs(cfg.data, stage.langs)
        table = score_table(gens, kls, [*behaviour, FIDELITY], langs, cfg.seed,
                            ScorerContext(langs=langs, task=cfg.task,
                                          system_prompt=cfg.model.system_prompt))
        coh = coherence_log([{**g, "setting": g["steer"]} for g in gens])
        for row in table:  # a cell of degenerate loops is excluded like a broken one
            key = steer_key(row["layer"], row["strength"], a)
            row["coherence"] = mean_of({i: v for (k, la, i), v in coh.items()
                                        if k == key and la == row["lang"]})
            if (row["layer"] is not None and row["status"] == "ok"
                    and (row["coherence"] or 0.0) < cfg.min_coherence):
                row["status"] = "degenerate"
        pick = pick_best(table, primary, cfg.min_fidelity, cfg.max_kl)
        best = pick["overall"]
        out[a] = {"adapter": a, "adapter_lang": stage.adapters[a], "mode": "pooled",
                  "vector": "own", "langs": list(stage.langs),
                  "adapter_kl": {lang: kl_rows.get(setting_key("lora-kl", a, lang, None, None),
                                                   {}).get("kl") for lang in stage.langs},
                  "chosen": ({"layer": best["layer"], "strength": best["strength"]}
                             if best else None),
                  "table": table, "pick": pick}
    result = SelectionFile(
        metric=primary, selection_ids=stage.selection, min_fidelity=cfg.min_fidelity,
        min_coherence=cfg.min_coherence, max_kl=cfg.max_kl, kl_prompts=len(stage.kl),
        kl_positions="every position of each KL prompt and the base model's greedy answer",
        selection=selection_info(stage), adapters=out)
    result.write(stage.bdir.selection)
    return result.adapters


def selection_info(stage: Stage) -> SelectionInfo:
    """What ``selection`` means in selection.json and transfer.json."""
    return SelectionInfo(
        mode="pooled", vector="own", langs=list(stage.langs),
        rule="highest mean metric over the languages among (layer, strength) that pass "
             "every guard in every language; language Y steered by its own vector")


def run_transfer(stage: Stage, vectors: dict[tuple[str, str], BehaviourVectors]) -> TransferFile:
    """``crossling behaviour transfer``: select, then fill the X × Y matrix on confirmation ids,
    each row also with ``random_draws`` random directions of the same norm.

    Returns:
        The content of ``transfer.json``: one entry per adapter × from-language ×
        to-language, adapters without a passing setting in ``skipped``.
    """
    chosen = run_selection(stage, vectors)
    generate_base_and_lora(stage)
    conf = [(lang, i) for lang in stage.langs for i in stage.confirmation]
    for a, info in chosen.items():
        if info.chosen is None:
            continue
        layer, s = info.chosen.layer, info.chosen.strength
        for x in stage.langs:
            stage.generate(None, setting_key("transfer", a, x, layer, s), conf,
                           hook=add_hook(stage, vectors[(a, x)], layer, s), phase="transfer",
                           vector_adapter=a, from_lang=x, layer=layer, strength=s)
            for k in range(stage.cfg.random_draws):
                stage.generate(None, random_setting(a, x, layer, s, k), conf,
                               hook=random_hook(stage, vectors[(a, x)], layer, s, k),
                               phase="random", vector_adapter=a, from_lang=x, layer=layer,
                               strength=s, draw=k)
    result = transfer_results(stage, chosen)
    result.write(stage.bdir.transfer)
    return result


def transfer_results(stage: Stage, chosen: dict[str, AdapterSelection]) -> TransferFile:
    """Score the logged transfer cells (confirmation ids only) against base, adapter and the
    random-direction control."""
    cfg = stage.cfg
    primary = get_task(cfg.task).aim(cfg.metric)
    logged = stage.logged()
    scores = score_log(logged, [primary, FIDELITY], candidate_langs(cfg.data, stage.langs),
                       cfg.task, cfg.model.system_prompt)
    coh = coherence_log(logged)
    ids = stage.confirmation
    draws = range(cfg.random_draws)
    entries, skipped = [], []
    for a, info in chosen.items():
        if info.chosen is None:
            skipped.append({"adapter": a, "reason": "no (layer, strength) passed the fidelity, "
                            "coherence and KL guards in every language on the selection ids"})
            continue
        layer, s = info.chosen.layer, info.chosen.strength
        for x in stage.langs:
            key = setting_key("transfer", a, x, layer, s)
            controls = [random_setting(a, x, layer, s, k) for k in draws]
            for y in stage.langs:
                steered = cell_values(scores[primary], key, y, ids)
                base = cell_values(scores[primary], BASE_SETTING, y, ids)
                lora = cell_values(scores[primary], lora_setting(a), y, ids)
                st = summary(steered, cfg.seed, cfg.n_boot, primary)
                bs = summary(base, cfg.seed, cfg.n_boot, primary)
                lo = summary(lora, cfg.seed, cfg.n_boot, primary)
                d = paired_delta(steered, base, cfg.seed, cfg.n_boot, primary)
                ctrl = control_fields(
                    steered, [cell_values(scores[primary], c, y, ids) for c in controls],
                    cfg.seed, cfg.n_boot, primary)
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
                    **ctrl,
                    "control_lang_fidelity": mean_of({c: mean_of(cell_values(
                        scores[FIDELITY], c, y, ids)) for c in controls}),
                    "control_coherence": mean_of({c: mean_of(cell_values(coh, c, y, ids))
                                                  for c in controls}),
                })
    return TransferFile(
        metric=primary, confirmation_ids=ids, selection_ids=stage.selection,
        selection=selection_info(stage),
        control=ControlInfo(kind="random direction", draws=cfg.random_draws, seed=cfg.seed,
                            what="the base model steered by a random direction with the norm "
                                 "of strength × the row's behaviour vector at the chosen "
                                 "layer, same positions; control_mean = mean over draws; "
                                 "control_delta = steered − control, paired over prompts"),
        vector_prompts=stage.vec_counts,
        interval=f"95 % over the {len(ids)} confirmation prompts: cells by the interval "
                 "that fits the metric (rate: Clopper-Pearson; bounded score: bounds-only "
                 "below 100 prompts); delta = steered − base, paired over prompts "
                 "(sign-flip test and its inversion; Newcombe for rates)",
        entries=entries, skipped=skipped,
    )
