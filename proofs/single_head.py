"""Single-head attention: Lemma E1 (one layer), Theorem E4 (depth), published Thm 2.2.

Lemma E1 bounds one layer.  Write the input as ``X = 1 x^T + R`` for any x.  Softmax
ignores row-constant logits, so only ``r = s R W^T x`` (shared by all rows) and
``E = s R W R^T`` (quadratic in R) reach the attention matrix ``P``; then ``P`` is within a
factor ``e^{+-delta}`` of ``1 pi^T`` and the residual of the output is ``(P - 1 pi^T) R W_V``,
cubic in R.  The constant is ``4 gamma beta s`` with the explicit
``gamma = sqrt(n pi_max) phi(2 eps) / 2``.

Theorem E4 iterates ``B_l = a_l B_{l-1}^3``.  Taking logs turns it into the linear
recurrence ``b_l = 3 b_{l-1} + log a``, which SymPy's ``rsolve`` solves: the closed form
``B_L = a^((3^L-1)/2) B_0^(3^L) = a^(-1/2) (sqrt(a) B_0)^(3^L)`` shrinks with depth iff
``sqrt(a) B_0 < 1`` (``a < 1`` alone is not enough).

>>> from sympy import Rational
>>> closed_form_B(Rational(1, 4), 4, 2)   # a < 1, yet the bound grows: 2^(3^L + 1)
1024
>>> proves_closed_form(a**((3**L - 1) / 2) * B0**(3**L))
True
>>> proves_closed_form(a**(3**L) * B0**(3**L))
False
>>> depth_to_eps(Rational(1, 4), 1, Rational(1, 1000)).evalf(4)
2.180
"""

from __future__ import annotations

from functools import cache

import sympy
from sympy import (Abs, Eq, Function, IndexedBase, Le, MatrixSymbol, Product, Rational,
                   Subs, Sum, Symbol, exp, log, ones, sqrt, zeros)

from .registry import Claim, Step, register
from .symbols import (B0, ONE, SA, SAN, W_V, X, X_L, B, H, L, Norm1, NormC, NormInf, R,
                      a, beta, d, d_qk, eps, gamma, is_zero, kappa, l, lam, n, nonneg_on_halfline,
                      phi, pi_max, r, s, same_log, softmax_rows, stochastic_matrix, sym_matrix)

ORDER = 2  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["A_FACTOR", "closed_form_B", "depth_to_eps", "proves_closed_form",
           "proves_depth_formula", "proves_ratio_bound", "proves_value_centering",
           "centering_residual", "proves_phi_increasing", "proves_published_matches_E4",
           "Gamma", "GROWTH_INSTANCE"]

# ---------------------------------------------------------------- Lemma E1
_n, _d = 3, 2  # size of the explicit matrices the identities are checked on


def _logit_decomposition() -> bool:
    """Logits of X = 1 x^T + R (with query/key biases) equal 1 r^T + E + v 1^T."""
    R_, x = sym_matrix("R", _n, _d), sym_matrix("x", _d, 1)
    W_Q, W_K = sym_matrix("q", _d, 2), sym_matrix("k", _d, 2)
    b_Q, b_K = sym_matrix("bq", 2, 1), sym_matrix("bk", 2, 1)
    one = ones(_n, 1)
    X_ = one * x.T + R_
    logits = s * (X_ * W_Q + one * b_Q.T) * (X_ * W_K + one * b_K.T).T
    W = W_Q * W_K.T
    r_vec = s * (R_ * W.T * x + R_ * W_K * b_Q)
    E = s * R_ * W * R_.T
    query = W_Q.T * x + b_Q
    key = W_K.T * x + b_K
    v = s * ((query.T * key)[0, 0] * one + R_ * W_Q * key)  # row-constant part
    return is_zero(logits - (one * r_vec.T + E + v * one.T))


def _softmax_row_shift() -> bool:
    """softmax_rows(M + v 1^T) = softmax_rows(M) for a symbolic 3x3 M."""
    M, v = sym_matrix("m", _n, _n), sym_matrix("v", _n, 1)
    return is_zero(softmax_rows(M + v * ones(1, _n)) - softmax_rows(M))


