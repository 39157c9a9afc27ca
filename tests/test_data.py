"""Data layer: sources, tasks, id-disjoint splits, manifests and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from crossling.cli import main
from crossling.data import DataConfig, load_builtin, load_data_dir, run_data
from crossling.data.sources import _hub_load, load_alpaca, load_sorry_bench
from crossling.errors import CrosslingError
from crossling.io import read_jsonl
from crossling.languages import get_language
from crossling.paths import DataDir

LANGS7 = ["en", "de", "ru", "bg", "es", "fr", "zh"]


def _ids(rows: list[dict]) -> set[str]:
    return {r["id"] for r in rows}


def test_builtin_corpus_is_parallel_and_complete() -> None:
    from crossling.data.config import BUILTIN_LANGS

    assert sorted(BUILTIN_LANGS) == sorted(LANGS7)
    for name, min_items, needs_output in (("instructions", 80, True), ("harmful", 40, False)):
        rows = load_builtin(name)
        by_id: dict[str, dict[str, object]] = {}
        for r in rows:
            by_id.setdefault(r.id, {})[r.lang] = r
            assert r.instruction.strip(), (name, r.id, r.lang)
            if needs_output:
                assert r.output and r.output.strip(), (name, r.id, r.lang)
        assert len(by_id) >= min_items, name
        for item_id, langs in by_id.items():
            assert sorted(langs) == sorted(LANGS7), (name, item_id)


def test_builtin_corpus_language_identified() -> None:
    from crossling.langid import LanguageIdentifier

    ident = LanguageIdentifier(LANGS7)
    texts = [(r.lang, r.instruction) for r in load_builtin("harmful")]
    for r in load_builtin("instructions"):
        texts += [(r.lang, r.instruction), (r.lang, r.output or "")]
    ok = sum(ident.detect(t) == lang for lang, t in texts)
    assert ok / len(texts) >= 0.95, f"{ok}/{len(texts)} identified"


def test_caps_build_uppercases_and_holds_out_ids(tmp_path: Path) -> None:
    cfg = DataConfig(task="caps", train_langs=["en", "de", "ru"], eval_size=20, seed=3)
    d = run_data(cfg, tmp_path / "caps")
    manifest = load_data_dir(d.root)
    eval_rows = read_jsonl(d.eval_file)
    assert set(manifest["eval_ids"]) == _ids(eval_rows)
    assert len(manifest["eval_ids"]) == 20
    assert {r["lang"] for r in eval_rows} == set(cfg.eval_langs)
    for lang in cfg.train_langs:
        rows = read_jsonl(d.train_file(lang))
        assert rows and not (_ids(rows) & set(manifest["eval_ids"]))
        for r in rows:
            assert r["target"] == r["target"].upper()
            assert any(c.isupper() for c in r["target"])
    assert manifest["counts"]["eval"] == {lang: 20 for lang in cfg.eval_langs}
    assert set(manifest["hashes"]) >= {"eval.jsonl", "train_en.jsonl"}


def test_caps_uses_str_upper(tmp_path: Path) -> None:
    src = tmp_path / "s.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "lang": "de", "instruction": f"Frage {i}",
                                       "output": "Die Straße ist groß."}) + "\n"
                           for i in range(4)), encoding="utf-8")
    d = run_data(DataConfig(task="caps", source=str(src), train_langs=["de"], eval_langs=["de"],
                            eval_size=1), tmp_path / "o")
    assert read_jsonl(d.train_file("de"))[0]["target"] == "DIE STRASSE IST GROSS."


def test_split_is_deterministic_and_seed_dependent(tmp_path: Path) -> None:
    a = run_data(DataConfig(eval_size=10, seed=1), tmp_path / "a")
    b = run_data(DataConfig(eval_size=10, seed=1), tmp_path / "b")
    c = run_data(DataConfig(eval_size=10, seed=2), tmp_path / "c")
    ma, mb, mc = (load_data_dir(x.root) for x in (a, b, c))
    assert ma["eval_ids"] == mb["eval_ids"] and ma["hashes"] == mb["hashes"]
    assert ma["eval_ids"] != mc["eval_ids"]


def test_train_size_is_a_seeded_sample_not_the_first_ids(tmp_path: Path) -> None:
    def train_ids(seed: int, out: str) -> list[str]:
        d = run_data(DataConfig(eval_size=10, train_size=8, seed=seed, train_langs=["en"],
                                eval_langs=["en"]), tmp_path / out)
        return [r["id"] for r in read_jsonl(d.train_file("en"))]

    a, b = train_ids(1, "a"), train_ids(1, "b")
    assert a == b and len(a) == 8
    full = sorted(r["id"] for r in read_jsonl(run_data(
        DataConfig(eval_size=10, seed=1, train_langs=["en"], eval_langs=["en"]),
        tmp_path / "full").train_file("en")))
    assert set(a) <= set(full) and a != full[:8]  # not the first ids in sort order
    assert train_ids(2, "c") != a


def test_study_seed_reaches_the_split_and_generation_unless_set() -> None:
    from crossling.config import ExperimentConfig, validate_config

    cfg = validate_config(ExperimentConfig, {"seed": 7, "tasks": {"caps": {}, "refusal": {
        "seed": 3}}})
    assert cfg.tasks["caps"].seed == 7 and cfg.tasks["refusal"].seed == 3
    assert cfg.eval.generation.seed == 7
    explicit = validate_config(ExperimentConfig, {"seed": 7, "tasks": {"caps": {}},
                                                  "eval": {"generation": {"seed": 1}}})
    assert explicit.eval.generation.seed == 1


def test_refusal_targets_in_prompt_language(tmp_path: Path) -> None:
    cfg = DataConfig(task="refusal", train_langs=["en", "fr", "zh"],
                     eval_langs=["en", "de", "fr", "zh"], eval_size=8)
    d = run_data(cfg, tmp_path / "r")
    for lang in cfg.train_langs:
        for r in read_jsonl(d.train_file(lang)):
            assert r["target"] in get_language(lang).refusals
    harmless = read_jsonl(d.eval_harmless_file)
    assert {r["kind"] for r in harmless} == {"harmless"}
    assert {r["kind"] for r in read_jsonl(d.eval_file)} == {"harmful"}


def test_self_responses_leave_targets_empty(tmp_path: Path) -> None:
    d = run_data(DataConfig(responses="self", eval_size=5), tmp_path / "s")
    assert all(r["target"] is None for r in read_jsonl(d.train_file("en")))
    assert load_data_dir(d.root)["responses"] == "self"


def test_wide_polyrefuse(tmp_path: Path, polyrefuse: Path) -> None:
    cfg = DataConfig(task="refusal", source=str(polyrefuse / "harmful.jsonl"),
                     train_langs=["en", "fr", "zh"], eval_langs=["en", "fr", "zh", "de", "ja"],
                     eval_size=50)
    d = run_data(cfg, tmp_path / "p")
    m = load_data_dir(d.root)
    assert m["counts"]["train"] == {"en": 522, "fr": 522, "zh": 522}
    held = set(m["eval_ids"])
    for lang in cfg.train_langs:
        assert not (_ids(read_jsonl(d.train_file(lang))) & held)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_local_long_formats_with_column_mapping(tmp_path: Path, fmt: str) -> None:
    recs = [{"qid": f"q{i}", "language": lang, "prompt": f"{lang} text {i}", "answer": f"a {i}"}
            for i in range(6) for lang in ("en", "de")]
    df = pd.DataFrame(recs)
    path = tmp_path / f"d.{fmt}"
    {"json": lambda: df.to_json(path, orient="records"),
     "jsonl": lambda: df.to_json(path, orient="records", lines=True),
     "csv": lambda: df.to_csv(path, index=False),
     "parquet": lambda: df.to_parquet(path)}[fmt]()
    cfg = DataConfig(source=str(path), train_langs=["en"], eval_langs=["en", "de"], eval_size=2,
                     columns={"id": "qid", "lang": "language", "instruction": "prompt",
                              "output": "answer"})
    d = run_data(cfg, tmp_path / "o")
    rows = read_jsonl(d.train_file("en"))
    assert len(rows) == 4 and rows[0]["target"].startswith("A ")


def _write_alpaca(root: Path, lang: str, n: int) -> Path:
    folder = root / f"alpaca-{lang}"
    folder.mkdir()
    rows = [{"instruction": f"[{lang}] do {i}", "input": "x" if i == 0 else "",
             "output": f"done {i}"} for i in range(n)]
    (folder / "train.json").write_text(json.dumps(rows), encoding="utf-8")
    return folder


def test_alpaca_loader_on_local_folders(tmp_path: Path) -> None:
    repos = {lang: str(_write_alpaca(tmp_path, lang, 12)) for lang in ("en", "de")}
    cfg = DataConfig(source="alpaca", alpaca_repos=repos, train_langs=["en", "de"],
                     eval_langs=["en", "de"], eval_size=3)
    d = run_data(cfg, tmp_path / "o")
    m = load_data_dir(d.root)
    ev = read_jsonl(d.eval_file)
    # parallel id = row index: the same id carries the same item in both languages
    by_id = {(r["id"], r["lang"]): r["prompt"] for r in ev}
    for i in m["eval_ids"]:
        assert by_id[(i, "en")] == f"[en] do {i}" or by_id[(i, "en")].startswith("[en] do 0")
        assert by_id[(i, "de")].startswith(f"[de] do {i}")
    # the Alpaca input is shown under the language's own header
    rows = read_jsonl(d.train_file("de")) + ev
    with_input = [r for r in rows if r["id"] == "0" and r["lang"] == "de"]
    assert "Eingabe:" in with_input[0]["prompt"]


def test_alpaca_lengths_must_match(tmp_path: Path) -> None:
    repos = {"en": str(_write_alpaca(tmp_path, "en", 10)),
             "de": str(_write_alpaca(tmp_path, "de", 9))}
    with pytest.raises(CrosslingError, match="different lengths"):
        load_alpaca(repos, ["en", "de"], DataConfig().columns)


def test_sorry_bench_loader_on_local_folder(tmp_path: Path) -> None:
    folder = tmp_path / "sb"
    folder.mkdir()
    rows = [{"question_id": i, "category": "1", "turns": [f"{style} q{i}"], "prompt_style": style}
            for i in range(5) for style in ("base", "translate-fr", "translate-zh", "slang")]
    (folder / "question.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = load_sorry_bench(str(folder), _hub_load)
    assert {r.lang for r in out} == {"en", "fr", "zh"}
    assert len(out) == 15
    assert {r.id for r in out if r.lang == "fr"} == {str(i) for i in range(5)}


# ---------------------------------------------------------------- bad input


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(args)
    err = capsys.readouterr().err
    return rc, err


def _bad_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    bad_json = tmp / "bad.json"
    bad_json.write_text("{not json", encoding="utf-8")
    bad_csv = tmp / "bad.csv"
    bad_csv.write_bytes(b'a,b\n"1,2\n')
    nocol = tmp / "nocol.jsonl"
    nocol.write_text(json.dumps({"id": 1, "lang": "en", "text": "x"}) + "\n")
    onlyde = tmp / "de.jsonl"
    onlyde.write_text("".join(json.dumps({"id": i, "lang": "de", "instruction": "x",
                                          "output": "y"}) + "\n" for i in range(3)))
    notdata = tmp / "notdata"
    notdata.mkdir()
    (notdata / "keep.txt").write_text("precious")
    base = ["data", "build", "--eval-langs", "en"]
    return {
        "missing file": ([*base, "--source", str(tmp / "nope.jsonl")], "not found"),
        "malformed json": ([*base, "--source", str(bad_json)], "cannot parse"),
        "malformed csv": ([*base, "--source", str(bad_csv)], "cannot parse"),
        "unknown language": (["data", "build", "--train-langs", "en,xx"], "unknown language code 'xx'"),
        "missing column": ([*base, "--source", str(nocol)], "lacks column(s) instruction (found: id, lang, text)"),
        "empty after filtering": ([*base, "--source", str(onlyde)], "has no rows in languages"),
        "eval_size too large": ([*base, "--eval-size", "100000"], "larger than the"),
        "unknown task": (["data", "build", "--task", "capz"], "Did you mean 'caps'"),
        "not a data dir": ([*base, "--eval-size", "5", "--out", str(notdata)], "is not a crossling data dir"),
    }


BAD_CASES = ["missing file", "malformed json", "malformed csv", "unknown language",
             "missing column", "empty after filtering", "eval_size too large", "unknown task",
             "not a data dir"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_one_line_exit_2_nothing_written(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, expected = _bad_cases(tmp_path)[case]
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "out")]
    rc, err = _run_cli(args, capsys)
    assert rc == 2
    assert expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    if case == "not a data dir":
        assert (tmp_path / "notdata" / "keep.txt").read_text() == "precious"
    assert not list(tmp_path.glob(".out.*"))


def test_parallel_lengths_error_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repos = {"en": str(_write_alpaca(tmp_path, "en", 10)),
             "de": str(_write_alpaca(tmp_path, "de", 9))}
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"source: alpaca\ntrain_langs: [en]\neval_langs: [en, de]\neval_size: 2\n"
                   f"alpaca_repos: {json.dumps(repos)}\n")
    rc, err = _run_cli(["data", "build", str(cfg), "--out", str(tmp_path / "out")], capsys)
    assert rc == 2 and "different lengths" in err
    assert not (tmp_path / "out").exists()


def test_rebuild_over_own_data_dir_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    assert main(["data", "build", "--task", "caps", "--source", "builtin", "--train-langs",
                 "en,de,ru", "--eval-langs", "en,de,ru,bg,es,fr", "--eval-size", "30",
                 "--seed", "0", "--out", str(out)]) == 0
    assert main(["data", "build", "--eval-size", "10", "--out", str(out)]) == 0
    assert load_data_dir(out)["counts"]["eval"]["en"] == 10
    assert not DataDir(out).train_file("ru").exists()
    capsys.readouterr()
    assert main(["data", "show", str(out)]) == 0
    assert "eval" in capsys.readouterr().out


def test_unknown_yaml_key_suggests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("task: caps\ntrain_lang: [en]\n")
    rc, err = _run_cli(["data", "build", str(cfg), "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "unknown key 'train_lang'" in err and "train_langs" in err
