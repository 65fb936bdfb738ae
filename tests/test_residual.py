"""The residual bracket encloses r(X) exactly: brute force, properties, enclosures, float traps.

The reference :func:`brute_r2` shares nothing with the LP path: it enumerates, in exact
rational arithmetic, every vertex of the arrangement on which f and g are affine, and
evaluates f*g there (see its docstring for why that finds the minimum).
"""

import itertools
import math
import time
from pathlib import Path
from fractions import Fraction

import flint
import numpy as np
import pytest
from hypothesis import given, strategies as st
from mpmath import iv

from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.norms import norm_composite
from rankcollapse.numerics.residual import (_WeightedLP, _certificate, _polygon_min, _to_int, r_float,
                               residual_bracket, token_mean_residual)

CONTEXTS = ["arb", "mpmath", "float64"]
CERTIFIED = ["arb", "mpmath"]
PREC = 128


# -- exact reference ---------------------------------------------------------------------------

def fg(M, x):
    """Exact f(x), g(x) of a list-of-lists matrix of Fractions."""
    A = [[abs(m - xj) for m, xj in zip(row, x)] for row in M]
    return max(map(sum, zip(*A))), max(map(sum, A))


def _vertices(M):
    """Every vertex of the arrangement on which f and g are affine (d <= 2), exactly.

    Inside a cell of the grid ``x_j = M_ij`` the signs of ``M_ij - x_j`` are fixed, so every
    column sum and row sum is affine; f and g switch only where two column sums (or two row
    sums) are equal. On a piece of that refined arrangement f*g is a product of two positive
    affine functions, which along any line is concave or monotone, and both grow along the
    unbounded directions of a cell: the minimum is at a vertex, i.e. a feasible intersection of
    two of these lines (one line when d = 1).
    """
    n, d = len(M), len(M[0])
    values = [sorted({row[j] for row in M}) for j in range(d)]
    for cell in itertools.product(*(range(len(v) + 1) for v in values)):
        lo = [v[c - 1] if c else None for v, c in zip(values, cell)]
        hi = [v[c] if c < len(v) else None for v, c in zip(values, cell)]
        rep = [(a + b) / 2 if a is not None and b is not None else (b - 1 if a is None else a + 1)
               for a, b in zip(lo, hi)]
        s = [[(m > r) - (m < r) for m, r in zip(row, rep)] for row in M]
        unit = [[int(k == j) for k in range(d)] for j in range(d)]
        # a line is (w, rhs): w . x = rhs; sums are sum s (M - x) = const - (s-weights) . x
        cols = [([-sum(s[i][j] for i in range(n)) * u for u in unit[j]],
                 sum(s[i][j] * M[i][j] for i in range(n))) for j in range(d)]
        rows = [([-s[i][j] for j in range(d)], sum(s[i][j] * M[i][j] for j in range(d))) for i in range(n)]
        lines = [(unit[j], b) for j in range(d) for b in (lo[j], hi[j]) if b is not None]
        for group in (cols, rows):
            lines += [([p - q for p, q in zip(w1, w2)], c2 - c1)
                      for (w1, c1), (w2, c2) in itertools.combinations(group, 2)]
        for combo in itertools.combinations(lines, d):
            W = [w for w, _ in combo]
            det = W[0][0] if d == 1 else W[0][0] * W[1][1] - W[0][1] * W[1][0]
            if det == 0:
                continue
            r = [c for _, c in combo]
            x = [Fraction(r[0], det)] if d == 1 else [(r[0] * W[1][1] - r[1] * W[0][1]) / Fraction(det),
                                                       (W[0][0] * r[1] - W[1][0] * r[0]) / Fraction(det)]
            if all((a is None or a <= t) and (b is None or t <= b) for a, b, t in zip(lo, hi, x)):
                yield x


def brute_r2(M) -> Fraction:
    """``r(M)^2`` exactly for a small matrix of Fractions (d <= 2)."""
    return min(math.prod(fg(M, x)) for x in _vertices(M))


