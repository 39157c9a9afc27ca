"""Typed log rows (``crossling.evaluate.records``) and the one score dispatcher: rows
round-trip to the same JSON, every generation log shares one resume key, old lines load or
are refused in one line, and batching scorers are always called in batches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crossling.errors import CrosslingError
from crossling.evaluate.records import (
    BASE_ADAPTER,
    NO_STEER,
    BehaviourRow,
    GenerationRow,
    ScoreRow,
    SweepRow,
    gen_key,
    read_rows,
    score_key,
)
from crossling.evaluate.scorers.base import score_all, score_values
from crossling.io import JsonlAppender

EVAL_LINE = {"adapter": "en", "lang": "de", "kind": "task", "id": "alpaca-0007",
             "steer": "layer=4,strength=2.0,toward=en", "prompt": "Nenne eine Farbe.",
             "response": "BLAU", "prompt_tokens": 41, "new_tokens": 3, "stopped": True,
             "reference": None}
# a sweep row as the sweep logged it before rows named their adapter
OLD_SWEEP_LINE = {"run": "abc", "steer": "layer=4,strength=2.0,toward=en", "layer": 4,
                  "strength": 2.0, "toward": "en", "lang": "de", "id": "alpaca-0007",
                  "kind": "task", "prompt": "Nenne eine Farbe.", "response": "blau",
                  "new_tokens": 3, "status": "ok"}
BEHAVIOUR_LINE = {"run": "abc", "setting": "transfer:en:from=de:layer=1:strength=2.0",
                  "adapter": "base", "lang": "de", "id": "p1", "prompt": "x", "response": "Y",
                  "new_tokens": 1, "status": "ok", "phase": "transfer",
                  "vector_adapter": "en", "from_lang": "de", "layer": 1, "strength": 2.0}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_rows_round_trip_to_identical_json() -> None:
    row = GenerationRow.model_validate(EVAL_LINE)
    assert json.dumps(row.dump(), ensure_ascii=False) == json.dumps(EVAL_LINE, ensure_ascii=False)
    score = {"adapter": "base", "lang": "zh", "kind": "harmful", "id": "p1", "steer": "none",
             "scorer": "caps_pct", "value": None, "empty": False}
    assert json.dumps(ScoreRow.model_validate(score).dump()) == json.dumps(score)
    # the other logs keep every field under its name on disk (``setting`` stays ``setting``)
    assert BehaviourRow.model_validate(BEHAVIOUR_LINE).dump() == BEHAVIOUR_LINE
    sweep = {**OLD_SWEEP_LINE, "adapter": "en"}
    assert SweepRow.model_validate(sweep).dump() == sweep
    # a row written and read back is the same row
    again = SweepRow.model_validate(json.loads(json.dumps(SweepRow.model_validate(sweep).dump())))
    assert again == SweepRow.model_validate(sweep)


def test_one_key_for_eval_sweep_and_behaviour_rows() -> None:
    steer = EVAL_LINE["steer"]
    eval_row = GenerationRow.model_validate(EVAL_LINE)
    sweep_row = SweepRow.model_validate({**OLD_SWEEP_LINE, "adapter": "en", "response": "x"})
    assert eval_row.key() == sweep_row.key() == ("en", "de", "task", "alpaca-0007", steer)
    assert gen_key(EVAL_LINE) == eval_row.key()  # the mapping form is the same key
    # a behaviour row's setting is the steer part of its key; it has no kind: 'task'
    b = BehaviourRow.model_validate(BEHAVIOUR_LINE)
    assert b.key() == (BASE_ADAPTER, "de", "task", "p1", BEHAVIOUR_LINE["setting"])
    # defaults of lines that leave kind and steer out
    assert gen_key({"adapter": "en", "lang": "de", "id": 7}) == ("en", "de", "task", "7",
                                                                  NO_STEER)
    score = ScoreRow(**eval_row.key()._asdict(), scorer="caps_pct", value=100.0)
    assert score.score_key() == score_key(score.dump()) == (*eval_row.key(), "caps_pct")


def test_old_lines_load_and_bad_lines_are_refused_in_one_line(tmp_path: Path) -> None:
    log = _write(tmp_path / "generations.jsonl",
                 [OLD_SWEEP_LINE, {**OLD_SWEEP_LINE, "run": "other", "response": None}])
    rows = read_rows(log, SweepRow, run="abc", fill={"adapter": "en"})
    assert [r.key() for r in rows] == [("en", "de", "task", "alpaca-0007",
                                        OLD_SWEEP_LINE["steer"])]  # other runs: unread
    assert read_rows(tmp_path / "missing.jsonl", SweepRow) == []
    # an eval line from before kind/steer were logged reads with their defaults
    old_eval = {k: v for k, v in EVAL_LINE.items() if k not in ("kind", "steer")}
    (row,) = read_rows(_write(tmp_path / "old.jsonl", [old_eval]), GenerationRow)
    assert (row.kind, row.steer) == ("task", NO_STEER) and row.dump() == old_eval
    bad = _write(tmp_path / "bad.jsonl", [EVAL_LINE, {**EVAL_LINE, "response": None}])
    with pytest.raises(CrosslingError) as e:
        read_rows(bad, GenerationRow)
    msg = str(e.value)
    assert "\n" not in msg and "bad.jsonl row 2" in msg and "response" in msg
    assert "rebuild" in msg
    with pytest.raises(CrosslingError, match="row 1 is not a SweepRow"):  # no adapter to fill
        read_rows(_write(tmp_path / "s.jsonl", [OLD_SWEEP_LINE]), SweepRow)
    with pytest.raises(CrosslingError, match="typo"):  # unknown fields are refused
        read_rows(_write(tmp_path / "t.jsonl", [{**EVAL_LINE, "typo": 1}]), GenerationRow)


def test_writers_dump_typed_rows_readers_get_them_back(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    row = BehaviourRow(run="r", steer="lora:en:from=-:layer=-:strength=-", adapter="en",
                       lang="de", id="p1", prompt="x", response="y", new_tokens=1,
                       phase="lora", vector_adapter="en")
    with JsonlAppender(path) as log:
        log.write(row.dump())
    line = json.loads(path.read_text(encoding="utf-8"))
    assert line["setting"] == row.steer and "steer" not in line and "kind" not in line
    assert read_rows(path, BehaviourRow, run="r") == [row]


class _Counting:
    name = "counting"

    def __init__(self, batch: bool) -> None:
        self.calls = {"score": 0, "score_many": 0}
        if batch:
            self.score_many = self._many

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        self.calls["score"] += 1
        return float(len(response))

    def _many(self, rows: list[dict[str, Any]]) -> list[float | Exception | None]:
        self.calls["score_many"] += 1
        return [float(len(r["response"])) for r in rows]


def test_score_all_uses_score_many_when_present() -> None:
    rows = [{"response": "ab", "lang": "en"}, {"response": "", "lang": "de"}]
    batching, plain = _Counting(batch=True), _Counting(batch=False)
    assert score_all(batching, rows) == score_all(plain, rows) == [2.0, 0.0]
    assert batching.calls == {"score": 0, "score_many": 1}
    assert plain.calls == {"score": 2, "score_many": 0}


def test_score_values_refuses_rows_a_judge_left_unscored() -> None:
    judge = _Counting(batch=True)
    judge.score_many = lambda rows: [1.0, RuntimeError("timeout")]  # type: ignore[method-assign]
    rows = [{"response": "a", "lang": "en"}, {"response": "b", "lang": "en"}]
    assert isinstance(score_all(judge, rows)[1], RuntimeError)
    with pytest.raises(CrosslingError, match=r"counting left 1 of 2 rows unscored \(timeout\)"):
        score_values(judge, rows)
