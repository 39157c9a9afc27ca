"""Atomic writes and resumable JSONL logs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crossling.io import JsonlAppender, atomic_write_json, atomic_write_text, read_jsonl


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "summary.json"
    atomic_write_json(target, {"v": 1})

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        atomic_write_json(target, {"v": 2})
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_failed_first_write_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("io error")))
    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "report.md", "x")
    assert list(tmp_path.iterdir()) == []


def test_torn_last_line_is_dropped_and_cut_on_append(tmp_path: Path) -> None:
    log = tmp_path / "generations.jsonl"
    log.write_text('{"id": 1}\n{"id": 2}\n{"id": 3, "resp')  # killed mid-write
    assert [r["id"] for r in read_jsonl(log)] == [1, 2]
    with JsonlAppender(log) as out:
        out.write({"id": 3})
    assert [r["id"] for r in read_jsonl(log)] == [1, 2, 3]
    assert log.read_text().endswith('{"id": 3}\n')


def test_corruption_in_the_middle_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "scores.jsonl"
    log.write_text('{"id": 1}\nnot json\n{"id": 3}\n')
    with pytest.raises(ValueError):
        read_jsonl(log)