def test_brute_force_reference_on_known_values():
    # [[0], [1]]: x = 1/2 gives f = 1, g = 1/2
    assert brute_r2([[Fraction(0)], [Fraction(1)]]) == Fraction(1, 2)
    # the three corners of the unit triangle: x = 0 gives f = g = 1; no x does better
    M = [[Fraction(a), Fraction(b)] for a, b in [(0, 0), (1, 0), (0, 1)]]
    assert brute_r2(M) == 1
    grid = [Fraction(k, 8) for k in range(-8, 17)]
    assert brute_r2(M) <= min(math.prod(fg(M, [a, b])) for a in grid for b in grid)


# -- strategies ---------------------------------------------------------------------------------

entries = st.one_of(st.integers(-6, 6).map(Fraction),
                    st.builds(Fraction, st.integers(-40, 40), st.sampled_from([2, 3, 7, 8])))


def matrices(max_n, max_d, min_n=1):
    return st.integers(min_n, max_n).flatmap(
        lambda n: st.integers(1, max_d).flatmap(
            lambda d: st.lists(st.lists(entries, min_size=d, max_size=d), min_size=n, max_size=n)))


small_matrices = matrices(4, 2)     # brute force is exhaustive here
medium_matrices = matrices(7, 5, 2)


def enclose(ctx, M):
    """The exact matrix ``M`` as a ctx matrix (balls where an entry is not representable)."""
    with ctx.workprec(PREC):
        return ctx.array(np.array(M, dtype=object))


def _fmpq(q):
    return flint.fmpq(q.numerator, q.denominator)


def r2_enclosed(b):
    return b.lower ** 2, b.upper ** 2


# -- exactness against brute force --------------------------------------------------------------

@pytest.mark.parametrize("name", CONTEXTS)
@given(M=small_matrices)
def test_bracket_encloses_brute_force_and_is_tight(name, M):
    ctx = get_context(name)
    if name == "float64":
        M = [[Fraction(float(v)) for v in row] for row in M]  # the doubles are the matrix
    truth = brute_r2(M)
    b = residual_bracket(ctx, enclose(ctx, M))
    lo2, hi2 = r2_enclosed(b)
    assert lo2 <= truth <= hi2
    # relative 1e-9, plus an absolute allowance for balls around non-representable entries
    assert b.upper - b.lower <= Fraction(1, 10**9) * b.upper + Fraction(1, 2**100)
    assert b.certified == ctx.certified
    assert math.prod(fg(M, list(b.x))) <= hi2  # the exact point x attains the upper bound
    cheap = residual_bracket(ctx, enclose(ctx, M), exact=False)
    assert cheap.lower ** 2 <= truth <= cheap.upper ** 2


@pytest.mark.parametrize("name", CERTIFIED)
@given(M=small_matrices, data=st.data())
def test_bracket_encloses_every_matrix_inside_balls(name, M, data):
    """Entries with radius: the bracket must hold for any Y in the enclosure."""
    ctx = get_context(name)
    n, d = len(M), len(M[0])
    rad = [[Fraction(data.draw(st.integers(0, 4)), 16) for _ in range(d)] for _ in range(n)]
    with ctx.workprec(PREC):
        if name == "arb":
            X = np.array([[flint.arb(_fmpq(m), _fmpq(r)) for m, r in zip(row, rr)]
                          for row, rr in zip(M, rad)], dtype=object)
        else:
            X = np.array([[iv.mpf([ctx.number(m - r).a, ctx.number(m + r).b]) for m, r in zip(row, rr)]
                          for row, rr in zip(M, rad)], dtype=object)
    brackets = [residual_bracket(ctx, X), residual_bracket(ctx, X, exact=False)]
    for _ in range(3):
        t = [[Fraction(data.draw(st.integers(-2, 2)), 2) for _ in range(d)] for _ in range(n)]
        Y = [[m + tt * r for m, tt, r in zip(row, trow, rr)] for row, trow, rr in zip(M, t, rad)]
        for b in brackets:
            lo2, hi2 = r2_enclosed(b)
            assert lo2 <= brute_r2(Y) <= hi2


