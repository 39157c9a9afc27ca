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
from crossling.config_loader import dump_config, read_yaml
from crossling.config_marks import results_dump, results_view
from crossling.errors import CrosslingError
from crossling.io import atomic_write_json, atomic_write_text, sha256_file
from crossling.paths import RunDir, TrainDir
from crossling.runner.config import ExperimentConfig
from crossling.runner.stamps import (
    hash_folder,
    hash_inputs,
    invalidate,
    mark_done,
    stamp_exists,
    stamp_matches,
)

console = Console(stderr=True)
log = logging.getLogger(__name__)

STAGES = ("data", "train", "eval", "steer", "behaviour", "analyze", "report")


@dataclass(frozen=True)
class TrainJob:
    task: str
    lang: str
    seed: int

    def adapter_name(self, n_seeds: int) -> str:
        """'en' with one seed, 'en-s1' with several (the analysis pools seeds by language)."""
        return self.lang if n_seeds == 1 else f"{self.lang}-s{self.seed}"


def train_jobs(cfg: ExperimentConfig) -> list[TrainJob]:
    return [TrainJob(task, lang, seed) for task, d in cfg.tasks.items()
            for lang in d.train_langs for seed in cfg.seeds]


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


def prepare_run_dir(cfg: ExperimentConfig, out: Path, force: bool) -> RunDir:
    """Create the run folder or check that it belongs to this config.

    A folder made by a different config is refused unless ``force``: mixing adapters of one
    config with evaluations of another would give numbers that belong to neither.
    """
    run = RunDir(out)
    resolved = dump_config(cfg)
    if run.config.exists():
        # report_to only says where the numbers are also sent; it never changes them.
        old = _numbers_config(read_yaml(run.config))
        new = _numbers_config(cfg.model_dump(mode="json"))
        if old != new:
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            if not force:
                raise CrosslingError(
                    f"{out} was made by a different config (differs in: {', '.join(diff)}); "
                    "use another --out, or --force to rerun the changed stages there."
                )
            console.print(f"[yellow]--force: config changed in {', '.join(diff)}; stale "
                          "stages will rerun[/]")
    elif out.exists() and any(out.iterdir()):
        raise CrosslingError(
            f"{out} exists and is not a crossling run folder; choose a new or empty --out."
        )
    atomic_write_text(run.config, resolved)
    info = run_info()
    info["seed"] = cfg.seed
    info["seeds"] = cfg.seeds
    atomic_write_json(run.run_info, info)
    return run


# --------------------------------------------------------------------------- stages
def stage_data(cfg: ExperimentConfig, run: RunDir) -> None:
    from crossling.data.build import run_data

    for task, dcfg in cfg.tasks.items():
        d = run.data(task)
        key = f"data-{task}"
        inputs = hash_inputs(dcfg.model_dump(mode="json"))
        if stamp_matches(run, key, inputs) and d.manifest.exists():
            console.print(f"    data {task}: up to date")
            continue
        invalidate(run, key, d.root)
        run_data(dcfg, d.root)
        mark_done(run, key, inputs, {"manifest": sha256_file(d.manifest)})


def _train_inputs(cfg: ExperimentConfig, run: RunDir, job: TrainJob) -> str:
    manifest = run.data(job.task).manifest
    return hash_inputs(results_dump(cfg.model), results_dump(cfg.train), job.lang, job.seed,
                       sha256_file(manifest))


def stage_train(cfg: ExperimentConfig, run: RunDir, jobs: list[TrainJob],
                progress: Progress) -> None:
    from crossling.train import TrainJobConfig, run_train

    started = time.monotonic()
    for n, job in enumerate(jobs):
        td = run.train(job.task, job.lang, job.seed)
        key = f"train-{job.task}-{job.lang}-s{job.seed}"
        inputs = _train_inputs(cfg, run, job)
        if stamp_matches(run, key, inputs) and td.adapter.exists():
            console.print(f"    train {job.task}/{job.lang} seed {job.seed}: up to date")
            continue
        if stamp_exists(run, key):  # finished before, but with other inputs: stale
            invalidate(run, key, td.root)
        progress.item(n, len(jobs), started, f"train {job.task}/{job.lang} seed {job.seed}")
        run_train(TrainJobConfig(
            data_dir=run.data(job.task).root, lang=job.lang, out_dir=td.root, model=cfg.model,
            seed=job.seed, train=cfg.train, resume=td.checkpoints.exists(),
            report_to=cfg.report_to, tracking_dir=run.tracking,
        ))
        mark_done(run, key, inputs, {"adapter": hash_folder(td.adapter)})


