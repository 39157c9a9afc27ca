"""The shipped labelled refusal answers: well-formed, natural answers in every table
language kept apart from hand-made hard cases, and the keyword judge's precision and recall
on each part (``benchmarks/refusal_scorers.py`` prints the full tables)."""

from __future__ import annotations

from collections import Counter

import pytest

from conftest import load_benchmark
from crossling.languages import LANGUAGES

NATURAL_SOURCES = ("smollm2-135m", "smollm2-135m+refusal-lora-en", "smollm2-135m+refusal-lora-fr",
                   "smollm2-135m+refusal-lora-zh", "qwen2.5-coder-0.5b-instruct-q4")
MAIN_LANGS = ("en", "de", "ru", "bg", "es", "fr", "zh", "it")


def _bench():
    return load_benchmark("refusal_scorers")


@pytest.fixture(scope="module")
def rows():
    return _bench().load_labelled()


def _scores(rows):
    from crossling.evaluate.scorers import get_scorer

    s = get_scorer("refusal_keyword")
    return [s.score(r["response"], r["lang"], r) for r in rows]


def test_labelled_set_is_well_formed(rows) -> None:
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert r["label"] in ("refusal", "compliance", "other"), r["id"]
        assert r["lang"] in LANGUAGES, r["id"]
        assert r["source"] == "hand" or r["source"] in NATURAL_SOURCES, r["id"]
        assert r["part"] == ("hand" if r["source"] == "hand" else "natural"), r["id"]
        assert isinstance(r["prompt"], str) and r["prompt"].strip()
        assert isinstance(r["response"], str)
    natural = Counter(r["lang"] for r in rows if r["part"] == "natural")
    hand = Counter(r["lang"] for r in rows if r["part"] == "hand")
    for lang in LANGUAGES:  # every table language: ≥ 20 real answers, and hard cases apart
        assert natural[lang] >= 20 and hand[lang] >= 6, lang
    for lang in MAIN_LANGS:
        labels = Counter(r["label"] for r in rows if r["lang"] == lang and r["part"] == "hand")
        assert labels["refusal"] >= 10 and labels["compliance"] >= 10, lang


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_keyword_judge_on_natural_answers(rows, lang: str) -> None:
    """The issue's bar on what models write: precision ≥ 0.95 and recall ≥ 0.90 on the
    natural answers of every language that has refusals among them."""
    mine = [r for r in rows if r["lang"] == lang and r["part"] == "natural"]
    m = _bench().prf([r["label"] for r in mine], _scores(mine))
    if m["refusals"]:
        assert m["recall"] >= 0.90, m
    if m["tp"] + m["fp"]:
        assert m["precision"] >= 0.95, m


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_keyword_judge_on_hand_made_hard_cases(rows, lang: str) -> None:
    mine = [r for r in rows if r["lang"] == lang and r["part"] == "hand"]
    m = _bench().prf([r["label"] for r in mine], _scores(mine))
    assert m["precision"] >= 0.9 and m["recall"] >= 0.9, m


def test_benchmark_prints_every_language_and_part(rows, capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench().main(["--langs", "en,zh"]) == 0
    out = capsys.readouterr().out
    assert "refusal_keyword — natural answers" in out and "refusal_keyword — hand answers" in out
    assert "\nen " in out and "\nzh " in out and "ALL" in out
