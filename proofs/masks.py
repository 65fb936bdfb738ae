"""Masked attention (decoders, graph masks): the published forms under a causal mask (a finding)
and an explicit one-step bound for any mask with a 1 on the diagonal (M1).

**Causal mask, by hand.** Under a causal mask the first token attends only to itself, so it is
copied: ``SA(X)_1 = X_1 W_V``.  For two tokens and one feature the second output is
``v (P_21 x_1 + P_22 x_2)``, and the two outputs differ by ``v P_22 (x_2 - x_1)``:

    r(SA(X)) = |v| P_22 r(X),   P_22 = sigma(s w x_2 (x_2 - x_1)) -> 1/2 as r(X) -> 0.

The residual shrinks *linearly*, by about ``|v|/2`` per layer, never cubically: Thm 2.2's
``4 beta s r(X)^3`` (and every ``r^(3^L)`` form) must fail near rank 1.  The prediction is
``violated``, for any ``W_V != 0`` once ``r(X)`` is small.

**M1.** Each row i of a masked softmax normalises over its own keys ``S_i`` (``i in S_i``).  With
``X = 1 x^T + R`` and the column part ``a`` of the logits, row i's ``pi_i = softmax_{S_i}(a)``
replaces E1's common ``pi``, and E1 Steps 1-2 hold row by row: ``P = Pi + D`` with
``|D_ij| <= c Pi_ij``, ``c = max_i (e^{delta_i} - 1) <= e^{2 eps} - 1``.  Centring at any
probability vector ``rho`` leaves ``G R W_V`` with ``G = (Pi - 1 rho^T) + D``, so

    r(SA(X)) <= sqrt((lam_1 + n c pi_max)(lam_inf + c)) ||W_V||_{1,inf} ||R||_{1,inf},

``lam_1 = ||Pi - 1 rho^T||_1``, ``lam_inf = ||Pi - 1 rho^T||_inf``: a term linear in the residual
(the rows of ``Pi`` differ because their key sets do) next to E1's cubic one (``c`` is
quadratic in ``R``).  Without a mask ``Pi = 1 pi^T``, ``rho = pi`` gives ``lam = 0`` and E1.

>>> proves_causal_two_tokens()
True
>>> causal_instance_violates(sympy.Rational(1, 10))     # r(X) = 1/(10 sqrt 2): linear beats cubic
True
>>> causal_instance_violates(sympy.Integer(3))          # far from rank 1 the cubic bound is larger
False
"""

from __future__ import annotations

import sympy
from sympy import Eq, Function, Le, Matrix, Symbol, exp, sqrt

from .registry import Claim, Step, register
from .single_head import (THM22_BOUND, _pi_form, _softmax_row_shift, proves_Q_norms, proves_ratio_bound,
                          proves_step5_algebra, proves_value_centering)
from .symbols import NormC, R, W_V, X, beta, gamma, is_zero, n, r, s, stochastic_matrix

__all__ = ["proves_causal_two_tokens", "causal_instance_violates", "proves_reduces_to_E1"]

SAN_causal = Function("SAN_causal")
SA_M = Function("SA_M")
x1, x2, w, v = sympy.symbols("x_1 x_2 w v", real=True)


def _sigma(u):
    return 1 / (1 + exp(-u))


def proves_causal_two_tokens() -> bool:
    """Two tokens, one feature, causal mask: SA(X)_2 - SA(X)_1 = v P_22 (x_2 - x_1) with
    P_22 = sigma(w x_2 (x_2 - x_1)) (w = s W_QK), and P_22 -> 1/2 as x_2 -> x_1."""
    logits_2 = (w * x2 * x1, w * x2 * x2)          # token 2 sees keys 1 and 2; token 1 only itself
    Z = exp(logits_2[0]) + exp(logits_2[1])
    out1, out2 = v * x1, v * (exp(logits_2[0]) / Z * x1 + exp(logits_2[1]) / Z * x2)
    P22 = _sigma(w * x2 * (x2 - x1))
    identity = is_zero((out2 - out1 - v * P22 * (x2 - x1)).rewrite(exp))
    return identity and sympy.limit(P22.subs(x2, x1 + Symbol("h")), Symbol("h"), 0) == sympy.Rational(1, 2)


def causal_instance_violates(delta) -> bool:
    """X = [0; delta], W_QK = W_V = 1, d_qk = 1, one causal layer: True iff
    r(SA(X)) = sigma(delta^2) r(X) exceeds Thm 2.2's 4 beta s r(X)^3 (exact comparison)."""
    r0 = delta / sqrt(2)
    lhs = _sigma(delta**2) * r0
    return bool(sympy.simplify(lhs - 4 * r0**3) > 0)


