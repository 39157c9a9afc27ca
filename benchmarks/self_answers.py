"""Self-answer throughput (``responses: self``): the training stage vs ``crossling eval``.

Why: self-answers used to go through ``model.generate`` in padded batches of 8 (48 answers
of a 0.5B model took 6 minutes); they now go through the evaluation's generation backend.
This script generates the same prompts three ways on the packaged model, greedy, with the
same ``max_new_tokens``, each from a cold start (the start-up canary included where the
path runs it):

* ``self``: ``crossling.train.data.generate_self_responses`` into an empty cache;
* ``eval``: the evaluation's backend (``HFBackend.generate`` after ``verify_decoding``);
* ``before``: the old self-answer loop (``model.generate``, batches of 8, left padded).

The answers of ``self`` and ``eval`` must be identical (checked). Prints new tokens/s of each
and, last, ``ratio=<self tok/s ÷ eval tok/s>`` (target ≥ 1 within the machine's noise)
with ``speedup=<self ÷ before>``.

Usage: python benchmarks/self_answers.py [--n 48] [--max-new-tokens 48] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eval_throughput import load_prompts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=48, help="prompts")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--model", default="smollm2-135m")
    args = ap.parse_args()

    import torch

    from crossling.evaluate.backends.base import GenerationConfig
    from crossling.evaluate.backends.hf import HFBackend, verify_decoding
    from crossling.models import load_model
    from crossling.train.data import generate_self_responses

    loaded = load_model(args.model)
    tok = loaded.tokenizer
    prompts = load_prompts(args.n)
    rows = [{"id": f"p{i:03d}", "prompt": p} for i, p in enumerate(prompts)]

    def tokens(texts: list[str]) -> int:
        return sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        answers = generate_self_responses(loaded, rows, Path(tmp) / "self.jsonl",
                                          args.max_new_tokens, "auto")
        self_s = time.perf_counter() - t
    self_texts = [answers[r["id"]] for r in rows]

    t = time.perf_counter()
    cfg = GenerationConfig(max_new_tokens=args.max_new_tokens)
    backend = HFBackend(loaded)
    verify_decoding(backend, cfg)
    eval_texts = [g.response.strip() for g in backend.generate(prompts, cfg)]
    eval_s = time.perf_counter() - t
    if self_texts != eval_texts:
        raise SystemExit("self-answers differ from the eval backend's answers")

    t = time.perf_counter()
    stop = sorted(backend.stop_ids)
    texts = [tok.decode(ids) for ids in backend.encode(prompts)]
    before: list[str] = []
    for start in range(0, len(texts), 8):
        enc = tok(texts[start:start + 8], return_tensors="pt", padding=True,
                  add_special_tokens=False)
        with torch.inference_mode():
            out = loaded.model.generate(**enc, max_new_tokens=args.max_new_tokens,
                                        do_sample=False, eos_token_id=stop,
                                        pad_token_id=tok.pad_token_id)
        before += [tok.decode(r, skip_special_tokens=True).strip()
                   for r in out[:, enc["input_ids"].shape[1]:]]
    before_s = time.perf_counter() - t

    n_tok = tokens(self_texts)
    print(f"prompts={len(prompts)} max_new_tokens={args.max_new_tokens} "
          f"new_tokens={n_tok} threads={torch.get_num_threads()}")
    for name, secs in (("self", self_s), ("eval", eval_s), ("before", before_s)):
        print(f"{name:7s} {secs:7.1f} s  {n_tok / secs:7.1f} tok/s")
    print(f"identical_to_before={sum(a == b for a, b in zip(self_texts, before, strict=True))}"
          f"/{len(prompts)}")
    print(f"ratio={eval_s / self_s:.2f} speedup={before_s / self_s:.2f}")


if __name__ == "__main__":
    main()
