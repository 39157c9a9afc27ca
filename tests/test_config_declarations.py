"""Each setting is declared once: a field name appears in one config class (the others
inherit it), unless it means something different there — those few are listed with why."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

from pydantic import BaseModel

import crossling
from crossling.fields import Strict

#: name → why each class that declares it means something else by it.
DIFFERENT_MEANINGS = {
    "batch_size": "train: rows per optimizer micro-step (changes results); generation: prompts "
    "decoded together, may be 'auto'; judge: judge prompts per forward pass; steer/vectors/"
    "behaviour (fields.ForwardBatched): prompts per forward pass of that stage",
    "model": "a judge's model is an endpoint's model name (a string); everywhere else the "
    "base chat model (models.config.WithModel); score: an optional model for fluency",
    "device": "model: where the base model runs; judge: where a local judge runs",
    "backend": "eval: the generation backend (hf, vllm); judge: openai or local",
    "name": "model: alias, hub id or folder; study: the name shown in the report",
    "lang": "train job: the training language; column map: the column holding the language",
    "out": "score: the output JSONL file; every stage (fields.WritesOut): an output folder",
    "input": "score: the JSONL file to score; column map: the column holding the prompt",
    "scorers": "eval and score: scorer names; a study's eval block: scorer names per task; "
    "a YAML task definition: scorer name → how it scores",
    "langs": "eval and behaviour: languages evaluated (null: every language of the data); "
    "vectors: languages a vector is made between (no data dir to default to)",
    "eval_langs": "data: languages that get eval rows; steer: the subset of them steered",
    "layers": "steer: where a language vector is added; behaviour: where a behaviour vector "
    "is added (other defaults: behaviour vectors live deeper)",
    "strengths": "steer: multiples of a language vector, 0 = unsteered baseline; behaviour: "
    "multiples of the adapter's mean residual shift, never 0",
    "position": "vectors/steer: pooling of prompt tokens (mean, last); behaviour also pools "
    "over a reference answer ('answer')",
}


def _config_classes() -> list[type[BaseModel]]:
    out = set()
    for info in pkgutil.walk_packages(crossling.__path__, "crossling."):
        mod = importlib.import_module(info.name)
        for obj in vars(mod).values():
            if (inspect.isclass(obj) and issubclass(obj, BaseModel)
                    and obj.__module__ == mod.__name__
                    and (issubclass(obj, Strict) or obj.__module__.endswith(".config")
                         or obj.__name__.endswith(("Config", "Settings")))):
                out.add(obj)
    return sorted(out, key=lambda c: c.__qualname__)


def _declared() -> dict[str, list[str]]:
    where: dict[str, list[str]] = defaultdict(list)
    for cls in _config_classes():
        for name in inspect.get_annotations(cls):
            if name in cls.model_fields:
                where[name].append(cls.__qualname__)
    return where


def test_the_scan_finds_the_stage_configs() -> None:
    names = {c.__name__ for c in _config_classes()}
    assert {"TrainConfig", "EvalConfig", "SweepConfig", "VectorsConfig", "BehaviourConfig",
            "ExperimentConfig", "SteerSettings", "EvalSettings", "StudySteerConfig"} <= names


def test_no_setting_is_declared_twice() -> None:
    twice = {n: cs for n, cs in _declared().items() if len(cs) > 1 and n not in
             DIFFERENT_MEANINGS}
    assert not twice, f"declared in several config classes (inherit it instead): {twice}"


def test_every_listed_exception_is_still_needed() -> None:
    where = _declared()
    stale = [n for n in DIFFERENT_MEANINGS if len(where.get(n, [])) < 2]
    assert not stale, f"no longer declared twice, drop from DIFFERENT_MEANINGS: {stale}"


def test_study_blocks_share_the_stage_settings() -> None:
    """The study's steer block and the sweep have the same knobs and defaults (the study
    block's old re-declaration had other defaults: toward 'en' vs 'ru', kl_prompts 8 vs 16)."""
    from crossling.runner.config import StudyEvalConfig, StudySteerConfig
    from crossling.steer.config import SteerSettings, SweepConfig

    study = StudySteerConfig.model_validate({})
    sweep = SweepConfig.model_validate({"data": "d"})
    for name in SteerSettings.model_fields:
        assert getattr(study, name) == getattr(sweep, name), name
    from crossling.evaluate.config import EvalConfig, EvalSettings

    e1, e2 = StudyEvalConfig.model_validate({}), EvalConfig.model_validate({"data": "d",
                                                                           "out": "o"})
    assert all(getattr(e1, n) == getattr(e2, n) for n in EvalSettings.model_fields)


