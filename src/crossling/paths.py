"""Every artifact path in crossling, defined once.

Why: stages find each other's outputs through these classes, never by rebuilding path
strings, so the layout can change in one place. Each class wraps one folder; ``RunDir``
composes them for a whole study.

Layout of a study (``crossling run``)::

    RUN/config.yaml, RUN/run.json          resolved config; versions, git commit, seed
    RUN/stages/<stage>.json                stage completion stamps (input hashes)
    RUN/data/<task>/                       DataDir
    RUN/train/<task>/<lang>-s<seed>/       TrainDir
    RUN/eval/<task>/                       EvalDir
    RUN/steer/<task>/vectors/              VectorDir
    RUN/steer/<task>/sweep/                SweepDir
    RUN/behaviour/<task>/                  BehaviourDir
    RUN/report/                            report.md, report.html, figures
    RUN/tracking/                          tensorboard/, wandb/, mlruns/ (report_to)

A study of several models (``models:``) holds one whole study per model, and the comparison::

    RUN/config.yaml, RUN/run.json          the study with its models list
    RUN/models/<label>/                    RunDir: that model's study (its own stamps)
    RUN/analysis.json                      by_model, model_comparison, failed
    RUN/report/                            every model side by side
    RUN/run.log                            what failed, with tracebacks
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


def cache_dir() -> Path:
    """Root of crossling's cache (converted models, self-responses, judge verdicts).

    ``$CROSSLING_CACHE`` overrides ``~/.cache/crossling``.
    """
    env = os.environ.get("CROSSLING_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "crossling"


def model_cache_dir(alias: str) -> Path:
    """Where a packaged GGUF model is converted to once (safetensors + tokenizer)."""
    return cache_dir() / "models" / alias


def gguf_model_dir(sha256: str) -> Path:
    """Where a GGUF file given by path is converted to once, keyed by its content (so a
    copied or moved file reuses the conversion)."""
    return cache_dir() / "models" / f"gguf-{sha256[:16]}"


def gguf_index_file(gguf: Path) -> Path:
    """The cached sha256 and metadata of the GGUF file at the resolved path ``gguf``; valid
    while the file's size and mtime are the ones it records (so a large file is hashed once)."""
    key = hashlib.sha256(str(gguf).encode("utf-8")).hexdigest()[:16]
    return cache_dir() / "models" / "gguf-index" / f"{key}.json"


