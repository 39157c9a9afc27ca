"""Language vectors: recording, builders, parallel-prompt loading, save/load, run_vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from crossling.errors import CrosslingError
from crossling.io import atomic_write_jsonl
from crossling.models import load_model
from crossling.paths import VectorDir
from crossling.steer import (
    SteeringVectors,
    VectorsConfig,
    aligned_ids,
    compute_vectors,
    get_builder,
    load_parallel,
    record_activations,
    run_vectors,
)
from crossling.steer.record import render_prompts, template_prefix_len

EN = ["Explain the sky", "Name a fruit", "Tell a joke about cats", "Why is water wet?", "Say hi"]
DE = ["Erkläre den Himmel", "Nenne eine Frucht", "Erzähle einen Witz über Katzen",
      "Warum ist Wasser nass?", "Sag hallo"]
RU = ["Объясни небо", "Назови фрукт", "Расскажи шутку про кошек", "Почему вода мокрая?",
      "Скажи привет"]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return load_model(str(tiny_model_dir))


@pytest.fixture
def wide_file(tmp_path: Path) -> Path:
    rows = [{"id": f"h{i}", "category": None, "en": e, "de": d, "ru": r}
            for i, (e, d, r) in enumerate(zip(EN, DE, RU, strict=True))]
    path = tmp_path / "harmless.jsonl"
    atomic_write_jsonl(path, rows)
    return path


def _oracle_means(loaded, prompts, position):
    """Per prompt, no padding: hidden_states from HF itself (hidden_states[i+1] = layer i)."""
    tok, model = loaded.tokenizer, loaded.model
    skip = template_prefix_len(tok, loaded.config.system_prompt)
    out = []
    for text in render_prompts(tok, prompts, loaded.config.system_prompt):
        enc = tok(text, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            hs = model(**enc, output_hidden_states=True).hidden_states
        sl = slice(skip, None) if position == "mean" else slice(-1, None)
        out.append(torch.stack([h[0, sl].mean(0) for h in hs[1:]]))  # [L, d]
    return torch.stack(out)  # [n, L, d]


@pytest.mark.parametrize("position", ["mean", "last"])
def test_recorded_vector_equals_difference_of_hf_hidden_state_means(tiny, position):
    rec_en = record_activations(tiny.model, tiny.tokenizer, EN, position=position,
                                system_prompt=tiny.config.system_prompt, batch_size=2)
    rec_de = record_activations(tiny.model, tiny.tokenizer, DE, position=position,
                                system_prompt=tiny.config.system_prompt, batch_size=3)
    o_en, o_de = _oracle_means(tiny, EN, position), _oracle_means(tiny, DE, position)
    assert rec_en.pooled.shape == (5, 3, 64)
    vec = get_builder("mean_diff")(rec_de.pooled[:, 0], rec_en.pooled[:, 0])
    torch.testing.assert_close(vec, o_de[:, 0].mean(0) - o_en[:, 0].mean(0), atol=1e-5, rtol=0)
    # all but the last layer match hidden_states directly
    torch.testing.assert_close(rec_en.pooled[:, :-1], o_en[:, :-1], atol=1e-5, rtol=0)
    # HF applies the final norm to hidden_states[-1]; our hooks see the raw layer output
    assert not torch.allclose(rec_en.pooled[:, -1], o_en[:, -1], atol=1e-3)
    if position == "last":  # per token, so the norm can be applied to the pooled value
        normed = tiny.model.model.norm(rec_en.pooled[:, -1])
        torch.testing.assert_close(normed, o_en[:, -1], atol=1e-5, rtol=0)


def test_template_prefix_skips_only_the_shared_system_turn(tiny):
    tok = tiny.tokenizer
    n = template_prefix_len(tok, tiny.config.system_prompt)
    ids = tok(render_prompts(tok, ["Hello"], tiny.config.system_prompt)[0],
              add_special_tokens=False)["input_ids"]
    assert 0 < n < len(ids)
    assert "Hello" in tok.decode(ids[n:])
    assert "helpful assistant" in tok.decode(ids[:n])


def test_pca_recovers_a_shared_direction():
    g = torch.Generator().manual_seed(0)
    u = torch.zeros(16)
    u[3] = 1.0
    src = torch.randn(50, 16, generator=g)
    tgt = src + 5.0 * u + 0.1 * torch.randn(50, 16, generator=g)
    vec = get_builder("pca")(tgt, src)
    assert torch.nn.functional.cosine_similarity(vec, u, dim=0) > 0.99
    assert float(vec.norm()) == pytest.approx(5.0, rel=0.05)
    flipped = get_builder("pca")(src, tgt)
    assert torch.nn.functional.cosine_similarity(flipped, u, dim=0) < -0.99


def test_unknown_builder_suggests():
    with pytest.raises(CrosslingError, match="Did you mean 'mean_diff'"):
        get_builder("mean_dif")


def test_load_parallel_shapes(tmp_path: Path, wide_file: Path):
    wide = load_parallel(str(wide_file))
    assert wide["de"]["h1"] == DE[1] and set(wide) == {"en", "de", "ru"}
    long_rows = [{"id": f"h{i}", "lang": "en", "prompt": e, "reference": None, "kind": "task"}
                 for i, e in enumerate(EN)]
    long_rows += [{"id": "h0", "lang": "de", "prompt": DE[0], "reference": None, "kind": "task"}]
    atomic_write_jsonl(tmp_path / "data" / "eval.jsonl", long_rows)
    atomic_write_jsonl(tmp_path / "data" / "train_de.jsonl",
                       [{"id": "h1", "lang": "de", "prompt": DE[1], "target": None}])
    from_dir = load_parallel(str(tmp_path / "data"))
    assert from_dir["de"] == {"h0": DE[0], "h1": DE[1]} and len(from_dir["en"]) == 5
    builtin_rows = [{"id": "b0", "topic": "x", "instruction": {"en": "a", "ru": "б"},
                     "output": {"en": "c"}}]
    atomic_write_jsonl(tmp_path / "instructions_x.jsonl", builtin_rows)
    assert load_parallel(str(tmp_path / "instructions_x.jsonl"))["ru"] == {"b0": "б"}


def test_load_parallel_builtin_corpus():
    par = load_parallel("builtin")
    assert len(aligned_ids(par, ["en", "ru"], min_prompts=8)) >= 8


def test_load_parallel_bad_inputs(tmp_path: Path):
    with pytest.raises(CrosslingError, match="not found"):
        load_parallel(str(tmp_path / "nope.jsonl"))
    atomic_write_jsonl(tmp_path / "odd.jsonl", [{"foo": 1}])
    with pytest.raises(CrosslingError, match="row 1 has neither"):
        load_parallel(str(tmp_path / "odd.jsonl"))


def test_too_few_parallel_prompts_says_how_many(wide_file: Path):
    par = load_parallel(str(wide_file))
    par["ru"] = {k: v for k, v in par["ru"].items() if k in ("h0", "h1")}
    with pytest.raises(CrosslingError, match=r"only 2 parallel prompts .*en: 5, ru: 2"):
        aligned_ids(par, ["en", "ru"], min_prompts=4)


def test_save_load_roundtrip_and_missing_pair(tmp_path: Path):
    v = SteeringVectors(
        vectors=torch.randn(3, 8), resid_norm=torch.rand(3), target="ru", source="en",
        model_spec="m", n_prompts=5, ids_hash="abc", position="last", builder="pca",
        extra={"data": "x"},
    )
    vdir = VectorDir(tmp_path / "v")
    v.save(vdir)
    back = SteeringVectors.load(vdir, "ru", "en")
    torch.testing.assert_close(back.vectors, v.vectors)
    assert back.position == "last" and back.extra == {"data": "x"}
    meta = json.loads(vdir.metadata("ru", "en").read_text())
    assert meta["norms"] == pytest.approx(v.norms()) and meta["hidden_size"] == 8
    with pytest.raises(CrosslingError, match=r"no steering vector de←en .*found: ru←en"):
        SteeringVectors.load(vdir, "de", "en")


def test_compute_vectors_every_pair_and_antisymmetry(tiny, wide_file: Path):
    par = load_parallel(str(wide_file))
    vecs = compute_vectors(tiny, par, ["en", "de", "ru"], min_prompts=3, batch_size=2)
    assert len(vecs) == 6
    torch.testing.assert_close(vecs[("ru", "en")].vectors, -vecs[("en", "ru")].vectors,
                               atol=1e-6, rtol=0)
    assert vecs[("ru", "en")].n_prompts == 5
    with pytest.raises(CrosslingError, match="at least two languages"):
        compute_vectors(tiny, par, ["en"])


def test_run_vectors_writes_everything_and_resumes(tiny, tiny_model_dir: Path,
                                                    wide_file: Path, tmp_path: Path):
    cfg = VectorsConfig(model={"name": str(tiny_model_dir)}, langs="en,de,ru",
                        data=str(wide_file), out=str(tmp_path / "vec"), min_prompts=3)
    vdir = run_vectors(cfg, loaded=tiny)
    for t, s in [("ru", "en"), ("de", "en"), ("en", "ru")]:
        assert vdir.vectors(t, s).exists() and vdir.metadata(t, s).exists()
    diag = json.loads(vdir.diagnostics_json.read_text())
    assert len(diag["norms"]["ru<-en"]) == 3
    assert "de<-en|ru<-en" in diag["cosines"]
    assert vdir.diagnostics_plot.stat().st_size > 1000
    mtime = vdir.vectors("ru", "en").stat().st_mtime_ns
    run_vectors(cfg, loaded=None)  # resumes: would load the model if anything were missing
    assert vdir.vectors("ru", "en").stat().st_mtime_ns == mtime
    loaded = SteeringVectors.load(vdir, "ru", "en")
    loaded.check_model(tiny.model)


def test_vectors_config_rejects_unknown_language():
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        VectorsConfig(langs="en,xx")
