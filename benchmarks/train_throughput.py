"""Training throughput: crossling's trainer vs a naive padded loop, on SmolLM2-135M (fp32, CPU).

Both train the same LoRA (r=16 on all projections, AdamW) on the same rows (the built-in
instruction corpus, every language, uppercased answers, chat-formatted by
``crossling.models.build_example``) for the same number of steps of 8 rows, and both count
tokens the same way: real (non-pad) tokens processed, i.e. the sum of the attention mask.

* naive: rows in shuffled order, 8 per batch, padded to the longest row of the batch, and
  ``model(input_ids, attention_mask, labels)`` — logits for every position (the original
  study's collator and Trainer loss).
* crossling: ``run_train`` — length-grouped batches (less padding) and the LM head only on
  positions whose next token is labelled (``SFTLoss``).

It first measures the fp32 matmul ceiling of this machine and reports each loop's achieved
model FLOP/s as a fraction of it (approximate: 4 x (decoder + LM-head parameters) FLOPs per
token, forward + input-gradient backward; the LoRA weight-gradients and attention are
ignored). The last line is ``ratio=<crossling tok/s / naive tok/s>``.

Usage: python benchmarks/train_throughput.py [--steps 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path


def matmul_ceiling(threads: int, seconds: float = 3.0) -> float:
    """Best fp32 GFLOP/s of a SmolLM2-MLP-sized matmul ([512, 576] @ [576, 1536])."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(512, 576), torch.randn(576, 1536)
    flops = 2 * 512 * 576 * 1536
    for _ in range(5):
        a @ b
    best, t_end = 0.0, time.time() + seconds
    while time.time() < t_end:
        t0 = time.perf_counter()
        for _ in range(10):
            a @ b
        best = max(best, 10 * flops / (time.perf_counter() - t0) / 1e9)
    return best


def corpus_rows() -> list[dict]:
    """Every (language, item) of the built-in instruction corpus, answer uppercased."""
    rows = []
    for f in sorted(Path(str(files("crossling") / "data" / "builtin")).glob("instructions_*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            for lang, instr in r["instruction"].items():
                if r.get("output", {}).get(lang):
                    rows.append({"id": f"{r['id']}-{lang}", "lang": "en", "prompt": instr,
                                 "target": r["output"][lang].upper()})
    return rows


def flops_per_token(model) -> float:
    cfg = model.config
    head = cfg.hidden_size * cfg.vocab_size
    body = sum(p.numel() for n, p in model.named_parameters() if "embed" not in n and "lm_head" not in n)
    return 4.0 * (body + head)


def naive(rows: list[dict], steps: int, batch: int, threads: int, seed: int) -> tuple[float, int]:
    """The original-style loop; returns (seconds, real tokens)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from crossling.models import ModelConfig, build_example, load_model
    from crossling.train import build_schedule, collate
    from crossling.train.config import DEFAULT_TARGET_MODULES

    loaded = load_model(ModelConfig.model_validate({"name": "smollm2-135m", "threads": threads}))
    tok = loaded.tokenizer
    exs = [build_example(tok, r["prompt"], r["target"], loaded.config.system_prompt) for r in rows]
    # the same rows, in the seeded shuffled order, without length grouping
    sched = build_schedule([len(e["input_ids"]) for e in exs], steps, batch, 1, 1, seed,
                           group_by_length=False)
    torch.manual_seed(seed)
    model = get_peft_model(loaded.model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.0,
                                                     target_modules=DEFAULT_TARGET_MODULES))
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4,
                            weight_decay=0.01)
    tokens, t0 = 0, time.perf_counter()
    tokens_log: list[int] = []
    for step in sched:
        b = collate([exs[i] for i in step[0]], tok.pad_token_id)
        loss = model(**b).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        tokens += int(b["attention_mask"].sum())
        print(f"  naive step {len(tokens_log) + 1}/{len(sched)}: {time.perf_counter() - t0:.0f} s",
              file=sys.stderr, flush=True)
        tokens_log.append(tokens)
    return time.perf_counter() - t0, tokens


def crossling_run(rows: list[dict], steps: int, batch: int, threads: int, seed: int,
                  work: Path) -> tuple[float, int]:
    """crossling's trainer on the same rows; returns (training-loop seconds, real tokens)."""
    from crossling.io import atomic_write_json, atomic_write_jsonl, read_json
    from crossling.paths import DataDir, TrainDir
    from crossling.train import TrainJobConfig, run_train

    d = DataDir(work / "data")
    atomic_write_jsonl(d.train_file("en"), rows)
    atomic_write_json(d.manifest, {"kind": "crossling-data", "task": "caps", "train_langs": ["en"],
                                   "eval_langs": ["en"], "seed": seed, "counts": {},
                                   "eval_ids": [], "hashes": {}, "config": {}})
    cfg = TrainJobConfig.model_validate({
        "data_dir": str(d.root), "lang": "en", "out_dir": str(work / "out"), "seed": seed,
        "model": {"name": "smollm2-135m", "threads": threads},
        "train": {"max_steps": steps, "batch_size": batch, "grad_accum": 1, "warmup_steps": 0,
                  "save_every": 10**6, "progress": False},
    })
    run_train(cfg)
    m = read_json(TrainDir(work / "out").manifest)
    return float(m["train_wall_s"]), int(m["tokens"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps of --batch rows")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    from crossling.models import load_model

    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    ceiling = matmul_ceiling(args.threads)
    print(f"fp32 matmul ceiling ({args.threads} threads): {ceiling:.1f} GFLOP/s")
    rows = corpus_rows()
    print(f"rows: {len(rows)} (built-in instructions, all languages); steps {args.steps} x "
          f"batch {args.batch}")
    fpt = flops_per_token(load_model("smollm2-135m").model)

    t_naive, tok_naive = naive(rows, args.steps, args.batch, args.threads, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        t_cl, tok_cl = crossling_run(rows, args.steps, args.batch, args.threads, args.seed, Path(tmp))
    torch.set_num_threads(args.threads)
    for name, t, n in (("naive", t_naive, tok_naive), ("crossling", t_cl, tok_cl)):
        tps = n / t
        print(f"{name:9s}: {n} tokens in {t:.1f} s = {tps:.1f} tok/s "
              f"(~{tps * fpt / 1e9:.1f} GFLOP/s, {100 * tps * fpt / 1e9 / ceiling:.0f}% of ceiling)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    assert tok_naive == tok_cl, "both loops must process the same real tokens"
    print(f"ratio={(tok_cl / t_cl) / (tok_naive / t_naive):.2f}")


if __name__ == "__main__":
    main()
