"""Training rows: read a data dir, fill ``responses: self`` targets, tokenize for SFT.

Why ``responses: self``: for the caps task the target should differ from what the base model
would say *only* in letter case, so the adapter learns capitalisation rather than new content
(or translation). The base model's own greedy answers are generated once before training,
cached in ``TrainDir.self_responses`` (an append-only log, so a killed run keeps what it
generated) and uppercased with ``str.upper``. They go through the same generation backend
as the evaluation (length-sorted batches, packed prefill, static cache on CUDA, the same
stop rules) after the same start-up canary, so a self-answer is exactly what ``crossling
eval`` would have generated for that prompt.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.io import JsonlAppender, read_jsonl, sha256_file, sha256_json
from crossling.models.chat import build_example
from crossling.paths import DataDir

log = logging.getLogger(__name__)



def load_train_rows(data_dir: Path, lang: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate a data dir and read one language's training rows.

    Args:
        data_dir: folder from ``crossling data build``.
        lang: language code.

    Returns:
        (manifest, rows); rows are ``{"id", "lang", "prompt", "target"}`` (target may be None).

    Raises:
        CrosslingError: not a crossling data dir, or no training rows for ``lang``.
    """
    from crossling.data import load_data_dir

    manifest = load_data_dir(data_dir)
    path = DataDir(Path(data_dir)).train_file(lang)
    rows = read_jsonl(path)
    if not rows:
        have = ", ".join(manifest.get("train_langs", [])) or "none"
        raise CrosslingError(
            f"data dir {data_dir} has no training rows for language '{lang}' (training "
            f"languages: {have}); pick one of those or rebuild with data.train_langs "
            f"including '{lang}'."
        )
    for i, r in enumerate(rows):
        if not isinstance(r.get("prompt"), str) or "target" not in r:
            raise CrosslingError(
                f"{path} row {i + 1} lacks 'prompt' or 'target'; rebuild it with "
                "'crossling data build'."
            )
    return manifest, rows


def data_hash(data_dir: Path) -> str:
    """Content hash of the data dir (its manifest lists the hashes of all its files)."""
    return sha256_file(DataDir(Path(data_dir)).manifest)


def responses_mode(manifest: dict[str, Any]) -> str:
    return str(manifest.get("responses") or manifest.get("config", {}).get("responses") or "source")


def _self_key(row: dict[str, Any], spec: str, system_prompt: str | None, max_new: int) -> str:
    return sha256_json([row["prompt"], spec, system_prompt, max_new])[:16]


def generate_self_responses(
    loaded: Any,
    rows: list[dict[str, Any]],
    cache: Path,
    max_new_tokens: int,
    batch_size: int | str,
    progress: bool = False,
) -> dict[str, str]:
    """Greedy base-model answers to ``rows``' prompts, generated once and cached.

    Args:
        loaded: the base ``LoadedModel`` (no adapter yet).
        rows: training rows (``id``, ``prompt``).
        cache: JSONL cache file; rows already there (same prompt, model, system prompt and
            length limit) are not generated again, so a killed run resumes here too.
        max_new_tokens: longest answer.
        batch_size: prompts per batch of the generation backend, or ``"auto"``.
        progress: show a progress bar.

    Returns:
        ``{row id: answer text}``.

    Raises:
        CrosslingError: the backend's start-up canary failed (nothing is generated).
    """
    from crossling.evaluate.backends.base import GenerationConfig
    from crossling.evaluate.backends.hf import HFBackend, verify_decoding

    system = loaded.config.system_prompt
    keys = {r["id"]: _self_key(r, loaded.spec, system, max_new_tokens) for r in rows}
    done = {
        c["id"]: c["response"]
        for c in read_jsonl(cache)
        if c.get("id") in keys and c.get("key") == keys[c["id"]]
    }
    todo = [r for r in rows if r["id"] not in done]
    if done:
        log.info("responses: self — %d of %d answers from the cache %s", len(done), len(rows),
                 cache)
    if not todo:
        return done
    log.info("responses: self — generating %d base-model answers", len(todo))
    from crossling.logs import ProgressLine, interactive

    cfg = GenerationConfig(max_new_tokens=max_new_tokens, batch_size=batch_size)  # greedy
    backend = HFBackend(loaded)
    verify_decoding(backend, cfg)
    bar = _bar(progress and interactive(), len(todo), "self-responses")
    line = ProgressLine("self-responses", len(todo), enabled=progress and bar is None)
    with JsonlAppender(cache) as out:

        def write(i: int, g: Any) -> None:  # each batch is logged as soon as it is done
            text = g.response.strip()
            done[todo[i]["id"]] = text
            out.write({"id": todo[i]["id"], "key": keys[todo[i]["id"]], "response": text})
            if bar is not None:
                bar[0].update(bar[1], advance=1)
            line.update(1)

        backend.generate([str(r["prompt"]) for r in todo], cfg, on_result=write)
    if bar is not None:
        bar[0].stop()
    return done


