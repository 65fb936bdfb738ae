"""MLP blocks: Lemma E3 and the published Cor 3.2.

``f(Y) = s(Y W1 + 1 b1^T) W2 + 1 b2^T`` with an entrywise activation s.  Writing
``Y = 1 y^T + R``, the hidden pre-activations are ``1 z0^T + R W1``; an entrywise
L_s-Lipschitz s moves each entry at most L_s times as far as its input, and both induced
norms are monotone in the absolute entries, so ``r(f(Y)) <= L_s ||W1|| ||W2|| r(Y)``.

The Lipschitz constant of a smooth activation is ``sup |s'|``: the largest of ``|s'|`` at
the critical points of s' and its limits at the ends of each piece.  SymPy computes it
exactly: ReLU and tanh give 1, GELU ``x Phi(x)`` gives
``Phi(sqrt 2) + sqrt(2) phi(sqrt 2) = (1 + erf(1))/2 + e^{-1}/sqrt(pi) ~ 1.1289``.

>>> lipschitz_constant("gelu")
exp(-1)/sqrt(pi) + erf(1)/2 + 1/2
>>> round(float(lipschitz_constant("gelu")), 4)
1.1289
>>> proves_lipschitz("tanh", 1), proves_lipschitz("gelu", sympy.Rational(1129, 1000))
(True, False)
"""

from __future__ import annotations

from functools import cache

import sympy
from sympy import (Abs, Eq, Function, Interval, Le, MatrixSymbol, Piecewise, S, erf, exp, limit,
                   ones, pi, sqrt, tanh)

from .registry import Claim, Step, register
from .single_head import closed_form_B, proves_published_matches_E4
from .symbols import (X, X_L, H, L, NormC, a, beta, d, d_qk, gamma, is_zero, lam, n, r,
                      sym_matrix)

ORDER = 6  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["ACTIVATIONS", "lipschitz_constant", "proves_lipschitz", "GELU_LIPSCHITZ"]

x = sympy.Symbol("x", real=True)
ACTIVATIONS = {
    "relu": Piecewise((0, x < 0), (x, True)),
    "tanh": tanh(x),
    "gelu": x * (1 + erf(x / sqrt(2))) / 2,  # x Phi(x)
}
GELU_LIPSCHITZ = (1 + erf(1)) / 2 + exp(-1) / sqrt(pi)  # the closed form docs/theory.md §4 asks for


def _sup_abs_derivative(f) -> sympy.Expr:
    """sup over the reals of |f'|, for f smooth on each piece of a Piecewise.

    On each piece f' is continuous, so sup |f'| is attained at a zero of f'' inside the piece
    or approached at an end of the piece.  A constant f' is its own supremum.
    """
    pieces = f.as_expr_set_pairs() if isinstance(f, Piecewise) else [(f, S.Reals)]
    candidates = []
    for expr, domain in pieces:
        if not isinstance(domain, Interval):
            raise ValueError(f"piece {expr} lives on {domain}, not on an interval")
        slope = sympy.diff(expr, x)
        if not slope.has(x):
            candidates.append(Abs(slope))
            continue
        critical = sympy.solveset(sympy.diff(slope, x), x, domain)
        if not isinstance(critical, sympy.FiniteSet):
            raise ValueError(f"cannot enumerate the critical points of {slope}: {critical}")
        candidates += [Abs(slope.subs(x, point)) for point in critical]
        # approach each end of the piece from inside (S.Reals has ends -oo and oo)
        candidates += [Abs(limit(slope, x, domain.inf, "+")),
                       Abs(limit(slope, x, domain.sup, "-"))]
    return sympy.Max(*candidates)


@cache
def lipschitz_constant(activation: str) -> sympy.Expr:
    """Exact Lipschitz constant sup |s'| of "relu", "gelu" or "tanh"."""
    if activation not in ACTIVATIONS:
        raise KeyError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
    return _sup_abs_derivative(ACTIVATIONS[activation])


def proves_lipschitz(activation: str, value) -> bool:
    """True iff value is exactly the Lipschitz constant of the activation."""
    return is_zero(sympy.sympify(value) - lipschitz_constant(activation))


def _gelu_analysis() -> bool:
    """GELU: s'' = phi(x)(2 - x^2) vanishes exactly at +-sqrt(2); the sup is at +sqrt(2).

    Checks the critical points, the limits 1 (at +oo) and 0 (at -oo), that the minimum
    s'(-sqrt 2) has smaller modulus, the closed form, and its value ~ 1.1289.
    """
    slope = sympy.diff(ACTIVATIONS["gelu"], x)
    curvature = sympy.diff(slope, x)
    critical = sympy.solveset(curvature, x, S.Reals) == sympy.FiniteSet(-sqrt(2), sqrt(2))
    density = exp(-x**2 / 2) / sqrt(2 * pi)
    shape = is_zero(curvature - density * (2 - x**2))
    ends = limit(slope, x, sympy.oo) == 1 and limit(slope, x, -sympy.oo) == 0
    top, bottom = slope.subs(x, sqrt(2)), slope.subs(x, -sqrt(2))
    ordered = bool(Abs(bottom) < top) and bool(top > 1)
    value = bool(abs(GELU_LIPSCHITZ.evalf(30) - sympy.Float("1.1289", 30)) < 5e-5)
    return (critical and shape and ends and ordered and is_zero(top - GELU_LIPSCHITZ)
            and value and proves_lipschitz("gelu", GELU_LIPSCHITZ))