def _pi_form() -> bool:
    """softmax_rows(1 r^T + E)_ij = pi_j e^{E_ij} / Z_i with pi = softmax(r)."""
    r_vec, E = sym_matrix("r", _n, 1), sym_matrix("E", _n, _n)
    pi = softmax_rows(r_vec.T)
    P = softmax_rows(ones(_n, 1) * r_vec.T + E)
    Z = [sum(pi[k] * exp(E[i, k]) for k in range(_n)) for i in range(_n)]
    return all(is_zero(P[i, j] - pi[j] * exp(E[i, j]) / Z[i])
               for i in range(_n) for j in range(_n))


def proves_ratio_bound() -> bool:
    """e^{-delta} <= P_ij/pi_j = e^{E_ij}/Z_i <= e^{delta} and |ratio - 1| <= e^delta - 1.

    Z_i is a pi-weighted mean of e^{E_ik}: with m = min_k E_ik and E_ik = m + u_k (u_k >= 0),
    Z_i - e^m = e^m sum_k pi_k (e^{u_k} - 1) >= 0; with M = max_k E_ik and E_ik = M - w_k,
    e^M - Z_i = e^M sum_k pi_k (1 - e^{-w_k}) >= 0.  Then
    (e^delta - 1) - (1 - e^{-delta}) = (e^{delta/2} - e^{-delta/2})^2 >= 0.
    """
    p1, p2, m, M, dl = sympy.symbols("p1 p2 m M delta", real=True)
    u = sympy.symbols("u1:4", nonnegative=True)
    pis = (p1, p2, 1 - p1 - p2)  # a probability vector
    mean_above_min = is_zero(sum(pk * exp(m + uk) for pk, uk in zip(pis, u)) - exp(m)
                             - exp(m) * sum(pk * (exp(uk) - 1) for pk, uk in zip(pis, u)))
    mean_below_max = is_zero(exp(M) - sum(pk * exp(M - uk) for pk, uk in zip(pis, u))
                             - exp(M) * sum(pk * (1 - exp(-uk)) for pk, uk in zip(pis, u)))
    terms_nonneg = (nonneg_on_halfline(exp(u[0]) - 1, u[0])
                    and nonneg_on_halfline(1 - exp(-u[0]), u[0]))
    square = (exp(dl / 2) - exp(-dl / 2))**2
    upper_side_wins = (is_zero((exp(dl) - 1) - (1 - exp(-dl)) - square)
                       and square.is_nonnegative is True)
    return mean_above_min and mean_below_max and terms_nonneg and upper_side_wins


def centering_residual(Ps) -> sympy.Matrix:
    """SA(X) - 1 (sum_h x^T W_h + pi_h^T R W_h + b^T) - sum_h (P_h - 1 pi_h^T) R W_h.

    Evaluated for X = 1 x^T + R with the given attention matrices P_h (one per head) and
    symbolic R, x, W_h, pi_h, b.  It vanishes exactly when every P_h satisfies P_h 1 = 1.
    """
    R_, x, b = sym_matrix("R", _n, _d), sym_matrix("x", _d, 1), sym_matrix("b", _d, 1)
    one = ones(_n, 1)
    X_ = one * x.T + R_
    out, centre, residual = one * b.T, b.T, zeros(_n, _d)
    for head, P in enumerate(Ps):
        W, pi = sym_matrix(f"w{head}", _d, _d), sym_matrix(f"pi{head}", _n, 1)
        out += P * X_ * W
        centre += x.T * W + pi.T * R_ * W
        residual += (P - one * pi.T) * R_ * W
    return out - one * centre - residual


def proves_value_centering(Ps) -> bool:
    """True iff the output of heads Ps is 1 (centre)^T + sum_h Q_h R W_h (Step 3)."""
    return is_zero(centering_residual(Ps))


def _delta_le_2eps() -> bool:
    """From E_ij <= eps and E_ij' >= -eps: 2 eps - (E_ij - E_ij') >= 0.

    Writing E_ij = eps - q and E_ij' = -eps + p with p, q >= 0 uses only the two one-sided
    bounds that |E| <= eps gives; delta_i is the max over pairs (j, j').
    """
    p, q = sympy.symbols("p q", nonnegative=True)
    return (2 * eps - ((eps - q) - (-eps + p))).is_nonnegative is True


