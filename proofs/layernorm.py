"""LayerNorm (the paper's Section 3.3): "layer normalisation plays no role".

The published remark, read literally -- for every LayerNorm configuration a pure-attention
stack with LayerNorm has ``r(X^L) / ||X^L||_{1,inf} -> 0`` -- fails for a reason that has
nothing to do with LayerNorm: antipodal tokens ``[u; -u]`` with no biases keep that ratio at 1
at every depth even *without* LayerNorm (while ``X^L -> 0``).  So the claim ``sec3.3`` is what
the remark means, at the finite depth a certificate can reach: LayerNorm does not *prevent* a
collapse.  With ``rho(M) = r(M) / ||M||_{1,inf}``, ``X^12`` the output of a 12-layer stack
without LayerNorm and ``X^12_LN`` that of the same weights with LayerNorm in every layer:
``rho(X^12) <= 1/100`` implies ``rho(X^12_LN) <= 1/100`` (``rankcollapse.numerics.checks.layernorm`` searches
for violations).  Later work contests it (Shi et al., ICLR 2022; Wu et al. 2024, arXiv
2405.18781), so it is a published claim to test, not a theorem.

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
from sympy import And, Eq, Function, Gt, Implies, Le, Matrix, MatrixSymbol, Rational, Symbol, ones, sqrt

from .norms import norm_composite
from .registry import Claim, Step, register
from .symbols import ONE, X, NormC, d, is_zero, n, r, sym_matrix

ORDER = 7  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["DEPTH", "THRESHOLD", "rho", "layer_norm", "proves_identical_rows", "SHIFT_INSTANCE"]

DEPTH = 12                    # deep enough for the stack without LayerNorm to collapse
THRESHOLD = Rational(1, 100)  # "collapsed": rho <= 1/100


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


def rho(M):
    """``r(M) / ||M||_{1,inf}``: the residual relative to the size (LayerNorm fixes the size)."""
    return r(M) / NormC(M)


LN = Function("LN")
_v = MatrixSymbol("v", d, 1)
X_free = MatrixSymbol(f"X^{DEPTH}", n, d)       # the stack without LayerNorm, after DEPTH layers
X_LN = MatrixSymbol(f"X^{DEPTH}_LN", n, d)      # the same weights with LayerNorm

SEC33 = register(Claim(
    id="sec3.3",
    title="Sec 3.3: layer normalisation plays no role",
    source="Dong, Cordonnier & Loukas, ICML 2021, Section 3.3 (docs/theory.md §3)",
    kind="published",
    family="layernorm",
    hypotheses=(f"a pure-attention stack of {DEPTH} layers (any heads, W_O and biases; no skip, "
                "no MLP) with LayerNorm in every layer, pre, X^l_LN = SA_l(LN_l(X^(l-1)_LN)), or "
                "post, X^l_LN = LN_l(SA_l(X^(l-1)_LN)), X^0_LN = X, any input X",
                "every LayerNorm with any gain, bias and eps > 0 (eps = 0 is undefined on rows "
                "of zero variance)",
                "X^l = SA_l(X^(l-1)), X^0 = X: the same weights with every LayerNorm removed",
                "rho(M) = r(M) / ||M||_{1,inf} (rho(0) = 0; rho <= 1, x = 0 being a candidate in r)"),
    statement=Implies(Le(rho(X_free), THRESHOLD), Le(rho(X_LN), THRESHOLD)),
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
        Step("search", "Search for a violation: weights whose stack without LayerNorm has "
             f"certifiably collapsed at depth {DEPTH} (upper end of rho(X^{DEPTH}) <= 1/100) while "
             f"the stack with LayerNorm certifiably has not (lower end of rho(X^{DEPTH}_LN) > "
             "1/100), re-checked with twice the precision cap. Widths d = 1, 2 are not searched: "
             "LayerNorm maps every row to its bias (d = 1) or onto one line (d = 2).",
             And(Le(rho(X_free), THRESHOLD), Gt(rho(X_LN), THRESHOLD)),
             "numeric", "the published claim has no proof; tested by a certified search over "
             "LayerNorm stacks (rankcollapse.numerics.checks.layernorm)"),
    ),
    notes="Read literally, the remark says lim_{L -> oo} rho(X^L_LN) = 0 for every LayerNorm "
          "configuration; that fails without LayerNorm too (antipodal tokens [u; -u], no biases: "
          "rho = 1 at every depth while X^L -> 0), so the statement tests what the remark means, "
          "that adding LayerNorm does not prevent a collapse, at a depth a certificate can reach. "
          "Contested: Shi et al. (ICLR 2022) and Wu et al. 2024 (arXiv 2405.18781: with "
          "LayerNorm, equilibria of any rank are possible). Steps 2-3 show why the paper's "
          "argument does not carry over; they do not refute the claim by themselves.",
))
