"""Norms (docs/theory.md §1): the composite "norm" and the residual r.

The paper measures matrices with ``||A||_{1,inf} = sqrt(||A||_1 ||A||_inf)``, the geometric
mean of the induced l1 norm (max column sum) and the induced l-inf norm (max row sum).  It
inherits submultiplicativity from both factors and is transpose-invariant because
transposition swaps the factors (claim N1).  It is *not* a norm: the triangle inequality
fails (claim N2, with a counterexample found by exhaustive search).  The safe rule is to add
the two factors separately and take the geometric mean afterwards.

The residual ``r(X) = min_x ||X - 1 x^T||_{1,inf}`` ignores everything shared by all rows;
claim N3 collects its algebraic facts.

The helpers are exact on SymPy matrices:

>>> from sympy import Matrix
>>> M = Matrix([[1, -2], [0, 3]])
>>> norm_1(M), norm_inf(M), norm_composite(M)
(5, 3, sqrt(15))
>>> A, B, lhs, rhs = triangle_counterexample()
>>> lhs > rhs
True
"""

from __future__ import annotations

from functools import cache
from itertools import product

import sympy
from sympy import Abs, Matrix, MatrixSymbol, Max, ones, sqrt

from .registry import Claim, Step, register
from .symbols import ONE, X, Norm1, NormC, NormInf, d, is_zero, n, r, sym_matrix

ORDER = 1  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["norm_1", "norm_inf", "norm_composite", "triangle_counterexample",
           "violates_triangle", "proves_transpose_swap"]


def norm_1(M: Matrix) -> sympy.Expr:
    """Induced l1 norm: the largest column sum of |entries|."""
    return Max(*(sum(Abs(M[i, j]) for i in range(M.rows)) for j in range(M.cols)))


def norm_inf(M: Matrix) -> sympy.Expr:
    """Induced l-inf norm: the largest row sum of |entries|."""
    return Max(*(sum(Abs(M[i, j]) for j in range(M.cols)) for i in range(M.rows)))


def norm_composite(M: Matrix) -> sympy.Expr:
    """The paper's composite ||M||_{1,inf} = sqrt(||M||_1 ||M||_inf)."""
    return sqrt(norm_1(M) * norm_inf(M))


# ---------------------------------------------------------------- N1
_A, _B = MatrixSymbol("A", n, d), MatrixSymbol("B", d, n)


def _submultiplicative_from_factors() -> bool:
    """sqrt(||AB||_1 ||AB||_inf) <= sqrt(a1 b1 a2 b2) = ||A||_{1,inf} ||B||_{1,inf}.

    With a1, a2 (b1, b2) the two norms of A (B), ||AB||_1 = u1 <= a1 b1 and
    ||AB||_inf = u2 <= a2 b2 are written a1 b1 = u1 + p, a2 b2 = u2 + q with p, q >= 0.
    """
    a1, a2, b1, b2, y = sympy.symbols("a1 a2 b1 b2 y", positive=True)
    u1, u2, p, q = sympy.symbols("u1 u2 p q", nonnegative=True)
    product_bound = sympy.expand((u1 + p) * (u2 + q) - u1 * u2).is_nonnegative is True
    sqrt_increasing = sympy.diff(sqrt(y), y).is_positive is True
    splits = is_zero(sqrt(a1 * b1 * a2 * b2) - sqrt(a1 * a2) * sqrt(b1 * b2))
    return product_bound and sqrt_increasing and splits


def proves_transpose_swap(norm_a, norm_b) -> bool:
    """True iff norm_a(A^T) = norm_b(A) for a symbolic 3x2 matrix A."""
    A = sym_matrix("a", 3, 2)
    return is_zero(norm_a(A.T) - norm_b(A))


def _transpose_invariant() -> bool:
    """||A^T||_{1,inf} = ||A||_{1,inf} on a symbolic 3x2 matrix."""
    A = sym_matrix("a", 3, 2)
    return (proves_transpose_swap(norm_1, norm_inf) and proves_transpose_swap(norm_inf, norm_1)
            and is_zero(norm_composite(A.T) - norm_composite(A)))


