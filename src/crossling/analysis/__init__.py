"""Statistics and plots over evaluation scores."""

from crossling.analysis.plots import plot_adapter, plot_transfer_heatmap
from crossling.analysis.stats import bootstrap_ci, cohens_kappa, describe, summarize

__all__ = [
    "bootstrap_ci",
    "cohens_kappa",
    "describe",
    "plot_adapter",
    "plot_transfer_heatmap",
    "summarize",
]
