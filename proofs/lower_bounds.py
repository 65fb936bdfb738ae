"""Lower bounds: the cubic rate of Lemma E1 / Thm 2.2 is tight (claims LB1 and LB2).

The paper asks whether "meaningful lower bounds on residual convergence" can be proved.  For
the cubic rate the answer is yes, on the smallest possible network: two tokens, one feature.

**The family.** ``X = [x; -x]`` (n = 2, d = 1) and one head with scalar ``W_QK = W_Q W_K^T``
(any d_qk) and ``W_V = v``; write ``w = s W_QK``.  The logits are ``w x_i x_j``, so row 1 of the
attention is ``(sigma(2 w x^2), sigma(-2 w x^2))`` and the layer maps the family to itself:

    x -> x' = v x tanh(w x^2)                                   (the one-layer recurrence)

With ``r([x; -x]) = sqrt(2) |x|`` and ``t - t^3/3 <= tanh t <= t`` this gives, while
``|w| x^2 <= t_0``, both ``r' <= (|v w|/2) r^3`` and ``r' >= c r^3`` with
``c = (|v w|/2)(1 - t_0^2/3)``: the exponent 3 per layer, hence ``3^L`` after L layers, is
attained.

**The best constant for n = 2, d = 1 (LB2).** For *every* input of two tokens and one feature
(any weights, biases included) ``r(SA(X)) <= (beta s / 2) r(X)^3``, i.e. the published form
``4 gamma beta s r^3`` holds with ``gamma = 1/8``, and no smaller gamma does: on the family the
ratio tends to 1/8 as ``r -> 0``.  The key identity is
``sigma(a + b) - sigma(a - b) = sinh(b) / (cosh(a) + cosh(b)) <= tanh(|b|/2)``.

>>> one_layer(sympy.Rational(1, 2), 1, 1)        # x = 1/2, w = v = 1
tanh(1/4)/2
>>> lower_constant(1, 1, sympy.Rational(1, 4))   # c = (|vw|/2)(1 - t_0^2/3)
47/96
>>> proves_recurrence(lambda x, w, v: v * x * sympy.tanh(w * x**2))
True
>>> proves_recurrence(lambda x, w, v: v * x * sympy.tanh(2 * w * x**2))   # a wrong recurrence
False
"""

from __future__ import annotations

import sympy
from sympy import Abs, Eq, Ge, Le, Matrix, MatrixSymbol, Rational, cosh, exp, sinh, sqrt, tanh

from .registry import Claim, Step, register
from .single_head import closed_form_B, proves_closed_form
from .symbols import B0, SA, X, X_L, L, a, beta, d_qk, is_zero, nonneg_on_halfline, r, s, softmax_rows

ORDER = 10  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["one_layer", "lower_constant", "UPPER_FACTOR", "GAMMA_N2", "proves_recurrence",
           "proves_two_token_residual", "proves_tanh_bounds", "proves_sigmoid_gap", "proves_gamma_n2"]

x, w, v = sympy.symbols("x w v", real=True)
x0, t0 = sympy.symbols("x_0 t_0", positive=True)
m, delta = sympy.symbols("m delta", real=True)
UPPER_FACTOR = Rational(1, 2)  # r(SA(X)) <= UPPER_FACTOR * beta * s * r(X)^3 for n = 2, d = 1
GAMMA_N2 = UPPER_FACTOR / 4    # the same as the published form's gamma: 1/8


def one_layer(x_, w_, v_):
    """x' = v x tanh(w x^2): the family [x; -x] after one layer (w = s W_QK, v = W_V)."""
    return v_ * x_ * tanh(w_ * x_**2)


def lower_constant(v_, w_, t0_):
    """c = (|v w|/2)(1 - t_0^2/3): r(X^l) >= c r(X^(l-1))^3 while |w| x^2 <= t_0."""
    return Abs(v_ * w_) / 2 * (1 - t0_**2 / 3)