N1 = register(Claim(
    id="N1",
    title="The composite norm is submultiplicative and transpose-invariant",
    source="docs/theory.md §1 (paper, Section 2)",
    kind="theorem",
    family="norms",
    hypotheses=("||A||_{1,inf} = sqrt(||A||_1 ||A||_inf) for real matrices of compatible shapes",),
    statement=sympy.And(sympy.Le(NormC(_A * _B), NormC(_A) * NormC(_B)),
                        sympy.Eq(NormC(_A.T), NormC(_A))),
    steps=(
        Step("Step 1", "Each induced norm is submultiplicative.",
             sympy.And(sympy.Le(Norm1(_A * _B), Norm1(_A) * Norm1(_B)),
                       sympy.Le(NormInf(_A * _B), NormInf(_A) * NormInf(_B))),
             "assumed", "submultiplicativity of induced operator norms: standard"),
        Step("Step 2", "Multiply the two bounds and take square roots (sqrt is increasing "
             "and splits over products of nonnegatives).",
             sympy.Le(NormC(_A * _B),
                      sqrt(Norm1(_A) * NormInf(_A)) * sqrt(Norm1(_B) * NormInf(_B))),
             "proved", "SymPy: product of nonnegative bounds, sqrt' > 0, sqrt of a product",
             proof=_submultiplicative_from_factors),
        Step("Step 3", "Transposition swaps the two factors: the column sums of A^T are the "
             "row sums of A.",
             sympy.Eq(Norm1(_A.T), NormInf(_A)),
             "proved", "SymPy: equal expressions on a symbolic 3x2 matrix",
             proof=lambda: proves_transpose_swap(norm_1, norm_inf)),
        Step("Step 4", "Hence the geometric mean is transpose-invariant.",
             sympy.Eq(NormC(_A.T), NormC(_A)),
             "proved", "SymPy: equal expressions on a symbolic 3x2 matrix",
             proof=_transpose_invariant),
    ),
))


# ---------------------------------------------------------------- N2
def violates_triangle(A: Matrix, B: Matrix) -> bool:
    """Exactly decide ||A+B||_{1,inf} > ||A||_{1,inf} + ||B||_{1,inf} for rational matrices.

    With p, q1, q2 the squares of the three composite norms, sqrt(p) > sqrt(q1) + sqrt(q2)
    iff p - q1 - q2 > 0 and (p - q1 - q2)^2 > 4 q1 q2: rational arithmetic only.
    """
    p = norm_1(A + B) * norm_inf(A + B)
    q1, q2 = norm_1(A) * norm_inf(A), norm_1(B) * norm_inf(B)
    gap = p - q1 - q2
    return bool(gap > 0 and gap**2 > 4 * q1 * q2)


@cache
def triangle_counterexample() -> tuple[Matrix, Matrix, sympy.Expr, sympy.Expr]:
    """First (A, B, ||A+B||, ||A|| + ||B||) with lhs > rhs among 2x2 integer matrices.

    Entries range over (0, 1, -1, 2) in that order, so small entries are tried first.
    """
    candidates = [Matrix(2, 2, entries) for entries in product((0, 1, -1, 2), repeat=4)]
    for A, B in product(candidates, repeat=2):
        if violates_triangle(A, B):
            return A, B, norm_composite(A + B), norm_composite(A) + norm_composite(B)
    raise LookupError("no counterexample among 2x2 matrices with entries in {-1, 0, 1, 2}")


def _counterexample_verified() -> bool:
    """Re-verify the counterexample with SymPy's own sign decision."""
    A, B, lhs, rhs = triangle_counterexample()
    return (violates_triangle(A, B) and (lhs - rhs).is_positive is True
            and is_zero(lhs - norm_composite(A + B)))


def _add_factors_separately() -> bool:
    """The safe bound sqrt((a1+b1)(a2+b2)) exceeds sqrt(a1 a2) + sqrt(b1 b2) by a square.

    (a1+b1)(a2+b2) - (sqrt(a1 a2) + sqrt(b1 b2))^2 = (sqrt(a1 b2) - sqrt(a2 b1))^2, so adding
    the factors separately is consistent with the counterexample; checked on it exactly too.
    """
    a1, a2, b1, b2 = sympy.symbols("a1 a2 b1 b2", positive=True)
    gap = (a1 + b1) * (a2 + b2) - (sqrt(a1 * a2) + sqrt(b1 * b2))**2
    A, B, lhs, _ = triangle_counterexample()
    safe = sqrt((norm_1(A) + norm_1(B)) * (norm_inf(A) + norm_inf(B)))
    return (is_zero(gap - (sqrt(a1 * b2) - sqrt(a2 * b1))**2)
            and (safe - lhs).is_nonnegative is True)


_A2, _B2 = MatrixSymbol("A", n, d), MatrixSymbol("B", n, d)
N2 = register(Claim(
    id="N2",
    title="The composite norm violates the triangle inequality",
    source="docs/theory.md §1",
    kind="theorem",
    family="norms",
    hypotheses=("for some A, B of the same shape (found by exhaustive search over 2x2 integer "
                "matrices; see triangle_counterexample())",),
    statement=sympy.Gt(NormC(_A2 + _B2), NormC(_A2) + NormC(_B2)),
    steps=(
        Step("Step 1", "Search all pairs of 2x2 matrices with entries in {-1, 0, 1, 2} in "
             "exact arithmetic for a violation.",
             sympy.Gt(NormC(_A2 + _B2), NormC(_A2) + NormC(_B2)),
             "proved", "exhaustive exact search (squared comparison in rationals) finds one",
             proof=lambda: violates_triangle(*triangle_counterexample()[:2])),
        Step("Step 2", "Verify the counterexample exactly with SymPy.",
             sympy.Gt(*triangle_counterexample()[2:], evaluate=False), "proved",
             "SymPy decides the sign of lhs - rhs (sums of square roots)",
             proof=_counterexample_verified),
        Step("Step 3", "What is true instead: add the two factors separately.",
             sympy.Le(NormC(_A2 + _B2),
                      sqrt((Norm1(_A2) + Norm1(_B2)) * (NormInf(_A2) + NormInf(_B2)))),
             "proved", "triangle inequality of each induced norm (standard); SymPy proves the "
             "gap to the false bound is a square and checks the counterexample",
             proof=_add_factors_separately),
    ),
    notes="Never add composite norms; add ||.||_1 and ||.||_inf separately.",
))


