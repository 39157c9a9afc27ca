"""What every stage of a study runs with and what it depends on, in one place.

Why: whether a stage of a finished study reruns used to be decided by six separate rules
(each stage hashed its own hand-picked part of the config). Here each stage's configs are
built once from the study config, and its stamp hash is one function of them:
:func:`crossling.config_marks.results_dump` without speed-only settings and paths (the
content behind a path — the data manifest, adapter weights — is hashed by the stage), plus
the hashes of the stages upstream. So a setting changes exactly the stages that read it and
everything downstream of them; ``tests/test_invalidation.py`` checks that for every field.

A second hash per stage leaves out the settings that only judge saved answers (scorers,
judge, guards, the choice's metric: :func:`judging_of`). When only it matches, the stage
keeps its logged answers and scores and chooses again from them instead of generating anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from crossling.analysis.quality import BEHAVING_COHERENT
from crossling.config_marks import results_dump
from crossling.paths import RunDir, TrainDir
from crossling.runner.config import ExperimentConfig
from crossling.runner.stamps import hash_inputs

if TYPE_CHECKING:
    from crossling.behaviour.config import BehaviourConfig
    from crossling.evaluate.config import EvalConfig
    from crossling.steer.config import SweepConfig, VectorsConfig
    from crossling.train.config import TrainJobConfig


@dataclass(frozen=True)
class TrainJob:
    task: str
    lang: str
    seed: int

    def adapter_name(self, n_seeds: int) -> str:
        """'en' with one seed, 'en-s1' with several (the analysis pools seeds by language)."""
        return self.lang if n_seeds == 1 else f"{self.lang}-s{self.seed}"

    @property
    def key(self) -> str:
        return f"train-{self.task}-{self.lang}-s{self.seed}"


def train_jobs(cfg: ExperimentConfig) -> list[TrainJob]:
    return [TrainJob(task, lang, seed) for task, d in cfg.tasks.items()
            for lang in d.train_langs for seed in cfg.seeds]


def adapters_of(cfg: ExperimentConfig, run: RunDir, task: str) -> dict[str, TrainDir]:
    """Adapter name (``en``, or ``en-s1`` with several seeds) → training folder, per task."""
    return {job.adapter_name(len(cfg.seeds)): run.train(task, job.lang, job.seed)
            for job in train_jobs(cfg) if job.task == task}


def train_config(cfg: ExperimentConfig, run: RunDir, job: TrainJob) -> TrainJobConfig:
    from crossling.train.config import TrainJobConfig

    td = run.train(job.task, job.lang, job.seed)
    return TrainJobConfig(
        data_dir=run.data(job.task).root, lang=job.lang, out_dir=td.root, model=cfg.model,
        seed=job.seed, train=cfg.train, report_to=cfg.report_to,
        tracking_dir=str(run.tracking),
    )


def eval_config(cfg: ExperimentConfig, run: RunDir, task: str) -> EvalConfig:
    from crossling.evaluate.config import EvalConfig

    adapters = adapters_of(cfg, run, task)
    return EvalConfig(
        **cfg.eval.model_dump(exclude={"scorers"}), model=cfg.model,
        adapters={k: str(v.adapter) for k, v in adapters.items()}, include_base=True,
        data=str(run.data(task).root), langs=cfg.tasks[task].eval_langs,
        # behaving_coherent named here too, so a study scored before it existed rescores
        scorers=list(dict.fromkeys([*cfg.scorers_for(task), BEHAVING_COHERENT])),
        out=str(run.eval(task).root), seed=cfg.seed,
        report_to=cfg.report_to, tracking_dir=str(run.tracking),
    )


def steer_configs(cfg: ExperimentConfig, run: RunDir) -> tuple[VectorsConfig, SweepConfig]:
    """The study's vectors and sweep (the vectors' ``exclude_ids`` are filled in by the
    stage from the data: they follow from the data and the sweep config)."""
    from crossling.evaluate.backends.base import merge_generation
    from crossling.steer.config import SweepConfig

    s = cfg.steer
    assert s is not None
    adapter = (None if s.adapter_lang is None
               else str(run.train(s.task, s.adapter_lang, cfg.seeds[0]).adapter))
    vdir, sdir = run.vectors(s.task), run.sweep(s.task)
    scfg = SweepConfig(
        **s.model_dump(exclude={"enabled", "decoding"}), model=cfg.model, adapter=adapter,
        data=str(run.data(s.task).root), vectors=str(vdir.root),
        generation=merge_generation(cfg.eval.generation, s.decoding),
        n_boot=cfg.eval.n_boot, out=str(sdir.root), seed=cfg.seed,
    )
    return scfg.vectors_config(out=str(vdir.root)), scfg


def behaviour_config(cfg: ExperimentConfig, run: RunDir) -> BehaviourConfig:
    from crossling.behaviour.config import BehaviourConfig
    from crossling.evaluate.backends.base import merge_generation

    b = cfg.behaviour
    adapters = adapters_of(cfg, run, b.task)
    return BehaviourConfig(
        **b.model_dump(exclude={"enabled", "decoding"}), model=cfg.model,
        generation=merge_generation(cfg.eval.generation, b.decoding),
        adapters={k: str(v.adapter) for k, v in adapters.items()},
        data=str(run.data(b.task).root), out=str(run.behaviour(b.task).root), seed=cfg.seed,
    )


@dataclass(frozen=True)
class StagePlan:
    """One stamped stage: its key, the configs it runs with, the stages it reads from."""

    key: str
    configs: tuple[BaseModel, ...]
    upstream: tuple[str, ...]


def plan_study(cfg: ExperimentConfig, run: RunDir) -> dict[str, StagePlan]:
    """Every stamped stage of the study (data, train, eval, steer, behaviour), in run order.
    Analysis and report read every result and are rewritten on each run: they are cheap."""
    plan: dict[str, StagePlan] = {}
    jobs = train_jobs(cfg)
    for task, dcfg in cfg.tasks.items():
        plan[f"data-{task}"] = StagePlan(f"data-{task}", (dcfg,), ())
    for job in jobs:
        plan[job.key] = StagePlan(job.key, (train_config(cfg, run, job),),
                                  (f"data-{job.task}",))
    for task in cfg.tasks:
        trains = tuple(j.key for j in jobs if j.task == task)
        plan[f"eval-{task}"] = StagePlan(f"eval-{task}", (eval_config(cfg, run, task),),
                                         (f"data-{task}", *trains))
    s = cfg.steer
    if s is not None and s.enabled:
        up = () if s.adapter_lang is None else (
            TrainJob(s.task, s.adapter_lang, cfg.seeds[0]).key,)
        plan[f"steer-{s.task}"] = StagePlan(f"steer-{s.task}", steer_configs(cfg, run),
                                            (f"data-{s.task}", *up))
    b = cfg.behaviour
    if b.enabled:
        trains = tuple(j.key for j in jobs if j.task == b.task)
        plan[f"behaviour-{b.task}"] = StagePlan(
            f"behaviour-{b.task}", (behaviour_config(cfg, run),), (f"data-{b.task}", *trains))
    return plan


def config_hashes(plan: dict[str, StagePlan],
                  model_by_content: tuple[str, str] | None = None) -> dict[str, str]:
    """Stage key → hash of what its results depend on in the config: its configs' results
    dump (no speed-only settings, no paths) and its upstream stages' hashes.

    ``model_by_content`` = (model name, content identity): a model given as a file (a
    ``.gguf``) is a location too, hashed by its content (``models.loading.model_spec``), so
    moving the file reruns nothing and replacing its weights reruns every stage that uses it.
    """
    out: dict[str, str] = {}
    for key, stage in plan.items():  # run order: upstream stages come first
        out[key] = hash_inputs(_dumps(stage, model_by_content),
                               [out[u] for u in stage.upstream])
    return out


def _dumps(stage: StagePlan, model_by_content: tuple[str, str] | None,
           judging: bool = True) -> list[Any]:
    """The results dumps of a stage's configs (without the settings of :func:`judging_of`
    unless ``judging``), a file model named by its content."""
    dumps = [results_dump(c, exclude=() if judging else judging_of(c), locations=False)
             for c in stage.configs]
    if model_by_content is not None:
        dumps = [_model_named(d, *model_by_content) for d in dumps]
    return dumps


def judging_of(config: BaseModel) -> set[str]:
    """Top-level settings of a stage config that only judge its saved answers: the eval's
    ``scoring_only`` (scorers, judge, Monte Carlo draws, plots) and the sweep's and behaviour
    stage's choosing fields (grid, guards, metric; ``steer.config.judging_fields``)."""
    from crossling.fields import Strict
    from crossling.steer.config import judging_fields

    cls = type(config)
    out = set(getattr(cls, "scoring_only", ()))
    if issubclass(cls, Strict):
        out |= judging_fields(cls)
    return out


