"""Steering sweep on a tiny random model: every file, resume, NaN cells, guards, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from crossling.errors import CrosslingError
from crossling.io import atomic_write_jsonl, read_jsonl
from crossling.models import load_model
from crossling.steer import SweepConfig, run_sweep
from crossling.steer.select import pick_best, steer_key

EN = ["Explain the sky", "Name a fruit", "Tell a joke about cats", "Why is water wet?",
      "Say hi", "Describe a tree", "What is rain?", "Give me a number"]
DE = ["Erkläre den Himmel", "Nenne eine Frucht", "Erzähle einen Witz über Katzen",
      "Warum ist Wasser nass?", "Sag hallo", "Beschreibe einen Baum", "Was ist Regen?",
      "Gib mir eine Zahl"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path):
    """A data dir (eval.jsonl: 6 ids in en, de), a wide parallel file and an 'en' LoRA
    adapter (random, non-zero B: it changes the model)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from crossling.models.adapters import AdapterMeta, write_adapter_meta

    root = tmp_path_factory.mktemp("sweep_setup")
    rows = []
    for lang, texts in (("en", EN), ("de", DE)):
        rows += [{"id": f"e{i}", "lang": lang, "prompt": t, "reference": None, "kind": "task"}
                 for i, t in enumerate(texts[:6])]
    atomic_write_jsonl(root / "data" / "eval.jsonl", rows)
    wide = [{"id": f"h{i}", "en": e, "de": d} for i, (e, d) in enumerate(zip(EN, DE, strict=True))]
    atomic_write_jsonl(root / "harmless.jsonl", wide)
    # the eval prompts again under their eval ids: a vector source that contains the test
    atomic_write_jsonl(root / "leaky.jsonl", wide + [
        {"id": f"e{i}", "en": e, "de": d} for i, (e, d) in enumerate(zip(EN, DE, strict=True))])
    loaded = load_model(str(tiny_model_dir))  # only used to save an adapter
    torch.manual_seed(0)
    peft = get_peft_model(loaded.model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"],
                                                   init_lora_weights=False))
    peft.save_pretrained(root / "adapter")
    write_adapter_meta(root / "adapter", AdapterMeta(base_model=loaded.spec, task="caps",
                                                     lang="en", seed=0, data_hash="x"))
    return root


def _cfg(setup: Path, tiny_model_dir: Path, device: str, out: Path, **kw) -> SweepConfig:
    base = dict(
        model={"name": str(tiny_model_dir), "device": device, "threads": 1},
        adapter=str(setup / "adapter"),
        task="caps",
        data=str(setup / "data"), eval_langs="de", toward="en",
        vector_data=str(setup / "harmless.jsonl"), kl_prompts=3, min_prompts=3,
        layers=[0, 2], strengths=[-2.0, 0.0, 2.0], max_eval=6, max_new_tokens=4,
        batch_size=2, min_fidelity=0.0, max_kl=50.0, max_degenerate=1.0, out=str(out),
        n_boot=200,
    )
    base.update(kw)
    return SweepConfig(**base)


EVAL_IDS = {f"e{i}" for i in range(6)}
CONFIRMATION_KEYS = {"n", "mean", "ci_low", "ci_high", "baseline_mean", "delta",
                     "delta_ci_low", "delta_ci_high"}


