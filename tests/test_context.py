"""The number contexts run one algorithm set; the certified ones enclose the truth."""

import math
from fractions import Fraction

import flint
import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.exact import decimal_string, exact_decimal, to_fraction

CERTIFIED = ["mpmath", "arb"]
ARB = get_context("arb")


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
    ctx = get_context("arb")
    tenth, double = Fraction(1, 10), Fraction(0.1)
    assert double != tenth
    # the double converts exactly: a zero-radius ball at the double, which excludes 1/10
    from_double = flint.arb(0.1)
    assert ctx.lo(from_double) == ctx.hi(from_double) == double
    assert not ctx.lo(from_double) <= tenth <= ctx.hi(from_double)
    # the decimal string path (flint's parser and the context's) encloses 1/10, and at 200 bits
    # is narrow enough to exclude the double
    with ctx.workprec(200):
        for parsed in (flint.arb("0.1"), ctx.number("0.1")):
            assert ctx.lo(parsed) <= tenth <= ctx.hi(parsed)
            assert not ctx.lo(parsed) <= double <= ctx.hi(parsed)
            assert ctx.hi(parsed) - ctx.lo(parsed) < Fraction(1, 10**50)
        # a Python float handed to the context is the double, exactly: the trap stays visible
        assert ctx.lo(ctx.number(0.1)) == ctx.hi(ctx.number(0.1)) == double


def _square_floats(max_n=3):
    return st.integers(2, max_n).flatmap(
        lambda n: st.lists(st.floats(-30, 30), min_size=n * n, max_size=n * n))


@pytest.mark.parametrize("name", CERTIFIED)
@given(_square_floats())
@example([0.0, 1.0, 1.0, 0.0])  # entrywise [[1, e], [e, 1]]; matrix exp [[cosh 1, sinh 1], [sinh 1, cosh 1]]
def test_elementwise_exp_encloses_and_is_not_matrix_exp(name, xs):
    import mpmath

    ctx = get_context(name)
    n = math.isqrt(len(xs))
    A = np.array(xs).reshape(n, n)
    with ctx.workprec(100):
        E = ctx.exp(ctx.array(A))
    assert np.shape(E) == (n, n)
    with mpmath.workprec(300):
        to_mpf = lambda q: mpmath.mpf(q.numerator) / q.denominator  # noqa: E731
        for (i, j), x in np.ndenumerate(A):
            lo, hi = ctx.lo(E[i, j]), ctx.hi(E[i, j])
            true = mpmath.exp(mpmath.mpf(x))  # x is a double: exact in mpmath
            # encloses e^x (mpmath at 300 bits is far more accurate than the 100-bit enclosure)
            assert to_mpf(lo) <= true * (1 + mpmath.ldexp(1, -280))
            assert to_mpf(hi) >= true * (1 - mpmath.ldexp(1, -280))
            # and tightly: a wide enclosure would contain anything
            assert to_mpf(hi - lo) <= true * mpmath.ldexp(1, -80)
    # the matrix exponential (what arb_mat.exp computes) is a different matrix: some entry of
    # the context's result excludes it
    with flint.ctx.workprec(200):
        M = flint.arb_mat(A.tolist()).exp()
    assert any(ctx.hi(E[i, j]) < ARB.lo(M[i, j]) or ctx.lo(E[i, j]) > ARB.hi(M[i, j])
               for i in range(n) for j in range(n))


@pytest.mark.parametrize("name", CERTIFIED)
def test_max_encloses_overlapping_values(name):
    ctx = get_context(name)
    with ctx.workprec(64):
        a = ctx.hull(ctx.number(1), ctx.number(3))
        m = ctx.max(np.array([a, ctx.number(2)], dtype=object))
    assert ctx.lo(m) <= 2 and ctx.hi(m) >= 3


def test_backends_agree_on_a_computation():
    vals = []
    for name in ("float64", "longdouble", "mpmath", "arb"):
        ctx = get_context(name)
        with ctx.workprec(120):
            A = ctx.array([["0.5", "-1"], ["2", "0.25"]])
            vals.append(ctx.to_float(ctx.tanh(A @ A) + ctx.erf(A) + ctx.relu(A) + ctx.sqrt(abs(A))))
    for v in vals[1:]:
        np.testing.assert_allclose(vals[0], v, rtol=1e-14)


LONG = get_context("longdouble")
WIDE = np.finfo(np.longdouble).tiny < np.finfo(np.float64).tiny


@pytest.mark.skipif(not WIDE, reason="this platform's long double is a double")
def test_long_double_context_reaches_below_the_double_range_exactly_read():
    """Numbers far below 1e-308 keep their value, and every exact read (lo = hi, the dyadic
    integers) gives the long double itself; decimal strings round once (2^-63 relative)."""
    x = LONG.number("3e-4000")
    q = Fraction(*x.as_integer_ratio())
    assert LONG.lo(x) == LONG.hi(x) == q and abs(q - Fraction(3, 10**4000)) <= q / 2**62
    M, E, Rad, _ = LONG.mid_rad_dyadic(LONG.array([[x, -x * 2], [LONG.number("0.1"), 0]]))
    assert [Fraction(int(m)) * Fraction(2) ** E for m in M.ravel()] == [q, -2 * q, LONG.lo(LONG.number("0.1")), 0]
    assert not Rad.any() and not LONG.certified
    assert np.isclose(float(LONG.erf(x) / x), 2 / math.sqrt(math.pi), rtol=1e-15)  # not 0, as a double erf would give


@pytest.mark.skipif(not WIDE, reason="this platform's long double is a double")
def test_long_double_products_keep_rows_of_every_size():
    """matmul scales each row (column) into the double range for BLAS: rows near 1e-4000 and 1e300
    in one matrix, and doubles of any size, give the exact product to a double's accuracy."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 5)).astype(np.longdouble) * np.array([[LONG.number("1e-4000")], [1], [LONG.number("1e300")]])
    B = rng.standard_normal((5, 4))  # doubles stay doubles in the context (weights)
    assert LONG.array(B).dtype == np.float64 and LONG.array(A).dtype == np.longdouble
    exact = [[sum(Fraction(*a.as_integer_ratio()) * Fraction(b) for a, b in zip(row, col)) for col in B.T] for row in A]
    for C in (LONG.matmul(A, B), LONG.matmul(A, B.astype(np.longdouble))):
        assert C.dtype == np.longdouble
        for got, want in zip(C.ravel(), np.ravel(exact)):
            assert abs(Fraction(*got.as_integer_ratio()) - want) <= abs(want) / 10**14


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