def answer_hashes(plan: dict[str, StagePlan],
                  model_by_content: tuple[str, str] | None = None) -> dict[str, str]:
    """Stage key → hash of what its *logged answers* depend on: :func:`config_hashes`
    without the settings of :func:`judging_of` (upstream stages by their full hash)."""
    full = config_hashes(plan, model_by_content)
    return {key: hash_inputs(_dumps(stage, model_by_content, judging=False),
                             [full[u] for u in stage.upstream])
            for key, stage in plan.items()}


def model_by_content(cfg: ExperimentConfig) -> tuple[str, str] | None:
    """(name, content identity) of the study's model when it is a ``.gguf`` file, else None
    (an alias or hub id is its own identity; folders keep their path, as before)."""
    if not cfg.model.name.endswith(".gguf"):
        return None
    from crossling.models.loading import model_spec

    return cfg.model.name, model_spec(cfg.model)


def _model_named(dump: Any, name: str, identity: str) -> Any:
    """``dump`` with every model block's ``name`` == ``name`` replaced by ``identity``."""
    if isinstance(dump, dict):
        if dump.get("name") == name and "chat_template" in dump:  # a ModelConfig's dump
            return {**dump, "name": identity}
        return {k: _model_named(v, name, identity) for k, v in dump.items()}
    if isinstance(dump, list):
        return [_model_named(v, name, identity) for v in dump]
    return dump
