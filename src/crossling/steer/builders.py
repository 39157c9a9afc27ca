"""Vector builders: turn paired activations of two languages into one direction per layer.

Why typed callables from small factories (as in steering-vectors' aggregators): a builder is
``(target, source) -> vector``, so adding one is a function, and its options are bound once
by its factory. ``target`` and ``source`` are paired row by row (row i of both is the same
item in the two languages).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crossling.registry import Registry

# (target [n, d_model], source [n, d_model]) -> vector [d_model]
Builder = Callable[[Any, Any], Any]

BUILDERS: Registry[Callable[[], Builder]] = Registry("vector builder")


@BUILDERS.register("mean_diff")
def mean_diff() -> Builder:
    """Difference of means: vector(A←B) = mean(A) − mean(B).

    Adding it to a B activation moves it, on average, exactly onto the A mean.
    """

    def build(target: Any, source: Any) -> Any:
        return target.mean(dim=0) - source.mean(dim=0)  # [d_model]

    return build


@BUILDERS.register("pca")
def pca() -> Builder:
    """First principal component of the paired differences (A_i − B_i), uncentred.

    Why uncentred: the shared offset of the differences is the language direction itself;
    centring would remove it and keep only the variation around it. The sign is chosen to
    agree with the mean difference and the length is the mean difference's projection onto
    the component, so strengths mean roughly the same as for ``mean_diff``.
    """

    def build(target: Any, source: Any) -> Any:
        import torch

        diffs = (target - source).double()  # [n, d_model]
        # right singular vectors of the (uncentred) differences
        _, _, vh = torch.linalg.svd(diffs, full_matrices=False)
        pc = vh[0]  # [d_model], unit length
        mean = diffs.mean(dim=0)
        proj = torch.dot(mean, pc)
        if proj < 0:
            pc, proj = -pc, -proj
        return (pc * proj).to(target.dtype)

    return build


def get_builder(name: str) -> Builder:
    """A builder by name (unknown names get the known ones and a suggestion)."""
    return BUILDERS.get(name)()
