"""The three number contexts agree, enclose the truth, and avoid the known ball-arithmetic traps.

The reference :func:`reference_forward` shares no code with ``rankcollapse.numerics.network``: a plain
transcription of docs/theory.md §2, §6 in ``mpmath.mp`` at 600 bits (points, not intervals).
"""

import math
import time
from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings

from rankcollapse.numerics import context as context_module
from rankcollapse.numerics.certify import check_network
from rankcollapse.numerics.context import dyadic, get_context
from rankcollapse.numerics.examples import attention_mlp, deep_single_head, multi_head
from rankcollapse.numerics.exact import to_fraction
from rankcollapse.numerics.network import forward, forward_split
from rankcollapse.numerics.strategies import network_cases

ARB, IV, F64 = get_context("arb"), get_context("mpmath"), get_context("float64")
REF_BITS, PREC = 600, 200


def reference_forward(net, X):
    """The last layer's output in mpmath (600 bits): attention heads with W_O and biases, skip
    connections, MLPs; no LayerNorm."""
    with mpmath.workprec(REF_BITS):
        mat = lambda A: None if A is None else mpmath.matrix([[mpmath.mpf(to_fraction(v).numerator) /  # noqa: E731
                                                                to_fraction(v).denominator for v in row]
                                                               for row in np.atleast_2d(np.asarray(A, dtype=object))])
        rowvec = lambda b, n: None if b is None else mpmath.matrix([list(mat(b))] * n)  # noqa: E731
        plus = lambda A, B: A if B is None else A + B  # noqa: E731
        acts = {"relu": lambda z: max(z, 0), "tanh": mpmath.tanh,
                "gelu": lambda z: z * (1 + mpmath.erf(z / mpmath.sqrt(2))) / 2}
        Z = mat(X)
        n = Z.rows
        for layer in net.layers:
            a = layer.attention
            out = None
            for h in a.heads:
                q = plus(Z * mat(h.W_Q), rowvec(h.b_Q, n))
                k = plus(Z * mat(h.W_K), rowvec(h.b_K, n))
                S = q * k.T / mpmath.sqrt(net.d_qk)
                P = mpmath.matrix(n, n)
                for i in range(n):
                    e = [mpmath.exp(S[i, j]) for j in range(n)]
                    for j in range(n):
                        P[i, j] = e[j] / mpmath.fsum(e)
                Y = plus(P * Z * mat(h.W_V), rowvec(h.b_V, n))
                Y = Y if h.W_O is None else Y * mat(h.W_O)
                out = Y if out is None else out + Y
            Z = plus(out, rowvec(a.b_O, n)) + (Z if a.skip else 0 * Z)
            if layer.mlp is not None:
                m = layer.mlp
                H = plus(Z * mat(m.W1), rowvec(m.b1, n)).apply(acts[m.activation])
                Z = plus(H * mat(m.W2), rowvec(m.b2, n)) + (Z if m.skip else 0 * Z)
        return [[to_fraction(mpmath.nstr(Z[i, j], 170, strip_zeros=False)) for j in range(Z.cols)] for i in range(n)]


def _enclosures(ctx, net, X):
    with ctx.workprec(PREC):
        out = forward(ctx, net, X)[-1]
    return [[(ctx.lo(v), ctx.hi(v)) for v in row] for row in out]


# -- agreement and enclosure -------------------------------------------------------------------

@settings(max_examples=15)
@given(network_cases(max_depth=2, skip=None, mlp=None))
def test_ball_backends_enclose_a_high_precision_reference(case):
    ref = reference_forward(case.net, case.X)
    scale = max(abs(v) for row in ref for v in row) + 1
    slack = scale * Fraction(1, 2 ** 500)  # the reference's own error (~2^-590 relative) and decimal print
    for ctx in (ARB, IV):
        for row, ref_row in zip(_enclosures(ctx, case.net, case.X), ref):
            for (lo, hi), truth in zip(row, ref_row):
                if math.isinf(lo) or math.isinf(hi):
                    continue  # a ball blew up (e.g. exp of a huge logit): valid, just uninformative
                assert lo - slack <= truth <= hi + slack