# -- properties on larger matrices --------------------------------------------------------------

@given(M=medium_matrices, data=st.data())
def test_any_point_bounds_r_from_above(M, data):
    ctx = get_context("arb")
    b = residual_bracket(ctx, enclose(ctx, M))
    cheap = residual_bracket(ctx, enclose(ctx, M), exact=False)
    assert 0 <= b.lower <= b.upper
    # both contain r; the fast bracket contains the exact one up to the latter's 60-bit rounding
    # (the fast search may even land on a better point than the LP's rounded one)
    tol = Fraction(1, 2**50) * b.upper
    assert cheap.lower <= b.lower + tol and b.upper <= cheap.upper + tol
    for _ in range(3):
        x = [data.draw(entries) for _ in M[0]]
        assert b.lower ** 2 <= math.prod(fg(M, x))
    assert math.prod(fg(M, list(b.x))) <= b.upper ** 2


@given(M=medium_matrices, v=st.lists(entries, min_size=5, max_size=5),
       c=st.builds(Fraction, st.integers(-50, 50).filter(bool), st.integers(1, 9)))
def test_shift_invariance_and_homogeneity(M, v, c):
    ctx = get_context("arb")
    b = residual_bracket(ctx, enclose(ctx, M))
    shifted = residual_bracket(ctx, enclose(ctx, [[m + vj for m, vj in zip(row, v)] for row in M]))
    scaled = residual_bracket(ctx, enclose(ctx, [[c * m for m in row] for row in M]))
    assert shifted.lower <= b.upper and b.lower <= shifted.upper
    assert scaled.lower <= abs(c) * b.upper and abs(c) * b.lower <= scaled.upper


@pytest.mark.parametrize("name", CERTIFIED)
@given(M=medium_matrices)
def test_power_of_two_scaling_is_exact_even_far_outside_double_range(name, M):
    ctx = get_context(name)
    b = residual_bracket(ctx, enclose(ctx, M))
    tiny = residual_bracket(ctx, enclose(ctx, [[m * Fraction(1, 2**100000) for m in row] for row in M]))
    assert (tiny.lower, tiny.upper) == (b.lower / 2**100000, b.upper / 2**100000)


@pytest.mark.parametrize("name", CONTEXTS)
@given(row=st.lists(entries, min_size=1, max_size=5), n=st.integers(1, 6))
def test_identical_rows_have_zero_residual(name, row, n):
    ctx = get_context(name)
    b = residual_bracket(ctx, enclose(ctx, [row] * n))
    assert b.lower == 0 and b.n_lp == 0
    dyadic = all(v.denominator & (v.denominator - 1) == 0 for v in row)
    # otherwise (or when float64 rounded) the entries are balls: upper is the radius padding only
    assert b.upper == 0 if dyadic or name == "float64" else b.upper < Fraction(1, 2**100)


@pytest.mark.parametrize("name", CONTEXTS)
@given(M=medium_matrices)
def test_token_mean_residual_is_an_upper_bound(name, M):
    ctx = get_context(name)
    with ctx.workprec(PREC):
        X = enclose(ctx, M)
        tm = norm_composite(ctx, token_mean_residual(ctx, X))
    b = residual_bracket(ctx, X)
    assert b.lower <= ctx.hi(tm) * (1 + Fraction(1, 10**12) if name == "float64" else 1)


def test_r_float_agrees_with_the_certified_bracket():
    rng = np.random.default_rng(1)
    ctx = get_context("float64")
    for shape in [(5, 3), (12, 6), (30, 10)]:
        X = rng.standard_cauchy(shape)
        b = residual_bracket(ctx, X)
        assert float(b.lower) * (1 - 1e-12) <= r_float(X) <= float(b.upper) * (1 + 1e-9)
        assert b.upper - b.lower <= Fraction(1, 10**9) * b.upper