# ---------------------------------------------------------------- N3
def _objective(M: Matrix, x: Matrix) -> sympy.Expr:
    """F(x) = ||M - 1 x^T||_1 ||M - 1 x^T||_inf, whose minimum over x is r(M)^2."""
    centred = M - ones(M.rows, 1) * x.T
    return norm_1(centred) * norm_inf(centred)


_Xs, _v, _x = sym_matrix("X", 3, 2), sym_matrix("v", 2, 1), sym_matrix("x", 2, 1)


def _shift_invariance() -> bool:
    """F_{X + 1 v^T}(x + v) = F_X(x): x -> x + v is a bijection, so the minima agree."""
    return is_zero(_objective(_Xs + ones(3, 1) * _v.T, _x + _v) - _objective(_Xs, _x))


def _homogeneity() -> bool:
    """Every column and row sum of cX - 1(cx)^T is |c| times that of X - 1x^T.

    Max commutes with multiplication by |c| >= 0, so F_{cX}(cx) = c^2 F_X(x); for c != 0
    x -> cx is a bijection, hence r(cX) = |c| r(X) (and r(0) = 0).
    """
    c = sympy.Symbol("c", real=True)
    scaled = c * _Xs - ones(3, 1) * (c * _x).T
    centred = _Xs - ones(3, 1) * _x.T
    columns = all(is_zero(sum(Abs(scaled[i, j]) for i in range(3))
                          - Abs(c) * sum(Abs(centred[i, j]) for i in range(3))) for j in range(2))
    rows = all(is_zero(sum(Abs(scaled[i, j]) for j in range(2))
                       - Abs(c) * sum(Abs(centred[i, j]) for j in range(2))) for i in range(3))
    return columns and rows


def _right_multiplication() -> bool:
    """(X - 1x^T) W = XW - 1(W^T x)^T on symbolic 3x2 X and 2x2 W."""
    W = sym_matrix("w", 2, 2)
    return is_zero((_Xs - ones(3, 1) * _x.T) * W - (_Xs * W - ones(3, 1) * (W.T * _x).T))


def _identical_rows_vanish() -> bool:
    """If every row equals v, the objective vanishes at x = v."""
    return is_zero(_objective(ones(3, 1) * _v.T, _v))


_c = sympy.Symbol("c", real=True)
_vs, _xs, _W = MatrixSymbol("v", d, 1), MatrixSymbol("x", d, 1), MatrixSymbol("W", d, d)
N3 = register(Claim(
    id="N3",
    title="Algebraic facts about the residual r(X)",
    source="docs/theory.md §1",
    kind="theorem",
    family="norms",
    hypotheses=("r(X) = min_x ||X - 1 x^T||_{1,inf} for X of shape n x d",),
    statement=sympy.And(sympy.Eq(r(X + ONE * _vs.T), r(X)),
                        sympy.Eq(r(_c * X), Abs(_c) * r(X)),
                        sympy.Le(r(X * _W), r(X) * NormC(_W))),
    steps=(
        Step("Step 1", "Shift invariance: the change of variable x -> x + v maps the objective "
             "of X onto that of X + 1 v^T.",
             sympy.Eq(r(X + ONE * _vs.T), r(X)),
             "proved", "SymPy: equal objectives on a symbolic 3x2 matrix",
             proof=_shift_invariance),
        Step("Step 2", "Homogeneity: all column and row sums scale by |c|; then x -> cx.",
             sympy.Eq(r(_c * X), Abs(_c) * r(X)),
             "proved", "SymPy: column and row sums on a symbolic 3x2 matrix; max commutes "
             "with a nonnegative factor (standard)",
             proof=_homogeneity),
        Step("Step 3", "Right multiplication keeps the form X - 1 x^T, then N1 applies to "
             "the optimal x.",
             sympy.Eq((X - ONE * _xs.T) * _W, X * _W - ONE * (_W.T * _xs).T, evaluate=False),
             "proved", "SymPy: matrix identity on symbolic 3x2 X and 2x2 W; the inequality is "
             "N1 (submultiplicativity)",
             proof=_right_multiplication),
        Step("Step 4", "If all rows equal v, then r(X) = 0 (take x = v).",
             sympy.Eq(r(ONE * _vs.T), 0),
             "proved", "SymPy: the objective vanishes at x = v on a symbolic 3x2 matrix",
             proof=_identical_rows_vanish),
        Step("Step 5", "Conversely r(X) = 0 forces X = 1 x^T for a minimiser x.",
             None, "assumed", "the minimum is attained (the objective is continuous and "
             "coercive in x) and ||M||_1 = 0 only for M = 0: standard"),
    ),
))