@settings(max_examples=15)
@given(network_cases(max_depth=2, skip=None, mlp=None))
def test_split_residual_encloses_the_reference_row_differences(case):
    """The forward pass carries X^L = 1 c^T + R apart (rankcollapse.numerics.network.Split), through formulas
    of its own (D = P - 1 pi^T from expm1, activation differences): R_i - R_0 must enclose the
    reference's X_i - X_0, which a whole-matrix transcription computes directly."""
    ref = reference_forward(case.net, case.X)
    slack = (max(abs(v) for row in ref for v in row) + 1) * Fraction(1, 2 ** 500)
    for ctx in (ARB, IV):
        with ctx.workprec(PREC):
            R = forward_split(ctx, case.net, case.X)[-1].R
        for i in range(1, len(ref)):
            for j, truth in enumerate(np.subtract(ref[i], ref[0])):
                lo, hi = ctx.lo(R[i, j]) - ctx.hi(R[0, j]), ctx.hi(R[i, j]) - ctx.lo(R[0, j])
                if math.isinf(lo) or math.isinf(hi):
                    continue
                assert lo - slack <= truth <= hi + slack


@settings(max_examples=15)
@given(network_cases(max_depth=2, skip=None, mlp=None))
def test_three_backends_agree_to_working_accuracy(case):
    approx = forward(F64, case.net, case.X)[-1]
    mids = []
    for ctx in (ARB, IV):
        with ctx.workprec(PREC):
            out = forward(ctx, case.net, case.X)[-1]
        widths = [float(ctx.hi(v) - ctx.lo(v)) for v in out.ravel() if math.isfinite(ctx.hi(v) - ctx.lo(v))]
        assert max(widths, default=0.0) <= 2.0 ** (60 - PREC) * (1 + np.abs(approx).max())
        mids.append(ctx.to_float(out))
    np.testing.assert_allclose(mids[0], mids[1], rtol=1e-12, atol=1e-12 * (1 + np.abs(mids[0]).max()))
    np.testing.assert_allclose(mids[0], approx, rtol=1e-7, atol=1e-7 * (1 + np.abs(approx).max()))


def test_arb_matmul_encloses_the_product():
    rng = np.random.default_rng(0)
    with ARB.workprec(80):
        A = ARB.array(rng.standard_normal((5, 3))) / 3
        B = ARB.array(rng.standard_normal((3, 4))) / 7
        fast, loop = ARB.matmul(A, B), A @ B
    for f, s in zip(fast.ravel(), loop.ravel()):
        assert f.overlaps(s)
    with ARB.workprec(400):  # the exact product of the enclosed midpoints lies in both
        exact = np.array([[v.mid() for v in row] for row in A]) @ np.array([[v.mid() for v in row] for row in B])
    assert all(f.contains(e) for f, e in zip(fast.ravel(), exact.ravel()))


# -- exact data of enclosures ------------------------------------------------------------------

@pytest.mark.parametrize("ctx", [ARB, IV, F64], ids=lambda c: c.name)
def test_mid_rad_is_exact_and_matches_lo_hi(ctx):
    with ctx.workprec(100):
        vals = ctx.array([["0.1", "-7.25", "1e-30"], ["3", "0", "-2.5e12"]])
    for v in vals.ravel():
        m, e, r, f = ctx.mid_rad(v)
        assert (dyadic(m, e) - dyadic(r, f), dyadic(m, e) + dyadic(r, f)) == (ctx.lo(v), ctx.hi(v))
    M, E, Rad, Er = ctx.mid_rad_dyadic(vals)
    for v, mm, rr in zip(vals.ravel(), M.ravel(), Rad.ravel()):
        m, e, r, f = ctx.mid_rad(v)
        assert dyadic(mm, E) == dyadic(m, e) and dyadic(rr, Er) >= dyadic(r, f)
    with pytest.raises(ValueError):
        ctx.mid_rad(ctx.number(math.inf) if ctx is not IV else IV.number(1) / 0)


def test_exact_ends_of_huge_precision_balls_are_fast():
    """Python's Fraction normalises with a quadratic gcd (0.2 s at 300 000 bits): ends skip it."""
    with ARB.workprec(300_000):
        x = ARB.number(1) / 3
    t0 = time.perf_counter()
    lo, hi = ARB.lo(x), ARB.hi(x)
    assert time.perf_counter() - t0 < 0.1
    assert lo < Fraction(1, 3) < hi and hi - lo < Fraction(1, 2 ** 299_990)