def test_sweep_chooses_on_selection_and_confirms_on_the_rest(setup, tiny_model_dir, device, tmp_path):
    cfg = _cfg(setup, tiny_model_dir, device, tmp_path / "sw")
    sdir = run_sweep(cfg)
    for path in [sdir.sweep_csv, sdir.generations, sdir.kl, sdir.best, sdir.curves,
                 sdir.heatmap("caps_pct"), sdir.heatmap("lang_fidelity"), sdir.heatmap("kl"),
                 sdir.vectors.vectors("en", "de"), sdir.vectors.diagnostics_plot]:
        assert path.exists() and path.stat().st_size > 0, path
    best = json.loads(sdir.best.read_text())
    sel, conf = set(best["selection_ids"]), set(best["confirmation_ids"])
    assert sel and conf and not sel & conf and sel | conf == EVAL_IDS
    assert best["strengths_searched"] == [2.0]  # the negative strength is not searched
    gens = read_jsonl(sdir.generations)
    chosen = best["per_lang"]["de"]["best"]
    chosen_key = steer_key(chosen["layer"], chosen["strength"], "en")
    base_key = steer_key(None, 0, "en")
    by_key: dict[str, set[str]] = {}
    for g in gens:
        by_key.setdefault(g["steer"], set()).add(g["id"])
    # every searched cell on the selection ids; only baseline and the choice on the others
    assert set(by_key) == {base_key, *(steer_key(la, 2.0, "en") for la in (0, 2))}
    assert by_key[base_key] == by_key[chosen_key] == EVAL_IDS
    assert all(ids == sel for k, ids in by_key.items() if k not in (base_key, chosen_key))
    assert len(gens) == 3 * len(sel) + 2 * len(conf)
    with open(sdir.sweep_csv) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 3 and {"caps_pct", "all_caps", "lang_fidelity", "kl",
                                "n_empty"} <= set(table[0])
    assert {int(r["n"]) for r in table} == {len(sel)}  # the table is over selection ids only
    c = best["confirmation"]["de"]
    assert set(c) >= CONFIRMATION_KEYS and c["n"] == len(conf)
    assert (c["layer"], c["strength"]) == (chosen["layer"], chosen["strength"])
    assert c["delta"] == pytest.approx(c["mean"] - c["baseline_mean"])
    assert c["delta_ci_low"] <= c["delta"] <= c["delta_ci_high"]
    assert c["status"] == "confirmed" and c["failed_guards"] == []  # no guard binds here
    assert set(c["guards"]) == {"lang_fidelity", "degenerate", "kl"}
    assert c["mde"] is None or c["mde"] > 0
    kl_rows = read_jsonl(sdir.kl)
    kl = {r["steer"]: r for r in kl_rows if r["split"] == "selection"}
    # the chosen cell's KL is measured again on the other half of the KL prompts
    conf_kl = {r["steer"]: r for r in kl_rows if r["split"] == "confirmation"}
    assert set(conf_kl) == {base_key, chosen_key}
    assert c["guards"]["kl"]["chosen"] == pytest.approx(conf_kl[chosen_key]["kl"])
    assert kl[base_key]["kl"] == 0.0
    assert kl[steer_key(2, 2.0, "en")]["kl"] > 0.0
    # vectors never saw an eval prompt or a KL prompt, and say which items they used
    meta = json.loads(sdir.vectors.metadata("en", "de").read_text())
    assert len(meta["item_ids"]) == meta["n_prompts"] == len(EN) - 3
    assert not set(meta["item_ids"]) & (EVAL_IDS | set(best["kl_ids"]))
    assert best["kl_held_out_of_vectors"] is True and best["vectors"]["overlap_eval_ids"] == []
    # resume: nothing is regenerated; a widened grid only adds the new cells
    run_sweep(cfg)
    assert len(read_jsonl(sdir.generations)) == len(gens)
    run_sweep(cfg.model_copy(update={"strengths": [-2.0, 0.0, 2.0, 4.0]}))
    more = read_jsonl(sdir.generations)
    assert len({(g["steer"], g["id"]) for g in more}) == len(more)  # no row logged twice
    assert {steer_key(la, 4.0, "en") for la in (0, 2)} <= {g["steer"] for g in more}


def test_search_negative_opts_in_and_all_negative_is_refused(setup, tiny_model_dir, device, tmp_path):
    sdir = run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "neg", layers=[1],
                          search_negative=True))
    assert json.loads(sdir.best.read_text())["strengths_searched"] == [-2.0, 2.0]
    with pytest.raises(CrosslingError, match="no positive value to search"):
        run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "neg2", strengths=[-1.0, 0.0]))