def test_vertices_form_a_pareto_front():
    rng = np.random.default_rng(2)
    b = residual_bracket(get_context("float64"), rng.standard_normal((20, 8)))
    fs, gs = zip(*b.vertices)
    assert list(fs) == sorted(fs) and list(gs) == sorted(gs, reverse=True)
    assert min(f * g for f, g in b.vertices) == pytest.approx(float(b.upper) ** 2, rel=1e-9)


def test_fast_bracket_at_model_scale():
    """128 x 384 (BERT-base width): no LP, well under a second on an idle core, a gap under 0.5 %."""
    rng = np.random.default_rng(3)
    ctx = get_context("arb")
    X = ctx.array(rng.standard_normal((128, 384)))
    t0 = time.perf_counter()
    b = residual_bracket(ctx, X, exact=False)
    assert time.perf_counter() - t0 < 5  # generous: the machine running the tests may be loaded
    assert b.certified and b.n_lp == 0 and 0 < b.lower and b.upper - b.lower < b.upper / 200  # 0.2 % (1 % with Hedge)


def test_non_finite_entries_are_rejected():
    for name, bad in [("float64", np.array([[0.0], [np.inf]])),
                      ("arb", np.array([[flint.arb(0)], [flint.arb("nan")]], dtype=object)),
                      ("mpmath", np.array([[iv.mpf(0)], [iv.mpf("inf")]], dtype=object))]:
        with pytest.raises(ValueError):
            residual_bracket(get_context(name), bad)


# -- the float trap (docs/theory.md §5) ------------------------------------------------------------------

def test_tiny_residual_under_a_large_common_row():
    """rows = 1e6 v + 1e-300 N: doubles round every row to 1e6 v, the certified path does not."""
    N = [[Fraction(a), Fraction(b)] for a, b in [(0, 3), (2, -1), (5, 1), (-1, 0)]]
    v = [Fraction(1), Fraction(-7, 3)]
    ctx = get_context("arb")
    with ctx.workprec(1200):
        common = ctx.array([[10**6 * vj for vj in v]] * 4)
        X = common + ctx.number("1e-300") * ctx.array(np.array(N, dtype=object))
    truth = Fraction(1, 10**600) * brute_r2(N)  # r is shift-invariant and homogeneous
    b = residual_bracket(ctx, X)
    assert b.certified and b.lower ** 2 <= truth <= b.upper ** 2
    assert b.upper - b.lower < Fraction(1, 10**6) * b.upper
    assert 1e-301 < float(b.lower) < 1e-298
    fast = residual_bracket(ctx, X, exact=False)
    assert fast.certified and fast.n_lp == 0 and fast.lower ** 2 <= truth <= fast.upper ** 2
    # naive float64: converting X first erases the residual completely
    Xf = ctx.to_float(X)
    assert r_float(Xf) == 0.0
    assert residual_bracket(get_context("float64"), Xf).upper == 0


# -- the certificate: what makes it sound -------------------------------------------------------

def _weighted_min(M, A, B):
    """min_x A f(x) + B g(x), exactly (convex piecewise linear: attained at a vertex)."""
    return min(A * f + B * g for f, g in (fg(M, x) for x in _vertices(M)))


