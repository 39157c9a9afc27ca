"""Peak memory (RSS) of each model stage on a 0.5B model of Qwen2.5-0.5B's real shape (CPU, fp32).

Why: studies on a 0.5B model with a 151,936-token vocabulary peaked at 10-13 GB RSS while its
fp32 weights are 2 GB. What grows with the vocabulary is any ``[batch, length, vocab]``
tensor (logits over whole sequences); this measures each stage that might build one, each
in its own process, so each peak is its own:

* ``fluency``: the ``fluency`` scorer on ``--n`` answers of ``--answer-tokens`` tokens;
* ``kl``: the sweep's KL guard (``kl_logprobs`` teacher-forced over ``--cont-tokens``
  continuation tokens) and the behaviour stage's (``kl_all_positions``), unsteered vs a
  random vector added at one layer, on ``--kl-prompts`` prompts;
* ``train``: ``--steps`` LoRA steps of ``run_train`` (caps on the built-in English rows
  with targets of ``--train-answer-tokens`` tokens, like 256-token self-answers,
  ``--train-batch`` rows per pass);
* ``study``: a whole ``crossling run`` (one caps adapter, two eval languages, a 2-cell
  sweep), against the 6 GB target.

The model is random (``Qwen2Config``: hidden 896, 24 layers, 14 heads, 2 KV heads,
intermediate 4864, vocabulary 151,936, tied embeddings) with SmolLM2's tokenizer (49,152
ids, all below the model's vocabulary), written once under ``--work``. Peak RSS is the
child's ``ru_maxrss`` (``os.wait4``); "after load" is the RSS once the model is loaded, so
"peak - after load" is what the stage itself adds. Each stage also reports its result
(mean fluency, KL, loss), which must not change with the memory layout.

``--baseline REV`` runs every stage first on the code of git revision ``REV`` (its ``src/``
extracted to ``--work``, put first on ``PYTHONPATH``), then on this checkout, and prints them
side by side with the ratio ``ratio = peak(this) / peak(baseline)``. ``--mmap-variant``
adds a third run of this checkout with ``MALLOC_MMAP_THRESHOLD_=1048576``: glibc then
serves every allocation above 1 MiB with its own mapping, returned to the OS when freed,
instead of raising the threshold to 32 MiB and keeping freed tensors in its heap (RSS).

Runtime on 2 shared CPU cores: ~1-4 min per stage and 10-20 min per study, per side.

Usage::

    python benchmarks/memory.py                                   # every stage, this checkout
    python benchmarks/memory.py --baseline HEAD --mmap-variant --json memory.json
    python benchmarks/memory.py --stages fluency,kl --n 8
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STAGES = ("fluency", "kl", "train", "study")
TARGET_GB = 6.0
QWEN05 = dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14,
              num_key_value_heads=2, intermediate_size=4864, vocab_size=151936,
              tie_word_embeddings=True, max_position_embeddings=32768, rope_theta=1e6,
              rms_norm_eps=1e-6)
ROOT = Path(__file__).resolve().parents[1]


def rss_kb(field: str = "VmRSS") -> int:
    """This process's resident set (``VmRSS``) or its peak (``VmHWM``) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def build_model(out: Path) -> Path:
    """A random model of Qwen2.5-0.5B's shape with SmolLM2's tokenizer, saved to ``out``."""
    if (out / "model.safetensors").exists():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

    from crossling.models.packaged import PACKAGED

    gguf = PACKAGED.get("smollm2-135m").gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    assert len(tok) <= QWEN05["vocab_size"]
    cfg = Qwen2Config(**QWEN05, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def corpus(lang: str = "en") -> list[tuple[str, str]]:
    """(instruction, reference answer) of the built-in corpus in ``lang``."""
    from importlib.resources import files

    rows = []
    for f in sorted(Path(str(files("crossling") / "data" / "builtin")).glob("instructions_*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r["instruction"].get(lang) and r.get("output", {}).get(lang):
                rows.append((r["instruction"][lang], r["output"][lang]))
    return rows


def answer(tok: Any, text: str, tokens: int) -> str:
    """``text`` repeated and cut to about ``tokens`` tokens (long answers like a 0.5B
    model's, or an Alpaca reference)."""
    ids = tok((text + " ") * (1 + tokens // 8), add_special_tokens=False)["input_ids"]
    return str(tok.decode(ids[:tokens]))


def load(model_dir: Path, threads: int) -> tuple[Any, int]:
    """The loaded model and the RSS (KiB) once its weights are resident (after a one-token
    forward: safetensors are memory-mapped, and pages count once touched)."""
    import torch

    from crossling.models import ModelConfig, load_model

    loaded = load_model(ModelConfig.model_validate({"name": str(model_dir), "threads": threads}))
    with torch.inference_mode():
        loaded.model(input_ids=torch.ones((1, 1), dtype=torch.long, device=loaded.device))
    return loaded, rss_kb()


def stage_fluency(args: argparse.Namespace) -> dict[str, Any]:
    from crossling.evaluate.scorers.base import ScorerContext
    from crossling.evaluate.scorers.quality import Fluency

    loaded, loaded_kb = load(args.model_dir, args.threads)
    tok = loaded.tokenizer
    rows = []
    for i, (prompt, ref) in enumerate(corpus()[: args.n]):
        rows.append({"id": str(i), "prompt": prompt,
                     "response": answer(tok, ref, args.answer_tokens)})
    t0 = time.perf_counter()
    values = Fluency(ScorerContext(base_model=lambda: loaded)).score_many(rows)
    got = [v for v in values if v is not None]
    return {"after_load_kb": loaded_kb, "seconds": time.perf_counter() - t0,
            "result": {"mean_fluency": sum(got) / len(got)}}


def stage_kl(args: argparse.Namespace) -> dict[str, Any]:
    import random

    import torch

    from crossling.steer.apply import add_to_layers
    from crossling.steer.kl import kl_all_positions, kl_logprobs, mean_kl

    loaded, loaded_kb = load(args.model_dir, args.threads)
    model, tok, system = loaded.model, loaded.tokenizer, loaded.config.system_prompt
    prompts = [p for p, _ in corpus()[: args.kl_prompts]]
    rng = random.Random(0)
    conts = [[rng.randrange(100, len(tok)) for _ in range(args.cont_tokens)] for _ in prompts]
    g = torch.Generator().manual_seed(0)
    delta = {12: torch.randn(int(model.config.hidden_size), generator=g) * 2.0}
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    for name, fn in (("kl_continuation", kl_logprobs), ("kl_all_positions", kl_all_positions)):
        base = fn(model, tok, prompts, system, args.kl_batch, continuations=conts)
        with add_to_layers(model, delta, positions="all"):
            steered = fn(model, tok, prompts, system, args.kl_batch, continuations=conts)
        out[name] = mean_kl(base, steered)
        del base, steered
    return {"after_load_kb": loaded_kb, "seconds": time.perf_counter() - t0, "result": out}


def stage_train(args: argparse.Namespace) -> dict[str, Any]:
    import shutil

    from transformers import AutoTokenizer

    from crossling.io import atomic_write_json, atomic_write_jsonl, read_json
    from crossling.paths import DataDir, TrainDir
    from crossling.train import TrainJobConfig, run_train

    work = args.work / f"train-{os.getpid()}"
    d = DataDir(work / "data")
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    rows = [{"id": f"r{i}", "lang": "en", "prompt": p,
             "target": answer(tok, a, args.train_answer_tokens).upper()}
            for i, (p, a) in enumerate(corpus())]
    atomic_write_jsonl(d.train_file("en"), rows)
    atomic_write_json(d.manifest, {"kind": "crossling-data", "task": "caps", "train_langs": ["en"],
                                   "eval_langs": ["en"], "seed": 0, "counts": {},
                                   "eval_ids": [], "hashes": {}, "config": {}})
    cfg = TrainJobConfig.model_validate({
        "data_dir": str(d.root), "lang": "en", "out_dir": str(work / "out"), "seed": 0,
        "model": {"name": str(args.model_dir), "threads": args.threads},
        "train": {"max_steps": args.steps, "batch_size": args.train_batch, "grad_accum": 1,
                  "warmup_steps": 0, "max_length": 1024, "save_every": 10**6,
                  "progress": False},
    })
    t0 = time.perf_counter()
    run_train(cfg)
    m = read_json(TrainDir(work / "out").manifest)
    shutil.rmtree(work, ignore_errors=True)
    return {"after_load_kb": None, "seconds": time.perf_counter() - t0,
            "result": {"final_loss": m.get("final_loss"), "tokens": m.get("tokens")}}


def study_config(args: argparse.Namespace) -> dict[str, Any]:
    """A whole study, small enough for minutes on 2 cores (see the module docstring)."""
    return {
        "name": "memory", "seed": 0, "seeds": [0],
        "model": {"name": str(args.model_dir), "threads": args.threads},
        "tasks": {"caps": {"source": "builtin", "train_langs": ["en"], "eval_langs": ["en", "de"],
                           "eval_size": 6, "train_size": 16, "responses": args.responses}},
        "train": {"max_steps": args.steps, "warmup_steps": 0, "batch_size": args.train_batch,
                  "grad_accum": 1, "max_length": 256, "save_every": 10**6, "progress": False,
                  "self_response_max_new_tokens": args.max_new_tokens},
        "eval": {"generation": {"max_new_tokens": args.max_new_tokens, "batch_size": "auto"},
                 "limit": 4, "n_boot": 200},
        "steer": {"adapter": "en", "eval_langs": ["de"], "toward": "en", "layers": [12],
                  "strengths": [0.0, 1.0], "max_eval": 4, "max_new_tokens": args.max_new_tokens,
                  "kl_prompts": 4, "min_fidelity": 0.0, "max_kl": 100.0},
        "report": {"examples_per_lang": 1},
    }


def child(stage: str, args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    fn = {"fluency": stage_fluency, "kl": stage_kl, "train": stage_train}[stage]
    res = fn(args)
    res["hwm_kb"] = rss_kb("VmHWM")
    print("RESULT " + json.dumps(res), flush=True)


def _status_kb(pid: int, field: str = "VmRSS") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _last_line(log: Path) -> str:
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - 4096))
        lines = [x.strip() for x in f.read().decode("utf-8", "replace").replace("\r", "\n")
                 .splitlines() if x.strip()]
    return lines[-1][:160] if lines else ""


def run_child(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``cmd``; its peak RSS (``ru_maxrss`` of it and what it waited for, KiB), seconds,
    exit code, stdout, and what its log said last when its sampled RSS was highest."""
    import threading

    t0 = time.perf_counter()
    best: list[Any] = [0, ""]
    stop = threading.Event()
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, text=True)

        def sample() -> None:  # every 0.5 s: the RSS, and the log line of the highest
            while not stop.is_set():
                kb = _status_kb(proc.pid)
                if kb is None:
                    return
                if kb > best[0]:
                    best[:] = [kb, _last_line(log)]
                stop.wait(0.5)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        assert proc.stdout is not None
        out = proc.stdout.read()
        stop.set()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        thread.join()
    return {"peak_kb": usage.ru_maxrss, "wall": time.perf_counter() - t0,
            "rc": proc.returncode, "out": out, "peak_during": best[1]}


def measure(stage: str, args: argparse.Namespace, src: Path | None, tag: str) -> dict[str, Any]:
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    env.pop("CROSSLING_DTYPE", None)
    if tag.endswith("+mmap"):
        env["MALLOC_MMAP_THRESHOLD_"] = str(2**20)
    if src is not None:
        env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    log = args.work / f"{stage}-{tag}.log"
    if stage == "study":
        import yaml

        cfg_path = args.work / f"study-{tag}.yaml"
        cfg_path.write_text(yaml.safe_dump(study_config(args)))
        out_dir = args.work / f"study-{tag}"
        if out_dir.exists():
            import shutil

            shutil.rmtree(out_dir)
        cmd = [sys.executable, "-c", "import sys; from crossling.cli import main; "
               "sys.exit(main(sys.argv[1:]))", "run", str(cfg_path), "--out", str(out_dir)]
    else:
        cmd = [sys.executable, __file__, "--child", stage, *args.passthrough]
    got = run_child(cmd, env, log)
    wall, rc, out = got["wall"], got["rc"], got["out"]
    row: dict[str, Any] = {"stage": stage, "code": tag, "peak_gb": got["peak_kb"] / 2**20,
                           "wall_s": wall, "rc": rc, "peak_during": got["peak_during"]}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
            row["stage_s"] = res["seconds"]
            row["after_load_gb"] = (res["after_load_kb"] / 2**20
                                    if res.get("after_load_kb") else None)
            row["result"] = res["result"]
    if stage == "study":
        import re

        row["stages_s"] = {m[1]: float(m[2]) for m in
                           re.finditer(r"stage (\w+) took ([\d.]+) s", log.read_text())}
    if rc != 0:
        row["error"] = log.read_text()[-2000:]
    print(f"  {stage:8s} {tag:9s} peak {row['peak_gb']:.2f} GB, {wall:.0f} s, rc {rc}"
          + (f"  {row.get('result')}" if row.get("result") else ""), file=sys.stderr, flush=True)
    return row


def baseline_src(rev: str, work: Path) -> Path:
    """``src/`` of git revision ``rev``, extracted under ``work``."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True,
                         capture_output=True, text=True).stdout.strip()
    dest = work / f"src-{sha[:12]}"
    if not (dest / "src" / "crossling").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def table(rows: list[dict[str, Any]], baseline: bool) -> str:
    def gb(x: Any) -> str:
        return "-" if x is None else f"{x:.2f}"

    lines = ["| stage | code | peak RSS GB | after load GB | stage s | wall s | result |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        res = ", ".join(f"{k} {v:.5g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in (r.get("result") or {}).items())
        if r["rc"] != 0:
            res = f"FAILED (rc {r['rc']})"
        if r["stage"] == "study":
            res = f"target {TARGET_GB:.0f} GB: " + ("met" if r["peak_gb"] < TARGET_GB else "NOT met")
        lines.append(f"| {r['stage']} | {r['code']} | {gb(r['peak_gb'])} | "
                     f"{gb(r.get('after_load_gb'))} | {gb(r.get('stage_s'))} | {r['wall_s']:.0f} | "
                     f"{res} |")
    if baseline:
        lines.append("")
        for stage in dict.fromkeys(r["stage"] for r in rows):
            pair = {r["code"]: r for r in rows if r["stage"] == stage}
            if "baseline" not in pair:
                continue
            for code, r in pair.items():
                if code != "baseline":
                    ratio = r["peak_gb"] / pair["baseline"]["peak_gb"]
                    lines.append(f"{stage} ({code}): peak ratio={ratio:.2f} "
                                 f"({pair['baseline']['peak_gb']:.2f} -> {r['peak_gb']:.2f} GB)")
    for r in rows:
        if r["stage"] == "study":
            took = ", ".join(f"{k} {v:.0f} s" for k, v in r.get("stages_s", {}).items())
            lines.append(f"study ({r['code']}): peak while '{r.get('peak_during', '')}'; {took}")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma list of {STAGES}")
    ap.add_argument("--baseline", default=None, help="git revision to compare with (e.g. HEAD)")
    ap.add_argument("--only", choices=["baseline", "this"], default=None,
                    help="with --baseline: run only one side")
    ap.add_argument("--work", type=Path, default=Path("/tmp/crossling-memory"),
                    help="model folder, logs, study outputs (the model is built once)")
    ap.add_argument("--mmap-variant", action="store_true",
                    help="also run this checkout with MALLOC_MMAP_THRESHOLD_=1 MiB (glibc: "
                    "large tensors go back to the OS when freed)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=16, help="fluency: answers scored")
    ap.add_argument("--answer-tokens", type=int, default=192, help="fluency: tokens per answer")
    ap.add_argument("--kl-prompts", type=int, default=8)
    ap.add_argument("--kl-batch", type=int, default=8, help="KL: prompts per forward pass")
    ap.add_argument("--cont-tokens", type=int, default=48, help="KL: continuation tokens")
    ap.add_argument("--steps", type=int, default=2, help="train and study: optimizer steps")
    ap.add_argument("--train-batch", type=int, default=2, help="train and study: rows per pass")
    ap.add_argument("--train-answer-tokens", type=int, default=256,
                    help="train: tokens per target (self-answers are up to 256)")
    ap.add_argument("--max-new-tokens", type=int, default=64, help="study: tokens per answer")
    ap.add_argument("--responses", default="source", choices=["source", "self"],
                    help="study: training targets (self: the base model's answers)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.model_dir = args.work / "qwen2.5-0.5b-shape"
    args.passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    return args


def main() -> None:
    args = parse()
    if args.child:
        child(args.child, args)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise SystemExit(f"unknown stage(s) {sorted(unknown)}; choose from {STAGES}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)",
          file=sys.stderr)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                    "import memory; from pathlib import Path; memory.build_model(Path(sys.argv[2]))",
                    str(Path(__file__).parent), str(args.model_dir)], check=True)
    print(f"model: {args.model_dir} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    base = baseline_src(args.baseline, args.work) if args.baseline else None
    rows = []
    for stage in stages:
        if base is not None and args.only != "this":
            rows.append(measure(stage, args, base, "baseline"))
        if base is None or args.only != "baseline":
            rows.append(measure(stage, args, None, "this"))
            if args.mmap_variant:
                rows.append(measure(stage, args, None, "this+mmap"))
    print(f"load average at end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(table(rows, base is not None))
    if args.json:
        meta = {"argv": sys.argv[1:], "baseline": args.baseline, "target_gb": TARGET_GB}
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