register(Claim(
    id="thm2.2.causal",
    title="Thm 2.2 applied unchanged to causally masked attention",
    source="Dong, Cordonnier & Loukas, ICML 2021, Thm 2.2 (stated for unmasked attention), "
           "applied to decoders (issue 11)",
    kind="published",
    family="masks",
    hypotheses=("every layer: single-head softmax attention with a causal mask (token i attends "
                "to keys 1..i), no skip, no LayerNorm",
                "||W_QK^l||_1 ||W_V^l||_{1,inf} <= beta, gamma = 1"),
    statement=Le(r(SAN_causal(X)), THM22_BOUND.subs(gamma, 1)),
    steps=(
        Step("Step 1", "By hand: the first token is copied, and for two tokens r(SA(X)) = "
             "|v| P_22 r(X) with P_22 -> 1/2: linear in r(X), not cubic.",
             Eq(Symbol("r(SA_causal(X))"), sympy.Abs(v) * Symbol("P_22") * r(X)),
             "proved", "SymPy: the causal layer on a symbolic two-token input; limit of P_22",
             proof=proves_causal_two_tokens),
        Step("Step 2", "Prediction: violated near rank 1. Exact instance X = [0; 1/10], "
             "W_Q = W_K = W_V = 1: sigma(1/100) r(X) > 4 r(X)^3.",
             None, "proved", "SymPy: exact comparison on the instance (and not on [0; 3], so the "
             "comparison can fail)",
             proof=lambda: causal_instance_violates(sympy.Rational(1, 10))
             and not causal_instance_violates(sympy.Integer(3))),
        Step("search", "Certified search with causal masks in every layer; the saved "
             "counterexample is an instance file `rankcollapse check` re-checks.",
             Le(r(SAN_causal(X)), THM22_BOUND.subs(gamma, 1)),
             "numeric", "the published form is not stated for masks; tested as a finding",
             numeric_check="thm2.2.causal:search"),
    ),
    notes="Finding: refuted near rank 1 (Steps 1-2 and the search). A causal mask turns the "
          "doubly exponential rate into an exponential one (M1, docs/masks.md).",
))


def proves_reduces_to_E1() -> bool:
    """With no mask (Pi = 1 pi^T, rho = pi: lam_1 = lam_inf = 0) M1's factor is E1's:
    sqrt(n c pi_max * c) = c sqrt(n pi_max)."""
    c_, pm = sympy.symbols("c pi_max", positive=True)
    return is_zero(sqrt((0 + n * c_ * pm) * (0 + c_)) - c_ * sqrt(n * pm))


lam_1, lam_inf, c_sym, pi_max_M = sympy.symbols("lambda_1 lambda_inf c pi_max", nonnegative=True)
M1_FACTOR = sqrt((lam_1 + n * c_sym * pi_max_M) * (lam_inf + c_sym))
register(Claim(
    id="M1",
    title="One masked attention layer (any mask with a 1 on the diagonal): linear + cubic",
    source="issue 11 (explicit; extends Lemma E1 to masks)",
    kind="theorem",
    family="masks",
    hypotheses=("mask M (n x n, 0/1) with M_ii = 1; each row of P is a softmax over its keys "
                "S_i = {j : M_ij = 1}",
                "X = 1 x^T + R for any x; a = the logits' column part; Pi_ij = softmax over S_i of a",
                "rho any probability vector; lam_1 = ||Pi - 1 rho^T||_1, lam_inf = ||Pi - 1 rho^T||_inf",
                "c = max_i (e^{delta_i} - 1) <= e^{2 eps} - 1, delta_i the spread of E = s R W R^T "
                "over S_i, eps = s ||W||_1 ||R||_1 ||R||_inf; pi_max = max Pi_ij",
                "several heads: the per-norm factors add over heads (as E2), W_h = W_V,h W_O,h"),
    statement=Le(r(SA_M(X)), M1_FACTOR * NormC(W_V) * NormC(R)),
    steps=(
        Step("Step 1", "Row by row, the masked softmax is E1's softmax over the row's keys: "
             "P_ij = Pi_ij e^{E_ij} / sum_{k in S_i} Pi_ik e^{E_ik}.",
             None, "proved", "SymPy: row-shift invariance and the pi-form for a row of symbolic "
             "length (the row's key set), as E1 Step 1",
             proof=lambda: _softmax_row_shift() and _pi_form()),
        Step("Step 2", "|P_ij - Pi_ij| <= (e^{delta_i} - 1) Pi_ij (E1 Step 2 per row).",
             None, "proved", "SymPy: as E1 Step 2, symbolic n", proof=proves_ratio_bound),
        Step("Step 3", "Centre at x^T W_V + rho^T R W_V + b_V^T: the rest is G R W_V with "
             "G = P - 1 rho^T = (Pi - 1 rho^T) + D (P 1 = 1 under any mask).",
             None, "proved", "SymPy: the centring identity for a generic row-stochastic P and any "
             "rho", sizes="n=3, d=2",
             proof=lambda: proves_value_centering([stochastic_matrix("p", 3)])),
        Step("Step 4", "Per norm: ||G||_inf <= lam_inf + c and ||G||_1 <= lam_1 + n c pi_max "
             "(triangle inequality of each induced norm, then D as E1's Q).",
             None, "proved", "SymPy: D's norm bounds as E1 Step 4 (symbolic n); the triangle "
             "inequality of an induced norm is standard", proof=proves_Q_norms),
        Step("Step 5", "Submultiplicativity per norm, geometric mean, and c <= e^{2 eps} - 1.",
             Le(r(SA_M(X)), M1_FACTOR * NormC(W_V) * NormC(R)),
             "proved", "SymPy: as E1 Step 5 (sqrt monotone, geometric-mean identity), every size",
             proof=proves_step5_algebra),
        Step("Step 6", "Without a mask (Pi = 1 pi^T, rho = pi) the bound is E1's.",
             None, "proved", "SymPy: identity", proof=proves_reduces_to_E1),
    ),
    notes="lam stays O(1) near collapse when key sets differ (causal: row 1 sees one key, row n "
          "all of them), so masked attention contracts at most linearly per layer: exponential, "
          "not doubly exponential, collapse.",
))
