"""LoRA SFT training loop: one adapter for one (task, language, seed).

Why our own loop on peft + accelerate rather than transformers' ``Trainer`` (TRL is not a
dependency): resume must end with the *same* adapter as an uninterrupted run, which needs
control over the exact data order per step (a precomputed schedule, ``batching.py``), the
loss normalisation (mean over all assistant tokens of an optimizer step, however the step
is split into micro-batches and processes), what a checkpoint holds, and what happens on a
NaN (stop, keep the last good checkpoint). The loop is ~100 lines; ``accelerate`` gives it
DDP under ``accelerate launch`` unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.io import atomic_dir, atomic_write_json, read_json
from crossling.models.adapters import AdapterMeta, write_adapter_meta
from crossling.models.config import ModelConfig
from crossling.models.layers import unwrap
from crossling.paths import TrainDir
from crossling.train.batching import build_schedule, collate, label_tokens, steps_for
from crossling.train.checkpoint import (
    TrainState,
    checkpoint_dirs,
    config_diff,
    load_checkpoint,
    save_checkpoint,
)
from crossling.train.config import TrainConfig, TrainJobConfig
from crossling.train.data import (
    data_hash,
    fill_self_targets,
    generate_self_responses,
    load_train_rows,
    responses_mode,
    tokenize_rows,
)
from crossling.train.packing import (
    attention_inputs,
    auto_micro_tokens,
    pack,
    plan_micro_batches,
    row_attention,
)
from crossling.train.report import plot_loss, versions, write_train_log

log = logging.getLogger(__name__)

# Called after every optimizer step with (step, peft model); tests use it to slow a run
# down before a SIGKILL or to inject a NaN.
StepCallback = Callable[[int, Any], None]


def _lora(model: Any, cfg: TrainConfig, seed: int) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    missing = [m for m in cfg.target_modules if m not in names]
    if len(missing) == len(cfg.target_modules):
        raise CrosslingError(
            f"none of train.target_modules {cfg.target_modules} exists in this model; set "
            "them to its projection names (e.g. q_proj, v_proj)."
        )
    torch.manual_seed(seed)  # LoRA A init
    lcfg = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=[m for m in cfg.target_modules if m in names],
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lcfg)


def _scheduler(optimizer: Any, cfg: TrainConfig, n_steps: int) -> Any:
    from transformers import get_scheduler

    name = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
    return get_scheduler(
        name[cfg.scheduler],
        optimizer,
        num_warmup_steps=min(cfg.warmup_steps, n_steps),
        num_training_steps=n_steps,
    )


def _check_out_dir(cfg: TrainJobConfig, fingerprint: dict[str, Any]) -> Path | None:
    """Decide what an existing out dir means; returns the adapter when already trained."""
    td = TrainDir(cfg.out_dir)
    if td.manifest.exists() and td.adapter.exists():
        old = read_json(td.manifest).get("fingerprint", {})
        diff = config_diff(old, fingerprint)
        if diff:
            raise CrosslingError(
                f"{cfg.out_dir} already holds an adapter trained with another config "
                f"({'; '.join(diff)}); choose a new --out."
            )
        log.info("adapter already trained in %s; nothing to do", td.adapter)
        return td.adapter
    ckpts = checkpoint_dirs(td.checkpoints)
    if ckpts and not cfg.resume:
        raise CrosslingError(
            f"{cfg.out_dir} holds checkpoints of an unfinished run (newest {ckpts[-1].name}); "
            "pass --resume to continue it, or choose a new --out."
        )
    if ckpts:
        old = read_json(ckpts[-1] / "state.json").get("fingerprint", {})
        diff = config_diff(old, fingerprint)
        if diff:
            raise CrosslingError(
                f"--resume refused: the config differs from the checkpointed run "
                f"({'; '.join(diff)}); restore those values or train into a new --out."
            )
    return None


def run_train(cfg: TrainJobConfig, on_step: StepCallback | None = None) -> Path:
    """Train one LoRA adapter (resumable) and return its folder.

    Args:
        cfg: the job: data dir, language, base model, out dir, seed, hyperparameters.
        on_step: optional ``(step, peft_model)`` callback after every optimizer step.

    Returns:
        ``TrainDir(cfg.out_dir).adapter``: peft adapter (safetensors) + crossling_adapter.json.

    Raises:
        CrosslingError: bad data dir or language, config changed on --resume, non-finite loss.
    """
    from accelerate import Accelerator

    from crossling.models.loading import check_model
    from crossling.tracking import require_trackers

    t_start = time.time()
    require_trackers(cfg.report_to)
    check_model(cfg.model)
    manifest, rows = load_train_rows(cfg.data_dir, cfg.lang)
    dhash = data_hash(cfg.data_dir)
    fingerprint = {**cfg.fingerprint(), "data_hash": dhash}
    td = TrainDir(cfg.out_dir)
    done = _check_out_dir(cfg, fingerprint)
    if done is not None:
        return done

    accelerator = Accelerator(cpu=cfg.model.device == "cpu")
    main = accelerator.is_main_process
    world = accelerator.num_processes
    mcfg: ModelConfig = cfg.model
    if mcfg.device == "auto":
        mcfg = mcfg.model_copy(update={"device": str(accelerator.device)})

    from crossling.models.loading import load_model

    loaded = load_model(mcfg)
    tok = loaded.tokenizer
    tcfg = cfg.train
    task = str(manifest.get("task", "?"))

    rows, self_dropped = _self_targets(cfg, manifest, rows, loaded, td, accelerator)
    examples = tokenize_rows(tok, rows, mcfg.system_prompt, tcfg.max_length)
    n_steps = steps_for(len(examples), tcfg.max_steps, tcfg.epochs,
                        tcfg.batch_size * tcfg.grad_accum * world)
    schedule = build_schedule(
        [len(e["input_ids"]) for e in examples], n_steps, tcfg.batch_size, tcfg.grad_accum,
        world, cfg.seed, tcfg.group_by_length, tcfg.group_size,
    )
    step_tokens = [sum(label_tokens(examples[i]) for mb in s for i in mb) for s in schedule]
    model, params, optimizer, scheduler, state = _model_and_optimizer(
        loaded, cfg, td, n_steps, fingerprint)

    from crossling.train.loss import SFTLoss

    attention = contextlib.ExitStack()  # packed rows: attention per row while training
    attention.enter_context(row_attention(model, tcfg.packing))
    if tcfg.compile:
        unwrap(model).get_decoder().compile(dynamic=True)  # in place: parameter names kept
    wrapped = accelerator.prepare(SFTLoss(model))
    rank = accelerator.process_index
    feed = _Feeder(examples, tcfg, model, tok.pad_token_id, accelerator.device)
    step_fn = _Step(accelerator, wrapped, feed, params, optimizer, scheduler, tcfg, world, rank)
    try:
        _loop(cfg, td, state, step_fn, schedule, step_tokens, model, on_step,
              _Report.start(cfg, td, task, n_steps, state.step, main))
    finally:
        attention.close()
    if main:
        _finish(cfg, td, accelerator.unwrap_model(wrapped).model, loaded.spec, task, dhash,
                manifest, state, world, n_steps, len(examples), time.time() - t_start,
                self_dropped)
    accelerator.wait_for_everyone()
    return td.adapter


def _model_and_optimizer(loaded: Any, cfg: TrainJobConfig, td: TrainDir, n_steps: int,
                         fingerprint: dict[str, Any]) -> tuple[Any, list[Any], Any, Any,
                                                               TrainState]:
    """The LoRA model (training mode), its trainable parameters, AdamW, the schedule and the
    state — restored from the newest checkpoint with ``--resume``."""
    tcfg = cfg.train
    model = _lora(loaded.model, tcfg, cfg.seed)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = _adamw(params, tcfg)
    scheduler = _scheduler(optimizer, tcfg, n_steps)
    state = TrainState(fingerprint=fingerprint)
    ckpts = checkpoint_dirs(td.checkpoints)
    if cfg.resume and ckpts:
        state = load_checkpoint(ckpts[-1], model, optimizer, scheduler)
        log.info("resumed from %s (step %d of %d)", ckpts[-1].name, state.step, n_steps)
    elif cfg.resume:
        log.info("--resume: no checkpoint in %s, starting at step 0", td.checkpoints)
    return model, params, optimizer, scheduler, state


def _loop(cfg: TrainJobConfig, td: TrainDir, state: TrainState, step_fn: _Step,
          schedule: list[Any], step_tokens: list[int], model: Any,
          on_step: StepCallback | None, report: _Report) -> None:
    """The optimizer steps from ``state.step`` on: log rows every ``log_every`` steps,
    checkpoints every ``save_every`` (main process), a stop on a non-finite loss; the wall
    time of this run is added to ``state.elapsed_s``."""
    tcfg, n_steps = cfg.train, len(schedule)
    acc = step_fn.accelerator
    t_run, elapsed_before = time.time(), state.elapsed_s
    try:
        for step in range(state.step, n_steps):
            t0 = time.time()
            loss, grad_norm, tokens, lr = step_fn(schedule[step], step_tokens[step])
            if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                _nonfinite(td, state, step + 1, loss, grad_norm, acc.is_main_process)
            state.step = step + 1
            state.tokens += int(tokens)
            row = {"step": state.step, "loss": round(loss, 6), "lr": lr,
                   "tokens_per_s": round(int(tokens) / max(time.time() - t0, 1e-9), 2),
                   "grad_norm": round(grad_norm, 6), "label_tokens": step_tokens[step],
                   "elapsed_s": round(elapsed_before + time.time() - t_run, 3)}
            if state.step % tcfg.log_every == 0 or state.step == n_steps:
                state.log_rows.append(row)
            report.step(row)
            if state.step % tcfg.save_every == 0 and state.step < n_steps:
                state.elapsed_s = elapsed_before + time.time() - t_run
                if acc.is_main_process:
                    save_checkpoint(td.checkpoints, state, model, step_fn.optimizer,
                                    step_fn.scheduler, tcfg.keep_checkpoints)
                    write_train_log(td.train_log, state.log_rows)
                acc.wait_for_everyone()
            if on_step is not None:
                on_step(state.step, model)
    finally:
        report.close()
    state.elapsed_s = elapsed_before + time.time() - t_run


@dataclass
class _Report:
    """Where a step is shown: a live bar (interactive), else a log line every few seconds,
    and the trackers of ``report_to`` (main process only)."""

    bar: Any
    line: Any
    trackers: Any

    @classmethod
    def start(cls, cfg: TrainJobConfig, td: TrainDir, task: str, n_steps: int, done: int,
              main: bool) -> _Report:
        from crossling.logs import ProgressLine, interactive
        from crossling.tracking import Trackers

        bar = _progress(cfg.train.progress and main and interactive(), n_steps, done)
        line = ProgressLine(f"train {task}/{cfg.lang} seed {cfg.seed}", n_steps, done,
                            enabled=main and bar is None)
        tracking = Path(cfg.tracking_dir) if cfg.tracking_dir else td.tracking
        trackers = Trackers(cfg.report_to if main else [], tracking,
                            f"train-{task}-{cfg.lang}-s{cfg.seed}")
        trackers.log_params(cfg.model_dump(mode="json"))
        return cls(bar, line, trackers)

    def step(self, row: dict[str, Any]) -> None:
        """One optimizer step's ``train_log.csv`` row, shown and tracked."""
        self.trackers.log_metrics({"train/loss": row["loss"], "train/lr": row["lr"],
                                   "train/grad_norm": row["grad_norm"],
                                   "train/tokens_per_s": row["tokens_per_s"]}, row["step"])
        if self.bar is not None:
            self.bar[0].update(self.bar[1], advance=1, loss=row["loss"],
                               tps=row["tokens_per_s"])
        self.line.update(loss=row["loss"])

    def close(self) -> None:
        self.trackers.close()
        if self.bar is not None:
            self.bar[0].stop()


