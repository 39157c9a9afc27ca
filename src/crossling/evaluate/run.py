"""``run_eval``: generate for every (adapter, language, prompt), score, summarize, plot.

Why this order and these files: generation is the expensive part and is logged row by row
to ``generations.jsonl``; a crash or Ctrl-C loses at most one batch and a rerun generates
only the missing rows. Scoring reads that log and appends to ``scores.jsonl`` (again
resumable; a judge that fails leaves rows unscored, never 0). Everything else (summary,
report, io pairs, judge agreement, plots) is rebuilt from the two logs each run.

All inputs are checked before the model is loaded: data folder and languages, scorer names,
the judge's API key, adapter folders and their base model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crossling.analysis.quality import BEHAVING_COHERENT
from crossling.analysis.stats import summarize
from crossling.config_marks import results_dump
from crossling.errors import CrosslingError
from crossling.evaluate.config import EvalConfig
from crossling.evaluate.records import (
    BASE_ADAPTER,
    NO_STEER,
    GenerationRow,
    ScoreRow,
    gen_key,
    read_rows,
)
from crossling.evaluate.report import (
    group_values,
    io_pairs,
    judge_agreement,
    summary_csv,
    text_report,
)
from crossling.evaluate.results import EvalSummary
from crossling.evaluate.scorers.base import (
    SCORERS,
    Scorer,
    ScorerContext,
    with_quality_scorers,
)
from crossling.evaluate.scoring import score_rows
from crossling.io import (
    JsonlAppender,
    atomic_write_json,
    atomic_write_text,
    read_json,
    read_jsonl,
    sha256_json,
)
from crossling.languages import get_language
from crossling.paths import DataDir, EvalDir

log = logging.getLogger(__name__)


def load_eval_rows(data: DataDir, langs: list[str] | None, limit: int | None) -> list[dict[str, Any]]:
    """Held-out eval rows (``eval.jsonl`` plus ``eval_harmless.jsonl`` when present).

    Args:
        data: the data folder.
        langs: languages to keep (None: all in the data).
        limit: at most this many rows per (language, kind), in file order.

    Raises:
        CrosslingError: no eval file, or a requested language that the data lacks.
    """
    if not data.eval_file.exists():
        raise CrosslingError(
            f"{data.eval_file} not found; pass a folder written by `crossling data build` "
            "(--data)."
        )
    rows = read_jsonl(data.eval_file) + read_jsonl(data.eval_harmless_file)
    for r in rows:
        r.setdefault("kind", "task")
    present = list(dict.fromkeys(str(r["lang"]) for r in rows))
    if langs is None:
        langs = present
    missing = [lang for lang in langs if lang not in present]
    if missing:
        raise CrosslingError(
            f"language(s) {', '.join(missing)} not in the eval data {data.root} (it has "
            f"{', '.join(present)}); drop them from --langs or rebuild the data with them."
        )
    counts: dict[tuple[str, str], int] = {}
    out = []
    for r in rows:
        key = (str(r["lang"]), str(r["kind"]))
        if r["lang"] not in langs or (limit is not None and counts.get(key, 0) >= limit):
            continue
        counts[key] = counts.get(key, 0) + 1
        out.append(r)
    return out


def resolve_adapter_dir(path: str | Path) -> Path:
    """Accept the adapter folder itself or a training folder that holds ``adapter/``."""
    p = Path(path).expanduser()
    if not (p / "adapter_config.json").exists() and (p / "adapter").is_dir():
        return p / "adapter"
    return p


def check_adapters(adapters: dict[str, str], spec: str) -> dict[str, Path]:
    """Resolve adapter folders and refuse missing ones or ones trained on another base model.

    Raises:
        CrosslingError: reserved name, missing folder, or a different base model.
    """
    from crossling.models.adapters import check_adapter_base

    out: dict[str, Path] = {}
    for name, path in adapters.items():
        if name == BASE_ADAPTER:
            raise CrosslingError(
                f"adapter name '{BASE_ADAPTER}' is reserved for the base model (the control); "
                "rename the adapter."
            )
        d = resolve_adapter_dir(path)
        check_adapter_base(d, spec)
        out[name] = d
    return out


def build_scorers(names: list[str], ctx: ScorerContext) -> list[Scorer]:
    """Build scorers by name (unknown names get a suggestion; the judge checks its key)."""
    for name in names:
        SCORERS.get(name)
    return [SCORERS.get(name)(ctx) for name in names]


class BaseModel:
    """The base model, loaded at most once per run and only when something needs it.

    Generation loads it (the HF backend) and hands it over with :meth:`adopt`; the
    ``fluency`` scorer calls the provider, so rescoring old generations loads it only then.
    """

    def __init__(self, model_cfg: Any) -> None:
        self.model_cfg = model_cfg
        self.loaded: Any = None

    def adopt(self, loaded: Any) -> None:
        self.loaded = loaded

    def __call__(self) -> Any:
        if self.loaded is None:
            from crossling.models.loading import load_model

            self.loaded = load_model(self.model_cfg)
        return self.loaded


def _fingerprint(cfg: EvalConfig, data: DataDir) -> str:
    """What makes two generation logs comparable: base model, decoding, data."""
    data_hash = read_json(data.manifest).get("hashes") if data.manifest.exists() else None
    return sha256_json({
        "model": results_dump(cfg.model),
        "generation": results_dump(cfg.generation),
        "backend": cfg.backend,
        "data": data_hash,
    })


def _check_inputs(cfg: EvalConfig) -> dict[str, Path]:
    """Everything that can be checked before a model is loaded: the backend's name, the
    trackers, the model and the adapters (of this base model). Returns the adapters."""
    from crossling.evaluate.backends import get_backend
    from crossling.models.loading import check_model, model_spec
    from crossling.tracking import require_trackers

    get_backend(cfg.backend)  # unknown backend name → suggestion, before any work
    require_trackers(cfg.report_to)
    check_model(cfg.model)
    adapters = check_adapters(cfg.adapters, model_spec(cfg.model))
    if not cfg.include_base and not adapters:
        raise CrosslingError("nothing to evaluate: include_base is false and no adapters given.")
    return adapters


def _check_fingerprint(cfg: EvalConfig, data: DataDir, out: EvalDir) -> str:
    """This config's fingerprint; refuses an output folder made with another one."""
    fp = _fingerprint(cfg, data)
    if out.manifest.exists():
        old = read_json(out.manifest).get("fingerprint")
        if old is not None and old != fp:
            raise CrosslingError(
                f"{out.root} holds generations made with another model, decoding config or data; "
                "pass a new --out (or delete that folder) to evaluate with these settings."
            )
    return fp


