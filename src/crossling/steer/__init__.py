"""Steering: language vectors, hooks that add them under batching and KV cache, sweeps."""

from crossling.steer.apply import SteerState, add_to_layers, check_layers, steer, steering_deltas
from crossling.steer.build import compute_vectors, run_vectors
from crossling.steer.builders import BUILDERS, Builder, get_builder, mean_diff, pca
from crossling.steer.config import SweepConfig, VectorsConfig
from crossling.steer.corpus import aligned_ids, load_parallel
from crossling.steer.diagnostics import vector_diagnostics, write_diagnostics
from crossling.steer.kl import kl_all_positions, kl_logprobs, mean_kl
from crossling.steer.record import Recording, record_activations, render_prompts
from crossling.steer.select import pick_best, score_table, steer_key
from crossling.steer.sweep import run_sweep
from crossling.steer.vector import SteeringVectors

__all__ = [
    "BUILDERS",
    "Builder",
    "Recording",
    "SteerState",
    "SteeringVectors",
    "SweepConfig",
    "VectorsConfig",
    "add_to_layers",
    "aligned_ids",
    "check_layers",
    "compute_vectors",
    "get_builder",
    "kl_all_positions",
    "kl_logprobs",
    "load_parallel",
    "mean_diff",
    "mean_kl",
    "pca",
    "pick_best",
    "record_activations",
    "render_prompts",
    "run_sweep",
    "run_vectors",
    "score_table",
    "steer",
    "steer_key",
    "steering_deltas",
    "vector_diagnostics",
    "write_diagnostics",
]
