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

ORDER = 9  # the family's place in the teaching order (docs, verify, derive)

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


THM22_CAUSAL = register(Claim(
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
             "numeric", "the published form is not stated for masks; tested as a finding"),
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
M1 = register(Claim(
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


# ---------------------------------------------------------------- exponential collapse under masks
def proves_dobrushin_identity() -> bool:
    """For probability vectors p, q of symbolic length n: (1/2) sum_j |p_j - q_j| =
    1 - sum_j min(p_j, q_j), from |a - b| = a + b - 2 min(a, b) termwise and sum p = sum q = 1."""
    a_, b_ = sympy.symbols("a b", real=True)
    termwise = all(is_zero(sympy.Abs(a_ - b_).subs(vals) - (a_ + b_ - 2 * sympy.Min(a_, b_)).subs(vals))
                   for vals in ({a_: 3, b_: 1}, {a_: 1, b_: 3}, {a_: 2, b_: 2}))
    # the identity is piecewise linear: it holds on a >= b (min = b) and on a <= b (min = a)
    p = Symbol("p", nonnegative=True)
    pieces = is_zero((b_ + p - b_) - ((b_ + p) + b_ - 2 * b_)) and is_zero((a_ + p - a_) - (a_ + (a_ + p) - 2 * a_))
    j = Symbol("j", integer=True, positive=True)
    P, Q, Mn = (sympy.IndexedBase(name) for name in ("p", "q", "m"))
    total = sympy.Sum(P[j] + Q[j] - 2 * Mn[j], (j, 1, n)) / 2
    summed = sympy.simplify(sympy.expand(total).doit()
                            .subs({sympy.Sum(P[j], (j, 1, n)): 1, sympy.Sum(Q[j], (j, 1, n)): 1})
                            - (1 - sympy.Sum(Mn[j], (j, 1, n)))) == 0
    return termwise and pieces and summed


def proves_two_components_fixed() -> bool:
    """Block-diagonal mask {1, 2} | {3, 4} (not quasi-strongly connected), W_V = 1, one feature:
    the input [a; a; b; b] is a fixed point for every W_QK, so r(X^L) = r(X) > 0 when a != b."""
    a_, b_, w_ = sympy.symbols("a b w", real=True)
    X_ = [a_, a_, b_, b_]
    block = lambda i: (0, 1) if i < 2 else (2, 3)  # noqa: E731
    out = []
    for i in range(4):
        keys = block(i)
        Z = sum(exp(w_ * X_[i] * X_[k]) for k in keys)
        out.append(sum(exp(w_ * X_[i] * X_[k]) / Z * X_[k] for k in keys))
    return all(is_zero(o - x) for o, x in zip(out, X_))


_delta_P = Symbol("delta(P^l)", nonnegative=True)
_diam = Function("diam")
M2 = register(Claim(
    id="M2",
    title="Exponential collapse under masks: diam(X^l) <= delta(P^l) diam(X^(l-1)), computable rate",
    source="issue 11; explicit version of Wu, Ajorlou, Wang, Jegelka & Jadbabaie, NeurIPS 2024 "
           "(arXiv 2405.18781), via Dobrushin's ergodicity coefficient",
    kind="theorem",
    family="masks",
    hypotheses=("pure masked softmax attention with W_V = I (and no value bias): X^l = P^l X^(l-1)",
                "diam(X) = max over features of (max_i X_ic - min_i X_ic)",
                "delta(P) = 1 - min_{i,k} sum_j min(P_ij, P_kj) = (1/2) max_{i,k} ||P_i - P_k||_1"),
    statement=Le(_diam(Symbol("X^l")), _delta_P * _diam(Symbol("X^(l-1)"))),
    steps=(
        Step("Step 1", "Dobrushin: a row-stochastic P contracts every column's spread by delta(P).",
             None, "assumed", "Dobrushin's ergodicity coefficient (Seneta, Non-negative Matrices "
             "and Markov Chains, 1981, Thm 3.1): standard; certified per layer by the M2 check"),
        Step("Step 2", "The two forms of delta agree: (1/2)||p - q||_1 = 1 - sum_j min(p_j, q_j).",
             None, "proved", "SymPy: termwise |a - b| = a + b - 2 min(a, b) (both pieces), then "
             "Sums over symbolic n with sum p = sum q = 1", proof=proves_dobrushin_identity),
        Step("Step 3", "Causal mask: every row gives key 1 some weight, so delta(P) <= "
             "1 - min_i P_i1 < 1: the rate is computable from the layer.",
             None, "assumed", "sum_j min(P_ij, P_kj) >= min(P_i1, P_k1) (one term of a sum of "
             "nonnegative terms): elementary"),
        Step("Step 4", "Not quasi-strongly connected: with two components a two-cluster input is a "
             "fixed point, r(X^L) = r(X) > 0 at every depth (no collapse).",
             None, "proved", "SymPy: block-diagonal mask on [a; a; b; b] for symbolic a, b, W_QK",
             sizes="n=4, d=1", proof=proves_two_components_fixed),
    ),
    notes="r and diam are equivalent up to factors depending on n and d, so the per-layer "
          "contraction delta(P^l) < 1 gives exponential collapse of r as well.",
))


WU2024 = register(Claim(
    id="wu2024",
    title="Wu et al. 2024: pure masked attention collapses exponentially on a quasi-strongly "
          "connected mask graph",
    source="Wu, Ajorlou, Wang, Jegelka & Jadbabaie, On the Role of Attention Masks and LayerNorm "
           "in Transformers, NeurIPS 2024 (arXiv 2405.18781), main result on masked attention",
    kind="published",
    family="masks",
    hypotheses=("the mask graph G (j -> i when token i attends to token j) is quasi-strongly "
                "connected (a token from which all tokens are reachable) and has self-loops",
                "query/key weights bounded uniformly over layers; value weights as in the paper",
                "transcribed from the abstract and the summary of the theorem: the constants C, "
                "eps are not explicit there"),
    statement=Le(Function("mu")(Symbol("X^t")),
                 Symbol("C") * (1 - Symbol("epsilon")**Symbol("r_G"))**(Symbol("t") / Symbol("r_G"))),
    steps=(
        Step("Step 1", "The quasi-strong connectivity is needed: two components do not collapse "
             "(M2 Step 4).", None, "proved", "SymPy: as M2 Step 4", sizes="n=4, d=1",
             proof=proves_two_components_fixed),
    ),
    notes="No numeric check: the statement has unspecified constants. M2 is the explicit, "
          "certified counterpart with a rate computed per layer.",
))