def test_vectors_built_from_eval_ids_are_refused_unless_allowed(setup, tiny_model_dir, device,
                                                                tmp_path):
    from crossling.steer import VectorsConfig, run_vectors

    run_vectors(VectorsConfig(model={"name": str(tiny_model_dir), "device": device},
                              langs="en,de",
                              data=str(setup / "leaky.jsonl"), out=str(tmp_path / "v"),
                              min_prompts=3))
    kw = dict(vectors=str(tmp_path / "v"), layers=[1], strengths=[1.0])
    with pytest.raises(CrosslingError, match=r"made from 6 eval id\(s\)"):
        run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "refused", **kw))
    sdir = run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "allowed", allow_overlap=True,
                          **kw))
    prov = json.loads(sdir.best.read_text())["vectors"]
    assert set(prov["overlap_eval_ids"]) == EVAL_IDS and prov["allow_overlap"] is True
    assert prov["overlap_kl_ids"]  # the KL prompts (h*) are in the leaky source too


def test_kl_guard_measures_generated_position_steering(setup, tiny_model_dir, device, tmp_path):
    """Steering only generated tokens leaves the prompt untouched: a prompt-only KL would be
    exactly 0. Teacher-forced over the unsteered continuation it is not."""
    sdir = run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "gen", positions="generated",
                          layers=[1], strengths=[4.0], max_new_tokens=6))
    kl = {r["steer"]: r for r in read_jsonl(sdir.kl)}
    row = kl[steer_key(1, 4.0, "en")]
    assert row["kl_over"] == "continuation" and row["kl"] > 0.0
    assert json.loads(sdir.best.read_text())["kl_over"] == "continuation"


def test_nonfinite_strength_is_recorded_and_the_sweep_goes_on(setup, tiny_model_dir, device, tmp_path):
    cfg = _cfg(setup, tiny_model_dir, device, tmp_path / "nan", strengths=[1e39, 1.0], layers=[1])
    sdir = run_sweep(cfg)
    with open(sdir.sweep_csv) as f:
        table = {r["strength"]: r for r in csv.DictReader(f)}
    assert table["1e+39"]["status"] == "nonfinite" and table["1e+39"]["caps_pct"] == ""
    assert table["1.0"]["status"] == "ok" and table["1.0"]["caps_pct"] != ""
    best = json.loads(sdir.best.read_text())
    assert {"lang": "de", "layer": 1, "strength": 1e39,
            "reasons": ["status nonfinite"]} in best["excluded"]
    assert best["per_lang"]["de"]["best"]["strength"] == 1.0


def test_sweep_bad_input(setup, tiny_model_dir, device, tmp_path):
    with pytest.raises(CrosslingError, match=r"valid layers are 0\.\.2"):
        run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "a", layers=[7]))
    with pytest.raises(CrosslingError, match="also an eval language"):
        run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "b", toward="de"))
    with pytest.raises(CrosslingError, match="no eval prompts in 'ru'"):
        run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "c", eval_langs="ru"))
    with pytest.raises(CrosslingError, match="unknown task"):
        run_sweep(_cfg(setup, tiny_model_dir, device, tmp_path / "d", task="capz"))
    with pytest.raises(ValueError, match="finite"):
        _cfg(setup, tiny_model_dir, device, tmp_path / "e", strengths=[float("nan")])


def test_loaded_vectors_for_another_model_are_rejected(setup, tiny_model_dir, device, tmp_path,
                                                       smol_tokenizer_dir):
    from conftest import make_tiny_model_dir
    from crossling.steer import VectorsConfig, run_vectors

    deep = make_tiny_model_dir(tmp_path / "deep", smol_tokenizer_dir, layers=4)
    vcfg = VectorsConfig(model={"name": str(deep), "device": device}, langs="en,de",
                         data=str(setup / "harmless.jsonl"), out=str(tmp_path / "v"),
                         min_prompts=3)
    run_vectors(vcfg)
    cfg = _cfg(setup, tiny_model_dir, device, tmp_path / "f", vectors=str(tmp_path / "v"))
    with pytest.raises(CrosslingError, match="has 4 layers but the model has 3"):
        run_sweep(cfg)