def _bias_removal() -> bool:
    """Y W1 + 1 b1^T - 1 z0^T = R W1 for Y = 1 y^T + R, z0 = W1^T y + b1 (n=3, d=2, width 2)."""
    R_, y, W1 = sym_matrix("R", 3, 2), sym_matrix("y", 2, 1), sym_matrix("w", 2, 2)
    b1 = sym_matrix("b", 2, 1)
    one = ones(3, 1)
    z0 = W1.T * y + b1
    return is_zero((one * y.T + R_) * W1 + one * b1.T - one * z0.T - R_ * W1)


def _geometric_mean() -> bool:
    """sqrt((L_s R_1 a_1 b_1)(L_s R_inf a_inf b_inf)) = L_s ||W1|| ||W2|| ||R|| exactly."""
    Ls, R1, Rinf, a1, ainf, b1, binf = sympy.symbols("L_s R_1 R_inf a_1 a_inf b_1 b_inf",
                                                     positive=True)
    lhs = sqrt((Ls * R1 * a1 * b1) * (Ls * Rinf * ainf * binf))
    return is_zero(lhs - Ls * sqrt(a1 * ainf) * sqrt(b1 * binf) * sqrt(R1 * Rinf))


Y = MatrixSymbol("Y", n, d)
W1_, W2_ = MatrixSymbol("W_1", d, d), MatrixSymbol("W_2", d, d)
L_s = sympy.Symbol("L_s", positive=True)
f = Function("f")

E3 = register(Claim(
    id="E3",
    title="Lemma E3: an MLP block is lam-Lipschitz for r",
    source="docs/theory.md §4 (explicit)",
    kind="theorem",
    family="mlp",
    hypotheses=("f(Y) = s(Y W1 + 1 b1^T) W2 + 1 b2^T with s entrywise L_s-Lipschitz",
                "lam = L_s ||W1||_{1,inf} ||W2||_{1,inf}"),
    statement=Le(r(f(Y)), lam * r(Y)),
    steps=(
        Step("Step 1", "Remove the biases: with Y = 1 y^T + R the pre-activations are "
             "1 z0^T + R W1, and 1 b2^T does not change r (N3 Step 1).",
             Eq((Y - sympy.OneMatrix(n, 1) * MatrixSymbol("y", d, 1).T) * W1_,
                Y * W1_ - sympy.OneMatrix(n, 1) * MatrixSymbol("y", d, 1).T * W1_),
             "proved", "SymPy: identity on symbolic 3x2 Y, 2x2 W1",
             proof=_bias_removal),
        Step("Step 2", "Entrywise Lipschitz: |s(z0_j + u) - s(z0_j)| <= L_s |u|, and both "
             "induced norms are monotone in |entries|.",
             None, "assumed", "monotonicity of ||.||_1 and ||.||_inf in the absolute values "
             "of the entries: standard"),
        Step("Step 3", "Submultiplicativity in each norm, then the geometric mean.",
             Le(r(f(Y)), L_s * NormC(W1_) * NormC(W2_) * r(Y)),
             "proved", "submultiplicativity (N1 Step 1, standard); SymPy checks the "
             "geometric-mean algebra",
             proof=_geometric_mean),
        Step("Step 4", "ReLU and tanh are 1-Lipschitz (sup of |s'| is 1; for tanh sech^2 "
             "peaks at 0).",
             Eq(sympy.Symbol("L_relu"), 1) & Eq(sympy.Symbol("L_tanh"), 1),
             "proved", "SymPy: sup |s'| over critical points of s' and limits, per piece",
             proof=lambda: proves_lipschitz("relu", 1) and proves_lipschitz("tanh", 1)),
        Step("Step 5", "GELU x Phi(x): s'' = phi(x)(2 - x^2) vanishes at +-sqrt(2); the sup "
             "of |s'| is s'(sqrt 2).",
             Eq(sympy.Symbol("L_gelu"), GELU_LIPSCHITZ),
             "proved", "SymPy: critical points, limits 1 and 0 at +-oo, |s'(-sqrt 2)| < "
             "s'(sqrt 2), exact closed form ~ 1.1289",
             proof=_gelu_analysis),
    ),
))


COR32_BOUND = (4 * gamma * beta * H * lam / sqrt(d_qk))**((3**L - 1) / 2) * r(X)**(3**L)
COR32 = register(Claim(
    id="cor3.2",
    title="Cor 3.2 (attention with MLP blocks)",
    source="Dong, Cordonnier & Loukas, ICML 2021, Cor 3.2 (transcribed, docs/theory.md §3)",
    kind="published",
    family="mlp",
    hypotheses=("beta as in Cor 2.3 for every layer; lam bounds the MLP's Lipschitz "
                "constant in the composite norm (Lemma E3: L_s ||W1||_{1,inf} ||W2||_{1,inf})",
                "gamma = 1 (the value the toolkit tests)"),
    statement=Le(r(X_L), COR32_BOUND),
    steps=(
        Step("Step 1", "With gamma := Gamma the published bound is the closed form of E4's "
             "recurrence, a = 4 gamma beta H lam s, s = 1/sqrt(d_qk).",
             Eq(COR32_BOUND, closed_form_B(a, r(X), L)),
             "proved", "SymPy: equal logarithms of the two closed forms",
             proof=lambda: proves_published_matches_E4(COR32_BOUND, {})),
        Step("search", "Adversarial search for violations with gamma = 1.",
             Le(r(X_L), COR32_BOUND.subs(gamma, 1)),
             "numeric", "as Cor 2.3 (per-head composite beta not implied by E2); tested by "
             "exact-precision search"),
    ),
))
