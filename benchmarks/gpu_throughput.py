"""GPU throughput: crossling's LoRA training and generation against the hardware and a baseline.

Builds a random-weight model of a named shape (no download; the packaged SmolLM2 tokenizer,
so the vocabulary is 49k), then on the chosen device and dtype measures:

* the matmul peak of this device and dtype (best of a few large square matmuls), the
  yardstick of model-FLOPs utilisation (MFU);
* LoRA training (r=16 on all projections, AdamW, the built-in instruction rows in every
  language, answers uppercased): crossling's ``run_train`` (packed, fused AdamW) and
  ``transformers.Trainer`` on the same rows, batch and steps (right-padded batches, the
  model's own ``labels`` loss). Tokens counted the same way: real tokens processed. MFU =
  tokens/s x 4 x (decoder + LM-head parameters) / peak: forward plus the input-gradient
  backward of the frozen base (LoRA weight gradients and attention are left out, so it is a
  slight underestimate);
* generation, greedy, for the base model and with one LoRA adapter: crossling's HF backend
  against ``model.generate`` over the same prompts sorted by length, same batch size.
  Random weights rarely produce an end-of-turn token, so most rows run to
  ``--max-new-tokens``.

The first ``--warmup`` optimizer steps of each training run are left out of its rate
(allocator, kernel selection, compilation); generation runs one warm-up batch first.

Last lines: ``train_mfu=<crossling training MFU>`` and ``gen_ratio=<crossling tok/s ÷
model.generate tok/s, with the adapter>``.

Usage:
    python benchmarks/gpu_throughput.py --shape qwen2.5-0.5b            # a GPU
    python benchmarks/gpu_throughput.py --shape tiny --device cpu      # smoke test (CI)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import corpus_rows

# Architecture shapes (vocabulary: the packaged tokenizer's). Numbers from the public configs.
SHAPES: dict[str, dict[str, Any]] = {
    "qwen2.5-0.5b": dict(family="qwen2", hidden_size=896, intermediate_size=4864,
                         num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         rope_theta=1e6, tie_word_embeddings=True),
    "qwen2.5-1.5b": dict(family="qwen2", hidden_size=1536, intermediate_size=8960,
                         num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                         rope_theta=1e6, tie_word_embeddings=True),
    "llama-3.2-1b": dict(family="llama", hidden_size=2048, intermediate_size=8192,
                         num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                         rope_theta=5e5, tie_word_embeddings=True),
    "tiny": dict(family="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True),
}

# Per device kind: (train steps, batch, grad accum, prompts, generation batch, new tokens).
DEFAULTS = {"cuda": (40, 16, 1, 256, 64, 64), "cpu": (4, 4, 1, 8, 8, 8)}


def matmul_peak(device: str, dtype: Any, seconds: float = 2.0) -> float:
    """Best FLOP/s of square matmuls of this device and dtype (n=8192 on a GPU, 1024 else)."""
    import torch

    n = 8192 if device.startswith("cuda") else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(3):
        a @ b
    sync()
    best, t_end = 0.0, time.time() + seconds
    while time.time() < t_end:
        t0 = time.perf_counter()
        for _ in range(5):
            a @ b
        sync()
        best = max(best, 5 * 2 * n**3 / (time.perf_counter() - t0))
    return best


def build_model(shape: str, out: Path, dtype: Any, device: str) -> Path:
    """Save a random-weight model of ``shape`` with the packaged tokenizer to ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    from crossling.models import ModelConfig
    from crossling.models.loading import load_tokenizer

    tok = load_tokenizer(ModelConfig(name="smollm2-135m"))
    spec = dict(SHAPES[shape])
    family = spec.pop("family")
    cls = Qwen2Config if family == "qwen2" else LlamaConfig
    cfg = cls(vocab_size=len(tok), max_position_embeddings=4096, bos_token_id=tok.bos_token_id,
              eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **spec)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def flops_per_token(model: Any) -> float:
    """4 x (decoder + LM-head parameters): forward + input-gradient backward of a frozen base."""
    cfg = model.config
    body = sum(p.numel() for n, p in model.named_parameters() if "embed" not in n and "lm_head" not in n)
    return 4.0 * (body + cfg.hidden_size * cfg.vocab_size)


