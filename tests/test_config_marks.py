"""Each setting carries one mark: it changes results, or it is speed-only. Every fingerprint,
stamp and run hash comes from ``results_dump``; a speed-only setting changes none of them
and every other setting changes it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from crossling.behaviour.config import BehaviourConfig
from crossling.config_marks import results_dump, results_view, speed_only_fields
from crossling.evaluate.config import EvalConfig
from crossling.runner.config import ExperimentConfig
from crossling.steer.config import SweepConfig, VectorsConfig
from crossling.train.config import TrainJobConfig


def _tweak(node: BaseModel, name: str) -> BaseModel | None:
    """``node`` with field ``name`` set to another value its type accepts (None if none)."""
    value = getattr(node, name)
    if isinstance(value, bool):
        candidates: list[Any] = [not value]
    elif isinstance(value, int | float):
        candidates = [value + 1, value / 2 if value else 0.5]
    else:
        candidates = [3, "cpu", 2, "other"]
    for c in candidates:
        if c == value:
            continue
        try:
            return type(node).model_validate({**node.model_dump(), name: c})
        except Exception:
            continue
    return None


def _models() -> list[BaseModel]:
    return [
        TrainJobConfig.model_validate({"data_dir": "d", "lang": "en", "out_dir": "o"}),
        EvalConfig.model_validate({"data": "d", "out": "o"}),
        SweepConfig.model_validate({"data": "d", "out": "o", "eval_langs": ["de"]}),
        VectorsConfig.model_validate({"langs": ["en", "de"], "out": "o"}),
        BehaviourConfig.model_validate({"data": "d", "adapters": {"en": "a"}}),
        ExperimentConfig.model_validate({"tasks": {"caps": {}}}),
    ]


@pytest.mark.parametrize("model", _models(), ids=lambda m: type(m).__name__)
def test_speed_only_fields_change_no_fingerprint_and_others_do(model: BaseModel) -> None:
    marked = speed_only_fields(type(model))
    assert marked, "every stage config has speed-only settings (batch sizes, threads)"
    base = results_dump(model)
    checked = 0
    for dotted in marked:
        *path, name = dotted.split(".")
        parents: list[BaseModel] = [model]
        for p in path:
            child = getattr(parents[-1], p)
            if not isinstance(child, BaseModel):
                break
            parents.append(child)
        else:
            new = _tweak(parents[-1], name)
            if new is None:
                continue
            for parent, p in zip(reversed(parents[:-1]), reversed(path), strict=True):
                new = parent.model_copy(update={p: new})
            assert results_dump(new) == base, dotted
            checked += 1
    assert checked, "no speed-only field could be changed"
    # every top-level field that changes results changes the dump
    for name in type(model).model_fields:
        if name in marked or isinstance(getattr(model, name), BaseModel):
            continue
        new = _tweak(model, name)
        if new is not None and getattr(new, name) != getattr(model, name):
            assert results_dump(new) != base, name


def test_the_known_speed_settings_are_marked() -> None:
    marked = set(speed_only_fields(ExperimentConfig))
    assert {"model.device", "model.threads", "eval.generation.batch_size", "train.progress",
            "train.save_every", "steer.batch_size", "behaviour.batch_size",
            "report_to"} <= marked
    assert not {"train.lr", "eval.generation.max_new_tokens", "seed"} & marked


def test_results_view_reads_a_saved_config_dict() -> None:
    cfg = ExperimentConfig.model_validate(
        {"tasks": {"caps": {}}, "eval": {"generation": {"batch_size": 4}}})
    raw = cfg.model_dump(mode="json")
    view = results_view(ExperimentConfig, raw)
    assert "batch_size" not in view["eval"]["generation"]
    assert view["eval"]["generation"]["max_new_tokens"] == raw["eval"]["generation"][
        "max_new_tokens"]
    assert "device" not in view["model"] and "report_to" not in view