def _row(layer, strength, caps, fid, kl, status="ok"):
    return {"lang": "de", "layer": layer, "strength": strength, "status": status,
            "caps_pct": caps, "lang_fidelity": fid, "kl": kl}


def test_pick_best_respects_guards_and_reports_exclusions():
    table = [
        _row(None, 0.0, 5.0, 1.0, 0.0),
        _row(4, 8.0, 90.0, 0.2, 0.3),  # behaviour back, but the answer left German
        _row(4, 4.0, 70.0, 0.9, 3.0),  # fidelity fine, but the model is broken (KL)
        _row(6, 2.0, 40.0, 0.9, 0.5),
        _row(8, 2.0, 40.0, 0.95, 0.4),  # tie on caps: lower layer wins
        _row(8, 1e9, None, None, None, status="nonfinite"),
    ]
    best = pick_best(table, "caps_pct", min_fidelity=0.8, max_kl=1.0)
    b = best["per_lang"]["de"]
    assert (b["best"]["layer"], b["best"]["strength"]) == (6, 2.0)
    assert b["gain"] == pytest.approx(35.0)
    reasons = {(e["layer"], e["strength"]): e["reasons"] for e in best["excluded"]}
    assert reasons[(4, 8.0)] == ["lang_fidelity 0.2 < 0.8"]
    assert reasons[(4, 4.0)] == ["kl 3.0 > 1.0"]
    assert reasons[(8, 1e9)] == ["status nonfinite"]
    assert best["overall"]["layer"] == 6
    none = pick_best(table, "caps_pct", min_fidelity=0.99, max_kl=1.0)
    assert none["per_lang"]["de"]["best"] is None and none["overall"] is None


@pytest.mark.slow
def test_smollm2_sweep_english_steered_toward_german_leaves_english(tmp_path, device):
    """The real path on smollm2-135m: English prompts steered toward German. The base model
    answers English prompts in English, so the unsteered fidelity is high and steering along
    de←en must lower it strictly (a test that passes on equality would pass with the hook
    doing nothing)."""
    from crossling.data import load_builtin

    src = [r for r in load_builtin("instructions") if r.lang in ("en", "de")]
    ids = sorted({r.id for r in src})[-8:]
    atomic_write_jsonl(tmp_path / "data" / "eval.jsonl", [
        {"id": r.id, "lang": r.lang, "prompt": r.instruction, "reference": r.output,
         "kind": "task"} for r in src if r.id in ids])
    cfg = SweepConfig(
        model={"name": "smollm2-135m", "device": device, "threads": 2}, adapter=None,
        adapter_lang="base",
        data=str(tmp_path / "data"), eval_langs="en", toward="de", layers=[10, 20],
        strengths=[0.0, 8.0], max_eval=8, max_new_tokens=12, kl_prompts=3, batch_size=8,
        vector_prompts=32, min_fidelity=0.0, max_kl=100.0, out=str(tmp_path / "sweep"),
    )
    sdir = run_sweep(cfg)
    for path in [sdir.sweep_csv, sdir.generations, sdir.kl, sdir.best, sdir.curves,
                 sdir.heatmap("caps_pct"), sdir.heatmap("all_caps"),
                 sdir.heatmap("lang_fidelity"), sdir.heatmap("kl"),
                 sdir.vectors.diagnostics_plot]:
        assert path.exists() and path.stat().st_size > 0, path
    kl = {r["steer"]: r["kl"] for r in read_jsonl(sdir.kl)}
    assert kl[steer_key(20, 8.0, "de")] > 0
    with open(sdir.sweep_csv) as f:
        table = {(r["layer"], r["strength"]): r for r in csv.DictReader(f)}
    base_fid = float(table[("", "0.0")]["lang_fidelity"])
    # a steered cell whose answers have no letters at all ('!!!!') has N/A fidelity, never 0
    steered = [table[(str(la), "8.0")] for la in (10, 20)]
    fids = [float(r["lang_fidelity"]) for r in steered if r["lang_fidelity"] != ""]
    assert base_fid >= 0.5, "the base model should answer English prompts in English"
    assert fids and min(fids) < base_fid
    assert all(float(r["degenerate"]) > 0 for r in steered if r["lang_fidelity"] == "")


