"""Gradients at rank collapse (claims G1 and G2): the query/key derivatives vanish at ``X = 1 x^T``
and are O(r(X)^2) near it.

Noci et al. (NeurIPS 2022, arXiv 2206.03126) show that when the tokens have collapsed to one
vector, the gradients of a self-attention layer with respect to the queries and keys vanish,
so collapse also stalls training.  The reason fits on one line: at ``X = 1 x^T`` the queries
and keys are ``1 q^T`` and ``1 k^T``, every logit equals ``s q^T k``, every row of the
attention is uniform, ``P = 1 1^T / n``, **whatever W_Q, W_K, b_Q, b_K are**; the output
``P X W_V + 1 b_V^T = 1 (x^T W_V + b_V^T)`` does not depend on them at all (G1).

Near collapse (G2) write ``X = 1 x^T + R`` for any x.  The softmax derivative
``dP_ij = P_ij (dl_ij - sum_m P_im dl_im)`` has rows summing to 0, so
``dSA = dP X W_V = dP R W_V``; and ``dl_ij - dl_im`` only sees token *differences*, which are
differences of rows of R.  So each derivative is a product of two factors linear in R:

    |dSA_ic / d(W_Q)_ab| <= 2 s |X_ia| ||W_K||_1 ||W_V||_max ||R||_max ||R||_inf
    |dSA_ic / d(b_Q)_b|  <= 2 s        ||W_K||_1 ||W_V||_max ||R||_max ||R||_inf
    |dSA_ic / d(W_K)_ab| <= 2 s |Q_ib|           ||W_V||_max ||R||_max ||R||_inf   (Q = X W_Q + 1 b_Q^T)
    dSA / d(b_K) = 0 for every X (a key bias shifts whole logit rows)

and ``||R||_max ||R||_inf <= ||R||_1 ||R||_inf = r(X)^2`` at the optimal x: the derivatives are
``O(r(X)^2)``, in particular at most ``(K rho) r(X)`` while ``r(X) <= rho``.

>>> from sympy import Function, Symbol
>>> g, theta = Function("g"), Symbol("theta", real=True)
>>> proves_attention_constant(lambda m: g(theta))               # every logit the same: dP = 0
True
>>> proves_attention_constant(lambda m: g(theta) + m * theta)   # logits that differ by key
False
"""

from __future__ import annotations

import sympy
from sympy import (Abs, Derivative, Eq, Function, Le, Matrix, MatrixSymbol, OneMatrix, Sum, Symbol,
                   ZeroMatrix, exp, ones, zeros)

from .registry import Claim, Step, register
from .symbols import NormInf, R, SA, d, d_qk, is_zero, n, r, s, softmax_rows, sym_matrix, X

ORDER = 11  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["proves_attention_constant", "proves_collapsed_logits", "softmax_derivative_ok",
           "layer_output", "derivatives_vanish_at", "logit_derivative_differences"]

theta = Symbol("theta", real=True)
_j, _m = sympy.symbols("j m", integer=True, positive=True)
_l = Function("l")


def proves_collapsed_logits() -> bool:
    """At X = 1 x^T (any n, d, d_qk, with biases) the logits are s 1 (q^T k) 1^T with
    q = W_Q^T x + b_Q, k = W_K^T x + b_K: one number for every entry."""
    one = OneMatrix(n, 1)
    x = MatrixSymbol("x", d, 1)
    W_Q, W_K = MatrixSymbol("W_Q", d, d_qk), MatrixSymbol("W_K", d, d_qk)
    b_Q, b_K = MatrixSymbol("b_Q", d_qk, 1), MatrixSymbol("b_K", d_qk, 1)
    logits = s * (one * x.T * W_Q + one * b_Q.T) * (one * x.T * W_K + one * b_K.T).T
    common = s * one * ((x.T * W_Q + b_Q.T) * (W_K.T * x + b_K)) * one.T
    return isinstance((logits - common).expand(), ZeroMatrix)


