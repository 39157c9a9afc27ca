"""The report section "Where the behaviour lives", built from the stage's result files only.

Why a paragraph generated from the numbers: a reader should not have to decode two matrices
to learn whether the direction transfers; the paragraph states what the intervals support,
and, as plainly, what they do not (few prompts, one setting, a mean-difference direction).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossling.analysis.document import Document, Figure, Section, Table
from crossling.behaviour.results import (
    AblationFile,
    GeometryFile,
    GeometryRow,
    SelectionFile,
    TransferEntry,
    TransferFile,
)
from crossling.names import BASE_ADAPTER
from crossling.paths import BehaviourDir


def _n(v: Any, d: int = 1, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "N/A"
    return f"{v:+.{d}f}" if sign else f"{v:.{d}f}"


def _ci(m: Any, lo: Any, hi: Any, d: int = 1, sign: bool = False) -> str:
    if m is None:
        return "N/A"
    return f"{_n(m, d, sign)} [{_n(lo, d, sign)}, {_n(hi, d, sign)}]"


def _excludes_zero(lo: Any, hi: Any) -> int:
    """+1 / −1 when the interval lies above / below 0, else 0."""
    if lo is None or hi is None:
        return 0
    return 1 if lo > 0 else -1 if hi < 0 else 0


def selection_table(s: Section, sel: SelectionFile) -> None:
    """The chosen (layer, strength) per adapter, with what it scored in every language on the
    selection ids (pooled selection: each language steered by its own vector)."""
    m = sel.metric
    rows = []
    for a, info in sel.adapters.items():
        chosen = info.chosen
        for lang in info.langs:
            per = info.pick.per_lang.get(lang)
            base = per.baseline if per is not None else None
            b = next((r for r in info.table if chosen and r.lang == lang
                      and r.layer == chosen.layer and r.strength == chosen.strength), None)
            rows.append([a, lang, str(chosen.layer) if chosen else "none passed",
                         f"{chosen.strength:g}" if chosen else "–",
                         _ci(base.value(m), base.value(f"{m}_ci_low"),
                             base.value(f"{m}_ci_high")) if base else "–",
                         _ci(b.value(m), b.value(f"{m}_ci_low"), b.value(f"{m}_ci_high"))
                         if b else "–",
                         _n(b.value("lang_fidelity"), 2) if b else "–",
                         _n(b.value("coherence"), 2) if b else "–",
                         _n(b.kl, 3) if b else "–",
                         _n(info.adapter_kl.get(lang), 3)])
    s.add(Table(["adapter", "prompts", "layer", "strength", f"base {m}", f"steered {m}",
                 "lang fidelity", "coherent", "KL (nats)", "adapter's own KL"], rows,
                f"Choice on the {len(sel.selection_ids)} selection prompts, pooled over "
                f"languages (each language steered by its own vector): highest mean {m} over "
                f"the languages among settings that keep, in every language, language fidelity "
                f"≥ {sel.min_fidelity}, coherent share ≥ {sel.min_coherence} "
                f"(answers that are not repetition loops) and KL ≤ {sel.max_kl} (KL of the "
                "steered base model vs the base model at every position the vector is added "
                "to: held-out prompts and the base model's answers to them; the adapter's own "
                "KL is the scale of a full behaviour change); 95 % CI over selection prompts"))


def transfer_tables(s: Section, tr: TransferFile, langs: list[str], bdir: BehaviourDir) -> None:
    """Per adapter: the X × Y matrix (with base, LoRA and random-direction rows), the
    coherent shares, the differences from base and from the random direction."""
    for a in dict.fromkeys(e.adapter for e in tr.entries):
        mine = {(e.from_lang, e.to_lang): e for e in tr.entries if e.adapter == a}
        e0 = next(iter(mine.values()))
        ref = {y: next((e for (_, yy), e in mine.items() if yy == y), None) for y in langs}

        def grid(cell: Callable[[TransferEntry], str], label: str,
                 mine: dict[tuple[str, str], TransferEntry] = mine) -> list[list[str]]:
            """One row per vector language X, one column per prompt language Y."""
            return [[label.format(x), *[cell(mine[(x, y)]) if (x, y) in mine else "–"
                                        for y in langs]] for x in langs]

        rows = grid(lambda e: _ci(e.mean, e.ci_low, e.ci_high), "vector from {}")
        rows.append(["base (unsteered)", *[_ci(r.baseline_mean, r.baseline_ci_low,
                                               r.baseline_ci_high) if r else "–"
                                           for r in ref.values()]])
        rows.append([f"LoRA {a} (adapter)", *[_ci(r.lora_mean, r.lora_ci_low, r.lora_ci_high)
                                              if r else "–" for r in ref.values()]])
        rows += grid(lambda e: _ci(e.control_mean, e.control_ci_low, e.control_ci_high),
                     "random, norm of {}")
        s.add(Table(["", *langs], rows,
                    f"Adapter {a} (trained in {e0.adapter_lang}): {tr.metric} of the base model "
                    f"with the behaviour vector from the row's language added at layer "
                    f"{e0.layer}, strength {e0.strength:g}; columns = prompt language; "
                    "'random' rows: a random direction of the same norm instead (mean of "
                    f"{e0.control_draws} draws); "
                    "mean [95 % CI over confirmation prompts]"))
        coh = grid(lambda e: _n(e.coherence, 2), "from {}")
        coh.append([f"LoRA {a}", *[_n(r.lora_coherence, 2) if r else "–" for r in ref.values()]])
        s.add(Table(["coherent share", *langs], coh,
                    f"Adapter {a}: share of answers that are not repetition loops (a cell that "
                    "is high in the matrix above but low here is degenerate text, not the "
                    "behaviour)"))
        s.add(Table(["Δ vs base", *langs],
                    grid(lambda e: _ci(e.delta, e.delta_ci_low, e.delta_ci_high, sign=True),
                         "from {}"),
                    f"Adapter {a}: steered − unsteered base, paired over the same confirmation "
                    "prompts (95 % CI)"))
        s.add(Table(["Δ vs random direction", *langs],
                    grid(lambda e: _ci(e.control_delta, e.control_delta_ci_low,
                                       e.control_delta_ci_high, sign=True), "from {}"),
                    f"Adapter {a}: steered − the same steering with a random direction of the "
                    "same norm (mean over draws), paired over confirmation prompts (95 % CI): "
                    "what the behaviour direction adds beyond perturbing the residual stream"))
        fig = bdir.figure(f"transfer_{a}")
        if fig.exists():
            s.add(Figure(fig, f"Behaviour-transfer matrix of adapter {a} (rows: vector "
                              "language; base and LoRA rows for reference)"))
    for sk in tr.skipped:
        s.add(f"Adapter {sk.adapter}: no transfer matrix — {sk.reason}.")


def ablation_table(s: Section, ab: AblationFile, bdir: BehaviourDir) -> None:
    """One row per adapter × language: adapter, ablated, random-direction control, base and
    the side effects of the ablation."""
    rows = [[e.adapter, e.lang, e.direction_lang,
             _ci(e.mean, e.ci_low, e.ci_high),
             _ci(e.ablated_mean, e.ablated_ci_low, e.ablated_ci_high),
             _ci(e.delta, e.delta_ci_low, e.delta_ci_high, sign=True),
             _ci(e.control_mean, e.control_ci_low, e.control_ci_high),
             _ci(e.control_delta, e.control_delta_ci_low, e.control_delta_ci_high, sign=True),
             _n(e.baseline_mean), _n(e.removed_fraction, 2),
             f"{_n(e.coherence, 2)} → {_n(e.ablated_coherence, 2)}",
             f"{_n(e.lang_fidelity, 2)} → {_n(e.ablated_lang_fidelity, 2)}",
             f"{_n(e.garbage_rate, 2)} → {_n(e.ablated_garbage_rate, 2)}"]
            for e in ab.entries]
    layers = ab.layers
    where = (f"layers {layers[0]}–{layers[-1]}" if layers == list(range(layers[0],
                                                                          layers[-1] + 1))
             else f"layers {layers}")
    draws = ab.control.draws
    s.add(Table(["adapter", "prompts", "direction from", f"adapter {ab.metric}", "ablated",
                 "Δ (ablated − adapter)", "random dir. ablated", "Δ vs random", BASE_ADAPTER,
                 "share removed", "coherent share", "lang fidelity", "garbage"], rows,
                f"Directional ablation at {where}: the behaviour direction is projected out of "
                f"every position; 'random dir.': a random unit direction per layer projected "
                f"out instead (mean of {draws} draws), 'Δ vs random' = ablated − that control "
                "paired over prompts; coherent share, language fidelity and garbage rate "
                "(degenerate answers) as adapter → ablated; "
                f"{ab.interval}"))
    fig = bdir.figure("ablation")
    if fig.exists():
        s.add(Figure(fig, "Adapter, ablated adapter and base model per prompt language "
                          "(bars: mean, whiskers: 95 % CI over prompts)"))


def geometry_blocks(s: Section, geo: GeometryFile) -> None:
    """The compact geometry table and the cosine heatmaps."""
    def init(r: GeometryRow) -> str:
        v = r.identical_lora_a_init
        return "–" if v is None else "shared A init" if v else "independent init"

    rows = [[r.kind, r.what, _n(r.mean_cos, 2), _n(r.ceiling_mean, 2),
             str(r.peak_layer), _n(r.peak_cos, 2), _n(r.ceiling_at_peak, 2),
             init(r)] for r in geo.table]
    s.add(Table(["comparison", "what", "mean cosine", "noise ceiling", "peak layer",
                 "cosine at peak", "ceiling at peak", "LoRA init"], rows,
                "Geometry: cosines averaged over layers (behaviour vectors) or over modules × "
                "layers (LoRA ΔW); no intervals — one estimate per vector pair. Noise ceiling: "
                "the cosine two vectors of one true direction would show given their "
                "split-half reliability (√(R_a·R_b), Spearman–Brown); a raw ΔW cosine of "
                "adapters with a shared A init (same training seed) is inflated against "
                "independent inits — compare the init-independent output-subspace row"))
    for name, path in geo.figures.items():
        title = next((t for prefix, t in _FIG_TITLES if name.startswith(prefix)), name)
        s.add(Figure(Path(path), f"{title} ({name})"))


_FIG_TITLES = [
    ("cos_langs", "Cosine between behaviour vectors of one adapter measured in two languages"),
    ("cos_adapters", "Cosine between behaviour vectors of two adapters in the same language"),
    ("cos_lang_vectors", "Cosine between behaviour vectors and language vectors "
                         "(train ← prompt language)"),
    ("delta_w", "Cosine between LoRA weight updates of two adapters, per module and layer"),
    ("relative_norm", "Behaviour-vector norm relative to the residual norm, per layer"),
]


def _transfer_sentences(tr: TransferFile, min_coherence: float) -> list[str]:
    """Per adapter: the diagonal cell in words, then the off-diagonal cells against it."""
    said = []
    for a in dict.fromkeys(e.adapter for e in tr.entries):
        mine = [e for e in tr.entries if e.adapter == a]
        own = mine[0].adapter_lang
        diag = next((e for e in mine if e.from_lang == own == e.to_lang), None)
        if diag is not None:
            sig = _excludes_zero(diag.delta_ci_low, diag.delta_ci_high)
            verdict = {1: "raises", -1: "lowers", 0: "does not measurably change"}[sig]
            said.append(
                f"Adapter {a}'s behaviour vector from {own}, added to the base model at "
                f"layer {diag.layer} (strength {diag.strength:g}), {verdict} "
                f"{tr.metric} on {own} prompts: {_n(diag.mean)} vs "
                f"{_n(diag.baseline_mean)} unsteered (Δ "
                f"{_ci(diag.delta, diag.delta_ci_low, diag.delta_ci_high, sign=True)}"
                f"; the adapter itself reaches {_n(diag.lora_mean)}"
                + (f"; a random direction of the same norm reaches "
                   f"{_n(diag.control_mean)}, Δ vs random "
                   + _ci(diag.control_delta, diag.control_delta_ci_low,
                         diag.control_delta_ci_high, sign=True)
                   if diag.control_mean is not None else "") + ").")
        diag_d = [e.delta for e in mine if e.from_lang == e.to_lang and e.delta is not None]
        off = [(e, e.delta) for e in mine if e.from_lang != e.to_lang and e.delta is not None]
        if diag_d and off:
            up = [e for e, _ in off if _excludes_zero(e.delta_ci_low, e.delta_ci_high) == 1]
            loops = [e for e in up if (e.coherence or 0.0) < min_coherence]
            said.append(
                f"Across languages, vectors applied to prompts of another language shift "
                f"{tr.metric} by {_n(sum(d for _, d in off) / len(off), sign=True)}"
                f" on average against {_n(sum(diag_d) / len(diag_d), sign=True)} on the "
                f"diagonal; {len(up)} of {len(off)} off-diagonal cells have an interval "
                f"above 0" + (f", {len(loops)} of them with fewer than {min_coherence:.0%} "
                              "coherent answers (repetition loops, not the behaviour: "
                              + ", ".join(f"{e.from_lang}→{e.to_lang}" for e in loops)
                              + ")" if loops else "") + ".")
    return said


def _ablation_sentence(ab: AblationFile) -> str:
    """How many cells the ablation lowers, with and without the random-direction control."""
    down = [e for e in ab.entries if _excludes_zero(e.delta_ci_low, e.delta_ci_high) == -1]
    below_random = [e for e in ab.entries if _excludes_zero(
        e.control_delta_ci_low, e.control_delta_ci_high) == -1]
    return (
        f"Projecting the direction out of the adapter lowers the behaviour with an interval "
        f"below 0 in {len(down)} of {len(ab.entries)} adapter × language cells"
        + (" (" + ", ".join(f"{e.adapter} on {e.lang} {_n(e.delta, sign=True)}"
                            for e in down[:6]) + ")" if down else "")
        + (f", and below ablating a random direction in {len(below_random)} of them"
           if any(e.control_mean is not None for e in ab.entries) else "")
        + ".")


def summary_paragraph(tr: TransferFile | None, ab: AblationFile | None,
                      geo: GeometryFile | None, min_coherence: float = 0.8) -> str:
    """One paragraph: what the intervals support, and what they do not."""
    said: list[str] = []
    if tr and tr.entries:
        said += _transfer_sentences(tr, min_coherence)
    if ab and ab.entries:
        said.append(_ablation_sentence(ab))
    for r in geo.table if geo else []:
        if r.kind.startswith("behaviour · behaviour (languages)"):
            said.append(f"{r.what.capitalize()}'s vectors in different languages have "
                        f"mean cosine {_n(r.mean_cos, 2)} (peak {_n(r.peak_cos, 2)} "
                        f"at layer {r.peak_layer}"
                        + (f"; noise ceiling {_n(r.ceiling_at_peak, 2)} there"
                           if r.ceiling_at_peak is not None else "") + ").")
    if not said:
        return "The behaviour stage has no results yet."
    n = len(tr.confirmation_ids) if tr else None
    caveat = (" What this does not show: the intervals are over "
              + (f"{n} confirmation prompts per language" if n else "prompts")
              + " of one training seed and one chosen (layer, strength), so small shifts are "
              "within noise; a mean-difference direction that reproduces or removes the "
              "behaviour is evidence that the adapter writes along it, not that it is the only "
              "mechanism; steering can also change the answer's language (lang_fidelity in "
              "transfer.json); and an ablated model whose coherent share drops has been "
              "damaged, so its lower score is not only the behaviour going away.")
    return " ".join(said) + caveat


def behaviour_section(doc: Document, bdir: BehaviourDir, langs: list[str]) -> None:
    """Append "Where the behaviour lives" to ``doc`` from the files in ``bdir``.

    Raises:
        CrosslingError: a result file that does not match (one line saying how to rebuild).
    """
    s = doc.section("Where the behaviour lives")
    tr = TransferFile.read(bdir.transfer) if bdir.transfer.exists() else None
    ab = AblationFile.read(bdir.ablation) if bdir.ablation.exists() else None
    geo = GeometryFile.read(bdir.geometry) if bdir.geometry.exists() else None
    s.add("Behaviour vectors are the mean residual difference (adapter − base model) of each "
          "decoder layer over parallel prompts that are neither eval, KL nor training prompts, "
          "one per adapter, language and layer. The layer and strength are chosen per adapter "
          "on selection prompts pooled over every language (each language steered by its own "
          "vector; the setting must pass the language-fidelity, coherence and KL guards in "
          "every language) and every cell is reported on the disjoint confirmation prompts, "
          "beside a control that steers or ablates random directions of the same size.")
    sel = SelectionFile.read(bdir.selection) if bdir.selection.exists() else None
    s.add(summary_paragraph(tr, ab, geo, sel.min_coherence if sel else 0.8))
    if sel:
        selection_table(s, sel)
    if tr:
        transfer_tables(s, tr, langs, bdir)
    if ab:
        ablation_table(s, ab, bdir)
    if geo:
        geometry_blocks(s, geo)