def _layer_on(X_: Matrix, w_, v_, bq=0, bk=0, bv=0) -> Matrix:
    """One head on a 2 x 1 input: logits w X X^T plus the bias terms of a scalar query/key
    product (q_i = x_i + bq/w, k_j = x_j + bk: written out as w x_i x_j + bq x_j + w bk x_i + ...);
    value v, value bias bv."""
    S = Matrix(2, 2, lambda i, j: w_ * X_[i] * X_[j] + bq * X_[j] + bk * X_[i])
    return softmax_rows(S) * X_ * v_ + Matrix([bv, bv])


def proves_recurrence(recurrence) -> bool:
    """True iff one layer maps [x; -x] to [x'; -x'] with x' = recurrence(x, w, v)."""
    out = _layer_on(Matrix([x, -x]), w, v)
    x1 = recurrence(x, w, v)
    return is_zero((out - Matrix([x1, -x1])).applyfunc(lambda e: e.rewrite(exp)))


def proves_two_token_residual() -> bool:
    """r([m + delta; m - delta]) = sqrt(2) |delta| (one feature).

    R = X - c 1 has ||R||_1 = |delta - u| + |delta + u| and ||R||_inf = max of the two
    (u = c - m).  On u >= |delta|, -|delta| <= u <= |delta| and u <= -|delta| (the three pieces of
    the absolute values, parametrised by p >= 0 or theta in [0, 1]) the sum is >= 2|delta| and the
    max >= |delta|, with equality at u = 0; so the minimum of sqrt(sum * max) is sqrt(2)|delta|.
    """
    D, p, th = sympy.Symbol("D", positive=True), sympy.Symbol("p", nonnegative=True), sympy.Symbol("theta", nonnegative=True)
    pieces = [(D + p, (D + p) - D, D + p + D), (-D - p, D + (D + p), (D + p) - D)]  # (u, |D-u|, |D+u|)
    ok = all((s1 + s2 - 2 * D).is_nonnegative and (sympy.Max(s1, s2) - D).is_nonnegative
             for _, s1, s2 in pieces)
    # middle piece u = D(2 theta - 1), 0 <= theta <= 1: |D - u| = 2D(1 - theta), |D + u| = 2 D theta
    s1, s2 = 2 * D * (1 - th), 2 * D * th
    middle = is_zero(s1 + s2 - 2 * D)  # the sum is exactly 2D; the max is >= the mean = D
    at_zero = is_zero(sqrt((D + D) * D) - sqrt(2) * D)
    return bool(ok) and middle and at_zero


def proves_tanh_bounds() -> bool:
    """t - t^3/3 <= tanh t <= t on t >= 0, tanh increasing, and hence
    tanh(t) >= t (1 - t_0^2/3) on 0 <= t <= t_0.

    g = t - tanh t: g(0) = 0, g' = tanh^2 >= 0.  h = tanh t - t + t^3/3: h(0) = 0 and
    h' = t^2 - tanh^2 t = (t - tanh t)(t + tanh t) >= 0.  tanh' = 1/cosh^2 > 0.
    """
    t = sympy.Symbol("t", nonnegative=True)
    upper = nonneg_on_halfline(t - tanh(t), t)
    h_slope = sympy.diff(tanh(t) - t + t**3 / 3, t)
    lower = (is_zero(h_slope - (t - tanh(t)) * (t + tanh(t))) and upper
             and (t + tanh(t)).is_nonnegative is True and (tanh(t) - t + t**3 / 3).subs(t, 0) == 0)
    increasing = is_zero((sympy.diff(tanh(t), t) - 1 / cosh(t)**2).rewrite(exp))
    # t - t^3/3 - t (1 - t0^2/3) = t (t0^2 - t^2)/3 >= 0 for 0 <= t <= t0 (t = t0 theta)
    th = sympy.Symbol("theta", nonnegative=True)
    on_interval = sympy.factor((t - t**3 / 3 - t * (1 - t0**2 / 3)).subs(t, t0 * th))
    linear = is_zero(on_interval - t0**3 * th * (1 - th) * (1 + th) / 3)
    return upper and lower and increasing and linear