def test_old_keys_still_load() -> None:
    """YAML written before the renames keeps working, and both names at once is an error."""
    import pytest

    from crossling.behaviour.config import BehaviourConfig
    from crossling.runner.config import StudySteerConfig
    from crossling.steer.config import VectorsConfig

    s = StudySteerConfig.model_validate({"adapter": "de", "max_new_tokens": 12})
    assert s.adapter_lang == "de" and s.decoding == {"max_new_tokens": 12}
    v = VectorsConfig.model_validate({"data": "builtin:harmful", "max_prompts": 5})
    assert (v.vector_data, v.vector_prompts) == ("builtin:harmful", 5)
    b = BehaviourConfig.model_validate({"data": "d", "adapters": {"en": "a"},
                                        "max_prompts": 9, "max_new_tokens": 7})
    assert (b.vector_prompts, b.generation.max_new_tokens) == (9, 7)
    with pytest.raises(ValueError, match="old name"):
        StudySteerConfig.model_validate({"adapter": "de", "adapter_lang": "en"})


def test_stage_defaults_are_per_class() -> None:
    from crossling.behaviour.config import BehaviourConfig
    from crossling.steer.config import SweepConfig, VectorsConfig

    assert VectorsConfig.model_validate({}).vector_prompts == 200
    assert SweepConfig.model_validate({"data": "d"}).vector_prompts == 64
    b = BehaviourConfig.model_validate({"data": "d", "adapters": {"en": "a"}})
    assert (b.vector_prompts, b.out, b.generation.max_new_tokens) == (32, "behaviour", 32)
    assert VectorsConfig.default_of("out") == "vectors"
    assert SweepConfig.default_of("kl_prompts") == 16


def test_thresholds_rescore_and_other_settings_regenerate() -> None:
    """Logged answers stay valid when only a guard's threshold (or the Monte Carlo draws)
    changes; any other result setting starts a new log."""
    from crossling.behaviour.config import BehaviourConfig
    from crossling.behaviour.stage import run_hash as behaviour_hash
    from crossling.steer.config import SweepConfig, judging_fields
    from crossling.steer.sweep import run_hash

    assert judging_fields(SweepConfig) == {"min_fidelity", "max_kl", "max_degenerate",
                                           "max_over_refusal", "n_boot", "layers",
                                           "strengths", "search_negative", "metric"}
    assert judging_fields(BehaviourConfig) == {"min_fidelity", "max_kl", "min_coherence",
                                               "n_boot", "layers", "strengths", "metric"}
    s = SweepConfig.model_validate({"data": "d"})
    h = run_hash(s)
    assert run_hash(s.model_copy(update={"max_kl": 9.0, "n_boot": 500})) == h
    assert run_hash(s.model_copy(update={"toward": "ru"})) != h
    b = BehaviourConfig.model_validate({"data": "d", "adapters": {"en": "a"}})
    hb = behaviour_hash(b)
    assert behaviour_hash(b.model_copy(update={"min_coherence": 0.1})) == hb
    assert behaviour_hash(b.model_copy(update={"vector_prompts": 9})) != hb


def test_a_stage_default_block_merges_key_by_key() -> None:
    from crossling.steer.config import SweepConfig

    g = SweepConfig.model_validate({"data": "d", "generation": {"batch_size": 4}}).generation
    assert (g.max_new_tokens, g.batch_size) == (48, 4)
