"""``crossling run``: one config runs the whole study, resumably.

Stages, in order: data → train → eval (generate, then score from the saved file) → steer →
behaviour → analyze → report. Each stage is skipped when its stamp says its inputs are unchanged; a
killed run (SIGKILL included) is finished by running the same command again, because every
stage either writes atomically or resumes from what it left (training checkpoints,
append-only generation and score logs).
"""

from __future__ import annotations

import contextlib
import logging
import platform
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console

from crossling import __version__
from crossling.config_loader import dump_config, read_yaml, validate_config
from crossling.config_marks import results_view
from crossling.errors import CrosslingError
from crossling.io import atomic_write_json, atomic_write_text, sha256_file
from crossling.paths import RunDir, TrainDir
from crossling.runner.config import ExperimentConfig
from crossling.runner.plan import (
    StagePlan,
    TrainJob,
    adapters_of,
    answer_hashes,
    config_hashes,
    model_by_content,
    plan_study,
    train_jobs,
)
from crossling.runner.stamps import (
    answers_match,
    hash_folder,
    hash_inputs,
    invalidate,
    mark_done,
    stamp_exists,
    stamp_matches,
    unstamp,
)

console = Console(stderr=True)
log = logging.getLogger(__name__)

STAGES = ("data", "train", "eval", "steer", "behaviour", "analyze", "report")


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """'2/4' → (2, 4): this machine trains every 4th job starting with the 2nd."""
    if value is None:
        return None
    try:
        i, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise CrosslingError(f"--shard '{value}' must look like i/n, e.g. 1/4.") from None
    if not 1 <= i <= n:
        raise CrosslingError(f"--shard {value}: i must be between 1 and n.")
    return i, n


class Progress:
    """Stage / item / elapsed / ETA lines (each stage has its own bars below these), and the
    time each stage took (logged when the next one starts, and by ``finish``)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.current: tuple[str, float] | None = None

    def stage(self, i: int, name: str, what: str = "") -> None:
        self._close()
        el = time.monotonic() - self.t0
        console.print(f"[bold cyan][{i}/{len(STAGES)} {name}][/] {what}  "
                      f"[dim](elapsed {el:.0f}s)[/]")
        self.current = (name, time.monotonic())

    def _close(self) -> None:
        if self.current is not None:
            name, t = self.current
            log.info("stage %s took %.1f s", name, time.monotonic() - t)
            self.current = None

    def finish(self) -> None:
        self._close()
        log.info("study finished in %.1f s", time.monotonic() - self.t0)

    def item(self, done: int, total: int, started: float, what: str) -> None:
        el = time.monotonic() - started
        eta = el / done * (total - done) if done else float("nan")
        eta_s = f", ETA {eta:.0f}s" if done else ""
        console.print(f"    {what} ({done + 1}/{total}{eta_s})")


def run_info() -> dict[str, Any]:
    """Versions, git commit and platform (no environment variables: they may hold secrets)."""
    versions = {}
    for pkg in ("torch", "transformers", "peft", "accelerate", "datasets", "numpy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
    commit = None
    try:
        here = Path(__file__).resolve().parent
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain"], check=True,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        if dirty:
            commit += "+dirty"
    except Exception:
        pass
    return {"crossling": __version__, "versions": versions, "git_commit": commit,
            "python": platform.python_version(), "platform": platform.platform()}


def _numbers_config(config: dict[str, Any]) -> dict[str, Any]:
    """A dumped config without its speed-only settings (``crossling.config_marks``): a
    change of them keeps a run folder valid and reruns nothing."""
    return dict(results_view(ExperimentConfig, config))


def config_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Top-level keys whose results-changing settings differ between two dumped configs.

    Two studies of several models differ only in their models lists when every other key
    is equal: each model's folder checks its own config, so adding a model changes nothing
    that was run."""
    old, new = _numbers_config(old), _numbers_config(new)
    if old.get("models") is not None and new.get("models") is not None:
        old.pop("models")
        new.pop("models")
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _as_now(dumped: dict[str, Any]) -> dict[str, Any]:
    """A run folder's saved config read by this version (settings added since get their
    defaults, renamed keys their new names), so a new setting left at its default is no
    change; a config this version cannot read is compared as saved."""
    try:
        return validate_config(ExperimentConfig, dumped).model_dump(mode="json")
    except CrosslingError:
        return dumped