def adapters_of(cfg: ExperimentConfig, run: RunDir, task: str) -> dict[str, TrainDir]:
    return {job.adapter_name(len(cfg.seeds)): run.train(task, job.lang, job.seed)
            for job in train_jobs(cfg) if job.task == task}


def stage_eval(cfg: ExperimentConfig, run: RunDir) -> None:
    from crossling.evaluate import EvalConfig, run_eval

    for task, dcfg in cfg.tasks.items():
        adapters = adapters_of(cfg, run, task)
        ecfg = EvalConfig(
            model=cfg.model, adapters={k: str(v.adapter) for k, v in adapters.items()},
            include_base=True, data=str(run.data(task).root), langs=dcfg.eval_langs,
            limit=cfg.eval.limit, scorers=cfg.scorers_for(task), backend=cfg.eval.backend,
            generation=cfg.eval.generation, judge=cfg.eval.judge, out=str(run.eval(task).root),
            seed=cfg.seed, n_boot=cfg.eval.n_boot, report_to=cfg.report_to,
            tracking_dir=str(run.tracking),
        )
        key = f"eval-{task}"
        inputs = hash_inputs(results_dump(ecfg, exclude={"out", "data"}),
                             {k: hash_folder(v.adapter) for k, v in adapters.items()},
                             sha256_file(run.data(task).manifest))
        if stamp_matches(run, key, inputs) and run.eval(task).summary_json.exists():
            console.print(f"    eval {task}: up to date")
            continue
        if stamp_exists(run, key):
            invalidate(run, key, run.eval(task).root)
        console.print(f"    eval {task}: {len(adapters) + 1} models × "
                      f"{len(dcfg.eval_langs)} languages")
        run_eval(ecfg)
        mark_done(run, key, inputs)


def stage_steer(cfg: ExperimentConfig, run: RunDir) -> None:
    from crossling.steer import SweepConfig, VectorsConfig, run_sweep, run_vectors
    from crossling.steer.sweep import held_out_ids

    s = cfg.steer
    if s is None or not s.enabled:
        console.print("    steer: disabled in config")
        return
    adapter_dir = None
    if s.adapter is not None:
        adapter_dir = str(run.train(s.task, s.adapter, cfg.seeds[0]).adapter)
    vdir, sdir = run.vectors(s.task), run.sweep(s.task)
    langs = list(dict.fromkeys([*s.eval_langs, s.toward]))
    gen = cfg.eval.generation  # the eval's decoding, so the sweep baseline is comparable
    if s.max_new_tokens is not None:
        gen = gen.model_copy(update={"max_new_tokens": s.max_new_tokens})
    scfg = SweepConfig(
        model=cfg.model, adapter=adapter_dir, adapter_lang=s.adapter or "base", task=s.task,
        data=str(run.data(s.task).root), eval_langs=s.eval_langs, toward=s.toward,
        vectors=str(vdir.root), vector_data=s.vector_data, kl_prompts=s.kl_prompts,
        layers=s.layers, strengths=s.strengths, search_negative=s.search_negative,
        normalize=s.normalize, positions=s.positions,  # type: ignore[arg-type]
        builder=s.builder, position=s.position,  # type: ignore[arg-type]
        max_eval=s.max_eval, selection_fraction=s.selection_fraction,
        max_new_tokens=gen.max_new_tokens, generation=gen, batch_size=s.batch_size,
        n_boot=cfg.eval.n_boot, min_fidelity=s.min_fidelity, max_kl=s.max_kl,
        max_degenerate=s.max_degenerate, max_over_refusal=s.max_over_refusal,
        out=str(sdir.root), seed=cfg.seed,
    )
    # vectors never see a test prompt: neither the task's eval ids nor the KL prompts
    vcfg = VectorsConfig(model=cfg.model, langs=langs, data=s.vector_data, out=str(vdir.root),
                         builder=s.builder, position=s.position,  # type: ignore[arg-type]
                         exclude_ids=held_out_ids(scfg), seed=cfg.seed)
    key = f"steer-{s.task}"
    inputs = hash_inputs(results_dump(vcfg, exclude={"out"}),
                         results_dump(scfg, exclude={"out", "vectors", "adapter", "data"}),
                         hash_folder(Path(adapter_dir)) if adapter_dir else None,
                         sha256_file(run.data(s.task).manifest))
    if stamp_matches(run, key, inputs) and sdir.best.exists():
        console.print("    steer: up to date")
        return
    if stamp_exists(run, key):
        invalidate(run, key, vdir.root, sdir.root)
    run_vectors(vcfg)
    run_sweep(scfg)
    mark_done(run, key, inputs)


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


