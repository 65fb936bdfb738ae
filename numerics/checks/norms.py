"""Numeric checks of the norm and residual facts (claims N1, N3).

* N1: ``||AB||_{1,inf} <= ||A||_{1,inf} ||B||_{1,inf}`` in certified arithmetic.
* N3: ``r(XW) <= r(X) ||W||_{1,inf}``, which exercises the certified residual bracket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from ..norms import norm_1, norm_composite, norm_inf
from ..residual import residual_bracket
from ..strategies import matrices, shapes
from ...proofs import norms as claims
from . import NumericCheck, register
from .common import ExactCase


@dataclass(frozen=True)
class MatrixCase(ExactCase):
    X: np.ndarray
    W: np.ndarray


@st.composite
def matrix_cases(draw):
    n, d = draw(shapes(max_n=6, max_d=4))
    k = draw(st.integers(1, 4))
    return MatrixCase(draw(matrices(n, d)), draw(matrices(d, k)))


def _enc(ctx, v):
    return ctx.lo(v), ctx.hi(v)


def _submultiplicative(ctx, case):
    """Squared, so both sides are exact sums and products of the exact entries: equality cases
    (frequent: 1 x 1 factors, rank one) are then decided exactly instead of staying open."""
    A, B = ctx.array(case.X), ctx.array(case.W)
    sq = lambda M: norm_1(ctx, M) * norm_inf(ctx, M)  # noqa: E731
    return [(_enc(ctx, sq(A @ B)), _enc(ctx, sq(A) * sq(B)))]


def _residual_of_product(ctx, case):
    X, W = ctx.array(case.X), ctx.array(case.W)
    lhs, rx = residual_bracket(ctx, X @ W), residual_bracket(ctx, X)
    w = norm_composite(ctx, W)
    return [((lhs.lower, lhs.upper), (rx.lower * ctx.lo(w), rx.upper * ctx.hi(w)))]


register(NumericCheck(claims.N1, matrix_cases, _submultiplicative,
                      {"quick": 30, "default": 100, "thorough": 1000},
                      "||AB||_{1,inf} against ||A||_{1,inf} ||B||_{1,inf}"))
register(NumericCheck(claims.N3, matrix_cases, _residual_of_product,
                      {"quick": 20, "default": 60, "thorough": 600},
                      "r(XW) against r(X) ||W||_{1,inf}"))