def proves_phi_increasing() -> bool:
    """phi(t) = (e^t - 1)/t is increasing on t > 0 with phi(0+) = 1, hence phi >= 1 > 0.

    phi'(t) = (t e^t - e^t + 1)/t^2 and the numerator g has g(0) = 0, g'(t) = t e^t >= 0.
    """
    t = Symbol("t", positive=True)
    numerator = t * exp(t) - exp(t) + 1
    derivative = is_zero(sympy.diff(phi(t).rewrite(exp), t) - numerator / t**2)
    return (derivative and nonneg_on_halfline(numerator, t)
            and sympy.limit(phi(t).rewrite(exp), t, 0, "+") == 1)


def _softmax_gap_as_phi() -> bool:
    """e^{2 eps} - 1 = 2 eps phi(2 eps), and phi is increasing with phi(0) = 1."""
    identity = is_zero(exp(2 * eps) - 1 - (2 * eps * phi(2 * eps)).rewrite(exp))
    return identity and proves_phi_increasing()


R1, Rinf, W1, WVc = sympy.symbols("R_1 R_inf W_1 W_V", positive=True)  # norm values


def _final_form() -> bool:
    """(e^{2 eps} - 1) sqrt(n pi_max) ||W_V|| ||R|| = 4 gamma beta s ||R||^3 exactly.

    eps = s ||W||_1 ||R||_1 ||R||_inf, ||R||_{1,inf}^2 = ||R||_1 ||R||_inf,
    gamma = sqrt(n pi_max) phi(2 eps)/2, beta = ||W||_1 ||W_V||_{1,inf}.
    """
    eps_ = s * W1 * R1 * Rinf
    Rc = sqrt(R1 * Rinf)
    gamma_ = sqrt(n * pi_max) * phi(2 * eps_) / 2
    lhs = (exp(2 * eps_) - 1) * sqrt(n * pi_max) * WVc * Rc
    rhs = 4 * gamma_ * (W1 * WVc) * s * Rc**3
    return is_zero(lhs - rhs.rewrite(exp))


_P = MatrixSymbol("P", n, n)
_pi, _Q = MatrixSymbol("pi", n, 1), MatrixSymbol("Q", n, n)
_x, _bV = MatrixSymbol("x", d, 1), MatrixSymbol("b_V", d, 1)
P_ij, pi_j, E_ij, Z_i, delta_i, c = sympy.symbols("P_ij pi_j E_ij Z_i delta_i c", positive=True)