def _wanted_generations(cfg: EvalConfig, out: EvalDir, rows: list[dict[str, Any]],
                        adapters: dict[str, Path]) -> list[dict[str, Any]]:
    """The logged, unsteered generations of this eval's models and rows."""
    names = ({BASE_ADAPTER} if cfg.include_base else set()) | set(adapters)
    wanted = {(str(r["lang"]), str(r["kind"]), str(r["id"])) for r in rows}
    return [g.dump() for g in read_rows(out.generations, GenerationRow)
            if g.adapter in names and g.steer == NO_STEER and (g.lang, g.kind, g.id) in wanted]


@contextmanager
def _progress() -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from crossling.logs import interactive

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), transient=False, disable=not interactive(),
    ) as progress:
        yield progress


def generate_missing(
    cfg: EvalConfig,
    rows: list[dict[str, Any]],
    adapters: dict[str, Path],
    out: EvalDir,
    base_model: BaseModel | None = None,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Generate every (adapter, row) pair not yet in ``generations.jsonl``.

    Args:
        base_model: receives the backend's loaded model (HF), so scoring reuses it.
        on_ready: called once the model is loaded (or when nothing is left to generate),
            before anything is written: a model that fails to load leaves no files.

    Returns:
        Number of rows generated now.
    """
    names = ([BASE_ADAPTER] if cfg.include_base else []) + list(adapters)
    done = {r.key() for r in read_rows(out.generations, GenerationRow)}

    def key(adapter: str, r: dict[str, Any]) -> tuple[str, ...]:
        return gen_key({**r, "adapter": adapter, "steer": NO_STEER})

    todo = {a: [r for r in rows if key(a, r) not in done] for a in names}
    if not any(todo.values()):
        if on_ready is not None:
            on_ready()
        return 0
    from crossling.evaluate.backends import get_backend

    # the run's decoding settings: the HF backend's start-up canary checks that mode
    backend = get_backend(cfg.backend)(cfg.model, adapters or None, generation=cfg.generation)
    if base_model is not None and hasattr(backend, "loaded"):
        base_model.adopt(backend.loaded)
    if on_ready is not None:
        on_ready()
    langs = list(dict.fromkeys(str(r["lang"]) for r in rows))
    made = 0
    from crossling.logs import ProgressLine, interactive

    line = ProgressLine("eval generate", sum(len(v) for v in todo.values()),
                        enabled=not interactive())
    with JsonlAppender(out.generations) as log_out, _progress() as progress:
        for adapter in names:
            if not todo[adapter]:
                continue
            backend.set_adapter(None if adapter == BASE_ADAPTER else adapter)
            # every language of one adapter in one call: batches fill up (a backend sorts by
            # length across languages), which is what makes generation fast
            batch = todo[adapter]
            task = progress.add_task(f"{adapter} → {', '.join(langs)}", total=len(batch))

            def write(i: int, gen: Any, batch: list[dict[str, Any]] = batch,
                      adapter: str = adapter, task: Any = task) -> None:
                r = batch[i]
                log_out.write(GenerationRow(
                    adapter=adapter, lang=r["lang"], kind=r["kind"], id=r["id"],
                    steer=NO_STEER, prompt=r["prompt"], response=gen.response,
                    prompt_tokens=gen.prompt_tokens, new_tokens=gen.new_tokens,
                    stopped=gen.stopped, reference=r.get("reference"),
                ).dump())
                progress.advance(task)
                line.update()

            backend.generate([str(r["prompt"]) for r in batch], cfg.generation, on_result=write)
            made += len(batch)
    return made


def run_eval(cfg: EvalConfig) -> EvalDir:
    """Evaluate the base model and every adapter on every eval language.

    Args:
        cfg: the eval config.

    Returns:
        The output folder; ``generations.jsonl``, ``scores.jsonl``, ``summary.csv/json``,
        ``report.txt``, ``io_pairs.json``, ``judge_agreement.json`` (two refusal judges) and
        ``plots/`` are in it.

    Raises:
        CrosslingError: bad input (checked before loading the model), or a judge that left
            rows unscored (after everything else was written; rerun to finish them).
    """
    from crossling.evaluate.scorers.defined import define_from_manifest

    data = DataDir(Path(cfg.data).expanduser())
    task = define_from_manifest(data.root)  # a YAML task's scorers, when it has one
    out = EvalDir(Path(cfg.out).expanduser())
    langs = [get_language(x).code for x in cfg.langs] if cfg.langs else None
    rows = load_eval_rows(data, langs, cfg.limit)
    langs = list(dict.fromkeys(str(r["lang"]) for r in rows))
    base_model = BaseModel(cfg.model)
    from crossling.data.build import candidate_langs

    ctx = ScorerContext(langs=candidate_langs(data.root, langs), judge=cfg.judge,
                        system_prompt=cfg.model.system_prompt,
                        base_model=base_model, task=task)
    # with the task known, every answer also gets the second axis (behaving and coherent)
    names = with_quality_scorers(cfg.scorers) + ([BEHAVING_COHERENT] if task else [])
    scorers = build_scorers(list(dict.fromkeys(names)), ctx)
    adapters = _check_inputs(cfg)
    manifest = {
        "kind": "crossling-eval", "fingerprint": _check_fingerprint(cfg, data, out),
        "config": cfg.model_dump(mode="json"),
        "adapters": {k: str(v) for k, v in adapters.items()}, "langs": langs,
    }

    def start() -> None:  # the output folder appears only once the model has loaded
        out.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out.manifest, manifest)

    made = generate_missing(cfg, rows, adapters, out, base_model, on_ready=start)
    log.info("generated %d new rows", made)

    gens = _wanted_generations(cfg, out, rows, adapters)
    report = score_rows(gens, scorers, out.scores)
    gen_keys = {gen_key(g) for g in gens}
    scorer_names = {s.name for s in scorers}
    scores = [s.dump() for s in read_rows(out.scores, ScoreRow)
              if s.key() in gen_keys and s.scorer in scorer_names]
    write_outputs(cfg, out, gens, scores)
    if cfg.report_to:
        track_summary(cfg, out)
    usage = {s.name: s.usage for s in scorers if hasattr(s, "usage")}
    atomic_write_json(out.manifest, {**manifest, "generated_now": made,
                                     "scoring": report.__dict__, "judge_usage": usage})
    failed = {k: v for k, v in report.failed.items() if v}
    if failed:
        first = next(iter(failed))
        raise CrosslingError(
            f"{failed[first]} row(s) left unscored by {first} ({report.errors.get(first, '')}) "
            f"— everything else is written to {out.root}; rerun to score them."
        )
    return out


def write_outputs(
    cfg: EvalConfig, out: EvalDir, gens: list[dict[str, Any]], scores: list[dict[str, Any]]
) -> None:
    """Summary CSV/JSON, text report, io pairs, judge agreement and plots from the logs."""
    from crossling.evaluate.scorers import rate_scorers, score_bounds

    summary = summarize(scores, seed=cfg.seed, n_boot=cfg.n_boot, rates=rate_scorers(),
                        bounds=score_bounds())
    atomic_write_text(out.summary_csv, summary_csv(summary))
    EvalSummary.model_validate(summary).write(out.summary_json)
    title = f"crossling eval: model {cfg.model.name}, data {cfg.data}"
    atomic_write_text(out.report_txt, text_report(summary, scores, title))
    atomic_write_json(out.io_pairs, io_pairs(gens, scores))
    agreement = judge_agreement(scores)
    if agreement:
        atomic_write_json(out.agreement, agreement)
    if cfg.plots and summary:
        write_plots(out, summary, scores)


def track_summary(cfg: EvalConfig, out: EvalDir) -> None:
    """Send the summary to the trackers in ``report_to``: each cell's mean as a metric
    ``eval/<scorer>/<kind>/<adapter>/<lang>`` and the whole summary as a table."""
    from crossling.tracking import Trackers

    summary = EvalSummary.read(out.summary_json)
    root = Path(cfg.tracking_dir) if cfg.tracking_dir else out.tracking
    with Trackers(cfg.report_to, root, f"eval-{out.root.name}") as t:
        t.log_params(cfg.model_dump(mode="json"))
        t.log_metrics({f"eval/{c.scorer}/{c.kind}/{c.adapter}/{c.lang}": c.mean
                       for c in summary.root})
        t.log_table("eval_summary", summary.to_json())


def write_plots(out: EvalDir, summary: list[dict[str, Any]], scores: list[dict[str, Any]]) -> None:
    """Per-adapter bar+box plots per (scorer, kind); transfer heatmaps when several adapters."""
    from crossling.analysis.plots import plot_adapter, plot_transfer_heatmap

    raw = group_values(scores)
    adapters = list(dict.fromkeys(r["adapter"] for r in summary))
    combos = list(dict.fromkeys((r["scorer"], r["kind"]) for r in summary))
    for scorer, kind in combos:
        label = scorer if kind == "task" else f"{scorer}_{kind}"
        for adapter in adapters:
            values = {
                r["lang"]: raw.get((adapter, r["lang"], kind, NO_STEER, scorer), [])
                for r in summary if r["adapter"] == adapter and r["scorer"] == scorer
                and r["kind"] == kind
            }
            if values:
                plot_adapter(summary, values, out.adapter_plot(adapter, label),
                             adapter=adapter, scorer=scorer, kind=kind)
        if len(adapters) > 1:
            plot_transfer_heatmap(summary, out.heatmap(label), scorer=scorer, kind=kind,
                                  adapters=adapters)
