"""Eval generation throughput: crossling's HF backend vs the seed study's way.

The seed study generated with ``model.generate`` in batches of 8 prompts taken in dataset
order (here with left padding so its greedy outputs are correct and comparable). crossling
sorts prompts by length, takes as many per batch as its ``batch_size: auto`` gives (64 on a
CPU), prefills each batch's prompts packed (no padding), decodes with its own loop and drops
finished rows from the batch and KV cache. Both run greedy on the packaged SmolLM2-135M with the same
prompts and ``max_new_tokens``; the outputs must be identical (checked), then generated
tokens/s, their ratio and the fraction of the measured fp32 matmul ceiling are printed
(~0.27 GFLOP per generated token: 2 × 135M parameters).

Last line: ``ratio=<crossling tok/s ÷ original tok/s>``, the median over ``--repeats``
rounds (each round runs both ways over all prompts).

Usage: python benchmarks/eval_throughput.py [--n 48] [--max-new-tokens 100] [--batch-size auto]
       [--threads N] [--kv-cache auto|static|dynamic] [--prefill packed|padded]
       [--repeats 3] [--compile]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from importlib.resources import files

GFLOP_PER_TOKEN = 0.27


def matmul_ceiling_gflops(n: int = 1024, reps: int = 10) -> float:
    """Best fp32 GFLOP/s of an n×n matmul on this machine (the compute ceiling)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def load_prompts(n: int) -> list[str]:
    """``n`` builtin instructions in dataset order, cycling through six languages."""
    langs = ["en", "de", "ru", "bg", "es", "fr"]
    rows = []
    for name in ("instructions_a.jsonl", "instructions_b.jsonl", "instructions_c.jsonl"):
        text = (files("crossling.data") / "builtin" / name).read_text(encoding="utf-8")
        rows += [json.loads(line) for line in text.splitlines() if line.strip()]
    return [rows[i % len(rows)]["instruction"][langs[i % len(langs)]] for i in range(n)]


def original_way(loaded, backend, prompts: list[str], max_new_tokens: int) -> tuple[list[str], int, float]:  # type: ignore[no-untyped-def]
    """``model.generate`` over batches of 8 in dataset order, left padded, greedy."""
    import torch

    tok = loaded.tokenizer
    texts = [tok.decode(ids) for ids in backend.encode(prompts)]
    stop = sorted(backend.stop_ids)
    out_texts: list[str] = []
    n_tokens = 0
    t = time.perf_counter()
    for start in range(0, len(texts), 8):
        enc = tok(texts[start : start + 8], return_tensors="pt", padding=True,
                  add_special_tokens=False)
        with torch.no_grad():
            out = loaded.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                        eos_token_id=stop, pad_token_id=tok.pad_token_id)
        for row in out[:, enc["input_ids"].shape[1] :].tolist():
            new = []
            for tid in row:
                new.append(tid)
                if tid in stop:
                    break
            n_tokens += len(new)
            if new and new[-1] in stop:
                new = new[:-1]
            out_texts.append(tok.decode(new, skip_special_tokens=True))
    return out_texts, n_tokens, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=48, help="prompts")
    ap.add_argument("--max-new-tokens", type=int, default=100)
    ap.add_argument("--batch-size", default="auto",
                    help="crossling batch size, a number or auto (= interleaving chunk)")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for both ways (default: torch's); on a CPU shared "
                    "with other jobs, 1 thread avoids OpenMP stalls")
    ap.add_argument("--kv-cache", choices=["auto", "static", "dynamic"], default="auto",
                    help="crossling's KV cache (HFBackend kv_cache)")
    ap.add_argument("--prefill", choices=["packed", "padded"], default="packed",
                    help="crossling's prefill (HFBackend packed_prefill)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="rounds of both ways, alternating; the median ratio is printed "
                    "(a shared CPU's speed drifts by ±15 %% between minutes)")
    ap.add_argument("--compile", action="store_true",
                    help="compile crossling's decode step (static cache only)")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from crossling.evaluate.backends.hf import GenerationConfig, HFBackend
    from crossling.models import load_model

    ceiling = matmul_ceiling_gflops()
    print(f"fp32 matmul ceiling: {ceiling:.1f} GFLOP/s ({torch.get_num_threads()} threads)")
    loaded = load_model(args.model)
    backend = HFBackend(loaded, kv_cache=args.kv_cache, compile_decode=args.compile,
                        packed_prefill=args.prefill == "packed")
    prompts = load_prompts(args.n)
    cfg = GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    size = backend.batch_size(cfg, max(len(ids) for ids in backend.encode(prompts)))
    cfg = cfg.model_copy(update={"batch_size": size})
    backend.generate(prompts[:2], GenerationConfig(max_new_tokens=4))  # warm-up

    print(f"prompts={len(prompts)} max_new_tokens={args.max_new_tokens}")
    ratios = [one_round(backend, loaded, prompts, cfg, size, args, ceiling)
              for _ in range(args.repeats)]
    if len(ratios) > 1:
        print(f"ratios per round: {', '.join(f'{r:.2f}' for r in ratios)} (median of "
              f"{len(ratios)} rounds, each way run alternately)")
    print(f"ratio={statistics.median(ratios):.2f}")


def one_round(backend, loaded, prompts, cfg, size, args, ceiling) -> float:  # type: ignore[no-untyped-def]
    """Both ways over all prompts; checks the outputs are identical; returns the tok/s ratio."""
    # Interleave the two ways chunk by chunk, so that both see the same machine load (a
    # shared CPU's load drifts over minutes); each chunk is one crossling batch.
    ours, orig_texts = [], []
    ours_s = orig_s = 0.0
    orig_tokens = 0
    for start in range(0, len(prompts), size):
        chunk = prompts[start : start + size]
        t = time.perf_counter()
        ours += backend.generate(chunk, cfg)
        ours_s += time.perf_counter() - t
        texts, n_tok, secs = original_way(loaded, backend, chunk, args.max_new_tokens)
        orig_texts += texts
        orig_tokens += n_tok
        orig_s += secs
    ours_tokens = sum(g.new_tokens for g in ours)

    same = [g.response == o for g, o in zip(ours, orig_texts, strict=True)]
    ours_tps, orig_tps = ours_tokens / ours_s, orig_tokens / orig_s
    print(f"original (generate, batch 8, dataset order): {orig_tokens} tokens in {orig_s:.1f} s"
          f" = {orig_tps:.1f} tok/s = {100 * orig_tps * GFLOP_PER_TOKEN / ceiling:.1f}% of ceiling")
    print(f"crossling ({backend.kv_cache} cache, {args.prefill} prefill, sorted, batch "
          f"{min(size, len(prompts))} of {args.batch_size}, compaction): {ours_tokens} tokens in "
          f"{ours_s:.1f} s = {ours_tps:.1f} tok/s = "
          f"{100 * ours_tps * GFLOP_PER_TOKEN / ceiling:.1f}% of ceiling")
    print(f"identical greedy outputs: {sum(same)}/{len(same)}")
    if not all(same):
        bad = same.index(False)
        raise SystemExit(f"outputs differ at prompt {bad}: {ours[bad].response[:80]!r} vs "
                         f"{orig_texts[bad][:80]!r}")
    if ours_tokens != orig_tokens:
        raise SystemExit(f"token counts differ: {ours_tokens} vs {orig_tokens}")
    return ours_tps / orig_tps

if __name__ == "__main__":
    main()