def _self_targets(cfg: TrainJobConfig, manifest: dict[str, Any], rows: list[dict[str, Any]],
                  loaded: Any, td: TrainDir, accelerator: Any
                  ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``responses: self``: the base model's own answers (generated once, by the main
    process, cached) made into targets; other data is returned as it is.

    Returns:
        The rows with targets, and the degenerate answers dropped per reason.
    """
    if responses_mode(manifest) != "self" or all(r.get("target") is not None for r in rows):
        return rows, {}
    tcfg = cfg.train
    if accelerator.is_main_process:
        generate_self_responses(
            loaded, rows, td.self_responses, tcfg.self_response_max_new_tokens,
            tcfg.self_response_batch_size, progress=tcfg.progress,
        )
    accelerator.wait_for_everyone()
    answers = generate_self_responses(  # every process reads the finished cache
        loaded, rows, td.self_responses, tcfg.self_response_max_new_tokens,
        tcfg.self_response_batch_size,
    )
    return fill_self_targets(rows, answers, str(manifest.get("task", "?")),
                             cfg.model.system_prompt)


@dataclass
class _Step:
    """One optimizer step: forward and backward over this process's micro-batches (gradient
    sync on the last), the loss summed over processes, clipping, the update.

    Returns (when called): ``(loss per label token, grad norm, tokens [scalar tensor],
    learning rate used)``.
    """

    accelerator: Any
    wrapped: Any
    feed: Any
    params: list[Any]
    optimizer: Any
    scheduler: Any
    tcfg: TrainConfig
    world: int
    rank: int

    def __call__(self, planned: list[list[int]], label_tokens: int
                 ) -> tuple[float, float, Any, float]:
        import torch

        acc = self.accelerator
        micro = self.feed.plan(planned[self.rank::self.world])
        loss_sum = torch.zeros((), device=acc.device)
        tokens = torch.zeros((), device=acc.device)
        for j, mb in enumerate(micro):
            batch, real = self.feed.inputs(mb)
            sync = j == len(micro) - 1
            with contextlib.nullcontext() if sync else acc.no_sync(self.wrapped):
                part, _ = self.wrapped(**batch)
                # DDP averages gradients over processes; * world makes it a global sum.
                acc.backward(part * self.world / label_tokens)
            loss_sum += part.detach()
            tokens += real
        loss = float(acc.reduce(loss_sum, "sum")) / label_tokens
        tokens = acc.reduce(tokens, "sum")
        max_norm = self.tcfg.max_grad_norm if self.tcfg.max_grad_norm is not None else math.inf
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, max_norm))
        lr = self.scheduler.get_last_lr()[0]
        if math.isfinite(loss) and math.isfinite(grad_norm):
            self.optimizer.step()
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss, grad_norm, tokens, lr


def _adamw(params: list[Any], cfg: TrainConfig) -> Any:
    """AdamW, fused into one kernel where torch supports it for these tensors' device."""
    import torch

    kwargs = dict(lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps, weight_decay=cfg.weight_decay)
    if cfg.fused_adamw:
        try:
            return torch.optim.AdamW(params, fused=True, **kwargs)  # type: ignore[arg-type]
        except (RuntimeError, ValueError) as e:  # device without a fused kernel
            log.info("fused AdamW unavailable here (%s); using the default one", e)
    return torch.optim.AdamW(params, **kwargs)  # type: ignore[arg-type]