E1 = register(Claim(
    id="E1",
    title="Lemma E1: one single-head attention layer",
    source="docs/theory.md §4 (explicit)",
    kind="theorem",
    family="single_head",
    hypotheses=(
        "X = 1 x^T + R for any x (not necessarily optimal), s = 1/sqrt(d_qk)",
        "W = W_QK = W_Q W_K^T, E = s R W R^T, r = s (R W^T x + R W_K b_Q), pi = softmax(r)",
        "delta_i = max_j E_ij - min_j E_ij, eps = s ||W||_1 ||R||_1 ||R||_inf",
        "beta = ||W||_1 ||W_V||_{1,inf}, gamma = sqrt(n pi_max) phi(2 eps)/2, "
        "phi(t) = (e^t - 1)/t, phi(0) = 1",
    ),
    statement=Le(r(SA(X)), 4 * gamma * beta * s * NormC(R)**3),
    steps=(
        Step("Step 1", "Expand the logits of X = 1 x^T + R, drop the row-constant terms "
             "v 1^T (softmax ignores them), and factor out pi = softmax(r).",
             Eq(P_ij, pi_j * exp(E_ij) / Z_i),
             "proved", "SymPy: logit identity with biases (n=3, d=2, d_qk=2), softmax "
             "row-shift invariance and the pi-form on symbolic 3x3 matrices",
             proof=lambda: _logit_decomposition() and _softmax_row_shift() and _pi_form()),
        Step("Step 2", "Z_i lies between e^{min_j E_ij} and e^{max_j E_ij}, so P_ij/pi_j is "
             "within e^{+-delta_i} of 1 and the upper side dominates.",
             Le(Abs(P_ij - pi_j), (exp(delta_i) - 1) * pi_j),
             "proved", "SymPy: Z_i minus its bounds as pi-weighted sums of nonnegative terms; "
             "e^delta - 1 - (1 - e^{-delta}) is a square",
             proof=proves_ratio_bound),
        Step("Step 3", "Centre the output: what remains is Q R W_V with Q = P - 1 pi^T, "
             "because P 1 = 1 (the value bias b_V is row-constant and goes to the centre).",
             Eq(_P * (ONE * _x.T + R) * W_V + ONE * _bV.T
                - ONE * (_x.T * W_V + _pi.T * R * W_V + _bV.T), _Q * R * W_V, evaluate=False),
             "proved", "SymPy: identity for a generic row-stochastic 3x3 P",
             proof=lambda: proves_value_centering([stochastic_matrix("p", _n)])),
        Step("Step 4", "Bound Q R in each norm with c = max_i (e^{delta_i} - 1).",
             sympy.And(Le(NormInf(_Q * R), c * NormInf(R)),
                       Le(Norm1(_Q * R), n * c * pi_max * Norm1(R))),
             "numeric", "||Q||_inf <= c sum_j pi_j = c and ||Q||_1 <= n c pi_max by Step 2, "
             "then submultiplicativity; spot-checked numerically"),
        Step("Step 5", "Submultiplicativity in each norm, then the geometric mean.",
             Le(r(SA(X)), c * sqrt(n * pi_max) * NormC(W_V) * NormC(R)),
             "numeric", "r(SA(X)) <= ||Q R W_V||_{1,inf} by Step 3, then Step 4 and N1; "
             "spot-checked numerically"),
        Step("Step 6", "|E_ij| <= ||E||_1 <= s ||R||_1 ||W||_1 ||R^T||_1 = eps, so "
             "delta_i <= 2 eps.",
             Le(delta_i, 2 * eps),
             "proved", "SymPy proves delta_i <= 2 eps from -eps <= E_ij <= eps; the entry "
             "bound itself is standard (max entry <= induced norm, N1, ||R^T||_1 = ||R||_inf)",
             proof=_delta_le_2eps),
        Step("Step 7", "Rewrite the softmax factor with phi, which is increasing with "
             "phi(0) = 1.",
             Eq(exp(2 * eps) - 1, 2 * eps * phi(2 * eps)),
             "proved", "SymPy: identity; phi' numerator t e^t - e^t + 1 vanishes at 0 with "
             "derivative t e^t >= 0; limit phi(0+) = 1",
             proof=_softmax_gap_as_phi),
        Step("Final", "Since c <= e^{2 eps} - 1 (Step 6, exp increasing), Steps 5 and 7 give "
             "the cubic form exactly.",
             Eq((exp(2 * eps) - 1) * sqrt(n * pi_max) * NormC(W_V) * NormC(R),
                4 * gamma * beta * s * NormC(R)**3),
             "proved", "SymPy: identity with eps, gamma, beta substituted and "
             "||R||_{1,inf}^2 = ||R||_1 ||R||_inf",
             proof=_final_form),
    ),
    notes="No smallness assumption is needed. gamma >= 1/2 (phi >= 1, pi_max >= 1/n) and "
          "gamma -> sqrt(n pi_max)/2 as R -> 0, which exceeds 1 once n pi_max > 4: the "
          "published gamma = 1 is not implied. Step 3 keeps the value bias b_V explicitly "
          "(docs/theory.md §4 omits it; it is row-constant).",
))


# ---------------------------------------------------------------- Theorem E4
A_FACTOR = 4 * gamma * beta * H * lam * s  # a = 4 gamma beta H lam s (gamma := Gamma_l)


def Gamma(B_prev) -> sympy.Expr:
    """Gamma(B) = sqrt(n) phi(2 s kappa B^2)/2: gamma with pi_max <= 1 and ||R|| <= B."""
    return sqrt(n) * phi(2 * s * kappa * B_prev**2) / 2


def closed_form_B(a_, B0_, L_) -> sympy.Expr:
    """B_L = a^((3^L - 1)/2) B_0^(3^L) for B_l = a B_{l-1}^3 (exact for exact inputs)."""
    a_, B0_, L_ = sympy.sympify(a_), sympy.sympify(B0_), sympy.sympify(L_)
    return a_**((3**L_ - 1) / 2) * B0_**(3**L_)