def _bar(show: bool, total: int, label: str) -> Any:
    if not show:
        return None
    from rich.progress import Progress

    p = Progress(transient=True)
    p.start()
    return p, p.add_task(label, total=total)


def fill_self_targets(
    rows: list[dict[str, Any]], answers: dict[str, str], task: str,
    system_prompt: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rows with ``target`` = the task's transform of the self answer (caps: uppercased).

    Rows whose answer is degenerate (empty, looping, stuttering, echoing the prompt, made of
    invented words: the rule of ``crossling.analysis.quality.degenerate_reason``) are dropped: a small base model's
    greedy loops would otherwise become training targets, and the adapter would learn them.

    Returns:
        The kept rows, and the number of dropped rows per reason (logged; the trainer puts
        it in the adapter's manifest).
    """
    import random

    from crossling.analysis.quality import degenerate_reason
    from crossling.tasks import get_task

    transform = get_task(task).self_target
    out: list[dict[str, Any]] = []
    dropped: dict[str, int] = {}
    for r in rows:
        answer = answers.get(r["id"], "")
        reason = degenerate_reason(answer, str(r.get("prompt", "")), system_prompt,
                                   str(r.get("lang")) if r.get("lang") else None)
        if reason is not None:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        rng = random.Random(f"self:{r['id']}:{r.get('lang')}")
        out.append({**r, "target": transform(answer, str(r.get("lang")), rng)})
    if dropped:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items()))
        log.warning("responses: self — dropped %d of %d base-model answers as degenerate (%s)",
                    sum(dropped.values()), len(rows), reasons)
        if not out:
            from crossling.errors import CrosslingError

            raise CrosslingError(
                f"responses: self — all {len(rows)} base-model answers are degenerate "
                f"({reasons}), so there is nothing to train on; use a stronger base model, "
                "more train.self_response_max_new_tokens, or responses: source."
            )
    return out, dropped


def tokenize_rows(
    tokenizer: Any, rows: list[dict[str, Any]], system_prompt: str | None, max_length: int
) -> list[dict[str, list[int]]]:
    """SFT examples for ``rows``; answers longer than ``max_length`` tokens are cut.

    Raises:
        CrosslingError: a row without a target, or no row keeps any answer token.
    """
    examples: list[dict[str, list[int]]] = []
    cut = dropped = 0
    for r in rows:
        if not r.get("target"):
            raise CrosslingError(
                f"training row {r.get('id')} has no target; if the data was built with "
                "responses: self, train from that data dir unchanged (the trainer fills them)."
            )
        ex = build_example(tokenizer, r["prompt"], r["target"], system_prompt)
        if len(ex["input_ids"]) > max_length:
            ex = {k: v[:max_length] for k, v in ex.items()}
            cut += 1
            if all(lab == -100 for lab in ex["labels"][1:]):
                dropped += 1
                continue
        examples.append(ex)
    if cut:
        log.warning("%d rows longer than max_length=%d were cut (%d dropped: prompt alone too "
                    "long)", cut, max_length, dropped)
    if not examples:
        raise CrosslingError(
            f"no training row fits in train.max_length={max_length} tokens; raise max_length."
        )
    return examples