def test_certificate_needs_the_exact_weighted_median():
    """An LP whose window is too narrow (no window growth) overestimates, and so would evaluating
    the certificate at its point, or any point other than the weighted median. The exact
    recomputation at the weighted median is what makes L a bound."""
    M = [[Fraction(v)] for v in (0, 1, 2, 10)]              # min g = 5 at x = 5
    C = np.array([[v - 1] for v in (0, 1, 2, 10)], dtype=object)  # centred at the lower median 1
    lp = _WeightedLP(np.array(C, dtype=float) / 16)
    lp._grow = lambda up, down: False                       # mutation: x stays in [-1, 1]
    sol = lp.solve(0.0, 1.0)
    a, b = [max(_to_int(t), 0) for t in sol.a], [max(_to_int(t), 0) for t in sol.b]
    A, B, L = _certificate(C, np.argsort(C, axis=0), a, b)
    t = round(sol.x[0] * 16)                                # the LP's point, in C's units
    claimed = sum((aj + bi) * abs(C[i, 0] - t) for i, bi in enumerate(b) for aj in a)
    true_min = _weighted_min(M, A, B)
    assert L <= true_min < claimed
    # as a polygon line the mutated value "proves" more than r^2; the exact one does not
    f_min = fg(M, [Fraction(1)])[0]                         # at the median
    assert _polygon_min([(1, 0, f_min), (A, B, claimed)], 0, 0)[0] > brute_r2(M)
    assert _polygon_min([(1, 0, f_min), (A, B, L)], 0, 0)[0] <= brute_r2(M)


def test_certificate_rejects_negative_weights():
    """Nonnegativity is the only feasibility condition; dropping it breaks the bound."""
    rows = [(-4, 3), (-2, 0), (4, -1), (-2, -4)]
    C = np.array(rows, dtype=object)
    a, b = [2, 1], [2, -2, 2, 2]
    with pytest.raises(ValueError):
        _certificate(C, np.argsort(C, axis=0), a, b)
    # the unchecked formula sum_j min_t sum_i (a_j + b_i)|C_ij - t| claims A f + B g >= 52 ...
    L = sum(min(sum((a[j] + b[i]) * abs(C[i, j] - t) for i in range(4)) for t in C[:, j])
            for j in range(2))
    assert L == 52
    # ... but some x attains 48
    M = [[Fraction(v) for v in row] for row in rows]
    assert min(sum(a) * f + sum(b) * g for f, g in (fg(M, x) for x in _vertices(M))) == 48


def test_an_entry_far_below_the_others_is_rounded_into_the_radius():
    """[[1, 0], [1, 2^-10^8]]: exact midpoints would need 10^8-bit integers. They are rounded to
    1024 bits below the working precision of the largest entry, the rounding moved into the
    radii: the bracket stays valid (it contains r = 2^-10^8 / sqrt 2) and is about that grid wide."""
    ctx = get_context("arb")
    with ctx.workprec(64):
        X = np.array([[ctx.number(1), ctx.number(0)], [ctx.number(1), ctx.number(Fraction(1, 2 ** 10**8))]])
        b = residual_bracket(ctx, X)
        M, E, Rad, Er = ctx.mid_rad_dyadic(X, mid_bits=64 + 1024)
    assert max(int(m).bit_length() for m in M.flat) <= 64 + 1024 + 1
    r2 = Fraction(1, 2 * 4 ** 10**8)  # r^2 = 2^(-2 10^8) / 2
    assert b.lower ** 2 <= r2 <= b.upper ** 2 and b.upper < Fraction(1, 2 ** 1000)


def test_window_grows_to_an_optimum_far_from_the_median():
    """The LP's windows start one segment either side of each column median; here min g sits
    beyond the column's last cluster (x_0 near 50, the median is 4), so the window must grow over
    several segments before the certificate meets the primal value."""
    rows = [(v, w) for v, w in zip([0, 1, 2, 3, 4, 5, 6, 7, 100], [3, -1, 4, 1, -5, 9, 2, -6, 5])]
    M = [[Fraction(v), Fraction(w)] for v, w in rows]
    truth = brute_r2(M)
    ctx = get_context("arb")
    b = residual_bracket(ctx, enclose(ctx, M))
    assert b.lower ** 2 <= truth <= b.upper ** 2
    assert b.upper - b.lower <= Fraction(1, 10**12) * b.upper
    C = np.array([[v - 4, w - 2] for v, w in rows], dtype=float) / 128   # lower medians 4 and 2
    lp = _WeightedLP(C)
    sol = lp.solve(0.0, 1.0)
    assert lp.up[0] >= 4 and 0.25 < sol.x[0] < 100 / 128   # past 5, 6, 7: inside the last segment