def proves_attention_constant(logit) -> bool:
    """True iff the softmax weight P_j = e^{l_j}/sum_{m=1}^n e^{l_m} has d/dtheta = 0 for symbolic
    n, where ``logit(m)`` is the logit of key m as an expression in theta (and m)."""
    P = exp(logit(_j)) / Sum(exp(logit(_m)), (_m, 1, n))
    try:
        return sympy.simplify(sympy.diff(P.doit(), theta).doit()) == 0
    except (StopIteration, NotImplementedError, TypeError, ValueError):  # SymPy could not reduce it
        return False


def softmax_derivative_ok() -> bool:
    """dP_j = P_j (dl_j - sum_m P_m dl_m) for symbolic n and arbitrary logits l(m, theta), and
    the rows of P sum to 1 (so the rows of dP sum to 0)."""
    Z = Sum(exp(_l(_m, theta)), (_m, 1, n))
    P = exp(_l(_j, theta)) / Z
    form = P * (sympy.diff(_l(_j, theta), theta)
                - Sum(exp(_l(_m, theta)) / Z * sympy.diff(_l(_m, theta), theta), (_m, 1, n)))
    derivative = sympy.simplify(sympy.diff(P, theta) - form) == 0
    rows = sympy.factor_terms(Sum(P, (_j, 1, n)))
    num, den = sympy.fraction(rows)
    return derivative and num.dummy_eq(den)


# Explicit sizes for the full-layer identities (SymPy differentiates the layer itself).
_n, _d, _dqk = 3, 2, 2


def _weights():
    return (sym_matrix("q", _d, _dqk), sym_matrix("k", _d, _dqk), sym_matrix("v", _d, _d),
            sym_matrix("bq", _dqk, 1), sym_matrix("bk", _dqk, 1), sym_matrix("bv", _d, 1))


def layer_output(X_: Matrix, W_Q, W_K, W_V, b_Q, b_K, b_V) -> Matrix:
    """softmax_rows(s (X W_Q + 1 b_Q^T)(X W_K + 1 b_K^T)^T) X W_V + 1 b_V^T."""
    one = ones(X_.rows, 1)
    Q, K = X_ * W_Q + one * b_Q.T, X_ * W_K + one * b_K.T
    return softmax_rows(s * Q * K.T) * X_ * W_V + one * b_V.T


def derivatives_vanish_at(X_: Matrix, which=("W_Q", "W_K", "b_Q", "b_K")) -> bool:
    """True iff every entry of the layer output at X_ has zero derivative with respect to every
    entry of the parameters ``which`` (n = 3, d = 2, d_qk = 2; SymPy differentiates the layer)."""
    W_Q, W_K, W_V, b_Q, b_K, b_V = _weights()
    out = layer_output(X_, W_Q, W_K, W_V, b_Q, b_K, b_V)
    named = {"W_Q": W_Q, "W_K": W_K, "W_V": W_V, "b_Q": b_Q, "b_K": b_K, "b_V": b_V}
    params = [p for name in which for p in named[name]]
    return all(is_zero(sympy.diff(entry, p)) for entry in out for p in params)


def _collapsed_input():
    x = sym_matrix("x", 1, _d)
    return ones(_n, 1) * x


