"""The shipped labelled refusal answers: well-formed, big enough, and the keyword judge's
precision and recall on them (``benchmarks/refusal_scorers.py`` prints the full table)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from crossling.languages import LANGUAGES

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "refusal_scorers.py"
SOURCES = ("hand", "smollm2-135m", "smollm2-135m+refusal-lora-en")
MAIN_LANGS = ("en", "de", "ru", "bg", "es", "fr", "zh", "it")


def _bench():
    spec = importlib.util.spec_from_file_location("refusal_scorers", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def rows():
    return _bench().load_labelled()


def test_labelled_set_is_well_formed(rows) -> None:
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert r["label"] in ("refusal", "compliance", "other"), r["id"]
        assert r["lang"] in LANGUAGES and r["source"] in SOURCES, r["id"]
        assert isinstance(r["prompt"], str) and r["prompt"].strip()
        assert isinstance(r["response"], str)
    per = Counter(r["lang"] for r in rows)
    for lang in MAIN_LANGS:  # the minimum, with every label present
        assert per[lang] >= 40, lang
        labels = Counter(r["label"] for r in rows if r["lang"] == lang)
        assert labels["refusal"] >= 10 and labels["compliance"] >= 10 and labels["other"] >= 4
    assert any(r["source"] == "smollm2-135m" for r in rows)


@pytest.mark.parametrize("lang", MAIN_LANGS)
def test_keyword_judge_precision_and_recall(rows, lang: str) -> None:
    from crossling.evaluate.scorers import get_scorer

    mine = [r for r in rows if r["lang"] == lang]
    s = get_scorer("refusal_keyword")
    m = _bench().prf([r["label"] for r in mine], [s.score(r["response"], lang, r) for r in mine])
    assert m["precision"] >= 0.9 and m["recall"] >= 0.9, m


def test_benchmark_prints_every_language(rows, capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench().main(["--langs", "en,zh"]) == 0
    out = capsys.readouterr().out
    assert "refusal_keyword" in out and "\nen " in out and "\nzh " in out and "ALL" in out
