"""``crossling steer``: flags parse, bad input exits 2 with one line, vectors end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossling.cli import main
from crossling.errors import CrosslingError
from crossling.io import atomic_write_jsonl
from crossling.paths import VectorDir
from crossling.steer.cli import parse_adapter, parse_layers, parse_strengths


def test_parse_layers_and_strengths():
    assert parse_layers("4:24:2") == list(range(4, 24, 2))
    assert parse_layers("4,8, 12") == [4, 8, 12]
    assert parse_strengths("-4,-2,0,2.5") == [-4.0, -2.0, 0.0, 2.5]
    assert parse_adapter("ru=runs/ru/adapter") == ("ru", "runs/ru/adapter")
    assert parse_adapter("runs/x") == (None, "runs/x")
    for bad in ("4:x", "4:8:0", "a,b", "8:4"):
        with pytest.raises(CrosslingError, match="--layers"):
            parse_layers(bad)
    for bad in ("1,two", "nan", "1,inf"):
        with pytest.raises(CrosslingError, match="--strengths"):
            parse_strengths(bad)
    with pytest.raises(CrosslingError, match="LANG=DIR"):
        parse_adapter("=x")


def test_bad_input_exits_2_with_one_line(capsys, tmp_path: Path):
    rc = main(["steer", "sweep", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
               "--layers", "4:x"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--layers '4:x'" in err and len(err.splitlines()) == 1
    rc = main(["steer", "sweep", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
               "--strengths", "-4,-2,0", "--eval-lang", "de", "--toward", "de"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "also an eval language" in err  # negative strengths parsed as values
    rc = main(["steer", "vectors", "--langs", "en,ru"])
    assert rc == 2 and "needs --out" in capsys.readouterr().err


def test_vectors_command_end_to_end(tiny_model_dir: Path, tmp_path: Path, capsys):
    rows = [{"id": f"h{i}", "en": f"Tell me about thing number {i}",
             "de": f"Erzähl mir von Ding Nummer {i}"} for i in range(4)]
    atomic_write_jsonl(tmp_path / "p.jsonl", rows)
    out = tmp_path / "vec"
    rc = main(["steer", "vectors", "--model", str(tiny_model_dir), "--langs", "en,de",
               "--data", str(tmp_path / "p.jsonl"), "--out", str(out), "--min-prompts", "4",
               "--builder", "pca"])
    assert rc == 0, capsys.readouterr().err
    vdir = VectorDir(out)
    assert vdir.vectors("de", "en").exists() and vdir.diagnostics_plot.exists()
    rc = main(["steer", "vectors", "--model", str(tiny_model_dir), "--langs", "en,de",
               "--data", str(tmp_path / "p.jsonl"), "--out", str(out), "--min-prompts", "5"])
    assert rc == 2 and "only 4 parallel prompts" in capsys.readouterr().err


def test_sweep_command_prints_the_confirmation(tiny_model_dir: Path, tmp_path: Path,
                                               device: str, capsys):
    en = ["Tell me about thing number {}", "Name animal {}"]
    de = ["Erzähl mir von Ding Nummer {}", "Nenne Tier {}"]
    atomic_write_jsonl(tmp_path / "data" / "eval.jsonl", [
        {"id": f"e{i}", "lang": lang, "prompt": t[i % 2].format(i), "kind": "task"}
        for lang, t in (("en", en), ("de", de)) for i in range(4)])
    atomic_write_jsonl(tmp_path / "p.jsonl", [
        {"id": f"h{i}", "en": en[0].format(i), "de": de[0].format(i)} for i in range(8)])
    cfg = tmp_path / "sweep.yaml"
    cfg.write_text(f"model: {{name: {tiny_model_dir}, device: {device}, threads: 1}}\n"
                   "n_boot: 200\nmin_fidelity: 0.0\nmax_kl: 100.0\nmin_prompts: 3\n"
                   "max_degenerate: 1.0\n")
    rc = main(["steer", "sweep", str(cfg), "--data", str(tmp_path / "data"),
               "--out", str(tmp_path / "o"), "--eval-lang", "de", "--toward", "en",
               "--vector-data", str(tmp_path / "p.jsonl"), "--layers", "1",
               "--strengths", "0,1", "--max-eval", "4", "--kl-prompts", "2",
               "--max-new-tokens", "3", "--batch-size", "4"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    text = " ".join(out.out.split())
    assert "chosen on 2 selection prompts: layer=1 strength=1" in text
    assert "on 2 confirmation prompts" in text and "paired over prompts" in text
