"""Run the behaviour steps: vectors → transfer → ablation → geometry, resumably.

Why one entry point with a step list: ``crossling run`` does every step, the CLI one at a
time; each step resumes from the generation log and the saved vectors, so running
``transfer`` then ``ablate`` costs the same as running both together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossling.behaviour.ablate import run_ablation
from crossling.behaviour.config import BehaviourConfig
from crossling.behaviour.geometry import run_geometry
from crossling.behaviour.results import (
    AblationFile,
    BehaviourProtocol,
    ChosenForProtocol,
    GeometryFile,
    SelectionFile,
    TransferFile,
)
from crossling.behaviour.stage import Stage, open_stage
from crossling.behaviour.transfer import run_transfer
from crossling.behaviour.vectors import run_vectors
from crossling.errors import CrosslingError
from crossling.paths import BehaviourDir

STEPS = ("vectors", "transfer", "ablate", "geometry")


def run_behaviour(cfg: BehaviourConfig, steps: Sequence[str] = STEPS,
                  loaded: Any = None) -> BehaviourDir:
    """Run ``steps`` of the behaviour stage (vectors are always made or loaded first).

    Args:
        cfg: the stage config.
        steps: any of 'vectors', 'transfer', 'ablate', 'geometry'.
        loaded: an already-loaded base model (tests); else loaded when first needed.

    Returns:
        The BehaviourDir with vectors, transfer.json, ablation.json, geometry.json, figures.

    Raises:
        CrosslingError: an unknown step, or bad inputs (see ``open_stage``).
    """
    bad = [s for s in steps if s not in STEPS]
    if bad:
        raise CrosslingError(f"unknown behaviour step(s) {bad}; use {', '.join(STEPS)}.")
    from crossling.evaluate.scorers.defined import define_from_manifest

    define_from_manifest(cfg.data)  # a YAML task and its scorers, when the data dir has one
    stage: Stage = open_stage(cfg, loaded)
    vectors = run_vectors(stage)
    if "transfer" in steps:
        run_transfer(stage, vectors)
    if "ablate" in steps:
        run_ablation(stage, vectors)
    if "geometry" in steps or "vectors" in steps:
        run_geometry(stage, vectors)
    write_figures(stage)
    return stage.bdir


def write_figures(stage: Stage) -> None:
    """Transfer matrices and ablation bars from whatever results exist."""
    from crossling.behaviour.plots import plot_ablation, plot_behaviour_transfer

    bdir = stage.bdir
    if bdir.transfer.exists():
        entries = TransferFile.read(bdir.transfer).entries
        for a in dict.fromkeys(e.adapter for e in entries):
            plot_behaviour_transfer(entries, a, stage.langs, bdir.figure(f"transfer_{a}"))
    if bdir.ablation.exists():
        ablated = AblationFile.read(bdir.ablation).entries
        if ablated:
            plot_ablation(ablated, bdir.figure("ablation"))


def analysis_entries(bdir: BehaviourDir) -> dict[str, Any]:
    """The behaviour results as ``analysis.json`` sections (absent when not computed):
    ``behaviour_transfer`` (adapter × from × to), ``behaviour_ablation`` (adapter ×
    language), ``behaviour_geometry`` (the compact table) and ``behaviour_protocol`` (chosen
    settings, ids and what the intervals are over), typed as
    :class:`crossling.analysis.results.StudyAnalysis` declares them.

    Raises:
        CrosslingError: a result file that does not match (one line saying how to rebuild).
    """
    out: dict[str, Any] = {}
    protocol: dict[str, Any] = {}
    if bdir.transfer.exists():
        t = TransferFile.read(bdir.transfer)
        out["behaviour_transfer"] = t.entries
        protocol.update(transfer_interval=t.interval, skipped=t.skipped,
                        selection_ids=t.selection_ids, confirmation_ids=t.confirmation_ids,
                        transfer_control=t.control, vector_prompts=t.vector_prompts)
    if bdir.selection.exists():
        sel = SelectionFile.read(bdir.selection)
        protocol["chosen"] = {a: ChosenForProtocol(langs=v.langs, **(
            v.chosen.model_dump() if v.chosen else {})) for a, v in sel.adapters.items()}
        protocol.update(min_fidelity=sel.min_fidelity, max_kl=sel.max_kl,
                        selection=sel.selection)
    if bdir.ablation.exists():
        ab = AblationFile.read(bdir.ablation)
        out["behaviour_ablation"] = ab.entries
        protocol.update(ablation_interval=ab.interval, ablation_layers=ab.layers,
                        ablation_direction=ab.direction, ablation_control=ab.control)
    if bdir.geometry.exists():
        out["behaviour_geometry"] = GeometryFile.read(bdir.geometry).table
    if protocol:
        out["behaviour_protocol"] = BehaviourProtocol(**protocol)
    return out