def test_entries_beyond_the_cap_give_outward_ends_not_a_memory_error():
    """Entries 2^(2^40) (a cor3.2 search case had such): exact ends would be 2^40-bit integers.
    The ends are rounded outward at 2^(+-2^24) like the context's: lower 2^(2^24) <= r, upper inf.
    Below the cap the bracket is exact: 2^(2^20) [[1], [0]] has r = 2^(2^20) / sqrt 2."""
    from rankcollapse.numerics.context import _CAP_BITS
    ctx = get_context("arb")
    huge = flint.arb(2) ** (2**40)
    for X in ([[huge], [flint.arb(0)]], [[huge, flint.arb(2) ** -(2**40)], [flint.arb(0), flint.arb(1)]],
              [[flint.arb(0, huge)], [flint.arb(0)]]):
        for exact in (True, False):
            b = residual_bracket(ctx, np.array(X, dtype=object), exact=exact)
            assert b.upper == math.inf and b.x is None
            assert b.lower in (0, Fraction(2) ** _CAP_BITS)
    big = residual_bracket(ctx, np.array([[flint.arb(2) ** (2**20)], [flint.arb(0)]], dtype=object))
    assert big.lower ** 2 <= Fraction(2) ** (2 * 2**20) / 2 <= big.upper ** 2


def test_exact_bracket_gap_and_few_lps_at_scale():
    """128 x 64 standard normal in arb: the cutting-plane search certifies a relative gap <= 1e-9
    with a handful of HiGHS runs (the dichotomic search it replaced needed 14)."""
    ctx = get_context("arb")
    with ctx.workprec(256):
        X = ctx.array(np.random.default_rng(4).standard_normal((128, 64)))
    b = residual_bracket(ctx, X)
    assert b.certified and 0 < b.lower and b.upper - b.lower <= Fraction(1, 10**9) * b.upper
    assert b.n_lp <= 6


def test_fast_bracket_of_doubles_encloses_the_exact_one_on_model_layers():
    """Layer outputs of MiniLM (40 tokens x 32 of the 384 features, the 4 widest among them;
    pretrained and random init, pure attention, with MLP, full): the fast path of doubles
    (float sums with rigorous error bounds, no exact integers) contains the exact bracket."""
    ctx = get_context("float64")
    saved = np.load(Path(__file__).parent / "data" / "minilm_layer_outputs.npz")
    assert len(saved.files) == 4
    for name in saved.files:
        X = saved[name]
        exact, fast = residual_bracket(ctx, X), residual_bracket(ctx, X, exact=False)
        tol = Fraction(1, 2**50) * exact.upper
        assert fast.lower <= exact.lower + tol and exact.upper <= fast.upper + tol, name
        assert not fast.certified and fast.n_lp == 0 and 0 < fast.lower
        assert fast.upper - fast.lower < fast.upper / 400, name  # today's width: up to 0.1 % here (9 % with Hedge)
        Xq = [[Fraction(v) for v in row] for row in X]
        assert math.prod(fg(Xq, list(fast.x))) <= fast.upper ** 2  # the point attains the upper end


def _adversarial(n=24, d=16):
    """Matrices of doubles that trap float shortcuts (24 x 16: the exact bracket takes milliseconds)."""
    rng = np.random.default_rng(7)
    N = rng.standard_normal((n, d))
    return {"gaussian": N,
            "ties": rng.integers(0, 3, (n, d)).astype(float),
            "constant columns": np.where(np.arange(d) % 3 == 0, 2.5, N),
            "rank 1": np.outer(rng.standard_normal(n), rng.standard_normal(d)),
            "outlier column": N * np.where(np.arange(d) == 5, 1e3, 1.0),
            "common row": 1e6 * rng.standard_normal(d) + N,
            "tiny": 1e-300 * N,
            "huge": 1e300 * N,  # X - medians overflows: the exact read, then the same search
            "subnormal": 5e-324 * rng.integers(-40, 40, (n, d)).astype(float)}


