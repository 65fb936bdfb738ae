"""Attention variants measured: how fast does one layer shrink the residual of a near-rank-1
input? Softmax attention shrinks it cubically (Lemma E1: r(X^1) = O(r(X)^3)), sigmoid attention
only linearly (its rows do not sum to 1, so ``(P 1) c^T`` keeps a residual of the size of R).
The rate is read off certified brackets at two input residuals, 1e-20 and 1e-40 apart: a
linear map gives the same ratio ``r(X^1) / r(X)`` at both, a cubic one ratios 1e40 apart."""

from fractions import Fraction

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rankcollapse.numerics import strategies as rs
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import Attention, Head, Layer, Network, forward_split
from rankcollapse.numerics.residual import residual_bracket
from rankcollapse.numerics.variants import SOFTMAX, Sigmoid

ARB = get_context("arb")


def _ratio(net, c, N, eps):
    """``r(X^1) / r(X)`` for ``X = 1 c^T + eps N`` (exact), as a Fraction from certified brackets
    (None when the output bracket reaches 0)."""
    X = np.array([[Fraction(c[j]) + eps * Fraction(N[i, j]) for j in range(c.size)]
                  for i in range(N.shape[0])], dtype=object)
    with ARB.workprec(256):
        r0, r1 = (residual_bracket(ARB, Z.R) for Z in forward_split(ARB, net, X))
    if r1.lower <= 0:
        return None
    # the split pass keeps R accurate; the bracket's width is the residual LP's (~1e-14 relative)
    assert (r1.upper - r1.lower) <= r1.upper / 10**12
    return r1.lower / r0.upper, r1.upper / r0.lower


@st.composite
def _layers(draw, variant):
    n, d = 3, 2
    head = Head(draw(rs.matrices(d, 1, 1.0)), draw(rs.matrices(d, 1, 1.0)), draw(rs.matrices(d, d, 1.0)))
    c = draw(rs.matrices(1, d, 1.0))[0]
    N = draw(rs.matrices(n, d, 1.0))
    assume(np.ptp(N, axis=0).any())  # a nonzero residual
    return Network(1, (Layer(Attention((head,), variant=variant)),)), c, N


@settings(max_examples=10, deadline=None)
@given(_layers(Sigmoid("-1")))
def test_sigmoid_attention_collapses_only_linearly(layer):
    net, c, N = layer
    a, b = _ratio(net, c, N, Fraction(1, 10**20)), _ratio(net, c, N, Fraction(1, 10**40))
    assume(a is not None and b is not None)
    # the same ratio at both sizes, to first order: linear, not cubic
    assert abs(a[1] / b[0] - 1) < Fraction(1, 10**6) and abs(b[1] / a[0] - 1) < Fraction(1, 10**6)


@settings(max_examples=10, deadline=None)
@given(_layers(SOFTMAX))
def test_softmax_attention_collapses_cubically(layer):
    net, c, N = layer
    a, b = _ratio(net, c, N, Fraction(1, 10**20)), _ratio(net, c, N, Fraction(1, 10**40))
    assume(a is not None and b is not None)
    # r(X^1) / r(X) scales like r(X)^2: the two ratios are 10^40 apart (to a factor 10^3)
    assert Fraction(10**37) < a[0] / b[1] and a[1] / b[0] < Fraction(10**43)