def train_rows(n: int) -> list[dict[str, Any]]:
    """The built-in instruction rows (every language, answers uppercased), cycled to ``n``."""
    rows = corpus_rows()
    return [{**rows[i % len(rows)], "id": f"r{i}"} for i in range(n)]


def steady_rate(times: list[float], tokens: list[int], warmup: int) -> float:
    """Tokens/s after the first ``warmup`` steps; times and tokens are cumulative per step."""
    w = min(warmup, len(times) - 1)
    t0, n0 = (times[w - 1], tokens[w - 1]) if w > 0 else (0.0, 0)
    return (tokens[-1] - n0) / max(times[-1] - t0, 1e-9)


def crossling_train(model_dir: Path, work: Path, args: argparse.Namespace, dtype: str) -> float:
    """crossling's trainer; returns steady-state real tokens/s."""
    import csv

    from crossling.io import atomic_write_json, atomic_write_jsonl
    from crossling.paths import DataDir, TrainDir
    from crossling.train import TrainJobConfig, run_train

    d = DataDir(work / "data")
    n = args.steps * args.batch * args.grad_accum
    atomic_write_jsonl(d.train_file("en"), train_rows(n))
    atomic_write_json(d.manifest, {"kind": "crossling-data", "task": "caps", "train_langs": ["en"],
                                   "eval_langs": ["en"], "seed": 0, "counts": {},
                                   "eval_ids": [], "hashes": {}, "config": {}})
    cfg = TrainJobConfig.model_validate({
        "data_dir": str(d.root), "lang": "en", "out_dir": str(work / "out"), "seed": 0,
        "model": {"name": str(model_dir), "device": args.device, "dtype": dtype},
        "train": {"max_steps": args.steps, "batch_size": args.batch, "grad_accum": args.grad_accum,
                  "warmup_steps": 0, "save_every": 10**6, "progress": False,
                  "compile": args.compile},
    })
    run_train(cfg)
    with open(TrainDir(work / "out").train_log, newline="") as f:
        log = list(csv.DictReader(f))
    times = [float(r["elapsed_s"]) for r in log]
    tokens, total, prev = [], 0.0, 0.0
    for r, t in zip(log, times, strict=True):  # step tokens = step rate x step time
        total += float(r["tokens_per_s"]) * (t - prev)
        tokens.append(int(total))
        prev = t
    return steady_rate(times, tokens, args.warmup)


