"""Deterministic example networks for docs, benchmarks and regression tests.

Near rank collapse every instance here is ``X = 1 v^T + eps N`` (exact) fed through layers whose
Theorem E4 bound contracts, ``sqrt(a) B_0 < 1`` with ``a = lam 4 Gamma beta H / sqrt(d_qk)``.
The residual then falls doubly exponentially: depth ``L`` has about ``3^L`` times the digits
of the first layer, the case float64 cannot check. Random weights shrink the actual residual
far faster than the a-priori bound (10^-1.7 per layer in the constant ``a``); weights near the
identity keep the two closer (10^-0.8 to 10^-1). ``check_network`` certifies all of them at 128
bits, because its forward pass keeps the residual apart (:class:`rankcollapse.numerics.network.Split`); a
whole-matrix pass would need the digits of the smallest bound.

>>> case = contracting_single_head(n=4, d=3, depth=2)
>>> case.X.shape, case.net.depth
((4, 3), 2)
>>> deep_single_head(depth=3).X.shape, multi_head(depth=2).net.layers[0].attention.heads[0].W_O.shape
((8, 8), (8, 8))
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .network import MLP, Attention, Head, Layer, Network
from .strategies import Case

__all__ = ["contracting_single_head", "deep_single_head", "multi_head", "attention_mlp"]


def _near_rank_one(rng, n: int, d: int, eps: str) -> np.ndarray:
    """``1 v^T + eps N`` exactly (Fractions), v and N uniform in [-1, 1]."""
    v, N = rng.uniform(-1, 1, size=(1, d)), rng.uniform(-1, 1, size=(n, d))
    e = Fraction(eps)
    return np.array([[Fraction(v[0, j]) + e * Fraction(N[i, j]) for j in range(d)] for i in range(n)], dtype=object)


def _near_identity(rng, d: int, spread: float, scale: float = 1.0) -> np.ndarray:
    """``scale (I + U)`` with U uniform in [-spread, spread] (doubles)."""
    return scale * (np.eye(d) + rng.uniform(-spread, spread, size=(d, d)))


def contracting_single_head(n: int = 8, d: int = 8, depth: int = 4, seed: int = 0,
                            eps: str = "0.01", weight_scale: float = 0.3) -> Case:
    """A pure single-head SAN whose Theorem E4 bound contracts (``sqrt(a) B_0`` about 0.07 with
    the defaults): input ``1 v^T + eps N``, weights uniform in ``[-weight_scale, weight_scale]``
    (doubles), one fresh head per layer. At depth 8 the residual is about 10^-18164."""
    rng = np.random.default_rng(seed)
    X = _near_rank_one(rng, n, d, eps)
    u = lambda *shape: rng.uniform(-weight_scale, weight_scale, size=shape)  # noqa: E731
    layers = tuple(Layer(Attention((Head(u(d, d), u(d, d), u(d, d)),))) for _ in range(depth))
    return Case(X, Network(d, layers))


def deep_single_head(depth: int = 10, seed: int = 1, eps: str = "0.09", spread: float = 0.1) -> Case:
    """The depth-10 instance: n = d = 8, one fresh head per layer with ``W_Q, W_K, W_V = I + U``
    (U uniform in ``[-spread, spread]``), input ``1 v^T + eps N``. With the defaults
    ``sqrt(a) B_0`` is about 0.9 (E4 contracts, slowly: 10^-2400 at layer 10) while the actual
    residual falls much faster; the one-step bound at layer 10 is near 10^-76000 (a whole-matrix
    pass would need about 253 000 bits; ``check_network`` certifies it at 128)."""
    rng = np.random.default_rng(seed)
    X = _near_rank_one(rng, 8, 8, eps)
    layers = tuple(Layer(Attention((Head(*(_near_identity(rng, 8, spread) for _ in range(3))),)))
                   for _ in range(depth))
    return Case(X, Network(8, layers))


def multi_head(heads: int = 3, depth: int = 6, seed: int = 2, eps: str = "0.05", spread: float = 0.1) -> Case:
    """Multi-head layers with output projections: head h has ``W_Q, W_K, W_V = I + U`` and
    ``W_O = (I + U) / H``, so ``sum_h W_V,h W_O,h`` stays near the identity and the common row
    survives; n = d = 8. E2/E4 contract with the defaults (``sqrt(a) B_0`` about 0.5)."""
    rng = np.random.default_rng(seed)
    X = _near_rank_one(rng, 8, 8, eps)
    near = lambda scale=1.0: _near_identity(rng, 8, spread, scale)  # noqa: E731
    layers = tuple(Layer(Attention(tuple(Head(near(), near(), near(), W_O=near(1.0 / heads))
                                         for _ in range(heads))))
                   for _ in range(depth))
    return Case(X, Network(8, layers))


def attention_mlp(depth: int = 6, seed: int = 3, eps: str = "0.05", spread: float = 0.1,
                  activation: str = "gelu") -> Case:
    """Single-head attention followed by an MLP ``s(Y W1 + 1 b1^T) W2`` (width 8, ``W1, W2 = I + U``,
    ``b1`` uniform in [-0.1, 0.1]) in every layer; n = d = 8. E3 x E4 contracts with the
    defaults (``sqrt(a) B_0`` about 0.7, with GELU's Lipschitz constant 1.13 in ``lam``)."""
    rng = np.random.default_rng(seed)
    X = _near_rank_one(rng, 8, 8, eps)
    near = lambda: _near_identity(rng, 8, spread)  # noqa: E731
    layers = tuple(Layer(Attention((Head(near(), near(), near()),)),
                         MLP(near(), near(), b1=rng.uniform(-0.1, 0.1, size=8), activation=activation))
                   for _ in range(depth))
    return Case(X, Network(8, layers))