G1 = register(Claim(
    id="G1",
    title="Gradients at collapse: d SA / d(W_Q, W_K, b_Q, b_K) = 0 at X = 1 x^T",
    source="Noci et al., NeurIPS 2022 (arXiv 2206.03126): query/key gradients vanish at rank "
           "collapse; proved here for every n, d, d_qk",
    kind="theorem",
    family="gradients",
    hypotheses=("X = 1 x^T (all tokens equal), any n, d, d_qk",
                "SA(X) = softmax(s (X W_Q + 1 b_Q^T)(X W_K + 1 b_K^T)^T) X W_V + 1 b_V^T "
                "(each head of a multi-head layer alike)"),
    statement=Eq(Derivative(SA(X), MatrixSymbol("W_Q", d, d_qk)), ZeroMatrix(n, d)),
    steps=(
        Step("Step 1", "At X = 1 x^T the logits are one number s q^T k in every entry, for "
             "every value of the weights and biases.",
             None, "proved", "SymPy: MatrixSymbol identity for symbolic n, d, d_qk",
             proof=proves_collapsed_logits),
        Step("Step 2", "A softmax row of equal logits g(theta) is 1/n whatever theta is: its "
             "derivative is 0 (symbolic n, any dependence g of the logit on the parameters).",
             Eq(Derivative(exp(_l(_j, theta)) / Sum(exp(_l(_m, theta)), (_m, 1, n)), theta), 0),
             "proved", "SymPy: Sum over symbolic n, differentiated (a key-dependent logit, "
             "the mutation in the tests, is not constant)",
             proof=lambda: proves_attention_constant(lambda m: Function("g")(theta))),
        Step("Step 3", "The output P X W_V + 1 b_V^T depends on the parameters only through P, so "
             "its derivatives vanish; SymPy differentiates the whole layer as a check.",
             None, "proved", "SymPy: every derivative of the layer output at X = 1 x^T with "
             "respect to W_Q, W_K, b_Q, b_K is 0", sizes="n=3, d=2, d_qk=2",
             proof=lambda: derivatives_vanish_at(_collapsed_input())),
    ),
    notes="Steps 1-2 prove the statement for every size; Step 3 re-derives it by brute-force "
          "differentiation on one size. The value weights still get gradients.",
))


def logit_derivative_differences() -> bool:
    """dl_ij - dl_im for each parameter, with X = 1 x^T + R (n = 3, d = 2, d_qk = 2):
    W_Q[a,b]: s X_ia ((R_j - R_m) W_K)_b;  W_K[a,b]: s Q_ib (R_ja - R_ma);
    b_Q[b]: s ((R_j - R_m) W_K)_b;  b_K[b]: 0.  The common row x cancels in every one."""
    W_Q, W_K, _, b_Q, b_K, _ = _weights()
    R_, x = sym_matrix("R", _n, _d), sym_matrix("x", 1, _d)
    X_ = ones(_n, 1) * x + R_
    one = ones(_n, 1)
    Q, K = X_ * W_Q + one * b_Q.T, X_ * W_K + one * b_K.T
    S = s * Q * K.T
    RK = R_ * W_K
    gens = sorted(S.free_symbols, key=str)
    for i in range(_n):
        for j in range(1, _n):
            for mm in (0,):  # dl_ij - dl_im = (dl_ij - dl_i0) - (dl_im - dl_i0): m = 0 suffices
                gap = sympy.Poly(S[i, j] - S[i, mm], *gens)  # a polynomial: Poly derivatives are cheap
                for a_ in range(_d):
                    for b_ in range(_dqk):
                        expected = ((W_Q[a_, b_], s * X_[i, a_] * (RK[j, b_] - RK[mm, b_])),
                                    (W_K[a_, b_], s * Q[i, b_] * (R_[j, a_] - R_[mm, a_])),
                                    (b_Q[b_], s * (RK[j, b_] - RK[mm, b_])), (b_K[b_], 0))
                        if any(gap.diff(p) != sympy.Poly(e, *gens) for p, e in expected):
                            return False
    return True


def _centred_value_path() -> bool:
    """dP X W_V = dP R W_V when the rows of dP sum to 0 (generic such dP, n = 3, d = 2)."""
    free = sym_matrix("g", _n, _n - 1)
    dP = free.row_join(Matrix(_n, 1, lambda i, _: -sum(free.row(i))))
    R_, x, W_V = sym_matrix("R", _n, _d), sym_matrix("x", 1, _d), sym_matrix("v", _d, _d)
    return is_zero(dP * (ones(_n, 1) * x + R_) * W_V - dP * R_ * W_V)