ADVERSARIAL = _adversarial()


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_fast_bracket_of_doubles_is_tight_and_encloses_the_exact_one(name):
    """Ties, constant columns, rank 1, an outlier column, a large common row, tiny, huge and
    subnormal scales: the fast bracket contains the exact one, is under 0.25 % wide (Hedge left
    0.5-2 % here), and its point attains its upper end."""
    X = ADVERSARIAL[name]
    ctx = get_context("float64")
    exact, fast = residual_bracket(ctx, X), residual_bracket(ctx, X, exact=False)
    tol = Fraction(1, 2**50)
    assert fast.lower <= exact.lower * (1 + tol) and exact.upper * (1 - tol) <= fast.upper
    assert not fast.certified and fast.n_lp == 0 and 0 < fast.lower
    assert fast.upper - fast.lower < fast.upper / 400
    Xq = [[Fraction(v) for v in row] for row in X]
    assert math.prod(fg(Xq, list(fast.x))) <= fast.upper ** 2


def test_fast_bracket_is_sound_whatever_the_search_suggests(monkeypatch):
    """The search only suggests weights and points; the bounds are recomputed from the matrix.
    With random weights and points instead (a broken optimiser), the bracket is wide but
    still contains the exact one, on both fast paths (doubles, and exact integers in arb)."""
    from rankcollapse.numerics import residual

    rng = np.random.default_rng(11)

    def garbage(C, columns=None):
        n, d = C.shape
        points = [(x, *residual._fg(C, x)) for x in rng.standard_normal((3, d))]
        return [(rng.random(d), rng.random(n)) for _ in range(3)], points, 0

    monkeypatch.setattr(residual, "_smooth_search", garbage)
    X = ADVERSARIAL["gaussian"]
    for ctx in (get_context("float64"), get_context("arb")):
        exact = residual_bracket(ctx, ctx.array(X))
        fast = residual_bracket(ctx, ctx.array(X), exact=False)
        assert fast.lower <= exact.lower and exact.upper <= fast.upper
        assert fast.upper - fast.lower > fast.upper / 100  # garbage in: a wide bracket, never a wrong one


def test_fast_bracket_survives_a_broken_smoothed_problem(monkeypatch):
    """If the smoothed problem returns NaN (say an overflow in float32), the search stops with
    what it had (medians, token mean, the uniform-row floor) and the bracket stays valid."""
    from rankcollapse.numerics import residual

    def nan(self, x, wf, wg):
        bad = np.full(x.shape, np.nan)
        return np.nan, bad, bad, np.full(self.C.shape[0], np.nan)

    monkeypatch.setattr(residual._Smoothed, "weights", nan)
    ctx = get_context("float64")
    X = ADVERSARIAL["gaussian"]
    exact, fast = residual_bracket(ctx, X), residual_bracket(ctx, X, exact=False)
    assert 0 < fast.lower <= exact.lower and exact.upper <= fast.upper


def test_fast_search_ends_when_a_run_makes_no_progress(monkeypatch):
    """A run that ends where it started (L-BFGS stalled by float32 noise, as on a few MiniLM
    layers) gives a line that no longer cuts the polygon's vertex off; rerunning would repeat
    it until the iteration cap (35 runs, 0.9 s on one MiniLM layer), so the search ends there,
    with a bracket that still contains the exact one."""
    from rankcollapse.numerics import residual

    calls = []

    def stalled(self, x0, wf, wg, stop, iterations):
        calls.append(wf)
        return x0, 1, False

    monkeypatch.setattr(residual._Smoothed, "minimise", stalled)
    ctx = get_context("float64")
    X = ADVERSARIAL["gaussian"]
    exact, fast = residual_bracket(ctx, X), residual_bracket(ctx, X, exact=False)
    assert 0 < fast.lower <= exact.lower and exact.upper <= fast.upper
    assert len(calls) <= 4, calls