def depth_to_eps(a_, B0_, eps_) -> sympy.Expr:
    """The real threshold L* = log_3(log(eps sqrt(a)) / log(sqrt(a) B_0)): B_L <= eps iff L >= L*.

    The smallest integer depth is max(0, ceiling(L*)).  Returns 0 when eps sqrt(a) >= 1
    (then B_L < eps at every depth) and raises ValueError when sqrt(a) B_0 >= 1 (no
    contraction).  Symbolic inputs give the formula.
    """
    a_, B0_, eps_ = sympy.sympify(a_), sympy.sympify(B0_), sympy.sympify(eps_)
    q, target = sqrt(a_) * B0_, eps_ * sqrt(a_)
    if (q - 1).is_nonnegative:
        raise ValueError(f"sqrt(a) B_0 = {q} >= 1: the bound does not shrink with depth")
    if (target - 1).is_nonnegative:
        return sympy.S.Zero
    return log(log(target) / log(q), 3)


@cache
def _log_solution() -> sympy.Expr:
    """b_L solving b_l = 3 b_{l-1} + log a, b_0 = log B_0 (rsolve)."""
    b, k = Function("b"), Symbol("k", integer=True, nonnegative=True)
    return sympy.rsolve(b(k) - 3 * b(k - 1) - log(a), b(k), {b(0): log(B0)}).subs(k, L)


def proves_closed_form(expr) -> bool:
    """True iff expr(a, B_0, L) solves B_l = a B_{l-1}^3 from B_0.

    Checks log(expr) against rsolve's solution of the log-linear recurrence, the base case
    and the induction step expr(L) = a expr(L-1)^3.
    """
    return (is_zero(sympy.expand_log(log(expr), force=True) - _log_solution())
            and is_zero(expr.subs(L, 0) - B0)
            and same_log(expr, a * expr.subs(L, L - 1)**3))


def _equivalent_form() -> bool:
    """a^((3^L-1)/2) B_0^(3^L) = a^(-1/2) (sqrt(a) B_0)^(3^L)."""
    return same_log(a**Rational(-1, 2) * (sqrt(a) * B0)**(3**L), closed_form_B(a, B0, L))


def _product_form() -> bool:
    """B_L = prod_l a_l^(3^(L-l)) B_0^(3^L): explicit for L = 1..4, then the induction step.

    In logs (alpha_l = log a_l, b_0 = log B_0) the step is
    sum_{l<=L} 3^(L-l) alpha_l + 3^L b_0 = 3 (sum_{l<=L-1} 3^(L-1-l) alpha_l + 3^(L-1) b_0)
    + alpha_L, with the last term of the left sum split off (additivity of finite sums).
    """
    alphas = sympy.symbols("a_1:5", positive=True)
    B_l = B0
    for depth in range(1, 5):
        B_l = alphas[depth - 1] * B_l**3
        product = sympy.Mul(*(alphas[k - 1]**(3**(depth - k)) for k in range(1, depth + 1)))
        if not same_log(B_l, product * B0**(3**depth)):
            return False
    alpha, b0 = IndexedBase("alpha"), Symbol("b_0")
    lhs = Sum(3**(L - l) * alpha[l], (l, 1, L - 1)) + alpha[L] + 3**L * b0
    rhs = 3 * (Sum(3**(L - 1 - l) * alpha[l], (l, 1, L - 1)) + 3**(L - 1) * b0) + alpha[L]
    return is_zero(lhs - rhs)


def _gamma_monotone() -> bool:
    """B -> Gamma(B) B^3 is increasing on B >= 0.

    d/dB [sqrt(n)/2 phi(2 s kappa B^2) B^3] = sqrt(n)/2 (4 s kappa B^4 phi' + 3 B^2 phi):
    nonnegative since phi > 0 and phi' >= 0 (proves_phi_increasing).
    """
    derivative = sympy.diff(Gamma(B) * B**3, B)
    phi_value, phi_slope = sympy.Dummy(positive=True), sympy.Dummy(nonnegative=True)
    with_slope = derivative.replace(lambda e: isinstance(e, Subs), lambda e: phi_slope)
    signed = with_slope.subs(phi(2 * s * kappa * B**2), phi_value)
    return proves_phi_increasing() and signed.is_nonnegative is True


