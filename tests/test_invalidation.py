"""Changing one setting of a finished study reruns exactly the stages downstream of it, and
a speed-only setting reruns nothing: checked for every leaf field of the study config.

The expected stages come from the table below (which stage reads which block), written by
hand; the hashes come from ``runner.plan``, the same function ``crossling run`` stamps
stages with (``tests/test_runner.py`` checks the stamps on real runs).
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from crossling.config_marks import speed_only_fields
from crossling.paths import RunDir
from crossling.runner.config import ExperimentConfig
from crossling.runner.plan import config_hashes, plan_study

STUDY: dict[str, Any] = {
    "seeds": [0, 1],
    "tasks": {"caps": {"train_langs": ["en", "de"], "eval_langs": ["en", "de", "ru"]},
              "refusal": {"train_langs": ["en"], "eval_langs": ["en", "fr"]}},
    "steer": {"task": "caps", "adapter_lang": "en", "eval_langs": ["de"], "toward": "en"},
    "behaviour": {"enabled": True, "task": "caps", "langs": ["en", "de"]},
}


def _hashes(raw: dict[str, Any], root: str = "/runs/a") -> dict[str, str]:
    cfg = ExperimentConfig.model_validate(raw)
    return config_hashes(plan_study(cfg, RunDir(Path(root))))


BASE = _hashes(STUDY)
EVERY = ("data-", "train-", "eval-", "steer-", "behaviour-")
MODEL_USERS = ("train-", "eval-", "steer-", "behaviour-")
CAPS = ("data-caps", "train-caps-", "eval-caps", "steer-caps", "behaviour-caps")
EVALS = ("eval-caps", "eval-refusal")

#: (dotted prefix, the stage keys it reruns, as key prefixes); the first match wins. Written
#: from what each stage reads: train the model and train blocks, the study's steer and
#: behaviour the eval's decoding (so their baselines match) and steer the eval's n_boot.
EXPECTED: list[tuple[str, tuple[str, ...]]] = [
    ("name", ()), ("report.", ()),
    ("seeds", ("eval-", "behaviour-")),  # existing adapters stay; steer uses seeds[0]
    ("seed", EVERY),  # the global seed reaches every stage
    ("model.", MODEL_USERS), ("train.", MODEL_USERS),
    ("tasks.caps.", CAPS), ("tasks.refusal.", ("data-refusal", "train-refusal-", "eval-refusal")),
    # behaviour answers have their own length (decoding: {max_new_tokens: 32} by default)
    ("eval.generation.max_new_tokens", (*EVALS, "steer-caps")),
    ("eval.generation.", (*EVALS, "steer-caps", "behaviour-caps")),
    ("eval.n_boot", (*EVALS, "steer-caps")),
    ("eval.scorers", ("eval-caps",)),
    ("eval.", EVALS),
    ("steer.task", ("steer-",)), ("steer.", ("steer-caps",)),
    ("behaviour.task", ("behaviour-",)), ("behaviour.", ("behaviour-caps",)),
]


def _leaves(cls: type[BaseModel], data: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for name, field in cls.model_fields.items():
        ann, value = field.annotation, data.get(name)
        sub = next((a for a in (ann, *typing.get_args(ann)) if isinstance(a, type)
                    and issubclass(a, BaseModel)), None)
        if sub is not None and isinstance(value, dict) and typing.get_origin(ann) is not dict:
            yield from _leaves(sub, value, f"{prefix}{name}.")
        elif name == "tasks":
            for task, spec in value.items():
                yield from _leaves(sub or typing.get_args(ann)[1], spec, f"{prefix}tasks.{task}.")
        else:
            yield prefix + name


def _candidates(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int | float):
        return [value + 1, value / 2 if value else 0.5, value * 2]
    if isinstance(value, list):
        return [[*value, "es"], [*value, 20], [*value, 3.0], value[:1], value[::-1], ["ru"]]
    if isinstance(value, dict):
        return [{**value, "caps": ["caps_pct"]}, {**value, "max_new_tokens": 7}]
    return ["ru", "de", "cpu", "other", "pca", "last", "prompt", "refusal", "float32",
            "local", "constant", "self", "long", "lang", "behaving_coherent", 3, 0.5, [1],
            None]


def _get(data: Any, path: list[str]) -> Any:
    for p in path:
        data = data[p]
    return data


def _tweak(raw: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    """The study config as written (``STUDY``) with the field at ``dotted`` set to another
    value the config accepts; settings not written keep their defaults (and the top-level
    seed still reaches the blocks that do not set their own)."""
    path = dotted.split(".")
    old = _get(raw, path)
    for cand in _candidates(old):
        new = copy.deepcopy(STUDY)
        node = new
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = cand
        try:
            changed = ExperimentConfig.model_validate(new).model_dump(mode="json")
        except Exception:
            continue
        if _get(changed, path) != old:
            return new
    return None


def _expected(dotted: str) -> tuple[str, ...]:
    speed = speed_only_fields(ExperimentConfig)
    if dotted in speed or any(dotted.startswith(s + ".") for s in speed):
        return ()
    return next(stages for prefix, stages in EXPECTED if dotted.startswith(prefix))


RAW = ExperimentConfig.model_validate(STUDY).model_dump(mode="json")
LEAVES = list(_leaves(ExperimentConfig, RAW))


@pytest.mark.parametrize("dotted", LEAVES)
def test_a_changed_setting_reruns_exactly_its_downstream_stages(dotted: str) -> None:
    raw = _tweak(RAW, dotted)
    if raw is None:
        pytest.skip(f"no other valid value found for {dotted}")
    new = _hashes(raw)
    prefixes = _expected(dotted)
    changed = {k for k in BASE if BASE[k] != new.get(k)}
    assert changed == {k for k in BASE if k.startswith(prefixes)}, dotted
    added = set(new) - set(BASE)  # e.g. one more seed or training language: new stages
    assert all(k.startswith((*prefixes, "train-")) for k in added), added


def test_most_settings_are_exercised() -> None:
    untweakable = [d for d in LEAVES if _tweak(RAW, d) is None]
    assert len(LEAVES) > 100
    assert len(untweakable) <= len(LEAVES) // 10, untweakable


def test_a_moved_run_folder_reruns_nothing() -> None:
    assert _hashes(STUDY, "/elsewhere/b") == BASE


def test_the_speed_settings_rerun_nothing() -> None:
    marked = speed_only_fields(ExperimentConfig)
    assert {"eval.generation.batch_size", "steer.batch_size", "behaviour.batch_size",
            "model.device", "model.threads", "train.progress", "report_to"} <= set(marked)