def _monotone_family() -> bool:
    """|x_l| <= |x_0| at every depth when |v| tanh(|w| x_0^2) <= 1.

    |x'| = |x| |v| tanh(|w| x^2) (tanh is odd), and if |x| <= x_0 then tanh(|w| x^2) <=
    tanh(|w| x_0^2) (tanh increasing), so |x'| <= |x| * 1.  Checked: the odd-function identity
    and |x'| - |x| = |x| (|v| tanh(|w| x^2) - 1) with the bracket <= 0.
    """
    odd = is_zero((tanh(-x) + tanh(x)).rewrite(exp))
    ax, aw, av = sympy.symbols("ax aw av", nonnegative=True)
    q = sympy.Symbol("q", nonnegative=True)  # 1 - |v| tanh(|w| x^2) >= 0 by hypothesis
    step = is_zero(ax * av * tanh(aw * ax**2) - ax - ax * ((1 - q) - 1)
                   - ax * (av * tanh(aw * ax**2) - (1 - q))) and (-ax * q).is_nonpositive is True
    return odd and step and proves_tanh_bounds()


def _one_step_lower() -> bool:
    """sqrt(2) |v| |x| |w| x^2 (1 - t_0^2/3) = c r^3 with r = sqrt(2) |x|, c = lower_constant."""
    ax, aw, av = sympy.symbols("ax aw av", positive=True)
    lhs = sqrt(2) * av * ax * aw * ax**2 * (1 - t0**2 / 3)
    return is_zero(lhs - lower_constant(av, aw, t0) * (sqrt(2) * ax)**3)


def _lower_closed_form() -> bool:
    """r_l >= c r_{l-1}^3 for every l gives r_L >= c^((3^L-1)/2) r_0^(3^L): B -> c B^3 is
    increasing (B >= 0), so induction carries the inequality, and the closed form is E4's."""
    Bv = sympy.Symbol("B", nonnegative=True)
    increasing = (sympy.diff(a * Bv**3, Bv)).is_nonnegative is True
    return increasing and proves_closed_form(closed_form_B(a, B0, L))


def _exponent_is_sharp() -> bool:
    """No bound r_L <= K r_0^q with q > 3^L holds for all small r_0: on the family
    c^((3^L-1)/2) r_0^(3^L) / r_0^q -> oo as r_0 -> 0 (c -> |vw|/2 > 0)."""
    e, K = sympy.symbols("e K", positive=True)  # q = 3^L + e
    rr = sympy.Symbol("rho", positive=True)
    ratio = K * rr**(-e)
    return sympy.limit(ratio, rr, 0, "+") == sympy.oo and sympy.limit(t0**2, t0, 0) == 0