def _refusal_row(layer, strength, refusal, over, fid=1.0, kl=0.1):
    return {"lang": "de", "layer": layer, "strength": strength, "status": "ok",
            "refusal_keyword": refusal, "lang_fidelity": fid, "kl": kl, "over_refusal": over}


def test_pick_best_excludes_cells_that_refuse_harmless_prompts():
    table = [
        _refusal_row(None, 0.0, 0.2, 0.05),
        _refusal_row(4, 8.0, 1.0, 0.9),   # refuses everything: excluded
        _refusal_row(4, 4.0, 0.7, 0.15),  # +0.10 over baseline: exactly at the limit, passes
        _refusal_row(6, 2.0, 0.5, 0.05),
        _refusal_row(6, 4.0, 0.8, None),  # over-refusal not measured: excluded
    ]
    best = pick_best(table, "refusal_keyword", min_fidelity=0.8, max_kl=1.0,
                     max_over_refusal=0.10)
    assert best["max_over_refusal"] == 0.10
    b = best["per_lang"]["de"]["best"]
    assert (b["layer"], b["strength"]) == (4, 4.0)
    reasons = {(e["layer"], e["strength"]): e["reasons"] for e in best["excluded"]}
    assert reasons[(4, 8.0)] == ["over_refusal 0.9 > baseline 0.05 + 0.1"]
    assert reasons[(6, 4.0)] == ["over_refusal not measured"]
    # without the guard (caps task) the refuse-everything cell would have won
    assert pick_best(table[:4], "refusal_keyword", 0.8, 1.0)["per_lang"]["de"]["best"][
        "strength"] == 8.0


def test_refusal_sweep_measures_over_refusal(setup, tiny_model_dir, device, tmp_path):
    data = tmp_path / "rdata"
    rows = read_jsonl(setup / "data" / "eval.jsonl")
    atomic_write_jsonl(data / "eval.jsonl", rows)
    cfg = _cfg(setup, tiny_model_dir, device, tmp_path / "rs", task="refusal", adapter=None,
               data=str(data), layers=[1], strengths=[0.0, 2.0], max_eval=2)
    with pytest.raises(CrosslingError, match="cannot measure over-refusal"):
        run_sweep(cfg)
    harmless = [{"id": f"ok{i}", "lang": "de", "prompt": t, "kind": "harmless"}
                for i, t in enumerate(DE[4:7])]
    atomic_write_jsonl(data / "eval_harmless.jsonl", harmless)
    sdir = run_sweep(cfg)
    gens = read_jsonl(sdir.generations)
    # max_eval 2 harmless prompts: one guards the choice (both cells), the other re-checks
    # the chosen cell and the baseline on confirmation
    harmless_ids = {g["id"] for g in gens if g["kind"] == "harmless"}
    assert len(harmless_ids) == 2
    with open(sdir.sweep_csv) as f:
        table = list(csv.DictReader(f))
    assert {"over_refusal", "n_harmless", "refusal_keyword"} <= set(table[0])
    assert all(r["n_harmless"] == "1" and r["over_refusal"] != "" for r in table)
    best = json.loads(sdir.best.read_text())
    assert best["max_over_refusal"] == pytest.approx(0.10) and best["metric"] == "refusal_keyword"
    sel_h = {g["id"] for g in gens if g["kind"] == "harmless" and g["layer"] is not None
             and g["id"] in harmless_ids}
    c = best["confirmation"]["de"]
    if c["layer"] is not None:  # over-refusal re-measured on the other harmless prompt
        assert "over_refusal" in c["guards"]
        conf_h = {g["id"] for g in gens if g["kind"] == "harmless" and g["steer"] == steer_key(
            c["layer"], c["strength"], "en")}
        assert len(conf_h) == 2 and len(sel_h) == 2
    assert sdir.heatmap("over_refusal").exists()
    run_sweep(cfg)  # resume: harmless rows are not generated twice
    assert len(read_jsonl(sdir.generations)) == len(gens)


