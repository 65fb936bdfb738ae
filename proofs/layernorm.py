"""LayerNorm (the paper's Section 3.3): "layer normalisation plays no role".

The toolkit formalises the published remark as: for every LayerNorm configuration (pre or
post, any gain, bias and eps), a pure-attention stack with LayerNorm still collapses,
``r(X^L) / ||X^L||_{1,inf} -> 0``.  Later work contests it (Shi et al., ICLR 2022; Wu et al.
2024, arXiv 2405.18781), so it is a published claim to test, not a theorem.

What SymPy can say: LayerNorm acts row by row, so an exactly collapsed input (identical rows)
stays collapsed; but it is not equivariant to a shared shift of the rows, so the reduction
``X = 1 x^T + R`` that drives every collapse proof does not pass through it; and (with
eps = 0) it undoes any positive rescaling of a row, so shrinking residuals can be blown up
again.

>>> from sympy import Matrix
>>> layer_norm(Matrix([[1, 2, 3]]), [1, 1, 1], [0, 0, 0], 0)
Matrix([[-sqrt(6)/2, 0, sqrt(6)/2]])
"""

from __future__ import annotations

import sympy
from sympy import Eq, Function, Limit, Matrix, MatrixSymbol, Symbol, ones, sqrt

from .norms import norm_composite
from .registry import Claim, Step, register
from .symbols import ONE, X, X_L, L, NormC, d, is_zero, n, r, sym_matrix

__all__ = ["layer_norm", "proves_identical_rows", "SHIFT_INSTANCE"]


def layer_norm(M: Matrix, gain, bias, eps) -> Matrix:
    """Row-wise g * (y - mean(y)) / sqrt(var(y) + eps) + b, biased variance."""
    def normalise(row):
        mean = sum(row) / len(row)
        var = sum((entry - mean)**2 for entry in row) / len(row)
        return [g * (entry - mean) / sqrt(var + eps) + b for entry, g, b in zip(row, gain, bias)]
    return Matrix([normalise(list(M.row(i))) for i in range(M.rows)])


def _symbolic_parameters(width: int):
    gain, bias = sym_matrix("g", 1, width), sym_matrix("c", 1, width)
    return list(gain), list(bias), Symbol("epsilon", positive=True)


def proves_identical_rows(M: Matrix) -> bool:
    """True iff LayerNorm (symbolic gain, bias, eps > 0) maps M to a matrix with equal rows."""
    out = layer_norm(M, *_symbolic_parameters(M.cols))
    return all(is_zero(out.row(i) - out.row(0)) for i in range(1, out.rows))


def _collapsed_stays_collapsed() -> bool:
    """LN(1 v^T) has identical rows (2x3, symbolic v, gain, bias, eps)."""
    return proves_identical_rows(ones(2, 1) * sym_matrix("v", 1, 3))


SHIFT_INSTANCE = (Matrix([[0, 0, 1], [0, 1, 2]]), Matrix([[0, 0, 3]]))  # (X, v^T)


def _not_shift_equivariant() -> bool:
    """LN(X + 1 v^T) - LN(X) is not of the form 1 c^T: its rows differ (exact instance)."""
    X_, v = SHIFT_INSTANCE
    unit = ([1] * X_.cols, [0] * X_.cols, 0)
    change = layer_norm(X_ + ones(X_.rows, 1) * v, *unit) - layer_norm(X_, *unit)
    return bool(norm_composite(change.row(1) - change.row(0)) > 0)


def _row_scale_invariant() -> bool:
    """With eps = 0, LN(D X) = LN(X) for a positive diagonal D (2x3, symbolic)."""
    X_ = sym_matrix("x", 2, 3)
    scales = sympy.symbols("t1:3", positive=True)
    gain, bias, _ = _symbolic_parameters(3)
    scaled = sympy.diag(*scales) * X_
    return is_zero(layer_norm(scaled, gain, bias, 0) - layer_norm(X_, gain, bias, 0))


LN = Function("LN")
_v = MatrixSymbol("v", d, 1)

register(Claim(
    id="sec3.3",
    title="Sec 3.3: layer normalisation plays no role",
    source="Dong, Cordonnier & Loukas, ICML 2021, Section 3.3 (THEORY 3)",
    kind="published",
    family="layernorm",
    hypotheses=("pure-attention stack with LayerNorm (pre or post) in every layer",
                "for every gain, bias and eps of the LayerNorms"),
    statement=Eq(Limit(r(X_L) / NormC(X_L), L, sympy.oo), 0),
    steps=(
        Step("Step 1", "LayerNorm is row-wise: an input with identical rows keeps identical "
             "rows, so the collapsed state is invariant.",
             Eq(r(LN(ONE * _v.T)), 0),
             "proved", "SymPy: LN(1 v^T) on a symbolic 2x3 input with symbolic gain, bias, "
             "eps > 0",
             proof=_collapsed_stays_collapsed),
        Step("Step 2", "LayerNorm is not shift-equivariant in rows: LN(X + 1 v^T) - LN(X) is "
             "not of the form 1 c^T, so the decomposition X = 1 x^T + R does not pass through.",
             sympy.Ne(LN(X + ONE * _v.T) - LN(X), Symbol("1 c^T")),
             "proved", "SymPy: exact 2x3 instance (SHIFT_INSTANCE) whose difference has "
             "unequal rows",
             proof=_not_shift_equivariant),
        Step("Step 3", "With eps = 0 LayerNorm undoes any positive rescaling of a row, so a "
             "shrinking residual can be blown up again.",
             Eq(LN(MatrixSymbol("D", n, n) * X), LN(X)),
             "proved", "SymPy: identity on a symbolic 2x3 input with a positive diagonal D",
             proof=_row_scale_invariant),
        Step("search", "Search for LayerNorm parameters that stop the collapse.",
             None, "numeric", "the published claim has no proof; tested by exact-precision "
             "search over LayerNorm configurations",
             numeric_check="sec3.3:search"),
    ),
    notes="Contested: Shi et al. (ICLR 2022) and Wu et al. 2024 (arXiv 2405.18781: with "
          "LayerNorm, equilibria of any rank are possible). Steps 2-3 show why the paper's "
          "argument does not carry over; they do not refute the claim by themselves.",
))