def check_run_dir(cfg: ExperimentConfig, out: Path, force: bool) -> None:
    """Refuse a folder made by a different config (unless ``force``) or by something else.

    Raises:
        CrosslingError: one line naming what differs and what to do.
    """
    run = RunDir(out)
    if run.config.exists():
        # report_to only says where the numbers are also sent; it never changes them.
        diff = config_changes(_as_now(read_yaml(run.config)), cfg.model_dump(mode="json"))
        if diff and not force:
            raise CrosslingError(
                f"{out} was made by a different config (differs in: {', '.join(diff)}); "
                "use another --out, or --force to rerun the changed stages there."
            )
        if diff:
            console.print(f"[yellow]--force: config changed in {', '.join(diff)}; stale "
                          "stages will rerun[/]")
    elif out.exists() and any(out.iterdir()):
        raise CrosslingError(
            f"{out} exists and is not a crossling run folder; choose a new or empty --out."
        )


def prepare_run_dir(cfg: ExperimentConfig, out: Path, force: bool) -> RunDir:
    """Create the run folder or check that it belongs to this config.

    A folder made by a different config is refused unless ``force``: mixing adapters of one
    config with evaluations of another would give numbers that belong to neither.
    """
    check_run_dir(cfg, out, force)
    run = RunDir(out)
    atomic_write_text(run.config, dump_config(cfg))
    info = run_info()
    info["seed"] = cfg.seed
    info["seeds"] = cfg.seeds
    atomic_write_json(run.run_info, info)
    return run


# --------------------------------------------------------------------------- stages
@dataclass(frozen=True)
class Study:
    """A study being run: its config, run folder, the stage plan and each stage's config
    hash (``runner.plan``)."""

    cfg: ExperimentConfig
    run: RunDir
    plan: dict[str, StagePlan]
    hashes: dict[str, str]
    answers: dict[str, str]  # what each stage's logged answers depend on (plan.answer_hashes)

    @classmethod
    def of(cls, cfg: ExperimentConfig, run: RunDir) -> Study:
        plan = plan_study(cfg, run)
        by_content = model_by_content(cfg)
        return cls(cfg, run, plan, config_hashes(plan, by_content),
                   answer_hashes(plan, by_content))

    def answers_of(self, key: str, *content: Any) -> str:
        """The answers hash of stage ``key`` with what it reads from disk."""
        return hash_inputs(self.answers[key], *content)


def stage_data(st: Study) -> None:
    from crossling.data.build import run_data

    for task in st.cfg.tasks:
        d, key = st.run.data(task), f"data-{task}"
        inputs = st.hashes[key]
        if stamp_matches(st.run, key, inputs) and d.manifest.exists():
            console.print(f"    data {task}: up to date")
            continue
        invalidate(st.run, key, d.root)
        run_data(st.plan[key].configs[0], d.root)  # type: ignore[arg-type]
        mark_done(st.run, key, inputs, {"manifest": sha256_file(d.manifest)})


def stage_train(st: Study, jobs: list[TrainJob], progress: Progress) -> None:
    from crossling.train import TrainJobConfig, run_train

    started = time.monotonic()
    for n, job in enumerate(jobs):
        td = st.run.train(job.task, job.lang, job.seed)
        inputs = hash_inputs(st.hashes[job.key], sha256_file(st.run.data(job.task).manifest))
        if stamp_matches(st.run, job.key, inputs) and td.adapter.exists():
            console.print(f"    train {job.task}/{job.lang} seed {job.seed}: up to date")
            continue
        if stamp_exists(st.run, job.key):  # finished before, but with other inputs: stale
            invalidate(st.run, job.key, td.root)
        progress.item(n, len(jobs), started, f"train {job.task}/{job.lang} seed {job.seed}")
        tcfg = st.plan[job.key].configs[0]
        assert isinstance(tcfg, TrainJobConfig)
        run_train(tcfg.model_copy(update={"resume": td.checkpoints.exists()}))
        mark_done(st.run, job.key, inputs, {"adapter": hash_folder(td.adapter)})


def _content(st: Study, task: str, adapters: dict[str, TrainDir]) -> list[Any]:
    """What a stage reads from disk, by content: the task's data and the adapters."""
    return [sha256_file(st.run.data(task).manifest),
            {k: hash_folder(v.adapter) for k, v in adapters.items()}]


def _stale_stage(st: Study, key: str, answers: str, what: str, folders: tuple[Path, ...],
                 old_scores: tuple[Path, ...] = ()) -> None:
    """A stage that must run again: when only settings that judge its logged answers
    changed, keep the answers (dropping ``old_scores``) and rescore them; when it finished
    with other inputs, remove ``folders``; otherwise (never finished) resume as it is."""
    if answers_match(st.run, key, answers):
        console.print(f"    {what}: only judging settings changed; rescoring the logged answers")
        unstamp(st.run, key, *old_scores)
    elif stamp_exists(st.run, key):
        invalidate(st.run, key, *folders)


