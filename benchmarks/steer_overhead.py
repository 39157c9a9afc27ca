"""Generation throughput with steering hooks on vs off, on the packaged SmolLM2-135M.

Why this design: the hooks run on every decode step, so their cost is per-step Python and
one broadcast add per steered layer. Both arms generate exactly the same number of tokens
(``min_new_tokens == max_new_tokens``, so steering cannot change the amount of work by
ending answers earlier or later), on the same left-padded batch with the KV cache. Runs
alternate on/off and the *minimum* of each arm is compared. The overhead is computed from
this process's CPU time with one torch thread: on a shared 2-core machine wall-clock time
mostly measures the other processes (runs of the same work varied 35-58 s), while the CPU
time of a single-threaded process measures the work done. Wall-clock figures are printed
too.

Usage: ``python benchmarks/steer_overhead.py [--repeats 5] [--tokens 24] [--layers 12]``.
The last line is ``overhead=<fraction slower>`` (target ≤ 0.05).
"""

from __future__ import annotations

import argparse
import statistics
import time

PROMPTS = [
    "Explain simply why the sky looks blue on a clear day.",
    "Erkläre einfach, warum der Himmel an einem klaren Tag blau aussieht.",
    "Give three tips for staying focused while studying.",
    "Nenne drei Tipps, um beim Lernen konzentriert zu bleiben.",
    "Write a short poem about the sea.",
    "Schreibe ein kurzes Gedicht über das Meer.",
    "What is the capital of France, and why is it famous?",
    "Was ist die Hauptstadt Frankreichs, und warum ist sie berühmt?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--layers", default="12", help="comma list of steered layers")
    parser.add_argument("--strength", type=float, default=4.0)
    args = parser.parse_args()

    import torch

    from crossling.models import load_model
    from crossling.steer import compute_vectors, load_parallel, steer
    from crossling.steer.record import render_prompts

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    loaded = load_model(args.model)
    vecs = compute_vectors(loaded, load_parallel("builtin"), ["en", "de"], max_prompts=16)
    vec = vecs[("en", "de")]
    layers = [int(x) for x in args.layers.split(",")]
    tok = loaded.tokenizer
    enc = tok(render_prompts(tok, PROMPTS, loaded.config.system_prompt), return_tensors="pt",
              padding=True, add_special_tokens=False)
    n_new = args.tokens * len(PROMPTS)

    def run() -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        with torch.inference_mode():
            loaded.model.generate(**enc, max_new_tokens=args.tokens, min_new_tokens=args.tokens,
                                  do_sample=False, pad_token_id=tok.pad_token_id)
        return time.process_time() - c0, time.perf_counter() - t0

    run()  # warm-up (allocator, kernels)
    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    for _ in range(args.repeats):
        off.append(run())
        with steer(loaded.model, vec, layers, args.strength, positions="all"):
            on.append(run())
    print(f"{len(PROMPTS)} prompts x {args.tokens} new tokens, steered layers {layers}, "
          f"threads={torch.get_num_threads()}, repeats={args.repeats}")
    for name, runs in (("off", off), ("on", on)):
        cpu = [c for c, _ in runs]
        wall = [w for _, w in runs]
        print(f"steering {name:3s}: cpu min {min(cpu):.3f}s median {statistics.median(cpu):.3f}s "
              f"({n_new / min(cpu):.1f} tok/s) | wall min {min(wall):.3f}s median "
              f"{statistics.median(wall):.3f}s ({n_new / min(wall):.1f} tok/s)")
    wall_over = min(w for _, w in on) / min(w for _, w in off) - 1
    print(f"wall-clock overhead (min/min)={wall_over:.4f}")
    print(f"overhead={min(c for c, _ in on) / min(c for c, _ in off) - 1:.4f}")

if __name__ == "__main__":
    main()
