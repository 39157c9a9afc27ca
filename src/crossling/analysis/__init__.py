"""Statistics and plots over evaluation scores."""

from crossling.analysis.plots import plot_adapter, plot_transfer_heatmap
from crossling.analysis.stats import cohens_kappa, describe, estimate, summarize

__all__ = [
    "cohens_kappa",
    "describe",
    "estimate",
    "plot_adapter",
    "plot_transfer_heatmap",
    "summarize",
]