def stage_eval(st: Study) -> None:
    from crossling.evaluate import EvalConfig, run_eval

    for task, dcfg in st.cfg.tasks.items():
        adapters = adapters_of(st.cfg, st.run, task)
        key = f"eval-{task}"
        content = _content(st, task, adapters)
        inputs, answers = hash_inputs(st.hashes[key], *content), st.answers_of(key, *content)
        if stamp_matches(st.run, key, inputs) and st.run.eval(task).summary_json.exists():
            console.print(f"    eval {task}: up to date")
            continue
        ev = st.run.eval(task)
        _stale_stage(st, key, answers, f"eval {task}", (ev.root,), (ev.scores,))
        console.print(f"    eval {task}: {len(adapters) + 1} models × "
                      f"{len(dcfg.eval_langs)} languages")
        ecfg = st.plan[key].configs[0]
        assert isinstance(ecfg, EvalConfig)
        run_eval(ecfg)
        mark_done(st.run, key, inputs, answers=answers)


def stage_steer(st: Study) -> None:
    from crossling.steer import SweepConfig, VectorsConfig, run_sweep, run_vectors
    from crossling.steer.sweep import held_out_ids

    s = st.cfg.steer
    if s is None or not s.enabled:
        console.print("    steer: disabled in config")
        return
    key = f"steer-{s.task}"
    vcfg, scfg = st.plan[key].configs
    assert isinstance(vcfg, VectorsConfig) and isinstance(scfg, SweepConfig)
    adapters = ({} if s.adapter_lang is None else
                {s.adapter_lang: st.run.train(s.task, s.adapter_lang, st.cfg.seeds[0])})
    content = _content(st, s.task, adapters)
    inputs, answers = hash_inputs(st.hashes[key], *content), st.answers_of(key, *content)
    vdir, sdir = st.run.vectors(s.task), st.run.sweep(s.task)
    if stamp_matches(st.run, key, inputs) and sdir.best.exists():
        console.print("    steer: up to date")
        return
    _stale_stage(st, key, answers, "steer", (vdir.root, sdir.root))
    # vectors never see a test prompt: neither the task's eval ids nor the KL prompts
    run_vectors(vcfg.model_copy(update={"exclude_ids": held_out_ids(scfg)}))
    run_sweep(scfg)
    mark_done(st.run, key, inputs, answers=answers)


def track_study(cfg: ExperimentConfig, run: RunDir, analysis: dict[str, Any]) -> None:
    """The study's config as hyper-parameters and each transfer matrix (training language ×
    eval language, mean and 95 % CI) as a table, in the trackers of ``report_to``."""
    from crossling.tracking import Trackers

    with Trackers(cfg.report_to, run.tracking, "study") as t:
        t.log_params(cfg.model_dump(mode="json"))
        for task, res in analysis["tasks"].items():
            for kind, per in res["kinds"].items():
                for scorer, r in per.items():
                    t.log_table(f"transfer_{task}_{kind}_{scorer}", [
                        {"adapter": a, "lang": lang, **cell}
                        for a, cols in r["matrix"].items() for lang, cell in cols.items()])


def stage_behaviour(st: Study) -> None:
    """Behaviour vectors of every adapter of ``behaviour.task``, their transfer, ablation and
    geometry (``crossling.behaviour``); its wall time is stored in the stamp."""
    from crossling.behaviour import BehaviourConfig, run_behaviour

    b = st.cfg.behaviour
    if not b.enabled:
        console.print("    behaviour: disabled in config")
        return
    adapters = adapters_of(st.cfg, st.run, b.task)
    bdir, key = st.run.behaviour(b.task), f"behaviour-{b.task}"
    content = _content(st, b.task, adapters)
    inputs, answers = hash_inputs(st.hashes[key], *content), st.answers_of(key, *content)
    if stamp_matches(st.run, key, inputs) and bdir.transfer.exists() and bdir.ablation.exists():
        console.print("    behaviour: up to date")
        return
    _stale_stage(st, key, answers, "behaviour", (bdir.root,))
    started = time.monotonic()
    bcfg = st.plan[key].configs[0]
    assert isinstance(bcfg, BehaviourConfig)
    run_behaviour(bcfg)
    wall = time.monotonic() - started
    console.print(f"    behaviour: {len(adapters)} adapter(s) in {wall:.0f}s")
    mark_done(st.run, key, inputs, {"wall_s": round(wall, 1)}, answers=answers)