GROWTH_INSTANCE = (Rational(1, 4), sympy.Integer(4))  # (a, B_0): a < 1 but sqrt(a) B_0 = 2


def _contraction() -> bool:
    """B_L -> 0 iff sqrt(a) B_0 < 1; and a < 1 is not enough.

    Parametrise sqrt(a) B_0 = e^{-u}, 1, e^{u} (u > 0): log B_L = -log(a)/2 -+ u 3^L tends
    to -oo, stays, or tends to +oo.  The instance a = 1/4, B_0 = 4 gives B_L = 2^(3^L + 1).
    """
    u = Symbol("u", positive=True)

    def log_limit(q):
        log_B = sympy.expand(sympy.expand_log(log(closed_form_B(a, q / sqrt(a), L)), force=True))
        return sympy.limit(log_B, L, sympy.oo)

    a_, B0_ = GROWTH_INSTANCE
    grows = (a_ < 1 and sqrt(a_) * B0_ > 1
             and same_log(closed_form_B(a_, B0_, L), 2**(3**L + 1))
             and closed_form_B(a_, B0_, 1) > B0_)
    return (log_limit(exp(-u)) == -sympy.oo and log_limit(sympy.S.One) == -log(a) / 2
            and log_limit(exp(u)) == sympy.oo and bool(grows))


def proves_depth_formula(depth) -> bool:
    """True iff depth(a, B_0, eps) is the exact threshold of B_L <= eps.

    Any contracting case is sqrt(a) B_0 = e^{-u}, eps sqrt(a) = e^{-w} with u, w > 0.  SymPy
    solves log B_L = log eps for L (a single real solution), compares it with depth, and
    checks that log B_L decreases in L, so B_L <= eps exactly beyond the threshold.
    """
    u, w = sympy.symbols("u w", positive=True)
    B0_, eps_ = exp(-u) / sqrt(a), exp(-w) / sqrt(a)
    depth_ = Symbol("L", real=True)
    log_B = sympy.expand(sympy.expand_log(log(closed_form_B(a, B0_, depth_)), force=True))
    log_eps = sympy.expand(sympy.expand_log(log(eps_), force=True))
    solutions = sympy.solve(Eq(log_B, log_eps), depth_)
    return (len(solutions) == 1 and is_zero(solutions[0] - depth(a, B0_, eps_))
            and sympy.expand(sympy.diff(log_B, depth_)).is_negative is True)