def trainer_baseline(model_dir: Path, work: Path, args: argparse.Namespace) -> float:
    """``transformers.Trainer`` with the same LoRA, rows, batch and steps; real tokens/s."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from crossling.models import ModelConfig, build_example, load_model
    from crossling.train import collate
    from crossling.train.config import DEFAULT_TARGET_MODULES

    loaded = load_model(ModelConfig(name=str(model_dir), device=args.device, dtype=args.dtype))
    tok = loaded.tokenizer
    exs = [build_example(tok, r["prompt"], r["target"], loaded.config.system_prompt)
           for r in train_rows(args.steps * args.batch * args.grad_accum)]
    torch.manual_seed(0)
    model = get_peft_model(loaded.model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.0,
                                                     target_modules=DEFAULT_TARGET_MODULES))
    seen = [0]

    def collator(features: list[dict[str, list[int]]]) -> dict[str, Any]:
        batch = collate(features, tok.pad_token_id)
        seen[0] += int(batch["attention_mask"].sum())
        return batch

    marks: list[tuple[float, int]] = []

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, *a: Any, **k: Any) -> None:
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            marks.append((time.perf_counter(), seen[0]))

    bf16 = next(model.parameters()).dtype == torch.bfloat16
    targs = TrainingArguments(
        output_dir=str(work / "trainer"), per_device_train_batch_size=args.batch,
        gradient_accumulation_steps=args.grad_accum, max_steps=args.steps, learning_rate=2e-4,
        weight_decay=0.01, warmup_steps=0, logging_steps=10**6, save_strategy="no",
        report_to=[], use_cpu=args.device == "cpu", bf16=bf16, dataloader_num_workers=0,
        remove_unused_columns=False, disable_tqdm=True, seed=0,
    )
    trainer = Trainer(model=model, args=targs, train_dataset=exs, data_collator=collator,
                      callbacks=[Clock()])
    t0 = time.perf_counter()
    trainer.train()
    times = [t - t0 for t, _ in marks]
    return steady_rate(times, [n for _, n in marks], args.warmup)


def save_adapter(model_dir: Path, out: Path, device: str, dtype: str) -> Path:
    """A random (non-zero) LoRA adapter for generation, saved with peft."""
    import torch
    from peft import LoraConfig, get_peft_model

    from crossling.models import ModelConfig, load_model
    from crossling.train.config import DEFAULT_TARGET_MODULES

    torch.manual_seed(1)
    loaded = load_model(ModelConfig(name=str(model_dir), device=device, dtype=dtype))
    peft = get_peft_model(loaded.model, LoraConfig(r=16, lora_alpha=16, init_lora_weights=False,
                                                    target_modules=DEFAULT_TARGET_MODULES))
    peft.save_pretrained(str(out))
    return out


def generate_baseline(backend: Any, prompts: list[str], batch: int, new: int) -> tuple[float, list[list[int]]]:
    """``model.generate`` over prompts sorted by length; (tokens/s, new ids per prompt)."""
    import torch

    tok, model = backend.tokenizer, backend.model
    enc = backend.encode(prompts)
    order = sorted(range(len(prompts)), key=lambda i: -len(enc[i]))
    stop = sorted(backend.stop_ids)
    out: list[list[int]] = [[] for _ in prompts]
    n_tokens = 0
    ctx = model.disable_adapter() if backend.adapter_names and backend.active is None else None
    t0 = time.perf_counter()
    with torch.inference_mode(), ctx if ctx is not None else _null():
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            padded = tok.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt")
            padded = {k: v.to(backend.loaded.device) for k, v in padded.items()}
            gen = model.generate(**padded, max_new_tokens=new, do_sample=False,
                                 eos_token_id=stop, pad_token_id=tok.pad_token_id)
            for i, row in zip(idx, gen[:, padded["input_ids"].shape[1] :].tolist(), strict=True):
                for t in row:
                    out[i].append(t)
                    if t in stop:
                        break
                n_tokens += len(out[i])
    return n_tokens / (time.perf_counter() - t0), out


def _null() -> Any:
    import contextlib

    return contextlib.nullcontext()


def crossling_generate(backend: Any, prompts: list[str], batch: int, new: int) -> tuple[float, list[str]]:
    from crossling.evaluate.backends.base import GenerationConfig

    cfg = GenerationConfig(max_new_tokens=new, batch_size=batch)
    t0 = time.perf_counter()
    gens = backend.generate(prompts, cfg)
    return sum(g.new_tokens for g in gens) / (time.perf_counter() - t0), [g.response for g in gens]


def prompts_for(n: int) -> list[str]:
    rows = corpus_rows()
    return [rows[(7 * i) % len(rows)]["prompt"] for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-0.5b")
    ap.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    ap.add_argument("--dtype", default=None, help="bfloat16 on GPUs that support it, else float32")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per training run")
    ap.add_argument("--batch", type=int, default=None, help="rows per micro-batch")
    ap.add_argument("--grad-accum", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None, help="steps left out of the rates")
    ap.add_argument("--prompts", type=int, default=None)
    ap.add_argument("--gen-batch", type=int, default=None)
    ap.add_argument("--max-new-tokens", type=int, default=None)
    ap.add_argument("--compile", action="store_true",
                    help="train with train.compile and decode with a compiled step "
                    "(CUDA graphs on a GPU)")
    ap.add_argument("--skip-baselines", action="store_true", help="crossling numbers only")
    args = ap.parse_args()

    import torch

    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    kind = "cuda" if args.device.startswith("cuda") else "cpu"
    steps, batch, accum, n_prompts, gen_batch, new = DEFAULTS[kind]
    args.steps = args.steps or steps
    args.batch = args.batch or batch
    args.grad_accum = args.grad_accum or accum
    args.warmup = args.warmup if args.warmup is not None else (3 if kind == "cuda" else 1)
    args.prompts = args.prompts or n_prompts
    args.gen_batch = args.gen_batch or gen_batch
    args.max_new_tokens = args.max_new_tokens or new
    if args.dtype is None:
        args.dtype = "bfloat16" if kind == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    dtype = getattr(torch, args.dtype)

    peak = matmul_peak(args.device, dtype)
    print(f"device={args.device} dtype={args.dtype} matmul peak={peak / 1e12:.2f} TFLOP/s")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = build_model(args.shape, work / "model", dtype, args.device)
        from crossling.models import ModelConfig, load_model

        loaded = load_model(ModelConfig(name=str(model_dir), device=args.device, dtype=args.dtype))
        fpt = flops_per_token(loaded.model)
        n_params = sum(p.numel() for p in loaded.model.parameters())
        print(f"shape={args.shape}: {n_params / 1e6:.1f} M parameters, "
              f"{fpt / 4 / 1e6:.1f} M FLOP-counted; train {args.steps} steps x {args.batch} x "
              f"{args.grad_accum} rows; generate {args.prompts} prompts, batch {args.gen_batch}, "
              f"{args.max_new_tokens} new tokens")
        del loaded

        # ---- training
        cl_tps = crossling_train(model_dir, work / "cl", args, args.dtype)
        cl_mfu = cl_tps * fpt / peak
        print(f"train crossling: {cl_tps:,.0f} tok/s, MFU {100 * cl_mfu:.1f}%")
        if not args.skip_baselines:
            hf_tps = trainer_baseline(model_dir, work / "hf", args)
            print(f"train Trainer  : {hf_tps:,.0f} tok/s, MFU {100 * hf_tps * fpt / peak:.1f}% "
                  f"(crossling x{cl_tps / hf_tps:.2f})")
        if kind == "cuda":
            torch.cuda.empty_cache()

        # ---- generation
        from crossling.evaluate.backends.hf import HFBackend

        adapter = save_adapter(model_dir, work / "adapter", args.device, args.dtype)
        gen_cfg = ModelConfig(name=str(model_dir), device=args.device, dtype=args.dtype)
        backend = HFBackend(load_model(gen_cfg), {"lora": adapter}, kv_cache="static",
                            compile_decode=args.compile)
        prompts = prompts_for(args.prompts)
        ratios: dict[str, float] = {}
        for name in (None, "lora"):
            backend.set_adapter(name)
            crossling_generate(backend, prompts[: args.gen_batch], args.gen_batch, 4)  # warm-up
            ours, texts = crossling_generate(backend, prompts, args.gen_batch, args.max_new_tokens)
            label = name or "base"
            line = f"generate {label:4s} crossling: {ours:,.0f} tok/s"
            if not args.skip_baselines:
                generate_baseline(backend, prompts[: args.gen_batch], args.gen_batch, 4)
                theirs, ids = generate_baseline(backend, prompts, args.gen_batch,
                                                args.max_new_tokens)
                tok = backend.tokenizer
                same = sum(t == tok.decode([x for x in row if x not in backend.stop_ids],
                                           skip_special_tokens=True)
                           for t, row in zip(texts, ids, strict=True))
                ratios[label] = ours / theirs
                line += (f", model.generate (sorted) {theirs:,.0f} tok/s, x{ours / theirs:.2f}; "
                         f"identical greedy outputs {same}/{len(prompts)}")
            print(line)
    print(f"train_mfu={cl_mfu:.4f}")
    print(f"gen_ratio={ratios.get('lora', float('nan')):.2f}")


if __name__ == "__main__":
    main()
