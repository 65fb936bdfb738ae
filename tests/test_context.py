"""The three number contexts run one algorithm set and enclose the truth."""

from fractions import Fraction

import flint
import numpy as np
import pytest
from hypothesis import given, strategies as st

from numerics.context import get_context
from numerics.exact import decimal_string, exact_decimal, to_fraction

CERTIFIED = ["mpmath", "arb"]


@pytest.mark.parametrize("name", CERTIFIED)
def test_decimal_strings_are_enclosed_exactly(name):
    ctx = get_context(name)
    with ctx.workprec(80):
        x = ctx.number("0.1")
    assert ctx.lo(x) <= Fraction(1, 10) <= ctx.hi(x)
    # the double 0.1 is a different number: a context must not confuse the two
    with ctx.workprec(200):
        d = ctx.number(0.1)
    assert ctx.lo(d) == ctx.hi(d) == Fraction(0.1) != Fraction(1, 10)


def test_arb_float_conversion_trap():
    """flint.arb(0.1) encloses the double, not 1/10: why contexts parse decimal strings."""
    assert not flint.arb(0.1).contains(flint.arb("0.1")) or flint.arb("0.1").rad() > 0
    ctx = get_context("arb")
    with ctx.workprec(200):
        assert ctx.hi(ctx.number("0.1")) - ctx.lo(ctx.number("0.1")) < Fraction(1, 10**50)


@pytest.mark.parametrize("name", CERTIFIED)
@given(st.lists(st.floats(-30, 30), min_size=1, max_size=6))
def test_elementwise_exp_encloses_and_is_not_matrix_exp(name, xs):
    ctx = get_context(name)
    with ctx.workprec(100):
        E = ctx.exp(ctx.array(np.array(xs).reshape(1, -1)))
    for x, e in zip(xs, E[0]):
        true = Fraction(float(np.exp(np.float64(x))))
        # double exp is within 1 ulp; the enclosure must be within a few ulps of it
        assert ctx.lo(e) <= true * (1 + Fraction(1, 10**15)) and ctx.hi(e) >= true * (1 - Fraction(1, 10**15))


@pytest.mark.parametrize("name", CERTIFIED)
def test_max_encloses_overlapping_values(name):
    ctx = get_context(name)
    with ctx.workprec(64):
        a = ctx.hull(ctx.number(1), ctx.number(3))
        m = ctx.max(np.array([a, ctx.number(2)], dtype=object))
    assert ctx.lo(m) <= 2 and ctx.hi(m) >= 3


def test_backends_agree_on_a_computation():
    vals = []
    for name in ("float64", "mpmath", "arb"):
        ctx = get_context(name)
        with ctx.workprec(120):
            A = ctx.array([["0.5", "-1"], ["2", "0.25"]])
            vals.append(ctx.to_float(ctx.tanh(A @ A) + ctx.erf(A) + ctx.relu(A) + ctx.sqrt(abs(A))))
    np.testing.assert_allclose(vals[0], vals[1], rtol=1e-14)
    np.testing.assert_allclose(vals[0], vals[2], rtol=1e-14)


@pytest.mark.parametrize("name", CERTIFIED)
def test_erf_and_tanh_enclose_high_precision_values(name):
    import mpmath

    ctx = get_context(name)
    with ctx.workprec(300):
        x = ctx.number("0.7")
        e, t = ctx.erf(np.array([x], dtype=object))[0], ctx.tanh(np.array([x], dtype=object))[0]
    with mpmath.workdps(120):
        for enc, f in ((e, mpmath.erf), (t, mpmath.tanh)):
            true = f(mpmath.mpf("0.7"))
            assert mpmath.mpf(ctx.lo(enc).numerator) / ctx.lo(enc).denominator <= true
            assert mpmath.mpf(ctx.hi(enc).numerator) / ctx.hi(enc).denominator >= true
            assert ctx.hi(enc) - ctx.lo(enc) < Fraction(1, 10**80)


def test_float64_is_not_certified():
    assert not get_context("float64").certified
    with pytest.raises(ValueError, match="unknown backend"):
        get_context("float32")


@given(st.fractions(max_denominator=10**6))
def test_exact_decimal_round_trips_terminating_numbers(q):
    q = Fraction(q.numerator, 2 ** 7 * 5 ** 3)  # make it terminate
    assert to_fraction(exact_decimal(q)) == q


@given(st.fractions(min_value=-10**9, max_value=10**9).filter(lambda q: q != 0), st.integers(3, 20))
def test_directed_decimal_rounding(q, digits):
    up, down = decimal_string(q, digits, "up"), decimal_string(q, digits, "down")
    assert to_fraction(down) <= q <= to_fraction(up)