_a_l, _B_L = IndexedBase("a")[l], Symbol("B_L", positive=True)
E4 = register(Claim(
    id="E4",
    title="Theorem E4: L layers, a priori bound",
    source="docs/theory.md §4 (explicit)",
    kind="theorem",
    family="single_head",
    hypotheses=(
        "B_0 >= ||X - 1 x^T||_{1,inf} for some x",
        "a_l = 4 lam_l Gamma_l beta_l H s with Gamma_l = sqrt(n) phi(2 s kappa_l B_{l-1}^2)/2, "
        "kappa_l = max_h ||W_QK,h^l||_1 (pi_max <= 1 since pi is not known a priori)",
        "beta_l as in Lemma E2 (single head: E1, H = 1); lam_l as in Lemma E3 (1 without MLP)",
        "B_l = a_l B_{l-1}^3",
    ),
    statement=Le(r(X_L), Product(_a_l**(3**(L - l)), (l, 1, L)) * B0**(3**L)),
    steps=(
        Step("Step 1", "One layer: r(X^l) <= a_l r(X^{l-1})^3 with Gamma_l evaluated at "
             "r(X^{l-1}), from Lemmas E2 (attention) and E3 (MLP) with pi_max <= 1.",
             None, "assumed", "Lemmas E1/E2 and E3 (registered claims E1, E2, E3)"),
        Step("Step 2", "Induction needs B -> Gamma(B) B^3 increasing, so r(X^{l-1}) <= B_{l-1} "
             "gives r(X^l) <= B_l.",
             sympy.Ge(sympy.Derivative(Gamma(B) * B**3, B), 0),
             "proved", "SymPy: derivative is a sum of nonnegative terms given phi > 0, "
             "phi' >= 0 (proved as in E1 Step 7)",
             proof=_gamma_monotone),
        Step("Step 3", "Constant a_l = a: solve the log-linear recurrence b_l = 3 b_{l-1} + log a.",
             Eq(_B_L, closed_form_B(a, B0, L)),
             "proved", "SymPy: rsolve, base case and induction step",
             proof=lambda: proves_closed_form(closed_form_B(a, B0, L))),
        Step("Step 4", "Equivalent form that shows the contraction condition.",
             Eq(closed_form_B(a, B0, L), a**Rational(-1, 2) * (sqrt(a) * B0)**(3**L),
                evaluate=False),
             "proved", "SymPy: equal logarithms",
             proof=_equivalent_form),
        Step("Step 5", "General layer-dependent a_l: the product form.",
             Eq(_B_L, Product(_a_l**(3**(L - l)), (l, 1, L)) * B0**(3**L)),
             "proved", "SymPy: explicit for L = 1..4 and the induction step in logs",
             proof=_product_form),
        Step("Step 6", "B_L -> 0 iff sqrt(a) B_0 < 1; a < 1 (4 gamma beta H lam < sqrt(d_qk)) "
             "is not enough: a = 1/4, B_0 = 4 gives B_L = 2^(3^L + 1).",
             sympy.Lt(sqrt(a) * B0, 1),
             "proved", "SymPy: limits of log B_L in the three cases; exact growth instance",
             proof=_contraction),
        Step("Step 7", "Depth to reach eps: solve B_L <= eps for L.",
             sympy.Ge(L, log(log(eps * sqrt(a)) / log(sqrt(a) * B0), 3)),
             "proved", "SymPy: solve log B_L = log eps for L; log B_L is decreasing in L",
             proof=lambda: proves_depth_formula(depth_to_eps)),
    ),
    notes="Single-head form: H = 1, lam = 1. The closed forms use a constant a_l = a; since "
          "B_L increases with each a_l, any a >= max_l a_l gives an upper bound.",
))


# ---------------------------------------------------------------- Thm 2.2 (published)
def proves_published_matches_E4(bound, fixed: dict) -> bool:
    """True iff a published right side equals E4's closed form with a = A_FACTOR.

    bound is written in r(X), L and the paper's symbols (with 1/sqrt(d_qk)); fixed fixes
    some of E4's constants (e.g. {H: 1, lam: 1}).  Its gamma plays the role of E4's Gamma.
    """
    rate = A_FACTOR.subs(fixed).subs(s, 1 / sqrt(d_qk))
    return same_log(bound.subs(r(X), B0), closed_form_B(rate, B0, L))


THM22_BOUND = (4 * gamma * beta / sqrt(d_qk))**((3**L - 1) / 2) * r(X)**(3**L)
THM22 = register(Claim(
    id="thm2.2",
    title="Thm 2.2 (single head, simplified)",
    source="Dong, Cordonnier & Loukas, ICML 2021, Thm 2.2 (transcribed, docs/theory.md §3)",
    kind="published",
    family="single_head",
    hypotheses=("||W_QK^l||_1 ||W_V^l||_{1,inf} <= beta for every layer l",
                "gamma = 1 (the value the toolkit tests)"),
    statement=Le(r(SAN(X)), THM22_BOUND),
    steps=(
        Step("Step 1", "With gamma := Gamma the published bound is the closed form of E4's "
             "recurrence, a = 4 gamma beta H lam s with H = lam = 1, s = 1/sqrt(d_qk).",
             Eq(THM22_BOUND, closed_form_B(a, r(X), L)),
             "proved", "SymPy: equal logarithms of the two closed forms",
             proof=lambda: proves_published_matches_E4(THM22_BOUND, {H: 1, lam: 1})),
        Step("search", "Adversarial search for violations with gamma = 1.",
             Le(r(SAN(X)), THM22_BOUND.subs(gamma, 1)),
             "numeric", "no proof with gamma = 1 is known; tested by exact-precision search"),
    ),
    notes="The paper says gamma 'depends on the attention entries'; that is ambiguous, so the "
          "toolkit tests gamma = 1 and E1/E4 give an explicit gamma "
          "(sqrt(n pi_max) phi(2 eps)/2, a priori Gamma = sqrt(n) phi(2 s kappa B^2)/2).",
))