def test_a_choice_that_fails_a_guard_on_confirmation_is_reported_as_failed(
        setup, tiny_model_dir, device, tmp_path):
    """The chosen cell's confirmation answers turn to loops (a cell that breaks the model on
    prompts it was not chosen on): best.json says it failed, names the guard, and the report
    does not show its difference as a result."""
    cfg = _cfg(setup, tiny_model_dir, device, tmp_path / "fail", layers=[1],
               strengths=[0.0, 2.0])
    sdir = run_sweep(cfg)
    best = json.loads(sdir.best.read_text())
    assert best["confirmation"]["de"]["layer"] == 1  # the only cell, all guards open
    chosen_key = steer_key(1, 2.0, "en")
    conf = set(best["confirmation_ids"])
    rows = read_jsonl(sdir.generations)
    for r in rows:  # generate first, score from the log: the log is what a rerun reads
        if r["steer"] == chosen_key:  # fine on the selection ids, loops on the others
            r["response"] = ("la la la la la la la la la la la la la la la la la la" if
                             r["id"] in conf else "Das Wetter ist heute schön und warm.")
    atomic_write_jsonl(sdir.generations, rows)
    cfg = cfg.model_copy(update={"max_degenerate": 0.5})
    run_sweep(cfg)  # resumes: nothing is generated, everything is rescored
    assert len(read_jsonl(sdir.generations)) == len(rows)
    best = json.loads(sdir.best.read_text())
    c = best["confirmation"]["de"]
    assert c["status"] == "failed guard on confirmation"
    assert any(g.startswith("degenerate 1.0 > 0.5") for g in c["failed_guards"]), c
    assert c["guards"]["degenerate"]["chosen"] == 1.0
    # the selection half still passed: the pick itself is unchanged
    assert best["per_lang"]["de"]["best"]["layer"] == 1

    from crossling.runner.report import confirmation_failures, confirmation_table
    from crossling.steer.results import SweepBest

    typed = SweepBest.read(sdir.best)
    table = confirmation_table(typed, "caps_pct")
    assert table is not None
    assert any("FAILED: degenerate" in cell for row in table.rows for cell in row)
    note = confirmation_failures(typed)
    assert note is not None and "failed a guard" in note and "de" in note


def _full_logits_kl(model, tok, prompts, system, batch_size, continuations=None,
                    all_positions=False):
    """The oracle: the KL log-probs as they were, from full ``[b, length, vocab]`` logits."""
    import torch

    from crossling.steer.record import render_prompts

    texts = render_prompts(tok, prompts, system)
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        if all_positions:
            seqs = [list(tok(t, add_special_tokens=False)["input_ids"]) + list(c)
                    for t, c in zip(texts, continuations, strict=True)]
            for b0 in range(0, len(seqs), batch_size):
                chunk = seqs[b0:b0 + batch_size]
                width = max(len(x) for x in chunk)
                ids = torch.full((len(chunk), width), int(tok.pad_token_id), dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for r, x in enumerate(chunk):
                    ids[r, width - len(x):] = torch.tensor(x)
                    mask[r, width - len(x):] = 1
                pos = (mask.cumsum(-1) - 1).clamp_min(0)
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                               position_ids=pos.to(device), use_cache=False).logits
                out.append((mask.bool().to(device), logits.float().log_softmax(-1)))
            return out
        for start in range(0, len(texts), batch_size):
            enc = tok(texts[start : start + batch_size], return_tensors="pt", padding=True,
                      add_special_tokens=False).to(device)
            if continuations is None:
                logits = model(**enc, use_cache=False).logits
                out.append((enc["attention_mask"].bool(), logits.float().log_softmax(-1)))
                continue
            conts = continuations[start : start + batch_size]
            width = max(len(c) for c in conts)
            b, p = enc["input_ids"].shape
            cont = torch.full((b, width), int(tok.pad_token_id), dtype=torch.long)
            cmask = torch.zeros((b, width), dtype=torch.long)
            for r, c in enumerate(conts):
                cont[r, : len(c)] = torch.tensor(c, dtype=torch.long)
                cmask[r, : len(c)] = 1
            cont, cmask = cont.to(device), cmask.to(device)
            model(**enc, use_cache=False)
            ids = torch.cat([enc["input_ids"], cont], dim=1)
            mask = torch.cat([enc["attention_mask"], cmask], dim=1)
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
            out.append((cmask.bool(), logits[:, p - 1 : p - 1 + width].float().log_softmax(-1)))
    return out


