"""``crossling push``: adapters (with a model card) and datasets of a run to the HF hub.

The upload is staged in a local folder first — exactly the files that will be sent — so the
tests can check the contents and the card without any network call, and a failed upload
leaves nothing half-published beyond what ``upload_folder`` commits atomically.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from crossling.analysis.results import StudyAnalysis
from crossling.config_loader import load_config
from crossling.errors import CrosslingError
from crossling.models.loading import base_hub_id
from crossling.paths import RunDir
from crossling.runner.config import ExperimentConfig
from crossling.runner.plan import adapters_of
from crossling.runner.report import _matrix_table

TOKEN_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def model_card(cfg: ExperimentConfig, run: RunDir, repo: str) -> str:
    """README.md of the hub repo: metadata header, what was trained, and the results table."""
    analysis = StudyAnalysis.read(run.analysis) if run.analysis.exists() else None
    base = f"`{cfg.model.name}`"
    lines = ["---", "library_name: peft", "tags:", "- crossling", "- lora",
             "- cross-lingual-transfer"]
    hub_id = base_hub_id(cfg.model.name)
    if hub_id is not None:
        lines.append(f"base_model: {hub_id}")
        if hub_id != cfg.model.name:
            base = f"`{hub_id}` (crossling alias `{cfg.model.name}`)"
    lines += ["---", "", f"# {repo}", "",
              f"LoRA adapters from the crossling study **{cfg.name}** on {base}: one adapter "
              "per (task, training language, seed), each evaluated in every language.", "",
              f"LoRA r={cfg.train.lora_r}, alpha={cfg.train.lora_alpha:g}, lr {cfg.train.lr:g}, "
              f"{cfg.train.max_steps} steps, seeds {cfg.seeds}.", ""]
    for task, d in cfg.tasks.items():
        lines.append(f"## Task `{task}` (trained in {', '.join(d.train_langs)})")
        lines.append("")
        lines.append(f"Adapters: `adapters/{task}/<lang>/`; data: `data/{task}/`.")
        lines.append("")
        scorer = cfg.report.headline_scorer.get(task, "")
        done = analysis.tasks.get(task) if analysis is not None else None
        for kind, per in (done.kinds if done is not None else {}).items():
            if scorer in per:
                t = _matrix_table(per[scorer], d.eval_langs, scorer,
                                  f"{scorer} ({kind} prompts), mean [95 % CI]",
                                  order=d.train_langs)
                lines += [f"*{t.caption}*", "", "| " + " | ".join(t.header) + " |",
                          "|" + "|".join("---" for _ in t.header) + "|"]
                lines += ["| " + " | ".join(r) + " |" for r in t.rows]
                lines.append("")
    lines += ["Made with crossling (`crossling push`).", ""]
    return "\n".join(lines)


def stage_upload(run: RunDir, repo: str, staging: Path) -> list[str]:
    """Copy what will be uploaded into ``staging``; return the repo paths, sorted."""
    if not run.config.exists():
        raise CrosslingError(f"{run.root} is not a crossling run folder (no config.yaml).")
    cfg = load_config(ExperimentConfig, run.config)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for task in cfg.tasks:
        for name, td in adapters_of(cfg, run, task).items():
            if td.adapter.exists():
                shutil.copytree(td.adapter, staging / "adapters" / task / name)
                if td.train_log.exists():
                    shutil.copy2(td.train_log, staging / "adapters" / task / name)
        data = run.data(task).root
        if data.exists():
            shutil.copytree(data, staging / "data" / task)
    if run.report_md.exists():
        shutil.copytree(run.report_dir, staging / "report")
    (staging / "README.md").write_text(model_card(cfg, run, repo), encoding="utf-8")
    if not any((staging / "adapters").glob("*/*")):
        raise CrosslingError(f"{run.root} has no trained adapters yet; run 'crossling run' first.")
    return sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())


def push(run_dir: str | Path, repo: str, private: bool = True, dry_run: bool = False) -> Path:
    """Stage and upload a run's adapters, data and report to ``repo`` (USER/NAME).

    Args:
        run_dir: a ``crossling run`` folder.
        repo: hub repo id.
        private: create the repo private.
        dry_run: stage only (in RUN/push), no network.

    Returns:
        The staging folder.
    """
    if repo.count("/") != 1:
        raise CrosslingError(f"--repo '{repo}' must look like USER/NAME.")
    run = RunDir(Path(run_dir))
    staging = run.root / "push"
    stage_upload(run, repo, staging)
    if dry_run:
        return staging
    token = next((os.environ[k] for k in TOKEN_ENV if os.environ.get(k)), None)
    if token is None:
        raise CrosslingError("no Hugging Face token: set HF_TOKEN in the environment.")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo, private=private, exist_ok=True)
    api.upload_folder(repo_id=repo, folder_path=str(staging),
                      commit_message="crossling push")
    return staging