class _Feeder:
    """Turns the schedule's row indices into model inputs on the device.

    Packed (``train.packing``): each micro-batch is one padding-free sequence; on CUDA (or
    with ``train.micro_batch_tokens``) the rows of a step are first re-split by a token
    budget, so a pass fills the device whatever the configured ``batch_size``. Padded: the
    schedule's micro-batches, right-padded.
    """

    def __init__(self, examples: list[dict[str, list[int]]], cfg: TrainConfig, model: Any,
                 pad_id: int, device: Any) -> None:
        self.examples, self.cfg, self.model = examples, cfg, model
        self.pad_id, self.device = pad_id, device
        self.lengths = [len(e["input_ids"]) for e in examples]
        self.dtype = unwrap(model).dtype
        self.budget = cfg.micro_batch_tokens
        if cfg.packing and self.budget is None:
            self.budget = auto_micro_tokens(model, device)
            if self.budget is not None:
                log.info("packing: %d tokens per forward pass (from free memory)", self.budget)

    def plan(self, micro: list[list[int]]) -> list[list[int]]:
        """This process's micro-batches of one step (the same rows in any case)."""
        if not self.cfg.packing or self.budget is None:
            return micro
        return plan_micro_batches([i for mb in micro for i in mb], self.lengths, self.budget)

    def inputs(self, rows: list[int]) -> tuple[dict[str, Any], int]:
        """(SFTLoss keyword arguments on the device, real tokens in them)."""
        exs = [self.examples[i] for i in rows]
        real = sum(self.lengths[i] for i in rows)  # counted on the host: no device sync
        if not self.cfg.packing:
            return {k: v.to(self.device) for k, v in collate(exs, self.pad_id).items()}, real
        packed = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in pack(exs).items()}
        attn = attention_inputs(self.model, packed, self.dtype)
        return {"input_ids": packed["input_ids"], "labels": packed["labels"], **attn}, real


