"""Random-direction controls of the behaviour stage: what any direction of the same size does.

Why a control per cell: adding a vector of a given norm to the residual stream, or projecting
a direction out of it, perturbs the model whatever the direction; part of a transfer or
ablation effect may be that perturbation rather than the behaviour direction. Each cell is
therefore repeated with ``random_draws`` random directions:

* transfer: the base model steered by ``‖strength · v[layer]‖ · r`` (``r`` a random unit
  vector), the same norm as the behaviour vector ``v`` of that cell at the chosen layer and
  strength, at the same positions;
* ablation: the adapter with a random unit direction per ablated layer projected out.

Directions are drawn from a normal distribution (uniform on the sphere once normalised) by a
generator seeded from the config seed and the cell's name, so a rerun draws the same ones and
resumes from the generation log. A cell's control value for one prompt is the mean over the
draws that answered it; the cell is then compared with its control paired over prompts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossling.behaviour.scoring import mean_of, paired_delta, summary
from crossling.io import sha256_json


def draw_setting(setting: str, draw: int) -> str:
    """The logged ``setting`` of random draw ``draw`` of a control cell."""
    return f"{setting}:draw={draw}"


def random_unit(size: int, *key: Any) -> Any:
    """A unit vector ``[size]`` (float32) drawn uniformly on the sphere, seeded by ``key``."""
    import torch

    seed = int(sha256_json(["behaviour-random-direction", *key])[:15], 16)
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(size, generator=g, dtype=torch.float64)
    return (v / v.norm()).float()


def random_like(vector: Any, *key: Any) -> Any:
    """A random direction with the norm of ``vector`` (``[d_model]``), seeded by ``key``."""
    return random_unit(int(vector.shape[-1]), *key) * float(vector.float().norm())


def draw_average(draws: list[Mapping[str, float | None]]) -> dict[str, float | None]:
    """Per prompt id, the mean over the draws that scored it (None when none did)."""
    ids = list(dict.fromkeys(i for d in draws for i in d))
    return {i: mean_of({str(k): d.get(i) for k, d in enumerate(draws)}) for i in ids}


def control_fields(cell: Mapping[str, float | None], draws: list[Mapping[str, float | None]],
                   seed: int, n_boot: int, metric: str | None = None) -> dict[str, Any]:
    """The ``control_*`` fields of a result entry (``metric``: the scorer, passed on to the
    interval helpers of :mod:`crossling.behaviour.scoring` when given).

    Returns:
        ``control_draws`` (number of draws), ``control_mean`` / ``control_ci_low`` /
        ``control_ci_high`` (the draw-averaged control over prompts), ``control_draw_means``
        (each draw's mean), ``control_delta`` / ``control_delta_ci_low`` /
        ``control_delta_ci_high`` / ``control_delta_p`` (cell − control, paired over
        prompts, with the sign-flip test's p-value).
    """
    avg = draw_average(draws)
    kw: dict[str, Any] = {} if metric is None else {"metric": metric}
    c = summary(avg, seed, n_boot, **kw)
    d = paired_delta(cell, avg, seed, n_boot, **kw)
    return {"control_draws": len(draws), "control_mean": c["mean"],
            "control_ci_low": c["ci_low"], "control_ci_high": c["ci_high"],
            "control_draw_means": [mean_of(x) for x in draws],
            "control_delta": d["mean"], "control_delta_ci_low": d["ci_low"],
            "control_delta_ci_high": d["ci_high"], "control_delta_p": d["p"]}