def _r_squared() -> bool:
    """2 s |X_ia| ||W_K||_1 ||W_V||_max * (||R||_max ||R||_inf) <= the same with ||R||_1 ||R||_inf
    = ||R||_{1,inf}^2: monotone in the last factor (||R||_max <= ||R||_1, a column sum)."""
    K_, Rm, R1, Ri = sympy.symbols("K R_max R_1 R_inf", nonnegative=True)
    p = Symbol("p", nonnegative=True)  # R_1 = R_max + p
    return (K_ * (Rm + p) * Ri - K_ * Rm * Ri).expand().is_nonnegative is True


_Xia, _Qib, _WK1, _WVm, _Rmax = sympy.symbols("|X_ia| |Q_ib| ||W_K||_1 ||W_V||_max ||R||_max", nonnegative=True)
_dWQ = Symbol("|dSA_ic/d(W_Q)_ab|", nonnegative=True)
G2 = register(Claim(
    id="G2",
    title="Gradients near collapse: query/key derivatives are O(r(X)^2), explicitly",
    source="issue 11 (explicit version of Noci et al., NeurIPS 2022, near X = 1 x^T)",
    kind="theorem",
    family="gradients",
    hypotheses=("X = 1 x^T + R for any x; single head (each head of a multi-head layer alike)",
                "Q = X W_Q + 1 b_Q^T; ||M||_max = max |M_ij|; ||W_K||_1 = max column sum",
                "bounds per entry: W_Q[a,b]: 2 s |X_ia| ||W_K||_1 ||W_V||_max ||R||_max ||R||_inf; "
                "b_Q[b]: the same with |X_ia| -> 1; W_K[a,b]: 2 s |Q_ib| ||W_V||_max ||R||_max ||R||_inf; "
                "b_K: 0"),
    statement=Le(_dWQ, 2 * s * _Xia * _WK1 * _WVm * r(X)**2),
    steps=(
        Step("Step 1", "Softmax derivative dP_ij = P_ij (dl_ij - sum_m P_im dl_im); the rows of P "
             "sum to 1, so the rows of dP sum to 0.",
             None, "proved", "SymPy: symbolic n, arbitrary logits l(m, theta)",
             proof=softmax_derivative_ok),
        Step("Step 2", "Hence dSA = dP X W_V = dP R W_V for any x (the common row drops out).",
             None, "proved", "SymPy: identity for a generic dP with zero row sums",
             sizes="n=3, d=2", proof=_centred_value_path),
        Step("Step 3", "dl_ij - dl_im sees only differences of rows of R: s X_ia ((R_j - R_m) W_K)_b "
             "for W_Q[a,b], s Q_ib (R_ja - R_ma) for W_K[a,b], s ((R_j - R_m) W_K)_b for b_Q[b], 0 "
             "for b_K.", None, "proved", "SymPy: derivatives of the logits of X = 1 x^T + R",
             sizes="n=3, d=2, d_qk=2", proof=logit_derivative_differences),
        Step("Step 4", "Convex combinations: |dSA_ic| <= max_{j,m} |dl_ij - dl_im| * max_j |(R W_V)_jc| "
             "since P_ij >= 0 and sum_j P_ij = 1; then |((R_j - R_m) W_K)_b| <= 2 ||R||_max ||W_K||_1, "
             "|R_ja - R_ma| <= 2 ||R||_max and |(R W_V)_jc| <= ||R||_inf ||W_V||_max.",
             Le(_dWQ, 2 * s * _Xia * _WK1 * _WVm * _Rmax * NormInf(R)),
             "assumed", "triangle inequality and entry bounds by row/column sums (standard); "
             "the composite bound is certified by the search (G2 check)"),
        Step("Step 5", "||R||_max ||R||_inf <= ||R||_1 ||R||_inf = r(X)^2 at the optimal x.",
             None, "proved", "SymPy: the bound is increasing in the ||R||_max factor",
             proof=_r_squared),
    ),
    notes="Near collapse the query/key gradients are quadratic in r(X) (each has one factor from "
          "the attention's sensitivity dP and one from the centred values R W_V); while "
          "r(X) <= rho they are at most (K rho) r(X). The key bias never gets a gradient.",
))
