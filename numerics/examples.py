"""Deterministic example networks for docs, benchmarks and regression tests.

>>> case = contracting_single_head(n=4, d=3, depth=2)
>>> case.X.shape, case.net.depth
((4, 3), 2)
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .network import Attention, Head, Layer, Network
from .strategies import Case

__all__ = ["contracting_single_head"]


def contracting_single_head(n: int = 8, d: int = 8, depth: int = 4, seed: int = 0,
                            eps: str = "0.01", weight_scale: float = 0.3) -> Case:
    """A pure single-head SAN whose Theorem E4 bound contracts (``sqrt(a) B_0 < 1``): input
    ``1 v^T + eps N`` (exact), weights uniform in ``[-weight_scale, weight_scale]`` (doubles),
    one fresh head per layer. The residual then falls doubly exponentially, so depth ``L``
    needs about ``3^L`` times the digits of ``eps``: the case that float64 cannot check."""
    rng = np.random.default_rng(seed)
    v, N = rng.uniform(-1, 1, size=(1, d)), rng.uniform(-1, 1, size=(n, d))
    e = Fraction(eps)
    X = np.array([[Fraction(v[0, j]) + e * Fraction(N[i, j]) for j in range(d)] for i in range(n)], dtype=object)
    u = lambda *shape: rng.uniform(-weight_scale, weight_scale, size=shape)  # noqa: E731
    layers = tuple(Layer(Attention((Head(u(d, d), u(d, d), u(d, d)),))) for _ in range(depth))
    return Case(X, Network(d, layers))