_c = sympy.Symbol("c", positive=True)
_X2 = MatrixSymbol("X", 2, 1)
LB1 = register(Claim(
    id="LB1",
    title="The cubic rate is tight: r(X^L) >= c^((3^L-1)/2) r(X)^(3^L) on a two-token family",
    source="issue 11 (answers the paper's open question on lower bounds, for the cubic rate)",
    kind="theorem",
    family="lower_bounds",
    hypotheses=("n = 2, d = 1, X = [x_0; -x_0] with x_0 != 0; every layer the same single head",
                "w = s W_QK != 0 (W_QK = W_Q W_K^T, any d_qk), v = W_V != 0, no biases",
                "t_0 = |w| x_0^2 = |w| r(X)^2/2 < sqrt(3) and |v| tanh(t_0) <= 1",
                "c = (|v w|/2)(1 - t_0^2/3) > 0"),
    statement=Ge(r(X_L), _c**((3**L - 1) / 2) * r(X)**(3**L)),
    steps=(
        Step("Step 1", "One layer maps [x; -x] to [x'; -x'] with x' = v x tanh(w x^2).",
             Eq(sympy.Symbol("x'"), one_layer(x, w, v)),
             "proved", "SymPy: the softmax layer on the family's symbolic input [x; -x] equals the recurrence",
             proof=lambda: proves_recurrence(one_layer)),
        Step("Step 2", "r(X) = sqrt(2) |delta| for X = [m + delta; m - delta]: the best x is the midpoint.",
             Eq(r(_X2), sqrt(2) * Abs(delta)),
             "proved", "SymPy: the three pieces of |delta - u| + |delta + u| and their max",
             proof=proves_two_token_residual),
        Step("Step 3", "t - t^3/3 <= tanh t <= t, tanh increasing; on [0, t_0] "
             "tanh t >= t (1 - t_0^2/3).",
             Ge(tanh(x0), x0 * (1 - t0**2 / 3)),
             "proved", "SymPy: derivatives of t - tanh t and tanh t - t + t^3/3 are "
             "nonnegative products; the interval bound factors",
             proof=proves_tanh_bounds),
        Step("Step 4", "The family does not grow: |x_l| <= |x_0| at every depth, so "
             "|w| x_l^2 <= t_0 throughout.",
             Le(Abs(sympy.Symbol("x_l")), x0),
             "proved", "SymPy: tanh odd, |x'| - |x| = -|x| (1 - |v| tanh(|w| x^2)) <= 0 by "
             "the hypothesis and tanh increasing",
             proof=_monotone_family),
        Step("Step 5", "One step: r(X^l) >= c r(X^(l-1))^3.",
             Ge(r(SA(_X2)), _c * r(_X2)**3),
             "proved", "SymPy: sqrt(2)|v||x| |w| x^2 (1 - t_0^2/3) = c (sqrt(2)|x|)^3 with Steps 1-4",
             proof=_one_step_lower),
        Step("Step 6", "Induction and the closed form of B_l = c B_{l-1}^3.",
             Ge(r(X_L), closed_form_B(_c, r(X), L)),
             "proved", "SymPy: B -> c B^3 increasing; rsolve closed form (as E4 Step 3)",
             proof=_lower_closed_form),
        Step("Step 7", "The exponent 3^L is sharp: no bound K r(X)^q with q > 3^L holds as "
             "r(X) -> 0, and c/(|vw|/2) = 1 - t_0^2/3 -> 1, so LB2's constant is also attained.",
             sympy.Eq(sympy.Limit(_c / (Abs(v * w) / 2), t0, 0), 1),
             "proved", "SymPy: limits",
             proof=_exponent_is_sharp),
    ),
    notes="With LB2, c^((3^L-1)/2) r^(3^L) <= r(X^L) <= (|vw|/2)^((3^L-1)/2) r^(3^L) on the "
          "family: lower and upper constants differ by the factor 1 - t_0^2/3.",
))


def proves_sigmoid_gap() -> bool:
    """sigma(a + b) - sigma(a - b) = sinh b / (cosh a + cosh b) and, since cosh a >= 1,
    |sinh b|/(cosh a + cosh b) <= sinh|b| / (1 + cosh b) = tanh(|b|/2) <= |b|/2."""
    aa, bb = sympy.symbols("a b", real=True)
    sig = lambda u: 1 / (1 + exp(-u))  # noqa: E731
    identity = is_zero((sig(aa + bb) - sig(aa - bb) - sinh(bb) / (cosh(aa) + cosh(bb))).rewrite(exp))
    cosh_ge_1 = is_zero((cosh(aa) - 1 - 2 * sinh(aa / 2)**2).rewrite(exp))
    half = is_zero((sinh(bb) / (1 + cosh(bb)) - tanh(bb / 2)).rewrite(exp))
    u = sympy.Symbol("u", nonnegative=True)
    return identity and cosh_ge_1 and half and nonneg_on_halfline(u - tanh(u), u)


def proves_gamma_n2(factor) -> bool:
    """True iff r(SA(X)) <= factor * beta s r(X)^3 is proved for n = 2, d = 1 (with biases),
    and factor is the best: the layer's half-difference is v delta (sigma(a+b) - sigma(a-b))
    (with b = 2 w delta^2), bounded by |v| |delta| |b|/2, and on the family the ratio -> 1/2."""
    bq, bk, bv = sympy.symbols("b_q b_k b_v", real=True)
    out = _layer_on(Matrix([m + delta, m - delta]), w, v, bq, bk, bv)
    aa, bb = 2 * delta * (w * m + bq), 2 * w * delta**2
    sig = lambda u: 1 / (1 + exp(-u))  # noqa: E731
    half_difference = lambda: is_zero((out[0] - out[1]) / 2 - v * delta * (sig(aa + bb) - sig(aa - bb)))  # noqa: E731
    # |v||delta| * |b|/2 = |v| |w| |delta|^3 and r = sqrt(2)|delta|: factor * beta s r^3 with beta s = |v w|
    av, aw, ad = sympy.symbols("av aw ad", positive=True)
    upper = is_zero(sqrt(2) * av * ad * (2 * aw * ad**2) / 2 - factor * (av * aw) * (sqrt(2) * ad)**3)
    # on the family (m = 0, no biases): r'/(|vw| r^3) = tanh(w delta^2)/(2 w delta^2) -> 1/2
    ratio = sqrt(2) * v * delta * tanh(w * delta**2) / (v * w * (sqrt(2) * delta)**3)
    best = sympy.limit(ratio.subs({v: 1, w: 1}), delta, 0) == factor
    return upper and best and half_difference() and proves_sigmoid_gap()