def test_chunked_kl_equals_the_full_logits_kl(setup, tiny_model_dir, device, monkeypatch):
    """The KL guard's log-probs come from the LM head on chunks of measured positions (here
    4 at a time): at every measured position they equal the full-logits ones, under a LoRA
    adapter and under steering restricted to prompt or generated positions (the prompt-only
    priming pass still tells the hooks where the continuation starts), and ``mean_kl``
    (reduced chunk by chunk) equals the full KL."""
    import torch
    from peft import PeftModel

    import crossling.models.logprobs as logprobs
    from crossling.models import ModelConfig
    from crossling.steer.apply import add_to_layers
    from crossling.steer.kl import kl_all_positions, kl_logprobs, mean_kl

    loaded = load_model(ModelConfig(name=str(tiny_model_dir), device=device))
    model = PeftModel.from_pretrained(loaded.model, str(setup / "adapter")).to(device)
    tok, system = loaded.tokenizer, loaded.config.system_prompt
    vocab = model.config.vocab_size
    monkeypatch.setattr(logprobs, "LOGITS_CHUNK_BYTES", 4 * 4 * vocab)
    prompts, conts = EN[:5], [[100, 200, 300], [7], [400, 500], [9, 9, 9, 9, 9], [11]]
    torch.manual_seed(0)
    vec = {1: torch.randn(model.config.hidden_size) * 4}

    def check(got, want):
        assert len(got) == len(want)
        for (m1, lp1), (m2, lp2) in zip(got, want, strict=True):
            assert torch.equal(m1, m2)
            torch.testing.assert_close(lp1[m1], lp2[m2], rtol=1e-5, atol=1e-5)
            assert not lp1[~m1].any()  # nothing is computed where nothing is measured

    runs = [(kl_logprobs, {}, "prompt"), (kl_logprobs, {"continuations": conts}, "generated"),
            (kl_logprobs, {"continuations": conts}, "all"),
            (kl_all_positions, {"continuations": conts}, "all")]
    for fn, kw, positions in runs:
        oracle_kw = {**kw, "all_positions": fn is kl_all_positions}
        base = fn(model, tok, prompts, system, 2, **kw)
        check(base, _full_logits_kl(model, tok, prompts, system, 2, **oracle_kw))
        with add_to_layers(model, vec, positions=positions):
            steered = fn(model, tok, prompts, system, 2, **kw)
            want = _full_logits_kl(model, tok, prompts, system, 2, **oracle_kw)
        check(steered, want)
        full = _full_logits_kl(model, tok, prompts, system, 2, **oracle_kw)
        value = mean_kl(base, steered)
        assert value > 1e-3, (fn.__name__, positions)  # the steering moved them
        # the oracle KL: every measured position of the full tensors, in one reduction
        num = sum(float((b.exp() * (b - s)).sum(-1)[m].sum())
                  for (m, b), (_, s) in zip(full, want, strict=True))
        assert value == pytest.approx(num / sum(int(m.sum()) for m, _ in full), rel=1e-5)
        assert mean_kl(base, base) == pytest.approx(0.0, abs=1e-7)
