"""Where does the behaviour live? Behaviour vectors (adapter − base residual), their transfer
across languages on the base model, directional ablation, and adapter geometry."""

from crossling.behaviour.ablate import project_out, run_ablation, unit_directions
from crossling.behaviour.config import BehaviourConfig, BehaviourSettings, StudyBehaviourConfig
from crossling.behaviour.geometry import cosine_per_layer, delta_w_cosines, run_geometry
from crossling.behaviour.run import STEPS, run_behaviour
from crossling.behaviour.transfer import run_selection, run_transfer
from crossling.behaviour.vectors import BehaviourVectors, compute_behaviour_vectors, run_vectors

__all__ = [
    "STEPS",
    "BehaviourConfig",
    "BehaviourSettings",
    "BehaviourVectors",
    "StudyBehaviourConfig",
    "compute_behaviour_vectors",
    "cosine_per_layer",
    "delta_w_cosines",
    "project_out",
    "run_ablation",
    "run_behaviour",
    "run_geometry",
    "run_selection",
    "run_transfer",
    "run_vectors",
    "unit_directions",
]
