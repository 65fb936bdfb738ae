"""G1 certified exactly (and a moved token breaks it), G2's derivatives checked against SymPy's
and against the bound, including its order r(X)^2."""

from fractions import Fraction

import mpmath
import numpy as np

from rankcollapse.numerics.checks.common import certified_verdict, search
from rankcollapse.numerics.checks.gradients import G1, QKPair, g1_pairs, g2_pairs, jacobian
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import Head, single_head
from rankcollapse.numerics.strategies import Case
from rankcollapse.numerics.verdict import HOLDS, VIOLATED

ctx = get_context("arb")
HEAD = Head([[1.0, 0.0], [0.5, 1.0]], [[0.25, 1.0], [1.0, -1.0]], [[1.0, -2.0], [0.5, 1.0]], b_Q=[0.5, -1.0])


def _pair(X):
    M = lambda *rows: np.array(rows, dtype=float)  # noqa: E731
    return QKPair(M(*X), M([1, 2], [3, 4]), np.array([0.5, 0.0]), M([1, 0], [0, 1]), M([2, 1], [0, 1]),
                  np.array([0.0, 1.0]), np.array([1.0, 1.0]), M([-3, 1], [1, 5]), M([0.25, 0], [7, 1]),
                  np.array([2.0, 0.0]), np.array([0.0, -1.0]))


def test_g1_exact_at_collapse_and_violated_off_it():
    assert certified_verdict(g1_pairs, _pair([[1.0, -2.0]] * 3), 1.0)[0].verdict == HOLDS
    assert certified_verdict(g1_pairs, _pair([[1.0, -2.0], [1.0, -2.0], [1.0, -1.5]]), 1.0)[0].verdict == VIOLATED


def test_g1_search_holds():
    result = search(G1.strategy(), g1_pairs, 5, seed=1)
    assert result.verdict == HOLDS and result.examples == 5


def _layer_mp(X, W_Q, W_K, W_V, b_Q):
    """softmax(s (X W_Q + 1 b_Q^T)(X W_K)^T) X W_V written out in mpmath (none of the toolkit's code)."""
    Q, K = X * W_Q, X * W_K
    Q = mpmath.matrix([[Q[i, j] + b_Q[j] for j in range(Q.cols)] for i in range(Q.rows)])
    S = Q * K.T / mpmath.sqrt(2)
    P = mpmath.matrix(S.rows, S.cols)
    for i in range(S.rows):
        z = mpmath.fsum(mpmath.exp(S[i, k]) for k in range(S.cols))
        for j in range(S.cols):
            P[i, j] = mpmath.exp(S[i, j]) / z
    return P * X * W_V


def test_jacobian_matches_a_central_difference_of_the_layer():
    """The arb derivative (softmax-derivative formula) against a central difference of the layer
    written out independently in mpmath at 300 digits (step 1e-100: error ~1e-200)."""
    X = [[1, 2], [Fraction(3, 2), 1], [Fraction(-1, 2), Fraction(1, 4)]]
    with mpmath.workdps(300):
        mpf = lambda v: mpmath.mpf(Fraction(v).numerator) / Fraction(v).denominator  # noqa: E731
        m = lambda A: mpmath.matrix([[mpf(v) for v in row] for row in np.asarray(A).tolist()])  # noqa: E731
        Xm = m(X)
        h = mpmath.mpf(10) ** -100
        with ctx.workprec(400):
            Xc = ctx.array(np.array(X, dtype=object))
            for param, (a, b) in (("W_Q", (1, 0)), ("W_K", (0, 1)), ("b_Q", (0, 0))):
                def at(shift):
                    w = {"W_Q": m(HEAD.W_Q), "W_K": m(HEAD.W_K), "b_Q": list(map(mpf, HEAD.b_Q))}
                    if param == "b_Q":
                        w["b_Q"][b] += shift
                    else:
                        w[param][a, b] += shift
                    return _layer_mp(Xm, w["W_Q"], w["W_K"], m(HEAD.W_V), w["b_Q"])
                D = (at(h) - at(-h)) / (2 * h)
                J = jacobian(ctx, Xc, HEAD, 2, param, a, b)
                for i in range(3):
                    for c in range(2):
                        assert abs(float(J[i, c].mid()) - float(D[i, c])) < 1e-30 * max(1, abs(float(D[i, c]))), (param, i, c)
                        assert J[i, c].rad() < 1e-60


def test_g2_bound_holds_and_has_the_order_r_squared():
    net = single_head(HEAD.W_Q, HEAD.W_K, HEAD.W_V)
    maxima = []
    for k in (3, 6):
        e = Fraction(1, 10**k)
        X = np.array([[Fraction(1), Fraction(2)], [1 + e, Fraction(2)], [Fraction(1), 2 - e]], dtype=object)
        verdict, _ = certified_verdict(g2_pairs, Case(X, net), 1.0)
        assert verdict.verdict == HOLDS
        with ctx.workprec(256):
            J = jacobian(ctx, ctx.array(X), HEAD, 2, "W_Q", 0, 0)
            maxima.append(max(float(abs(v).upper()) for v in J.ravel()))
    assert 0.5e6 < maxima[0] / maxima[1] < 2e6   # r shrinks 1000-fold, the derivative 10^6-fold


def test_g2_negative_control_a_bound_linear_in_r_cubed_fails():
    net = single_head(HEAD.W_Q, HEAD.W_K, HEAD.W_V)
    e = Fraction(1, 10**4)
    X = np.array([[Fraction(1), Fraction(2)], [1 + e, Fraction(2)], [Fraction(1), 2 - e]], dtype=object)
    cubed = lambda k, c: [(lhs, (rhs[0] * e, rhs[1] * e)) for lhs, rhs in g2_pairs(k, c)]  # noqa: E731
    assert certified_verdict(cubed, Case(X, net), 1.0)[0].verdict == VIOLATED