def _logits_scalar() -> bool:
    """For d = 1 the logits depend on the weights only through the scalar W_QK = W_Q W_K^T and the
    scalars b_Q^T W_K^T, W_Q b_K, b_Q^T b_K, whatever d_qk (MatrixSymbols of size 1 x d_qk)."""
    xi, xj = sympy.symbols("x_i x_j", real=True)
    W_Q, W_K = MatrixSymbol("W_Q", 1, d_qk), MatrixSymbol("W_K", 1, d_qk)
    b_Q, b_K = MatrixSymbol("b_Q", d_qk, 1), MatrixSymbol("b_K", d_qk, 1)
    logit = ((xi * W_Q + b_Q.T) * (xj * W_K + b_K.T).T).expand()
    target = (xi * xj * W_Q * W_K.T + xi * W_Q * b_K + xj * b_Q.T * W_K.T + b_Q.T * b_K)
    return isinstance((logit - target).expand(), sympy.ZeroMatrix)


LB2 = register(Claim(
    id="LB2",
    title="Best published-form constant for n = 2, d = 1: gamma = 1/8",
    source="issue 11; the published single-layer form 4 gamma beta s r(X)^3 (Thm 2.2, L = 1)",
    kind="theorem",
    family="lower_bounds",
    hypotheses=("n = 2, d = 1, one head, any d_qk, biases b_Q, b_K, b_V allowed",
                "beta = ||W_QK||_1 ||W_V||_{1,inf} = |W_QK| |W_V| (1 x 1 matrices)"),
    statement=Le(r(SA(_X2)), 4 * GAMMA_N2 * beta * s * r(_X2)**3),
    steps=(
        Step("Step 1", "For d = 1 the logits are x_i x_j W_QK + x_i W_Q b_K + x_j b_Q^T W_K^T + "
             "b_Q^T b_K: only the x_j terms survive the softmax.",
             None, "proved", "SymPy: the bilinear expansion with MatrixSymbols of symbolic size d_qk",
             proof=_logits_scalar),
        Step("Step 2", "With X = [m + delta; m - delta] the half-difference of the output is "
             "v delta (sigma(a + b) - sigma(a - b)), a = 2 delta (w m + s b_Q^T W_K^T), b = 2 w delta^2.",
             None, "proved", "SymPy: the layer on a symbolic two-token input with biases; then "
             "sigma(a+b) - sigma(a-b) = sinh b/(cosh a + cosh b) <= tanh(|b|/2) <= |b|/2; "
             "r = sqrt(2)|delta| (LB1 Step 2); on the family the ratio tends to the factor",
             proof=lambda: proves_gamma_n2(UPPER_FACTOR)),
        Step("Step 3", "Sharpness: with m = 0 and no biases r(SA(X))/(beta s r(X)^3) = "
             "tanh(w delta^2)/(2 w delta^2) -> 1/2, so gamma = 1/8 is the best constant.",
             Eq(sympy.Limit(tanh(x0) / (2 * x0), x0, 0), UPPER_FACTOR),
             "proved", "SymPy: limit (part of the Step 2 proof, run again alone)",
             proof=lambda: sympy.limit(tanh(x0) / (2 * x0), x0, 0) == UPPER_FACTOR),
    ),
    notes="The supremum 1/8 is approached (r -> 0, centred input) but not attained. It matches "
          "the largest gamma the multi-head search finds for n = 2 (docs/multi_head.md).",
))