def run_study(cfg: ExperimentConfig, out: str | Path, force: bool = False,
              shard: str | None = None) -> RunDir:
    """Run (or resume) the whole study in ``out``.

    Args:
        cfg: the experiment config.
        out: run folder.
        force: rerun in a folder made by a different config (stale stages are redone).
        shard: 'i/n' trains only the i-th of n slices of the (task, language, seed) jobs and
            stops; a later run without --shard evaluates and reports them all.

    Returns:
        The run folder.
    """
    from crossling.runner.analyze import run_analyze
    from crossling.runner.report import write_report
    from crossling.tracking import require_trackers

    if cfg.models is not None:
        return run_models(cfg, out, force, shard).run
    out = Path(out)
    sh = parse_shard(shard)
    require_trackers(cfg.report_to)
    from crossling.models.loading import check_model

    check_model(cfg.model)  # before the run folder exists: a bad model leaves nothing behind
    run = prepare_run_dir(cfg, out, force)
    st = Study.of(cfg, run)
    progress = Progress()
    progress.stage(1, "data")
    stage_data(st)
    jobs = train_jobs(cfg)
    if sh is not None:
        jobs = jobs[sh[0] - 1:: sh[1]]
    progress.stage(2, "train", f"{len(jobs)} adapter(s)")
    stage_train(st, jobs, progress)
    if sh is not None:
        progress.finish()
        console.print(f"shard {shard} trained {len(jobs)} adapter(s); when every shard is done, "
                      f"run `crossling run CONFIG --out {out}` to evaluate and report.")
        return run
    progress.stage(3, "eval")
    stage_eval(st)
    progress.stage(4, "steer")
    stage_steer(st)
    progress.stage(5, "behaviour")
    stage_behaviour(st)
    progress.stage(6, "analyze")
    analysis = run_analyze(cfg, run)
    if cfg.report_to:
        track_study(cfg, run, analysis)
    progress.stage(7, "report")
    write_report(run)
    progress.finish()
    return run


# --------------------------------------------------------------------------- several models
@dataclass(frozen=True)
class ModelsRun:
    """A study of several models once run: its folder and the models that failed
    (label → one-line reason)."""

    run: RunDir
    failed: dict[str, str]


def run_models(cfg: ExperimentConfig, out: str | Path, force: bool = False,
               shard: str | None = None) -> ModelsRun:
    """Run (or resume) a study of several models (``models:``) in ``out``: each model's
    single-model study in RUN/models/<label>/, then the comparison of them all.

    A model whose study raises is logged (one line here, the traceback in RUN/run.log) and
    recorded as failed; the next model runs. Without ``force`` every folder's config is
    checked before any model runs, so a refused folder stops the run before anything is
    written or redone.

    Args:
        cfg: the experiment config, with ``models``.
        out: run folder.
        force: rerun in folders made by a different config (stale stages are redone).
        shard: 'i/n' trains that slice of each model's jobs and stops.

    Returns:
        The run folder and the failed models.
    """
    from crossling.runner.analyze import run_analyze
    from crossling.runner.report import write_report
    from crossling.tracking import require_trackers

    out = Path(out)
    parse_shard(shard)
    require_trackers(cfg.report_to)
    studies = cfg.model_studies()
    if not force:  # a refused folder, anywhere, before anything is written or rerun
        check_run_dir(cfg, out, force)
        for label, sub in studies.items():
            check_run_dir(sub, RunDir(out).model_run(label).root, force)
    run = prepare_run_dir(cfg, out, force)
    failed: dict[str, str] = {}
    for n, (label, sub) in enumerate(studies.items()):
        console.print(f"[bold magenta]model {n + 1}/{len(studies)}: {label}[/] "
                      f"({sub.model.name})")
        try:
            run_study(sub, run.model_run(label).root, force=force, shard=shard)
        except Exception as e:  # one model's failure must not lose the others' results
            failed[label] = one_line(e)
            log_failure(run, label, failed[label])
    if shard is not None:
        return ModelsRun(run, failed)
    console.print("[bold cyan]comparison[/] of " + ", ".join(studies))
    run_analyze(cfg, run, failed)
    write_report(run)
    return ModelsRun(run, failed)


def one_line(e: BaseException) -> str:
    """An exception as one line: crossling's own errors as they are, others with their type."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    if isinstance(e, CrosslingError):
        return text
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def log_failure(run: RunDir, label: str, reason: str) -> None:
    """One error line on the console, the traceback appended to RUN/run.log."""
    import traceback

    log.error("model %s failed: %s (traceback in %s); the other models go on", label, reason,
              run.log)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with run.log.open("a", encoding="utf-8") as f:
        f.write(f"[{stamp}] model {label} failed: {reason}\n{traceback.format_exc()}\n")
