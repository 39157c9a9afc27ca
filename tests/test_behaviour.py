"""Behaviour stage on tiny random models: oracles for vectors, ablation hook and ΔW cosines;
the whole stage end to end (files, disjoint ids, resume); config and CLI errors.

A zero-initialised LoRA changes nothing and so has no direction; every adapter here has
random (perturbed) A and B.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from crossling.behaviour import (
    BehaviourConfig,
    compute_behaviour_vectors,
    delta_w_cosines,
    project_out,
    run_behaviour,
    unit_directions,
)
from crossling.behaviour.scoring import paired_delta, summary
from crossling.behaviour.stage import open_stage
from crossling.behaviour.vectors import BehaviourVectors
from crossling.errors import CrosslingError
from crossling.io import atomic_write_jsonl, read_json, read_jsonl
from crossling.models import get_decoder_layers, load_model
from crossling.steer.record import capture_layers, render_prompts, template_prefix_len

EN = ["Explain the sky", "Name a fruit", "Tell a joke about cats", "Why is water wet?",
      "Say hi", "Describe a tree", "What is rain?", "Give me a number", "Sing a song",
      "Draw a cat", "Count to five", "Name a colour"]
DE = ["Erkläre den Himmel", "Nenne eine Frucht", "Erzähle einen Witz über Katzen",
      "Warum ist Wasser nass?", "Sag hallo", "Beschreibe einen Baum", "Was ist Regen?",
      "Gib mir eine Zahl", "Sing ein Lied", "Zeichne eine Katze", "Zähle bis fünf",
      "Nenne eine Farbe"]


def _adapter(model_dir: Path, out: Path, lang: str, seed: int, device: str) -> Path:
    from peft import LoraConfig, get_peft_model

    from crossling.models.adapters import AdapterMeta, write_adapter_meta

    loaded = load_model(str(model_dir))
    torch.manual_seed(seed)
    peft = get_peft_model(loaded.model, LoraConfig(
        r=2, lora_alpha=4, target_modules=["q_proj", "v_proj", "down_proj"],
        init_lora_weights=False))
    with torch.no_grad():  # perturb B so the update is large enough to see
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    peft.save_pretrained(out)
    write_adapter_meta(out, AdapterMeta(base_model=loaded.spec, task="caps", lang=lang,
                                        seed=seed, data_hash="x"))
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, device: str,
          one_torch_thread: None):
    """Eval prompts e0..e5 (en, de), training rows p0, p1 (en) and p2 (de), a wide parallel
    file p0..p11 and two adapters."""
    root = tmp_path_factory.mktemp("behaviour")
    rows = [{"id": f"e{i}", "lang": lang, "prompt": t, "reference": None, "kind": "task"}
            for lang, texts in (("en", EN), ("de", DE)) for i, t in enumerate(texts[:6])]
    atomic_write_jsonl(root / "data" / "eval.jsonl", rows)
    for lang, texts, ids in (("en", EN, [0, 1]), ("de", DE, [2])):
        atomic_write_jsonl(root / "data" / f"train_{lang}.jsonl", [
            {"id": f"p{i}", "lang": lang, "prompt": texts[i], "target": texts[i].upper()}
            for i in ids])
    # the parallel file also holds the eval ids e0..e2: they must never reach a vector
    wide = [{"id": f"p{i}", "en": e, "de": d} for i, (e, d) in enumerate(zip(EN, DE, strict=True))]
    wide += [{"id": f"e{i}", "en": EN[i], "de": DE[i]} for i in range(3)]
    atomic_write_jsonl(root / "parallel.jsonl", wide)
    _adapter(tiny_model_dir, root / "ad_en", "en", 1, device)
    _adapter(tiny_model_dir, root / "ad_de", "de", 2, device)
    return root


def _cfg(setup: Path, model_dir: Path, out: Path, device: str, **kw) -> BehaviourConfig:
    base = dict(
        model={"name": str(model_dir), "device": device}, task="caps",
        adapters={"en": str(setup / "ad_en"), "de": str(setup / "ad_de")},
        data=str(setup / "data"), langs=["en", "de"], vector_data=str(setup / "parallel.jsonl"),
        max_prompts=6, min_prompts=3, kl_prompts=3, layers=[0, 2], strengths=[1.0, 4.0],
        max_eval=6, max_new_tokens=4, batch_size=4, min_fidelity=0.0, max_kl=1e6,
        min_coherence=0.0, random_draws=2,
        out=str(out), n_boot=200,
    )
    base.update(kw)
    return BehaviourConfig(**base)


def _peft(model_dir: Path, setup: Path, device: str):
    from crossling.evaluate.backends.hf import HFBackend
    from crossling.models.config import ModelConfig

    loaded = load_model(ModelConfig(name=str(model_dir), device=device))
    backend = HFBackend(loaded, {"en": setup / "ad_en", "de": setup / "ad_de"})
    return loaded, backend.model


def test_behaviour_vector_equals_hidden_state_difference(setup, tiny_model_dir, device):
    """Oracle: per prompt alone (no padding), mean over the tokens after the shared template
    prefix of (adapter − base) ``output_hidden_states``, averaged over prompts."""
    loaded, model = _peft(tiny_model_dir, setup, device)
    prompts = {"en": {f"p{i}": t for i, t in enumerate(EN[:4])}}
    ids = sorted(prompts["en"])
    rec = compute_behaviour_vectors(loaded, model, {"en": "en"}, prompts, ["en"], ids,
                                    batch_size=3)
    got = rec.behaviour[("en", "en")].vectors  # [L, d]
    tok, system = loaded.tokenizer, loaded.config.system_prompt
    skip = template_prefix_len(tok, system)
    n_layers = len(get_decoder_layers(model))

    def hidden(adapter: str | None, text: str) -> torch.Tensor:
        enc = tok(render_prompts(tok, [text], system), return_tensors="pt",
                  add_special_tokens=False).to(device)
        with torch.no_grad():
            if adapter is None:
                with model.disable_adapter():
                    out = model(**enc, output_hidden_states=True)
            else:
                model.set_adapter(adapter)
                out = model(**enc, output_hidden_states=True)
        # hidden_states[l + 1] is layer l's output for every layer but the last (final norm)
        return torch.stack([out.hidden_states[la + 1][0, skip:].float().mean(0)
                            for la in range(n_layers - 1)])

    oracle = torch.stack([hidden("en", prompts["en"][i]) - hidden(None, prompts["en"][i])
                          for i in ids]).mean(0)
    torch.testing.assert_close(got[: n_layers - 1].cpu(), oracle.cpu(), atol=2e-5, rtol=1e-4)
    assert float(got.norm()) > 0, "a perturbed adapter must move the residual stream"


def test_project_out_removes_the_direction_and_nothing_after_exit(setup, tiny_model_dir,
                                                                  device):
    loaded, model = _peft(tiny_model_dir, setup, device)
    model.set_adapter("en")
    tok = loaded.tokenizer
    enc = tok(render_prompts(tok, EN[:3], loaded.config.system_prompt), return_tensors="pt",
              padding=True, add_special_tokens=False).to(device)
    g = torch.Generator().manual_seed(0)
    d = model.config.hidden_size if hasattr(model.config, "hidden_size") else 64
    u = torch.randn(d, generator=g)

    def outputs() -> list[torch.Tensor]:
        with torch.no_grad(), capture_layers(model) as store:
            model(**enc)
            return [h.detach().clone().float() for h in store]

    before = outputs()
    assert before[1].matmul(u.to(device) / u.norm()).abs().max() > 1e-3
    with project_out(model, {1: u}):
        during = outputs()
    unit = (u / u.norm()).to(device)
    assert during[1].matmul(unit).abs().max() < 1e-4, "component along u must be zero"
    torch.testing.assert_close(during[0], before[0], atol=0, rtol=0)  # upstream untouched
    # the hooked layer changed by exactly its projection
    torch.testing.assert_close(during[1], before[1] - before[1].matmul(unit)[..., None] * unit,
                               atol=1e-5, rtol=1e-5)
    after = outputs()
    for a, b in zip(after, before, strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    with pytest.raises(CrosslingError, match="zero"):
        unit_directions(torch.zeros(3, d), [1])
    with pytest.raises(CrosslingError, match="out of range"), project_out(model, {7: u}):
        pass


def test_delta_w_cosine_matches_explicit_products(setup):
    from safetensors.torch import load_file

    res = delta_w_cosines(setup / "ad_en", setup / "ad_de")
    self_res = delta_w_cosines(setup / "ad_en", setup / "ad_en")
    assert all(abs(v - 1.0) < 1e-5 for row in self_res["cos"] for v in row)
    wa = load_file(str(setup / "ad_en" / "adapter_model.safetensors"))
    wb = load_file(str(setup / "ad_de" / "adapter_model.safetensors"))
    key = next(k for k in wa if "layers.1." in k and "v_proj.lora_A" in k)
    dw_a = wa[key.replace("lora_A", "lora_B")] @ wa[key]
    dw_b = wb[key.replace("lora_A", "lora_B")] @ wb[key]
    expect = float(torch.nn.functional.cosine_similarity(dw_a.flatten(), dw_b.flatten(), dim=0))
    got = res["cos"][res["modules"].index("self_attn.v_proj")][res["layers"].index(1)]
    assert got == pytest.approx(expect, abs=1e-5)
    # output-side Gram cosine: cos(ΔW_a ΔW_aᵀ, ΔW_b ΔW_bᵀ), blind to the input basis A
    ga, gb = dw_a @ dw_a.T, dw_b @ dw_b.T
    expect = float(torch.nn.functional.cosine_similarity(ga.flatten(), gb.flatten(), dim=0))
    got = res["out_cos"][res["modules"].index("self_attn.v_proj")][res["layers"].index(1)]
    assert got == pytest.approx(expect, abs=1e-4)
    expect = float(torch.nn.functional.cosine_similarity(wa[key].flatten(), wb[key].flatten(),
                                                         dim=0))
    got = res["a_cos"][res["modules"].index("self_attn.v_proj")][res["layers"].index(1)]
    assert got == pytest.approx(expect, abs=1e-5)
    assert all(abs(v - 1.0) < 1e-4 for k in ("out_cos", "a_cos") for row in self_res[k]
               for v in row)
    from crossling.behaviour.geometry import shared_init

    assert shared_init(setup / "ad_en", setup / "ad_en")["identical_lora_a_init"] is True
    assert shared_init(setup / "ad_en", setup / "ad_de")["identical_lora_a_init"] is False
    # norms carry the LoRA scale alpha / r = 4 / 2
    a0 = next(k for k in wa if "layers.0." in k and "down_proj.lora_A" in k)
    norm = 2.0 * float((wa[a0.replace("lora_A", "lora_B")] @ wa[a0]).norm())
    assert res["norm_a"][res["modules"].index("mlp.down_proj")][0] == pytest.approx(norm,
                                                                                   rel=1e-4)


def test_stage_end_to_end_files_disjoint_ids_and_resume(setup, tiny_model_dir, tmp_path,
                                                        device):
    from crossling.analysis.document import Document
    from crossling.behaviour.report import behaviour_section
    from crossling.behaviour.run import analysis_entries

    cfg = _cfg(setup, tiny_model_dir, tmp_path / "b", device)
    bdir = run_behaviour(cfg)
    stage = open_stage(cfg)
    # vectors never see eval or KL prompts, and say which ids they used
    v = BehaviourVectors.load(bdir, "en", "de")
    assert v.item_ids and not set(v.item_ids) & {"e0", "e1", "e2", "e3", "e4", "e5"}
    assert not set(v.item_ids) & set(stage.kl)
    # nor any adapter's training prompts (train_en: p0, p1; train_de: p2), in any language
    assert not set(v.item_ids) & {"p0", "p1", "p2"}
    counts = read_json(bdir.metadata("en", "en"))["extra"]["prompt_counts"]
    assert counts["excluded_train"] == len({"p0", "p1", "p2"} - set(stage.kl))
    assert counts["used"] == len(v.item_ids) and counts["train_files"] == ["de", "en"]
    assert set(read_json(bdir.metadata("de", "en"))["item_ids"]) == set(v.item_ids)
    assert not set(stage.selection) & set(stage.confirmation)
    # transfer: adapters × from × to, with the fields of analysis.json
    tr = read_json(bdir.transfer)
    assert len(tr["entries"]) == 2 * 2 * 2
    need = {"adapter", "from_lang", "to_lang", "layer", "strength", "mean", "ci_low", "ci_high",
            "baseline_mean", "delta"}
    assert all(need <= set(e) for e in tr["entries"])
    for e in tr["entries"]:
        assert e["layer"] in (0, 2) and e["strength"] in (1.0, 4.0)
        if e["mean"] is not None and e["baseline_mean"] is not None:
            assert e["delta"] == pytest.approx(e["mean"] - e["baseline_mean"], abs=1e-6)
    # transfer cells were generated on confirmation ids only
    gens = read_jsonl(bdir.generations)
    assert {g["id"] for g in gens if g["phase"] == "transfer"} == set(stage.confirmation)
    assert {g["id"] for g in gens if g["phase"] == "select"} <= set(stage.selection)
    # selection pooled over languages, each language steered by its own vector
    assert tr["selection"] == {**tr["selection"], "mode": "pooled", "langs": ["en", "de"]}
    assert {(g["vector_adapter"], g["lang"]) for g in gens if g["phase"] == "select"} == {
        (a, la) for a in ("en", "de") for la in ("en", "de")}
    assert all(g["from_lang"] == g["lang"] for g in gens if g["phase"] == "select")
    # KL rows measured at every steered position, one per adapter × language × cell
    kl = [r for r in read_jsonl(bdir.kl) if r["setting"].startswith("select:")]
    assert len(kl) == 2 * 2 * 2 * 2 and all(r["positions"] == "prompt+base_answer" for r in kl)
    # random-direction control beside every transfer cell, recomputable from the log
    assert tr["control"]["draws"] == 2
    rand = [g for g in gens if g["phase"] == "random"]
    assert {(g["vector_adapter"], g["from_lang"], g["draw"]) for g in rand} == {
        (a, x, k) for a in ("en", "de") for x in ("en", "de") for k in (0, 1)}
    assert {g["id"] for g in rand} == set(stage.confirmation)
    from crossling.evaluate.scorers import ScorerContext, get_scorer

    caps = get_scorer("caps_pct", ScorerContext(langs=["en", "de"]))
    for e in tr["entries"]:
        assert {"control_mean", "control_ci_low", "control_ci_high", "control_delta",
                "control_delta_ci_low", "control_delta_ci_high", "control_lang_fidelity",
                "control_coherence"} <= set(e)
        assert e["control_draws"] == 2 and len(e["control_draw_means"]) == 2
        per_id: dict[str, list[float]] = {}
        for g in rand:
            if (g["vector_adapter"], g["from_lang"], g["lang"]) == (
                    e["adapter"], e["from_lang"], e["to_lang"]):
                score = caps.score(g["response"], g["lang"], g)
                if score is not None:
                    per_id.setdefault(g["id"], []).append(score)
        expect = [sum(x) / len(x) for x in per_id.values()]
        if expect:
            assert e["control_mean"] == pytest.approx(sum(expect) / len(expect), abs=1e-9)
        if e["mean"] is not None and e["control_mean"] is not None:
            assert e["control_delta"] == pytest.approx(e["mean"] - e["control_mean"], abs=1e-6)
    ab = read_json(bdir.ablation)
    assert {(e["adapter"], e["lang"]) for e in ab["entries"]} == {
        (a, la) for a in ("en", "de") for la in ("en", "de")}
    assert ab["layers"] == [0, 1, 2]
    assert all({"mean", "ablated_mean", "delta", "delta_ci_low", "delta_ci_high"} <= set(e)
               for e in ab["entries"])
    # ablation: a random-direction control per cell, fidelity and garbage rates
    assert ab["control"]["draws"] == 2
    arand = [g for g in gens if g["phase"] == "ablate-random"]
    assert {(g["adapter"], g["draw"], g["lang"]) for g in arand} == {
        (a, k, la) for a in ("en", "de") for k in (0, 1) for la in ("en", "de")}
    for e in ab["entries"]:
        assert e["control_draws"] == 2 and e["control_mean"] is not None
        assert e["control_delta"] == pytest.approx(e["ablated_mean"] - e["control_mean"],
                                                   abs=1e-6)
        for f in ("lang_fidelity", "ablated_lang_fidelity", "control_lang_fidelity",
                  "garbage_rate", "ablated_garbage_rate", "control_garbage_rate"):
            assert e[f] is not None and 0.0 <= e[f] <= 1.0, f
    from crossling.analysis.quality import degenerate_reason

    e = ab["entries"][0]
    mine = [g for g in gens if g["setting"] == f"lora:{e['adapter']}:from=-:layer=-:strength=-"
            and g["lang"] == e["lang"]]
    assert e["garbage_rate"] == pytest.approx(sum(
        degenerate_reason(g["response"], g["prompt"], cfg.model.system_prompt, g["lang"])
        is not None for g in mine) / len(mine))
    geo = read_json(bdir.geometry)
    assert geo["delta_w"]["en·de"]["modules"] == ["mlp.down_proj", "self_attn.q_proj",
                                                 "self_attn.v_proj"]
    # noise ceiling: split-half reliability of every vector, a ceiling beside each cosine
    per = geo["noise_ceiling"]["per_vector"]
    assert set(per) == {f"{a} in {la}" for a in ("en", "de") for la in ("en", "de")}
    for h in per.values():
        assert len(h["split_half_cos"]) == 3 and h["n_half"] == [3, 3]
        assert all(-1 - 1e-6 <= r <= 1 + 1e-6 for r in h["split_half_cos"])
        assert all(0.0 <= r <= 1.0 for r in h["reliability"])
    al = geo["vectors"]["across_langs"]["en"]
    expect = [(x * y) ** 0.5 for x, y in zip(per["en in en"]["reliability"],
                                             per["en in de"]["reliability"], strict=True)]
    assert al["ceiling"][0] == pytest.approx(expect)
    row = next(r for r in geo["table"] if r["kind"].startswith("behaviour · behaviour (lang"))
    assert row["ceiling_mean"] == pytest.approx(sum(expect) / len(expect))
    assert geo["delta_w"]["en·de"]["shared_init"] == {
        "seeds": [1, 2], "same_seed": False, "same_lora_config": True,
        "identical_lora_a_init": False}
    assert all(Path(p).exists() for p in geo["figures"].values())
    assert bdir.figure("transfer_en").exists() and bdir.figure("ablation").exists()
    # resume: a second run generates nothing
    n = len(gens)
    run_behaviour(cfg, ("transfer", "ablate"))
    assert len(read_jsonl(bdir.generations)) == n
    out = analysis_entries(bdir)
    assert len(out["behaviour_transfer"]) == 8 and len(out["behaviour_ablation"]) == 4
    doc = Document("t")
    behaviour_section(doc, bdir, ["en", "de"])
    md = doc.to_markdown(tmp_path)
    assert "Where the behaviour lives" in md and "What this does not show" in md
    assert "Δ vs random direction" in md and "random dir. ablated" in md
    assert "noise ceiling" in md and "garbage" in md


def test_split_halves_are_the_vectors_of_each_half(setup, tiny_model_dir, device):
    """Oracle: a vector's split halves equal the vectors computed on each half's ids alone."""
    from crossling.behaviour.geometry import split_half

    loaded, model = _peft(tiny_model_dir, setup, device)
    prompts = {"en": {f"p{i}": t for i, t in enumerate(EN[:6])}}
    ids = sorted(prompts["en"])
    v = compute_behaviour_vectors(loaded, model, {"en": "en"}, prompts, ["en"], ids,
                                  batch_size=3, seed=5).behaviour[("en", "en")]
    assert v.half_ids is not None and len(v.half_ids) == 2
    a, b = v.half_ids
    assert len(a) == len(b) == 3 and not set(a) & set(b) and set(a) | set(b) == set(ids)
    for k, half in enumerate(v.half_ids):
        alone = compute_behaviour_vectors(loaded, model, {"en": "en"}, prompts, ["en"], half,
                                          batch_size=3).behaviour[("en", "en")]
        torch.testing.assert_close(v.halves[k], alone.vectors, atol=2e-5, rtol=1e-4)
    h = split_half(v)
    assert h is not None
    r = torch.nn.functional.cosine_similarity(v.halves[0], v.halves[1], dim=-1)
    assert h["split_half_cos"] == pytest.approx([float(x) for x in r], abs=1e-5)
    assert h["reliability"] == pytest.approx([2 * x / (1 + x) if x > 0 else 0.0
                                              for x in h["split_half_cos"]])
    few = compute_behaviour_vectors(loaded, model, {"en": "en"}, prompts, ["en"], ids[:3],
                                    batch_size=3).behaviour[("en", "en")]
    assert few.halves is None and split_half(few) is None


def test_random_controls_are_seeded_and_size_matched():
    from crossling.behaviour.controls import draw_average, random_like, random_unit

    v = torch.randn(64)
    r = random_like(v, 0, "transfer", "en", "de", 2, 4.0, 0)
    assert float(r.norm()) == pytest.approx(float(v.norm()), rel=1e-5)
    torch.testing.assert_close(r, random_like(v, 0, "transfer", "en", "de", 2, 4.0, 0))
    other = random_like(v, 0, "transfer", "en", "de", 2, 4.0, 1)  # next draw
    assert abs(float(torch.nn.functional.cosine_similarity(r, other, dim=0))) < 0.6
    assert abs(float(torch.nn.functional.cosine_similarity(r, v, dim=0))) < 0.6
    assert float(random_unit(64, 1, "ablate", 0, 0).norm()) == pytest.approx(1.0, rel=1e-6)
    assert draw_average([{"a": 1.0, "b": None}, {"a": 3.0, "b": None}]) == {"a": 2.0, "b": None}


def test_kl_is_measured_at_every_steered_position(setup, tiny_model_dir, device):
    """KL log-probs cover every real prompt and continuation token; padding and position ids
    do not change them (oracle: each sequence alone, unpadded)."""
    from crossling.steer.apply import add_to_layers
    from crossling.steer.kl import kl_all_positions, mean_kl

    loaded, model = _peft(tiny_model_dir, setup, device)
    tok, system = loaded.tokenizer, loaded.config.system_prompt
    prompts = [EN[0], EN[2], EN[4]]
    conts = [[100, 200, 300], [], [400]]
    with model.disable_adapter():
        batched = kl_all_positions(model, tok, prompts, system, 3, conts)
        single = [kl_all_positions(model, tok, [p], system, 1, [c])[0]
                  for p, c in zip(prompts, conts, strict=True)]
        (mask, lp), = batched
        lens = [len(tok(t, add_special_tokens=False)["input_ids"]) + len(c)
                for t, c in zip(render_prompts(tok, prompts, system), conts, strict=True)]
        assert mask.sum(-1).tolist() == lens
        for r, (m1, lp1) in enumerate(single):
            torch.testing.assert_close(lp[r][mask[r]], lp1[0][m1[0]], atol=1e-4, rtol=1e-4)
        assert mean_kl(batched, batched) == pytest.approx(0.0, abs=1e-6)
        # a vector added at every position moves the measured distributions
        vec = {1: torch.randn(model.config.hidden_size) * 5}
        with add_to_layers(model, vec, positions="all"):
            steered = kl_all_positions(model, tok, prompts, system, 3, conts)
    assert mean_kl(batched, steered) > 0


def test_vector_prompts_exclude_training_ids_or_fail(setup, tiny_model_dir, tmp_path, device):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(setup / "data", data)
    stage = open_stage(_cfg(setup, tiny_model_dir, tmp_path / "x", device, data=str(data)))
    assert not set(stage.vec_ids) & {"p0", "p1", "p2"}
    assert stage.vec_counts["train_files"] == ["de", "en"]
    # a training file holding every remaining parallel id leaves none for the vectors
    atomic_write_jsonl(data / "train_ru.jsonl", [
        {"id": f"p{i}", "lang": "ru", "prompt": "x", "target": "X"} for i in range(12)])
    with pytest.raises(CrosslingError, match=r"only 0 parallel prompts .* training ids"):
        open_stage(_cfg(setup, tiny_model_dir, tmp_path / "x", device, data=str(data)))


def test_paired_delta_and_summary():
    a = {"1": 10.0, "2": 20.0, "3": None, "4": 40.0}
    b = {"1": 0.0, "2": 5.0, "3": 3.0}
    d = paired_delta(a, b, seed=0, n_boot=200)
    assert d["n"] == 2 and d["mean"] == pytest.approx(12.5)
    # two prompts cannot bound a difference of an unbounded score: no interval, never a
    # made-up one; with the score's bounds the interval is the range of differences
    assert d["ci_low"] is None and d["ci_high"] is None and d["p"] == 0.5  # 2 / 2^2
    d = paired_delta(a, b, seed=0, n_boot=200, metric="caps_pct")
    assert (d["ci_low"], d["ci_high"]) == (-100.0, 100.0)
    many = {str(k): float(k % 7) for k in range(12)}
    d = paired_delta({k: v + 5 for k, v in many.items()}, many, 0, 200, metric="caps_pct")
    assert d["mean"] == pytest.approx(5.0) and d["ci_low"] == d["ci_high"] == pytest.approx(5.0)
    assert d["p"] == pytest.approx(2 / 2 ** 12)  # all 12 differences positive: exact
    s = summary({"x": None}, 0, 200)
    assert s["mean"] is None and s["n"] == 0


def test_bad_inputs_are_one_line_errors(setup, tiny_model_dir, tmp_path, device):
    with pytest.raises(CrosslingError, match="no eval prompts in ru"):
        open_stage(_cfg(setup, tiny_model_dir, tmp_path / "x", device, langs=["en", "ru"]))
    with pytest.raises(CrosslingError, match=r"only .* parallel prompts"):
        open_stage(_cfg(setup, tiny_model_dir, tmp_path / "x", device, min_prompts=50))
    with pytest.raises(CrosslingError, match="does not exist"):
        open_stage(_cfg(setup, tiny_model_dir, tmp_path / "x", device,
                        adapters={"en": str(tmp_path / "nope")}))


def test_cli_and_config_errors(tmp_path, capsys):
    from crossling.cli import main
    from crossling.config_loader import validate_config
    from crossling.runner.config import ExperimentConfig

    assert main(["behaviour", "transfer", "--data", str(tmp_path)]) == 2
    assert "needs --adapter" in capsys.readouterr().err
    assert main(["behaviour", "ablate", "--adapter", str(tmp_path), "--data", "x"]) == 2
    assert "NAME=DIR" in capsys.readouterr().err
    cfg = validate_config(ExperimentConfig, {"tasks": {"caps": {}}})
    assert cfg.behaviour.enabled is False
    with pytest.raises(CrosslingError, match=r"behaviour\.langs"):
        validate_config(ExperimentConfig, {"tasks": {"caps": {"eval_langs": ["en", "de"]}},
                                           "behaviour": {"enabled": True, "langs": ["en", "ru"]}})
    with pytest.raises(CrosslingError, match="strengths"):
        validate_config(ExperimentConfig, {"tasks": {"caps": {}},
                                           "behaviour": {"strengths": [0.0]}})


def test_answer_pooling_matches_per_prompt_hidden_states(setup, tiny_model_dir, device):
    """Oracle for position 'answer': each prompt alone, the answer's tokens only."""
    from crossling.behaviour.vectors import record_answers

    loaded, model = _peft(tiny_model_dir, setup, device)
    tok, system = loaded.tokenizer, loaded.config.system_prompt
    prompts, answers = EN[:3], ["The sky is blue.", "Apple", "Why did the cat sit? To rest."]
    with torch.no_grad(), model.disable_adapter():
        rec = record_answers(model, tok, prompts, answers, system_prompt=system, batch_size=2)
        n_layers = len(get_decoder_layers(model))
        for k, (p, a) in enumerate(zip(prompts, answers, strict=True)):
            ptoks = tok(render_prompts(tok, [p], system)[0], add_special_tokens=False)["input_ids"]
            atoks = tok(a, add_special_tokens=False)["input_ids"]
            x = torch.tensor([list(ptoks) + list(atoks)], device=device)
            hs = model(input_ids=x, output_hidden_states=True).hidden_states
            oracle = torch.stack([hs[la + 1][0, len(ptoks):].float().mean(0)
                                  for la in range(n_layers - 1)])
            torch.testing.assert_close(rec.pooled[k, : n_layers - 1], oracle.cpu(), atol=2e-5,
                                       rtol=1e-4)


def test_answer_position_needs_the_builtin_corpus(setup, tiny_model_dir, tmp_path, device):
    with pytest.raises(CrosslingError, match="reference answers"):
        open_stage(_cfg(setup, tiny_model_dir, tmp_path / "x", device, position="answer"))


def test_repetition_flags_loops_not_text():
    from crossling.behaviour.scoring import coherent, repetition

    assert repetition("The sky looks blue because air scatters short wavelengths.") < 0.1
    assert repetition("TOGETHER, THEY ARE THEY ARE THEY ARE THEY ARE THEY ARE THEY ARE") > 0.5
    assert repetition("ПОРОРОРОРОРОРОРО") > 0.5
    assert coherent("HONEY, SALAD, AND OIL ARE NOT THE SAME.") == 1.0
    assert coherent("DUR, DUR, DUR, DUR, DUR, DUR, DUR") == 0.0
    assert repetition("") == 0.0