def _nonfinite(td: TrainDir, state: TrainState, step: int, loss: float, norm: float,
               main: bool) -> None:
    """Stop on a NaN/inf: the update is not applied; the last checkpoint stays as it is."""
    if main and state.log_rows:
        write_train_log(td.train_log, state.log_rows)
    ckpts = checkpoint_dirs(td.checkpoints)
    kept = (f"the last good checkpoint {ckpts[-1].name} is kept in {td.checkpoints}; "
            "lower train.lr (or check the data) and rerun with --resume"
            if ckpts else "no checkpoint was saved yet; lower train.lr or check the data")
    raise CrosslingError(
        f"training stopped: non-finite loss/gradient at step {step} (loss={loss}, "
        f"grad_norm={norm}); {kept}."
    )


def _finish(cfg: TrainJobConfig, td: TrainDir, model: Any, spec: str, task: str, dhash: str,
            data_manifest: dict[str, Any], state: TrainState, world: int, n_steps: int,
            n_rows: int, wall_s: float, self_dropped: dict[str, int] | None = None) -> None:
    """Write adapter, log, plot and manifest; the manifest goes last (completion marker)."""
    from crossling import __version__
    from crossling.models.loading import base_hub_id

    hub_id = base_hub_id(cfg.model.name)
    if hub_id is not None:  # not the local converted copy: the adapter must load anywhere
        for pcfg in model.peft_config.values():
            pcfg.base_model_name_or_path = hub_id
        base = model.get_base_model()  # peft's README.md card names the base from these
        base.name_or_path = hub_id
        base.config.name_or_path = hub_id
    with atomic_dir(td.adapter) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        write_adapter_meta(tmp, AdapterMeta(
            base_model=spec, task=task, lang=cfg.lang, seed=cfg.seed, data_hash=dhash,
            steps=state.step, crossling_version=__version__,
        ))
    write_train_log(td.train_log, state.log_rows)
    if state.log_rows:
        plot_loss(td.loss_plot, state.log_rows, f"{task} / {cfg.lang} / seed {cfg.seed}")
    tps = [r["tokens_per_s"] for r in state.log_rows]
    atomic_write_json(td.manifest, {
        "kind": "crossling-train",
        "base_model": spec,
        "task": task,
        "lang": cfg.lang,
        "seed": cfg.seed,
        "data_dir": str(cfg.data_dir),
        "data_hash": dhash,
        "data_manifest_hash": dhash,
        "data_responses": responses_mode(data_manifest),
        "config": cfg.model_dump(mode="json"),
        "fingerprint": state.fingerprint,
        "steps": n_steps,
        "rows": n_rows,
        "self_responses_dropped": self_dropped or {},
        "processes": world,
        "tokens": state.tokens,
        "final_loss": state.log_rows[-1]["loss"] if state.log_rows else None,
        "mean_tokens_per_s": round(sum(tps) / len(tps), 2) if tps else None,
        "train_wall_s": round(state.elapsed_s, 2),
        "wall_s": round(wall_s, 2),
        "versions": versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    shutil.rmtree(td.checkpoints, ignore_errors=True)


def _progress(show: bool, total: int, start: int) -> Any:
    if not show:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    p = Progress(
        TextColumn("train"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[tps]:.0f} tok/s"),
        TimeRemainingColumn(),
    )
    p.start()
    return p, p.add_task("train", total=total, completed=start, loss=float("nan"), tps=0.0)