@dataclass(frozen=True)
class DataDir:
    """Output of ``crossling data build``."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    def train_file(self, lang: str) -> Path:
        return self.root / f"train_{lang}.jsonl"

    @property
    def eval_file(self) -> Path:
        return self.root / "eval.jsonl"

    @property
    def eval_harmless_file(self) -> Path:
        """Harmless eval prompts (over-refusal check of the refusal task)."""
        return self.root / "eval_harmless.jsonl"


@dataclass(frozen=True)
class TrainDir:
    """Output of ``crossling train``: one adapter."""

    root: Path

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def train_log(self) -> Path:
        return self.root / "train_log.csv"

    @property
    def loss_plot(self) -> Path:
        return self.root / "loss.png"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def tracking(self) -> Path:
        """Experiment-tracker files (report_to) of a standalone ``crossling train``."""
        return self.root / "tracking"

    @property
    def self_responses(self) -> Path:
        """Cached base-model answers used as targets by ``responses: self``."""
        return self.root / "self_responses.jsonl"


@dataclass(frozen=True)
class EvalDir:
    """Output of ``crossling eval``: generations first, scores read from them."""

    root: Path

    @property
    def generations(self) -> Path:
        return self.root / "generations.jsonl"

    @property
    def scores(self) -> Path:
        return self.root / "scores.jsonl"

    @property
    def summary_csv(self) -> Path:
        return self.root / "summary.csv"

    @property
    def summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def report_txt(self) -> Path:
        return self.root / "report.txt"

    @property
    def io_pairs(self) -> Path:
        return self.root / "io_pairs.json"

    @property
    def agreement(self) -> Path:
        return self.root / "judge_agreement.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def tracking(self) -> Path:
        """Experiment-tracker files (report_to) of a standalone ``crossling eval``."""
        return self.root / "tracking"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    def adapter_plot(self, adapter: str, scorer: str) -> Path:
        return self.plots / f"{scorer}_{adapter}.png"

    def heatmap(self, scorer: str) -> Path:
        return self.plots / f"transfer_{scorer}.png"


@dataclass(frozen=True)
class VectorDir:
    """Language steering vectors."""

    root: Path

    def vectors(self, target: str, source: str) -> Path:
        return self.root / f"{target}_from_{source}.safetensors"

    def metadata(self, target: str, source: str) -> Path:
        return self.root / f"{target}_from_{source}.json"

    @property
    def diagnostics_plot(self) -> Path:
        return self.root / "diagnostics.png"

    @property
    def diagnostics_json(self) -> Path:
        return self.root / "diagnostics.json"


@dataclass(frozen=True)
class SweepDir:
    """A steering sweep over layers × strengths."""

    root: Path

    @property
    def sweep_csv(self) -> Path:
        return self.root / "sweep.csv"

    @property
    def generations(self) -> Path:
        return self.root / "generations.jsonl"

    @property
    def best(self) -> Path:
        return self.root / "best.json"

    def heatmap(self, metric: str) -> Path:
        return self.root / f"heatmap_{metric}.png"

    @property
    def curves(self) -> Path:
        return self.root / "strength_curves.png"

    @property
    def kl(self) -> Path:
        """Per-cell next-token KL on held-out prompts (append-only log, resumable)."""
        return self.root / "kl.jsonl"

    @property
    def vectors(self) -> VectorDir:
        """Vectors the sweep computed itself (when no ``--vectors`` folder was given)."""
        return VectorDir(self.root / "vectors")


@dataclass(frozen=True)
class BehaviourDir:
    """Behaviour vectors (adapter − base residual), their transfer, ablation and geometry."""

    root: Path

    @property
    def vectors_dir(self) -> Path:
        return self.root / "vectors"

    def vectors(self, adapter: str, lang: str) -> Path:
        """Behaviour vectors of ``adapter`` measured on prompts in ``lang`` (all layers)."""
        return self.vectors_dir / f"{adapter}__{lang}.safetensors"

    def metadata(self, adapter: str, lang: str) -> Path:
        return self.vectors_dir / f"{adapter}__{lang}.json"

    @property
    def lang_vectors(self) -> VectorDir:
        """Language vectors recorded on the same prompts (for the geometry)."""
        return VectorDir(self.root / "lang_vectors")

    @property
    def generations(self) -> Path:
        """Every generation of the stage (append-only log, resumable)."""
        return self.root / "generations.jsonl"

    @property
    def kl(self) -> Path:
        """Next-token KL of each selection cell on held-out prompts (append-only log)."""
        return self.root / "kl.jsonl"

    @property
    def selection(self) -> Path:
        return self.root / "selection.json"

    @property
    def transfer(self) -> Path:
        return self.root / "transfer.json"

    @property
    def ablation(self) -> Path:
        return self.root / "ablation.json"

    @property
    def geometry(self) -> Path:
        return self.root / "geometry.json"

    def figure(self, name: str) -> Path:
        return self.root / "figures" / f"{name}.png"


@dataclass(frozen=True)
class RunDir:
    """A whole study run by ``crossling run``."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def run_info(self) -> Path:
        return self.root / "run.json"

    @property
    def tracking(self) -> Path:
        """Experiment-tracker files of the whole study (tensorboard/, wandb/, mlruns/): one
        tracker run per training job, per eval and for the study (config, transfer matrix)."""
        return self.root / "tracking"

    def stage_stamp(self, stage: str) -> Path:
        return self.root / "stages" / f"{stage}.json"

    def data(self, task: str) -> DataDir:
        return DataDir(self.root / "data" / task)

    def train(self, task: str, lang: str, seed: int) -> TrainDir:
        return TrainDir(self.root / "train" / task / f"{lang}-s{seed}")

    def eval(self, task: str) -> EvalDir:
        return EvalDir(self.root / "eval" / task)

    def vectors(self, task: str) -> VectorDir:
        return VectorDir(self.root / "steer" / task / "vectors")

    def sweep(self, task: str) -> SweepDir:
        return SweepDir(self.root / "steer" / task / "sweep")

    def behaviour(self, task: str) -> BehaviourDir:
        return BehaviourDir(self.root / "behaviour" / task)

    @property
    def analysis(self) -> Path:
        """Cross-adapter analysis: transfer matrices, control subtraction, asymmetry."""
        return self.root / "analysis.json"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    @property
    def report_md(self) -> Path:
        return self.report_dir / "report.md"

    @property
    def report_html(self) -> Path:
        return self.report_dir / "report.html"

    @property
    def figures(self) -> Path:
        return self.report_dir / "figures"

    def figure(self, name: str) -> Path:
        return self.figures / f"{name}.png"

    def model_run(self, label: str) -> RunDir:
        """One model's study inside a study of several models (``models:``)."""
        return RunDir(self.root / "models" / label)

    @property
    def log(self) -> Path:
        """What went wrong in a run, with tracebacks (the console shows one line each)."""
        return self.root / "run.log"