def test_ends_of_balls_beyond_the_cap_stay_valid():
    with ARB.workprec(64):
        huge = ARB.number(2) ** (2 ** 40)          # finite in arb, 2^40 bits as a Fraction
        tiny = ARB.number(3) / huge
    assert (ARB.lo(huge), ARB.hi(huge)) == (-math.inf, math.inf)
    assert -Fraction(1, 2 ** context_module._CAP_BITS) == ARB.lo(tiny) < 0 < ARB.hi(tiny)


def test_centers_are_exact_points_inside_the_enclosures():
    with ARB.workprec(64), IV.workprec(64):
        for ctx in (ARB, IV):
            A = ctx.array([["0.1", "2"], ["-1e-40", "3"]]) / 3
            for v, c in zip(A.ravel(), ctx.centers(A).ravel()):
                assert ctx.lo(c) == ctx.hi(c) and ctx.lo(v) <= ctx.lo(c) <= ctx.hi(v)


# -- the traps ---------------------------------------------------------------------------------

def test_trap_arb_of_a_double_is_not_the_decimal():
    with ARB.workprec(200):
        double, parsed = flint.arb(0.1), ARB.number("0.1")
    assert ARB.lo(double) == ARB.hi(double) == Fraction(0.1) != Fraction(1, 10)
    assert ARB.lo(parsed) <= Fraction(1, 10) <= ARB.hi(parsed) and not parsed.contains(double)


def test_trap_float_of_a_ball_drops_its_radius():
    ball = flint.arb(1, 0.5)  # at least [0.5, 1.5]
    assert float(ball) == 1.0 and ARB.lo(ball) <= Fraction(1, 2) and ARB.hi(ball) >= Fraction(3, 2)


def test_trap_ball_comparisons_are_three_valued():
    """``<`` means "certainly less": False both ways for overlapping balls, so decisions use the
    exact ends and maxima use arb.max, never Python's max (which would pick one ball)."""
    a, b = flint.arb(1, 0.5), flint.arb("1.2")
    assert not (a < b) and not (b < a) and not (a == b)
    m = ARB.max(np.array([a, b], dtype=object))
    assert ARB.lo(m) <= Fraction(6, 5) and ARB.hi(m) >= Fraction(3, 2)
    assert ARB.hi(max(a, b)) < Fraction(3, 2) or ARB.lo(max(b, a)) > Fraction(1, 2)  # what max() gets wrong


def test_trap_arb_mat_exp_is_the_matrix_exponential():
    with ARB.workprec(100):
        A = ARB.array([[0, 1], [1, 0]])
        entrywise = ARB.exp(A)
        matrix_exp = flint.arb_mat(A.tolist()).exp()
    assert ARB.lo(entrywise[0, 0]) == 1 == ARB.hi(entrywise[0, 0])   # e^0
    assert matrix_exp[0, 0].overlaps(flint.arb(1).cosh())            # cosh 1: not what softmax needs


def test_verdicts_never_depend_on_doubles(monkeypatch):
    """Doubles only pick softmax shifts (any exact shift is valid) and a starting precision:
    scrambling every ``to_float`` must leave every verdict and certified end unchanged in kind."""
    case = deep_single_head(depth=3)
    honest = check_network(case.net, case.X)
    rng = np.random.default_rng(0)
    monkeypatch.setattr(type(ARB), "to_float", lambda self, A: rng.uniform(-5, 5, size=np.shape(A)))
    scrambled = check_network(case.net, case.X)
    for h, s in zip(honest.layers[1:], scrambled.layers[1:]):
        assert {k: v.verdict for k, v in h.verdicts.items()} == {k: v.verdict for k, v in s.verdicts.items()}
        assert s.residual.lower <= h.residual.upper and h.residual.lower <= s.residual.upper


# -- deep instances in CI time -----------------------------------------------------------------

@pytest.mark.parametrize("make", [deep_single_head, multi_head, attention_mlp])
def test_depth_6_contracting_instances_hold_at_every_layer(make):
    case = make(depth=6)
    t0 = time.perf_counter()
    report = check_network(case.net, case.X)
    assert time.perf_counter() - t0 < 20
    assert not report.notes
    for r in report.layers[1:]:
        assert {k: v.verdict for k, v in r.verdicts.items()} == {"one_step": "holds", "E4": "holds", "published": "holds"}
    assert report.layers[-1].residual.upper < Fraction(1, 10 ** 900)
