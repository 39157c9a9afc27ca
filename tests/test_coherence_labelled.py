"""The shipped labelled coherence answers: well-formed, big enough in every study language,
natural answers and hand-made hard cases apart, and the garbage verdict's precision and
recall on them (``benchmarks/quality_scorers.py`` prints the full tables)."""

from __future__ import annotations

from collections import Counter

import pytest

from conftest import load_benchmark

STUDY_LANGS = ("en", "de", "ru", "bg", "es", "fr", "zh")


def _bench():
    return load_benchmark("quality_scorers")


@pytest.fixture(scope="module")
def rows():
    return _bench().load_labelled()


def _verdicts(rows):
    from crossling.evaluate.scorers import get_scorer

    s = get_scorer("degenerate")
    return [s.score(r["response"], r["lang"], r) for r in rows]


def test_labelled_set_is_well_formed(rows) -> None:
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert r["label"] in ("coherent", "incoherent"), r["id"]
        assert r["lang"] in STUDY_LANGS and r["why"].strip(), r["id"]
        assert (r["source"] == "hand") == (r["part"] == "hand"), r["id"]
        assert r["source"] == "hand" or r["source"].startswith("smollm2-135m"), r["id"]
    per = Counter(r["lang"] for r in rows)
    for lang in STUDY_LANGS:  # the minimum, both parts and both labels present
        assert per[lang] >= 40, lang
        mine = [r for r in rows if r["lang"] == lang]
        assert {r["part"] for r in mine} == {"natural", "hand"}, lang
        assert {r["label"] for r in mine} == {"coherent", "incoherent"}, lang
    assert sum(r["part"] == "natural" for r in rows) > sum(r["part"] == "hand" for r in rows)


def test_degenerate_reaches_the_targets_on_the_shipped_set(rows) -> None:
    """Precision ≥ 0.95 and recall ≥ 0.70 for INCOHERENT over the whole set, and the
    precision holds on the natural answers alone."""
    bench = _bench()
    verdicts = _verdicts(rows)
    overall = bench.prf([r["label"] for r in rows], verdicts)
    assert overall["precision"] >= 0.95 and overall["recall"] >= 0.70, overall
    nat = [i for i, r in enumerate(rows) if r["part"] == "natural"]
    natural = bench.prf([rows[i]["label"] for i in nat], [verdicts[i] for i in nat])
    assert natural["precision"] >= 0.95, natural


def test_degenerate_on_another_models_answers() -> None:
    """The blind-labelled answers of a multilingual 0.5B chat model (the project's shared
    data): the issue's bar for unseen answers, precision ≥ 0.90 and recall ≥ 0.65."""
    bench = _bench()
    shared = bench.load_shared()
    if not shared:
        pytest.skip(f"{bench.SHARED} is absent (only beside a developer checkout or in CI)")
    m = bench.prf([r["label"] for r in shared], _verdicts(shared))
    assert m["precision"] >= 0.90 and m["recall"] >= 0.65, m


def test_behaving_coherent_on_caps_answers_it_did_not_write() -> None:
    """The second axis on the shared set's all-caps answers (a multilingual 0.5B model and its
    caps LoRAs): it keeps nearly every answer the reader calls coherent, and what it counts
    is coherent at least 70 % of the time (the garbage verdict misses word salad, so it is an
    upper bound: the README and the report say so)."""
    bench = _bench()
    shared = bench.load_shared()
    if not shared:
        pytest.skip(f"{bench.SHARED} is absent (only beside a developer checkout or in CI)")
    _, m = bench.behaving_coherent_lines(shared, ["shared"])
    assert m["shared"]["n"] >= 100 and m["shared"]["recall"] >= 0.95, m
    assert m["shared"]["precision"] >= 0.70, m


def test_benchmark_prints_both_parts_per_language(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench().main(["--langs", "en,ru", "--no-shared"]) == 0
    out = capsys.readouterr().out
    assert "degenerate — natural answers" in out and "degenerate — hand answers" in out
    assert "\nen " in out and "\nru " in out and "ALL" in out and "rules that fired" in out
    assert "behaving_coherent (caps)" in out and "\nhand " in out
