"""Skip connections (Claim E5, the paper's Claim 3.1): no collapse bound holds for all weights.

A layer with a skip connection computes ``X + sum_h P_h X W_h + 1 b^T``.  With every value
weight ``W_h = 0`` and ``b = 0`` it is the identity, whatever the query and key weights
are, so ``X^L = X`` at every depth and ``r(X^L) = r(X)``.  Since W_Q and W_K stay free,
there are infinitely many such parameterisations, for any L and H.

>>> from sympy import eye, zeros
>>> proves_fixed_point(zeros(2, 2), zeros(2, 1)), proves_fixed_point(eye(2), zeros(2, 1))
(True, False)
"""

from __future__ import annotations

import sympy
from sympy import Eq, Function, MatAdd, MatMul, Matrix, MatrixSymbol, ZeroMatrix, ones, zeros

from .registry import Claim, Step, register
from .symbols import X, X_L, d, is_zero, n, r, s, softmax_rows, sym_matrix

ORDER = 5  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["skip_layer", "proves_fixed_point"]

_n, _d, _H = 2, 2, 2  # explicit sizes: 2 tokens, 2 features, 2 heads (d_qk = 1)


def skip_layer(X_: Matrix, W_h: Matrix, b: Matrix) -> Matrix:
    """X + sum_h P_h X W_h + 1 b^T with P_h the softmax of symbolic query/key weights.

    Every head uses the same value weight W_h (enough for the fixed-point question) and
    its own symbolic W_Q,h, W_K,h (d x 1).
    """
    out = X_ + ones(X_.rows, 1) * b.T
    for head in range(_H):
        W_Q, W_K = sym_matrix(f"q{head}", _d, 1), sym_matrix(f"k{head}", _d, 1)
        P = softmax_rows(s * (X_ * W_Q) * (X_ * W_K).T)
        out += P * X_ * W_h
    return out


def proves_fixed_point(W_h: Matrix, b: Matrix) -> bool:
    """True iff skip_layer(X) = X for a symbolic 2x2 X and any query/key weights."""
    X_ = sym_matrix("x", _n, _d)
    return is_zero(skip_layer(X_, W_h, b) - X_)


def _depth_induction() -> bool:
    """X^l = F(X^{l-1}) = X^{l-1} (Step 1) solves to X^L = X^0 = X for every L (rsolve).

    Also iterates the layer three times explicitly, recomputing the attention each time.
    """
    f, k, x0 = Function("f"), sympy.Symbol("k", integer=True, nonnegative=True), sympy.Symbol("x0")
    solved = sympy.rsolve(f(k) - f(k - 1), f(k), {f(0): x0}) == x0
    X_ = sym_matrix("x", _n, _d)
    iterate = X_
    for _ in range(3):
        iterate = skip_layer(iterate, zeros(_d, _d), zeros(_d, 1))
    return solved and is_zero(iterate - X_) and proves_fixed_point(zeros(_d, _d), zeros(_d, 1))


_P_h = MatrixSymbol("P_h", n, n)

E5 = register(Claim(
    id="E5",
    title="Claim E5 (paper's Claim 3.1): skip connections can prevent any collapse",
    source="Claim 3.1 (paper); docs/theory.md §4",
    kind="theorem",
    family="skip",
    hypotheses=("every layer is X -> X + sum_h P_h X W_h + 1 b^T (skip connection)",
                "W_h = 0 for every head and layer, b = 0; W_Q,h, W_K,h arbitrary"),
    statement=Eq(r(X_L), r(X)),
    steps=(
        Step("Step 1", "With W_h = 0 and b = 0 one layer is the identity, whatever the "
             "attention matrices are.",
             Eq(MatAdd(X, MatMul(_P_h, X, ZeroMatrix(d, d), evaluate=False), evaluate=False),
                X, evaluate=False),
             "proved", "SymPy: layer output equals X for symbolic X (2x2) and symbolic "
             "query/key weights of two heads",
             proof=lambda: proves_fixed_point(zeros(_d, _d), zeros(_d, 1))),
        Step("Step 2", "By induction X^L = X for every L, so r(X^L) = r(X).",
             Eq(X_L, X),
             "proved", "SymPy: rsolve of X^l = X^{l-1} with X^0 = X, plus three explicit "
             "iterations of the layer",
             proof=_depth_induction),
    ),
    notes="Infinitely many parameterisations for any L and H (query/key weights are free), "
          "so r(X^L) >= r(X) is attainable: no collapse bound can hold for all parameters "
          "of a network with skip connections.",
))