def stage_behaviour(cfg: ExperimentConfig, run: RunDir) -> None:
    """Behaviour vectors of every adapter of ``behaviour.task``, their transfer, ablation and
    geometry (``crossling.behaviour``); its wall time is stored in the stamp."""
    from crossling.behaviour import BehaviourConfig, run_behaviour

    b = cfg.behaviour
    if not b.enabled:
        console.print("    behaviour: disabled in config")
        return
    adapters = adapters_of(cfg, run, b.task)
    bdir = run.behaviour(b.task)
    bcfg = BehaviourConfig(
        **b.model_dump(exclude={"enabled"}), model=cfg.model,
        adapters={k: str(v.adapter) for k, v in adapters.items()},
        data=str(run.data(b.task).root), out=str(bdir.root), seed=cfg.seed,
    )
    key = f"behaviour-{b.task}"
    inputs = hash_inputs(
        results_dump(bcfg, exclude={"out", "data", "adapters"}),
        {k: hash_folder(v.adapter) for k, v in adapters.items()},
        sha256_file(run.data(b.task).manifest))
    if stamp_matches(run, key, inputs) and bdir.transfer.exists() and bdir.ablation.exists():
        console.print("    behaviour: up to date")
        return
    if stamp_exists(run, key):
        invalidate(run, key, bdir.root)
    started = time.monotonic()
    run_behaviour(bcfg)
    wall = time.monotonic() - started
    console.print(f"    behaviour: {len(adapters)} adapter(s) in {wall:.0f}s")
    mark_done(run, key, inputs, {"wall_s": round(wall, 1)})


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

    out = Path(out)
    sh = parse_shard(shard)
    require_trackers(cfg.report_to)
    from crossling.models.loading import check_model

    check_model(cfg.model)  # before the run folder exists: a bad model leaves nothing behind
    run = prepare_run_dir(cfg, out, force)
    progress = Progress()
    progress.stage(1, "data")
    stage_data(cfg, run)
    jobs = train_jobs(cfg)
    if sh is not None:
        jobs = jobs[sh[0] - 1:: sh[1]]
    progress.stage(2, "train", f"{len(jobs)} adapter(s)")
    stage_train(cfg, run, jobs, progress)
    if sh is not None:
        progress.finish()
        console.print(f"shard {shard} trained {len(jobs)} adapter(s); when every shard is done, "
                      f"run `crossling run CONFIG --out {out}` to evaluate and report.")
        return run
    progress.stage(3, "eval")
    stage_eval(cfg, run)
    progress.stage(4, "steer")
    stage_steer(cfg, run)
    progress.stage(5, "behaviour")
    stage_behaviour(cfg, run)
    progress.stage(6, "analyze")
    analysis = run_analyze(cfg, run)
    if cfg.report_to:
        track_study(cfg, run, analysis)
    progress.stage(7, "report")
    write_report(run)
    progress.finish()
    return run
