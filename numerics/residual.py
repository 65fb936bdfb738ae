"""The residual ``r(X) = min_x ||X - 1 x^T||_{1,inf}``, bracketed rigorously (docs/theory.md §1).

**The problem.** Write ``f(x) = ||X - 1x^T||_1`` (largest column sum of ``|X_ij - x_j|``) and
``g(x) = ||X - 1x^T||_inf`` (largest row sum). Both are convex and piecewise linear, and
``r(X)^2 = min_x f(x) g(x)``. The set of attainable pairs ``(f, g)`` plus the positive quadrant
is a convex polygon; ``f*g`` is quasi-concave, so its minimum over the polygon sits at a vertex
of the lower-left (Pareto) boundary. ``r`` is invariant under ``X -> X + 1 v^T`` and
homogeneous, ``r(cX) = |c| r(X)``.

**Finding the vertices.** ``min f`` alone is exact: each column sum is minimised by the
column's median, independently, so ``x = column medians`` gives ``min f``. The rest is a
cutting-plane (Newton) search: every certificate (below) is a line ``A f + B g >= L`` below the
front, and the lines known so far cut out a polygon that contains it; its vertex ``t`` of
smallest product is the current lower bound. The next weighted problem ``min_x wf f(x) + wg
g(x)`` takes the weight ``(g_t, f_t)`` normal to the hyperbola through ``t``: every attainable
pair has a larger product than ``t``, hence a larger weighted value, so the new line cuts ``t``
off; at the optimum this weight is the front's normal there (Newton on ``f phi(f)`` with the
LP's duals as the slope). The search stops when ``t``'s product is within a relative ``1e-10``
of the best point found (a gap near ``5e-11`` in ``r``; the target is ``1e-9``). The first
lines cost nothing: ``f >= min f`` and the floor ``g >= L`` of uniform row weights. Random
``128 x 384`` matrices need 2-5 weighted problems, one of them solved from scratch.

**Certificates, and why they are checked exactly.** For weights ``a >= 0`` (one per column)
and ``b >= 0`` (one per row), with ``A = sum a`` and ``B = sum b``, every ``x`` satisfies::

    A f(x) + B g(x) >= sum_ij (a_j + b_i) |X_ij - x_j| >= sum_j min_t sum_i (a_j + b_i) |X_ij - t| =: L

The first step holds because ``sum_i |X_ij - x_j| <= f(x)`` for every column and
``sum_j |X_ij - x_j| <= g(x)`` for every row; the second minimises each column separately, and
the minimum is attained at a *weighted median* of the column, which we find by sorting.
So any nonnegative ``(a, b)`` gives a half-plane ``A f + B g >= L`` containing every
attainable pair, and it is sound by construction: there is no feasibility to repair, only
nonnegativity (negative weights would break the first inequality; they are rounded up to 0).
The LP solver merely *suggests* good weights: they are rounded to integers over ``2^60`` and
``L`` is recomputed in exact integer arithmetic on the exact matrix. The solver's own
objective value is never trusted (it comes from a relaxation, see below, and is computed in
floating point). These are exactly the LP duals of the weighted problem (``y_ij = (a_j + b_i)
sign(X_ij - t_j)`` balanced at the weighted median satisfies ``sum_i y_ij = 0`` and ``|y_ij| <=
a_j + b_i``), with the best ``y`` for the given ``(a, b)`` chosen exactly instead of read off in
floating point.

The lower bound is then ``min f*g`` over the polygon cut out by all certificates (the exact
min-``f`` one is ``f >= min f``): the minimum of a quasi-concave function over a polygon whose
recession cone is the positive quadrant is attained at a vertex, so it is the smallest
product over the pairwise intersections of the certificate lines that satisfy every
certificate, computed in exact rational arithmetic. At the true Pareto vertices the
certificate lines pass through consecutive vertices, so the bound is tight. The upper bound is
``sqrt(f(x) g(x))`` at the best point ``x`` found, evaluated exactly.

**Solving the weighted problems.** The direct LP (variables ``x``, and ``e_ij >= |X_ij - x_j|``)
is large: at ``128 x 384`` HiGHS needed 40-160 s for one weight, and the dual solved by
constraint generation (the previous method) 5-35 s for the whole search. We solve the primal
with each ``x_j`` confined to a window of the column's sorted values around an anchor, written
with one bounded variable per segment of the window (``_WeightedLP``): the basis stays ``2d + n``
rows, a segment has a handful of nonzeros, and windows grow (new columns: HiGHS, called through
``highspy``, keeps its basis) only where the solution presses on a window's end or the exact
weighted median of the duals lies outside. The row duals are the certificate weights ``(a,
b)`` above; the solve stops when their exactly re-evaluated ``L`` meets the primal value.
Between weights only the objective changes, so each solve after the first starts from the
previous basis (a few dozen pivots at ``128 x 384``). The anchor is the best point of a cheap
Hedge run (multiplicative weights, ``_hedge``) on the first weight, not the medians: on layer
outputs of real models the optimum lies far from the medians in many columns, and windows grown
from there spanned whole columns (30 000 segments, 8 s for the first solve at ``128 x 384``,
against 1.4 s anchored).

**The fast bracket** (``exact=False``) solves no LP. Any nonnegative weights certify, so it
runs the same cutting-plane search with each weighted problem solved approximately by L-BFGS
(SciPy) on a smoothed copy in float32 (``_Smoothed``: each max a log-sum-exp at a temperature of
``3e-3`` times ``f`` or ``g``, ``|z|`` a hyperbola ``sqrt(z^2 + delta^2)``). At its minimiser
the softmax weights make ``x`` their weighted median, so they are near-optimal certificate
weights; the first run minimises the smoothed *product*, whose weights are normal to the
hyperbola at the optimum of ``f g`` (on MiniLM layer outputs that optimum sits at ``f = min f``,
and the certificate through it closes the polygon there, often alone). A run stops when its
certificate (float estimate) meets its point's weighted value (within ``0.125 %``; ``0.5 %`` for
the product run, which only has to find the first weight), or when the polygon's minimum is
within ``0.5 %`` of the best product (``0.25 %`` in ``r``); the search ends there, or when a
run's line cuts the polygon's vertex off by less than a run's tolerance (float32 noise stalls
L-BFGS short of the run's own stop; a rerun repeats it), or after 300 iterations in all. The
optimiser's accuracy never matters for soundness: its weights and points are only suggestions,
and the bounds are recomputed as for the exact bracket. The upper bound is the best point
visited (column medians, token mean, the runs' points). Only the certificates the polygon's
minimum needs are evaluated exactly. For a matrix of doubles (the float64 context) not even
those use exact integers: ``C = X - medians`` is computed in doubles (one rounding, a relative
``2^-52`` of each entry, added to the pads like a radius), the certificate weights are integers
below ``2^41`` (so the weighted medians, from int64 cumulative sums, are exact), and the
deviation sums carry Higham's bound ``gamma_m`` for sums of ``m`` nonnegative rounded terms.
Its width is 0.15-0.25 % on random and MiniLM matrices at 128 x 384 (0.25 % at most on the 56
MiniLM layer outputs of one sequence; 0.38 % at most, 0.19 % on average, on 138 outputs of three
sequences), against 1-13 % for the multiplicative-weights certificates it replaced, in a
quarter of their time: 35 ms CPU a matrix on average, 30 ms median (2026-12-02, load average 7
on 2 cores; ``benchmarks/bench_residual.py``).

**Enclosures.** Entries of ``X`` may be balls/intervals. With midpoint matrix ``M`` and radius
matrix ``Rad``, both norms are monotone in ``|entries|``, so for every ``Y`` in the enclosure
``|f_Y(x) - f_M(x)| <= ||Rad||_1`` and ``|g_Y(x) - g_M(x)| <= ||Rad||_inf``. The upper bound
pads both factors; the lower bound takes ``min (f - ||Rad||_1)_+ (g - ||Rad||_inf)_+`` over the
polygon's vertices (this function is quasi-concave too).

**Floating point only where it cannot hurt.** Midpoints are read as exact dyadic integers
with a common exponent (``ctx.mid_rad_dyadic``: no Fractions, no double-range limits, so
entries near ``2^-100000`` are fine); midpoints more than ``MID_GUARD_BITS`` below the working
precision of the largest entry are rounded to that grid, the rounding added to their radii
(a ball computed at ``prec`` bits is that uncertain already; one entry near ``2^-10^8`` would
otherwise make every integer 10^8 bits long). The column medians are subtracted *exactly* and the result is scaled
by a power of two to ``[-1, 1)`` before anything becomes a double: a residual of ``1e-300`` on
top of a common row of size ``1e6`` survives, whereas converting ``X`` to doubles first would
erase it. Memory is ``n d`` integers as long as the dynamic range of the midpoints in bits.

``float64`` matrices run the same algorithm (their doubles are exact dyadics), but they carry
no error bound of the computation that produced them, so their brackets are
``certified=False``.

>>> from rankcollapse.numerics.context import get_context
>>> ctx = get_context("arb")
>>> b = residual_bracket(ctx, ctx.array([[0], [1]]))    # x = 1/2: f = 1, g = 1/2, r = sqrt(1/2)
>>> b.lower ** 2 <= Fraction(1, 2) <= b.upper ** 2, b.upper - b.lower < Fraction(1, 10**15)
(True, True)
>>> b.x, b.certified
(array([Fraction(1, 2)], dtype=object), True)
>>> X = ctx.array([["1e6", "2e6"], ["1e6", "2e6"], ["1e6", "2e6"]])
>>> residual_bracket(ctx, X).upper                      # identical rows: r = 0
Fraction(0, 1)
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from .context import _CAP_BITS, Context, dyadic

__all__ = ["Bracket", "token_mean_residual", "residual_bracket", "r_float"]

_TOL = 1e-11  # relative; only decides how long to refine (tightness), never soundness
_GAP = 1e-10  # the search stops when its float estimate of the gap in r^2 is below this
# the fast bracket (no LP): its search stops at an estimated relative gap of _FAST_GAP in r^2 (0.25 %
# in r; 6e-3 took 10 % fewer iterations, but widths up to 0.29 % on the tests' 24 x 16 matrices) or
# after _ITERATIONS L-BFGS iterations in all (_STAGE per weight), checking every _CHECK;
# _SMOOTH: see _Smoothed (3e-3 against 1e-3: a third fewer iterations on MiniLM, widths 0.15 % not 0.07 %)
_FAST_GAP, _ITERATIONS, _STAGE, _CHECK, _SMOOTH = 5e-3, 300, 100, 7, 3e-3
_BITS = 60    # fixed-point bits for LP output made exact (weights, points) and for square roots
# matrices the fast bracket reads in their own type (a subtraction there rounds by 2^-53 at most)
_FAST_TYPES = (np.dtype(np.float64), np.dtype(np.longdouble))
MID_GUARD_BITS = 1024  # midpoints are kept exactly down to this far below the working precision
# HiGHS accepts constraint violations up to 1e-7 by default; summed over the columns that would
# leave a relative gap near 1e-8 between the LP value and the exactly recomputed certificate.
# devex pricing and no presolve: each LP is a small warm-started change of the last one, where
# steepest-edge weights and presolve cost more than they save (15-30 % at 128 x 384 and 128 x 768)
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10,
          "simplex_dual_edge_weight_strategy": 1, "presolve": "off"}


@dataclass(frozen=True)
class Bracket:
    """``lower <= r(Y) <= upper`` for every ``Y`` in the entrywise enclosure of ``X``."""

    lower: Fraction       # certified lower bound of r(X) (0 allowed)
    upper: Fraction       # certified upper bound of r(X) (inf when it is beyond 2^(2^24))
    point: Callable[[], np.ndarray] | None = field(repr=False, compare=False)  # builds x (None: no point)
    certified: bool       # False for float64 input (exact for its doubles, which carry no error bound)
    n_lp: int             # number of LPs solved (HiGHS calls)
    seconds: float
    vertices: tuple       # Pareto vertices (f, g) found, as floats (for docs/plots; inf past the double range)

    @functools.cached_property
    def x(self) -> np.ndarray | None:
        """The best point found (``upper`` is the value there), an object array of exact
        Fractions; None past the cap. Built on first use: its d Fractions cost a fast bracket
        ~5 ms at d = 384, a tenth of its time, and most callers read only the ends."""
        return None if self.point is None else self.point()


def token_mean_residual(ctx: Context, X):
    """``X - 1 mean(X)^T`` in ``ctx``: the paper's experimental residual. Its composite norm is an
    upper bound on ``r(X)``, not ``r(X)``. Balls stay balls; choose the working precision so the
    subtraction of the common part does not swamp the residual.

    >>> from rankcollapse.numerics.context import get_context
    >>> token_mean_residual(get_context("float64"), np.array([[1.0, 2.0], [3.0, 6.0]]))
    array([[-1., -2.],
           [ 1.,  2.]])
    """
    X = np.asarray(X)
    return X - X.sum(axis=0) / X.shape[0]


# -- the weighted problems (floating point, suggestions only) -----------------------------------

class _Columns:
    """A float matrix ``C`` stored column by column (``T``, ``d x n``) with each column's sort
    order (``order``, ``d x n``): what weighted medians need, along contiguous rows (cumulative
    sums and searches along the other axis cost 3x more)."""

    def __init__(self, C):
        self.T = np.ascontiguousarray(C.T)
        self.order = np.argsort(self.T, axis=1)  # any order of ties will do; 3x faster than stable
        self.D = np.empty_like(self.T)


def _weighted_medians(columns: _Columns, a, b):
    """Per column: the row index of a weighted median for the weights ``a_j + b_i``, and the
    weighted deviation from it. The cumulative weights are those of ``b`` gathered in column
    order plus ``a_j`` times the rank (no ``n x d`` weight matrix); exact for int64 weights."""
    d, n = columns.T.shape
    cum = np.cumsum(b[columns.order], axis=1)
    cum += np.multiply.outer(a, np.arange(1, n + 1))
    k = columns.order[np.arange(d), np.argmax(2 * cum >= cum[:, -1:], axis=1)]
    D = np.subtract(columns.T, columns.T[np.arange(d), k][:, None], out=columns.D)
    np.abs(D, out=D)
    return k, a * D.sum(axis=1) + D @ b


@dataclass(frozen=True)
class _Solve:
    a: np.ndarray      # column weights (sum wf)
    b: np.ndarray      # row weights (sum wg)
    x: np.ndarray      # primal point
    lower: float       # float estimate of the certificate value L


def _highs():
    """A silent HiGHS instance. The public ``highspy.Highs`` prints a banner on stdout when it is
    constructed, before any option can switch output off; its core class is the same solver
    without that Python layer."""
    from highspy import _core

    h = _core._Highs()
    for option, value in {"output_flag": False, **_HIGHS}.items():
        h.setOptionValue(option, value)
    return h


class _WeightedLP:
    """``min_x wf f(x) + wg g(x)`` on a float matrix ``C`` whose column medians are 0, as a primal
    LP in HiGHS whose variables ``x_j`` live in windows around the median that grow on demand.

    Each column's distinct values cut the line into segments. ``x_j = sum u_jk - sum v_jk`` over
    the window's segments above 0 (``u``, bounded by their lengths) and below (``v``). For a row
    with ``C_ij >= 0``, ``|C_ij - x_j| <= (C_ij - x_j) + 2 * (sum of the u_jk above C_ij)`` with
    equality when the segments fill from 0 outwards (symmetrically below 0): the LP only
    overestimates, and an optimal solution can always be taken in order, so the LP optimum is
    the true one restricted to the windows. The rows are ``F >= column sum j``, ``G >= row sum
    i`` and ``x_j = sum u - sum v``; a segment touches its column's rows, the row sums of the rows
    it passes, and its equation: few entries, and the basis stays ``2d + n`` rows whatever the
    windows. Windows grow (new columns, so HiGHS keeps its basis) where ``x_j`` ends at a window's
    end or the exact weighted median of the duals lies outside, until the duals' certificate
    meets the primal value. The pool is shared along the Pareto search: each solve after the
    first starts from the previous basis and windows, and only the objective changes.
    """

    def __init__(self, C: np.ndarray, anchor: np.ndarray | None = None):
        n, d = C.shape
        # the windows grow from the anchor, one data value per column (default the medians, 0):
        # an anchor near the optimum keeps them short
        self.shift = np.zeros(d) if anchor is None else anchor
        C = self.C = C - self.shift
        self.columns = _Columns(C)
        self.order = self.columns.order.T
        V = np.take_along_axis(C, self.order, axis=0)
        rank = np.cumsum(np.vstack([np.ones((1, d), bool), V[1:] != V[:-1]]), axis=0) - 1
        self.U = np.full((n, d), np.nan)              # U[k, j]: the k-th distinct value of column j
        self.U[rank, np.arange(d)] = V
        self.rank = np.empty_like(rank)               # rank of C_ij among its column's distinct values
        np.put_along_axis(self.rank, self.order, rank, axis=0)
        self.n_values = rank[-1] + 1
        self.zero = self.rank[np.argmax(C == 0, axis=0), np.arange(d)]  # the anchor, 0
        if np.any(self.U[self.zero, np.arange(d)] != 0):
            raise ValueError("_WeightedLP needs an anchor of data values (default: lower column medians 0)")
        self.up = np.zeros(d, dtype=np.int64)         # segments in the window above / below 0
        self.down = np.zeros(d, dtype=np.int64)
        self.n_lp = 0
        s = np.where(C >= 0, 1.0, -1.0)
        h = self.h = _highs()
        self.optimal = type(h.getModelStatus()).kOptimal
        inf = np.full(n + d, np.inf)
        h.addRows(n + d, -inf, -np.concatenate([(s * C).sum(axis=0), (s * C).sum(axis=1)]), 0,
                  np.zeros(n + d, np.int32), np.zeros(0, np.int32), np.zeros(0))
        h.addRows(d, np.zeros(d), np.zeros(d), 0, np.zeros(d, np.int32), np.zeros(0, np.int32), np.zeros(0))
        # x_j: -(sum_i s_ij) in column row j, -s_ij in row-sum rows, 1 in its equation; then F, G
        rows = np.concatenate([np.arange(d)[:, None], d + np.tile(np.arange(n), (d, 1)), (n + d + np.arange(d))[:, None]], axis=1)
        vals = np.concatenate([-s.sum(axis=0)[:, None], -s.T, np.ones((d, 1))], axis=1)
        rows = np.concatenate([rows.ravel(), np.arange(d), d + np.arange(n)])
        vals = np.concatenate([vals.ravel(), -np.ones(n + d)])
        self._add_columns(rows, np.concatenate([np.repeat(np.arange(d), n + 2), np.full(d, d), np.full(n, d + 1)]),
                          vals, np.full(d + 2, -np.inf), np.full(d + 2, np.inf))
        self._grow(np.ones(d, dtype=np.int64), np.ones(d, dtype=np.int64))

    def _add_columns(self, rows, cols, vals, lower, upper):
        m = len(lower)
        A = sp.csc_matrix((vals, (rows, cols)), shape=(self.h.getNumRow(), m))
        self.h.addCols(m, np.zeros(m), lower, upper, A.nnz, A.indptr[:-1].astype(np.int32),
                       A.indices.astype(np.int32), A.data)

    def _grow(self, up, down) -> bool:
        """Extend the windows to ``up`` segments above and ``down`` below 0 (clipped to the data);
        False if nothing was added."""
        n, d = self.C.shape
        up = np.clip(up, self.up, self.n_values - 1 - self.zero)
        down = np.clip(down, self.down, self.zero)
        rows, cols, vals, lengths = [], [], [], []
        m = 0
        for sign, old, new in ((1, self.up, up), (-1, self.down, down)):
            count = new - old
            J = np.repeat(np.arange(d), count)
            K = np.arange(len(J)) - np.repeat(np.cumsum(count) - count, count) + np.repeat(old, count) + 1
            near, far = self.U[self.zero[J] + sign * (K - 1), J], self.U[self.zero[J] + sign * K, J]
            col = self.C[:, J]
            passed = (col >= 0) & (col <= near) if sign > 0 else (col < 0) & (col >= near)
            i, k = np.nonzero(passed)
            npassed = passed.sum(axis=0)
            rows += [J, d + i, n + d + J]
            cols += [m + np.arange(len(J)), m + k, m + np.arange(len(J))]
            vals += [2.0 * npassed, np.full(len(i), 2.0), np.full(len(J), -float(sign))]
            lengths.append(np.abs(far - near))
            m += len(J)
        self.up, self.down = up, down
        if m:
            self._add_columns(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals),
                              np.zeros(m), np.concatenate(lengths))
        return m > 0

    def weighted_medians(self, a, b):
        return _weighted_medians(self.columns, a, b)

    def solve(self, wf: float, wg: float) -> _Solve:
        n, d = self.C.shape
        h = self.h
        h.changeColsCost(2, np.array([d, d + 1], np.int32), np.array([wf, wg]))
        while True:
            h.run()
            self.n_lp += 1
            if h.getModelStatus() != self.optimal:
                raise RuntimeError(f"HiGHS failed on a residual LP: {h.modelStatusToString(h.getModelStatus())}")
            sol = h.getSolution()
            x = np.array(sol.col_value[:d])
            duals = np.array(sol.row_dual[:n + d])
            a, b = np.maximum(-duals[:d], 0), np.maximum(-duals[d:], 0)
            k, dev = self.weighted_medians(a, b)
            f, g = _fg(self.C, x)
            value = wf * f + wg * g   # x's true value: an upper bound; dev.sum() a lower one
            if value - dev.sum() <= _TOL * value:
                break
            median = self.rank[k, np.arange(d)] - self.zero
            lo, hi = self.U[self.zero - self.down, np.arange(d)], self.U[self.zero + self.up, np.arange(d)]
            if not self._grow(np.maximum(self.up + (x >= hi - _TOL), median + 1),
                              np.maximum(self.down + (x <= lo + _TOL), 1 - median)):
                break  # solver tolerance: the certificate stays valid, only less tight
        return _Solve(a, b, x + self.shift, float(dev.sum()))


def _fg(C, x) -> tuple[float, float]:
    E = np.abs(C - x)
    return float(E.sum(axis=0).max()), float(E.sum(axis=1).max())


def _pareto_search(C: np.ndarray, gap: float = _GAP, max_solves: int = 40):
    """Search the Pareto front of ``(f, g)`` on a float matrix ``C`` whose column medians are 0
    (so ``x = 0`` minimises ``f``) for the minimum of ``f*g``, by cutting planes.

    The polygon cut out by the known certificate lines (``f >= min f``, the floor ``g >= L``
    of uniform row weights, and one line per weighted LP) contains the front; its vertex ``t``
    of smallest product is the best lower bound so far. The next LP takes the weight
    ``(g_t, f_t)``, normal to the hyperbola ``f g = f_t g_t`` at ``t``: every front point has a
    larger product, hence a larger weighted value than ``t``, so the new line cuts ``t`` off
    (a Newton step on ``f phi(f)``: at the optimum the weight is the front's normal there).
    Stops when the polygon's minimum is within a relative ``gap`` of the best product found,
    or when an LP's line fails to cut ``t`` off (solver tolerance). Returns the certificate weights
    ``[(a, b), ...]``, every point visited as ``(x, f, g)``, and the number of LPs.
    """
    n, d = C.shape
    zero = np.zeros(d)
    f0, g0 = _fg(C, zero)
    # anchor the LP's windows at the best point of a cheap Hedge run on the first weight
    _, hedged = _hedge(C, _Columns(C), g0 / (f0 + g0), f0 / (f0 + g0), 30)
    lp = _WeightedLP(C, min(hedged, key=lambda p: p[1] * p[2])[0])
    weights = [(zero, np.full(n, 1.0 / n))]     # a = 0, b uniform: weighted medians are the medians
    lines = [(1.0, 0.0, f0), (0.0, 1.0, float(np.abs(C).sum()) / n)]
    points = [(zero, f0, g0)]
    best = f0 * g0
    for _ in range(max_solves):
        low, tf, tg = _polygon_min(lines, 0.0, 0.0, slack=1e-12)
        if low >= best * (1 - gap):
            break
        wf, wg = tg / (tf + tg), tf / (tf + tg)
        sol = lp.solve(wf, wg)
        f, g = _fg(C, sol.x)
        points.append((sol.x, f, g))
        weights.append((sol.a, sol.b))
        lines.append((float(sol.a.sum()), float(sol.b.sum()), sol.lower))
        best = min(best, f * g)
        if sol.lower <= (wf * tf + wg * tg) * (1 + gap):
            break  # the line does not cut t off: solver tolerance, no further progress
    return weights, points, lp.n_lp


def _hedge(C, columns: _Columns, wf: float, wg: float, rounds: int):
    """Good certificate weights for ``min_x wf f(x) + wg g(x)`` without an LP: multiplicative
    weights (Hedge) for the maximising player of the game ``max_{a, b} min_x sum_j a_j col_j(x) +
    sum_i b_i row_i(x)`` (``a`` on ``wf`` times the column simplex, ``b`` on ``wg`` times the row
    simplex), the minimiser answering with the exact weighted medians. By concavity of ``L`` the
    average of the played weights certifies at least the average of their values, which tends to
    the optimum; the best single round is kept too. Returns ``[(a, b, L), ...]`` (float estimates
    of ``L``) and the medians played, as points ``(x, f, g)``."""
    n, d = C.shape
    eta = math.sqrt(8 * math.log(n + d) / rounds)
    la, lb = np.zeros(d), np.zeros(n)  # log-weights
    total_a, total_b = np.zeros(d), np.zeros(n)
    best, points = None, []

    def weights(la, lb):
        ea, eb = np.exp(la - la.max()), np.exp(lb - lb.max())
        return wf * ea / ea.sum(), wg * eb / eb.sum()

    for _ in range(rounds):
        a, b = weights(la, lb)
        k, dev = _weighted_medians(columns, a, b)
        x = C[k, np.arange(d)]
        E = np.abs(C - x)
        cols, rows = E.sum(axis=0), E.sum(axis=1)
        points.append((x, float(cols.max()), float(rows.max())))
        if best is None or dev.sum() > best[2]:
            best = (a, b, float(dev.sum()))
        total_a, total_b = total_a + a, total_b + b
        la, lb = la + eta * cols / max(cols.max(), 1e-300), lb + eta * rows / max(rows.max(), 1e-300)
    avg = (total_a / rounds, total_b / rounds)
    return [best, (*avg, float(_weighted_medians(columns, *avg)[1].sum()))], points


def _soft_max(v, mu: float):
    """``(mu log sum exp(v / mu), softmax(v / mu))``: a smooth maximum, at most ``mu log len(v)``
    above ``max v``, and its gradient."""
    top = v.max()
    e = np.exp((v - top) / mu)
    total = e.sum()
    return float(top) + mu * math.log(total), e / total


class _Smoothed:
    """``f`` and ``g`` of a float matrix ``C`` (column medians 0) made smooth, in float32: each
    max by :func:`_soft_max` at a temperature ``_SMOOTH`` times ``f`` or ``g`` at the medians,
    ``|z|`` by ``sqrt(z^2 + delta^2)`` with ``delta`` a third of ``_SMOOTH`` times the largest
    ``|C_ij|``. Its minimisers are suggestions only: every bound is recomputed from ``C``.
    At a minimiser of ``wf F + wg G`` the softmax weights ``(wf u, wg w)`` make ``x`` their
    (smoothed) weighted median, so they are near-optimal certificate weights for that problem;
    at a minimiser of ``log F + log G`` the same holds for ``(u / F, w / G)``, whose normal
    ``(G, F)`` is the hyperbola's at the optimum of ``f g``."""

    def __init__(self, C, f0: float, g0: float):
        self.C = C.astype(np.float32)
        self.E, self.A = np.empty_like(self.C), np.empty_like(self.C)  # reused: a third faster than fresh arrays
        self.delta2 = np.float32((_SMOOTH / 3 * float(np.abs(C).max())) ** 2)
        self.mu = _SMOOTH * f0, _SMOOTH * g0
        self.last = None  # (x, wf, wg, a, b) of the last evaluation
        # sums as products with ones (BLAS): 2x faster than .sum() across rows, 1.3x along them
        self.ones_n, self.ones_d = np.ones(C.shape[0], np.float32), np.ones(C.shape[1], np.float32)

    def weights(self, x, wf, wg):
        """``(value, gradient, a, b)`` of the objective at ``x`` (``wf = None``: ``log F + log G``)."""
        key = wf, wg
        E = np.subtract(x.astype(np.float32), self.C, out=self.E)
        A = np.multiply(E, E, out=self.A)
        A += self.delta2
        np.sqrt(A, out=A)
        E /= A                                              # d sqrt((x_j - C_ij)^2 + delta^2) / d x_j
        F, u = _soft_max(self.ones_n @ A, self.mu[0])
        G, w = _soft_max(A @ self.ones_d, self.mu[1])
        if wf is None:
            value, wf, wg = math.log(F) + math.log(G), 1 / F, 1 / G
        else:
            value = wf * F + wg * G
        a, b = wf * u, wg * w
        self.last = (x.copy(), *key, a.astype(np.float64), b.astype(np.float64))
        return value, (a * (self.ones_n @ E) + b @ E).astype(np.float64), *self.last[3:]

    def certificate_weights(self, x, wf, wg):
        """``(a, b)`` at ``x``: the last evaluation's when it was at ``x`` (L-BFGS's iterate is
        usually its last evaluation: a tenth fewer evaluations on MiniLM outputs)."""
        last = self.last
        if last is not None and last[1:3] == (wf, wg) and np.array_equal(last[0], x):
            return last[3:]
        return self.weights(x, wf, wg)[2:]

    def minimise(self, x0, wf, wg, stop, iterations: int):
        """L-BFGS (SciPy) from ``x0``; every ``_CHECK`` iterations ``stop(x, a, b)`` may end it.
        Returns the last ``x``, the iterations run and whether ``stop`` ended the run."""
        stopped, count = [], [0]

        def check(x):
            count[0] += 1
            if count[0] % _CHECK == 0 and stop(x, *self.certificate_weights(x, wf, wg)):
                stopped.append(True)
                raise StopIteration

        res = minimize(lambda x: self.weights(x, wf, wg)[:2], x0, jac=True, method="L-BFGS-B", callback=check,
                       options={"maxiter": iterations, "gtol": 1e-12, "ftol": 1e-14})
        return res.x, res.nit, bool(stopped)


@functools.cache
def _blas_controller():
    """threadpoolctl's controller, found once (0.1 ms a use instead of 2 ms), or None without it."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _one_blas_thread():
    """BLAS on one thread: L-BFGS on 384 variables is tiny, and OpenBLAS's threads made each of
    its iterations 7 ms of CPU instead of 0.1 ms on a loaded 2-core machine."""
    controller = _blas_controller()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def _smooth_search(C: np.ndarray, columns: _Columns | None = None, gap: float | None = None,
                   iterations: int = _ITERATIONS):
    """The fast bracket's search, on a float matrix ``C`` with column medians 0 (``x = 0``
    minimises ``f``), no LP: the cutting-plane search of :func:`_pareto_search`, each weighted
    problem solved approximately on :class:`_Smoothed`. The first minimises the smoothed product
    from the token mean (a sixth fewer iterations than from the medians on MiniLM outputs); it
    lands near the optimum of ``f g`` with weights normal to the hyperbola there; each
    further one the weight normal to the hyperbola at the polygon's lowest vertex, started from
    the best point for that weight. A run stops when its weights' certificate (float estimate)
    meets its point's weighted value within a quarter of ``gap`` (within ``gap`` for the product
    run: its smoothing bias often kept it above a quarter), or when the polygon's minimum
    is within a relative ``gap`` of the best product found (then the search ends); the search
    also ends when a run's line cuts the polygon's vertex off by less than a quarter of ``gap``
    (no progress: the next run would take about the same weight from the same point);
    ``iterations`` caps all runs together.
    ``gap`` defaults to ``_FAST_GAP``, read at the call (so that a sweep can set it). Same returns
    as :func:`_pareto_search` (no LPs)."""
    gap = _FAST_GAP if gap is None else gap
    n, d = C.shape
    columns = _Columns(C) if columns is None else columns
    zero = np.zeros(d)
    f0, g0 = _fg(C, zero)
    token_mean = C.mean(axis=0)
    points = [(zero, f0, g0), (token_mean, *_fg(C, token_mean))]
    weights = [(zero, np.full(n, 1.0 / n))]       # a = 0, b uniform: the floor g >= mean row sum
    lines = [(1.0, 0.0, f0), (0.0, 1.0, float(np.abs(C).sum()) / n)]
    smooth = _Smoothed(C, f0, g0)
    state = {}

    def stop(x, a, b):
        f, g = _fg(C, x)
        if not (math.isfinite(f * g) and np.isfinite(a).all() and np.isfinite(b).all() and a.sum() + b.sum() > 0):
            state["failed"] = True  # the smoothed problem broke down: keep what was found before
            return True
        points.append((x, f, g))
        ai, bi = _integer_weights(a, b)  # the same line, scaled; int64 medians: 2/3 of the time
        line = (float(ai.sum()), float(bi.sum()), float(_weighted_medians(columns, ai, bi)[1].sum()))
        state["last"] = (x, a, b, line)
        value = line[0] * f + line[1] * g
        state["done"] = (_polygon_min(lines + [line], 0.0, 0.0, slack=1e-12)[0]
                         >= min(p[1] * p[2] for p in points) * (1 - gap))
        # the product run only has to find the first weighted run's weight: meeting gap / 4 as well
        # took it 48 iterations on average on MiniLM outputs (its smoothing bias), 28 this way
        return state["done"] or value - line[2] <= (gap if wf is None else gap / 4) * value

    x, wf, wg = token_mean, None, None
    while iterations > 0:
        with _one_blas_thread():
            x, used, stopped = smooth.minimise(x, wf, wg, stop, min(iterations, _STAGE))
        iterations -= max(used, _CHECK)
        if not stopped:  # L-BFGS ended on its own: check its last point
            stop(x, *smooth.certificate_weights(x, wf, wg))
        if state.get("failed"):
            break
        _, a, b, line = state["last"]
        weights.append((a, b))
        lines.append(line)
        if state["done"] or (wf is not None and line[2] <= (line[0] * tf + line[1] * tg) * (1 + gap / 4)):
            break  # or the line cuts t off by less than a run's tolerance: float32 noise stalled L-BFGS
        _, tf, tg = _polygon_min(lines, 0.0, 0.0, slack=1e-12)
        wf, wg = tg / (tf + tg), tf / (tf + tg)
        x = min(points, key=lambda p: wf * p[1] + wg * p[2])[0]
    # each weight costs a certificate: keep those the polygon's minimum needs (lines[k + 1] is weights[k])
    low = _polygon_min(lines, 0.0, 0.0, slack=1e-12)[0]
    for k in range(len(weights) - 1, -1, -1):
        rest = lines[:k + 1] + lines[k + 2:]
        if _polygon_min(rest, 0.0, 0.0, slack=1e-12)[0] >= low * (1 - 1e-9):
            lines, weights = rest, weights[:k] + weights[k + 1:]
    return weights, points, 0


# -- exact evaluation ---------------------------------------------------------------------------

def _exact_fg(C, x) -> tuple[int, int]:
    E = np.abs(C - x)
    return max(E.sum(axis=0)), max(E.sum(axis=1))


def _certificate(C, order, a, b) -> tuple[int, int, int]:
    """``(A, B, L)`` with ``A F + B G >= L`` for every ``x``, where ``F, G`` are ``f, g`` of the
    integer matrix ``C`` at ``x``. ``a``, ``b`` are nonnegative integers; ``order`` sorts each
    column of ``C``. ``L`` sums each column's weighted deviation from its weighted median."""
    if min(a, default=0) < 0 or min(b, default=0) < 0:
        raise ValueError("certificate weights must be nonnegative")
    n, d = C.shape
    # the weighted medians need only sums of weights: machine integers when they cannot overflow
    exact = np.int64 if 2 * (n * max(a, default=0) + sum(b)) < 2**63 else object
    av, bv = np.array(a, dtype=exact), np.array(b, dtype=exact)
    cum = np.cumsum(np.take_along_axis(np.add.outer(bv, av), order, axis=0), axis=0)
    rank = np.argmax(2 * cum >= cum[-1], axis=0)
    D = np.abs(C - C[order[rank, np.arange(d)], np.arange(d)])
    # sum_ij (a_j + b_i) D_ij, with the products taken on d + n sums instead of n d entries
    L = sum(int(aj) * s for aj, s in zip(a, D.sum(axis=0))) + sum(int(bi) * s for bi, s in zip(b, D.sum(axis=1)))
    return sum(a), sum(b), int(L)


def _float_bounds(n: int, d: int):
    """``(rel, tiny)`` for the float evaluations of :func:`_fast_doubles`: a sum of ``m <= n + d + 2``
    nonnegative rounded terms is within a relative ``gamma_m = m u / (1 - m u)`` of the exact
    one (Higham, Thm 4.4, any summation order; ``u = 2^-53``), and ``rel = 2 (n + d + 2) u``
    exceeds it; ``tiny`` bounds what gradual underflow adds (``2^-1074`` per operation)."""
    return Fraction(2 * (n + d + 2), 2**53), Fraction(4 * (n + 1) * (d + 1), 2**1074)


def _integer_weights(a, b):
    """Nonnegative weights ``(a, b)`` scaled to integers below ``2^41`` (rounded down: still
    nonnegative): int64 cumulative sums of them are exact, and 4x faster than float ones."""
    scale = 2.0**40 / (a.sum() + b.sum())
    return np.floor(a * scale).astype(np.int64), np.floor(b * scale).astype(np.int64)


def _fast_doubles(Cs: np.ndarray):
    """The fast bracket of ``r(Cs)^2`` for a double matrix ``Cs`` with entries in ``[-1, 1]``
    and column medians 0, evaluated in doubles with rigorous error bounds instead of exact
    integers: ``(lower, F, G, x)`` with ``lower <= r(Cs)^2`` and ``F >= f(x)``, ``G >= g(x)``
    (Fractions). The certificate weights are integers below ``2^41`` (exact in int64 sums and as
    doubles), so the weighted medians are exact; only the deviation sums round."""
    n, d = Cs.shape
    rel, tiny = _float_bounds(n, d)
    columns = _Columns(Cs)
    weights, points, _ = _smooth_search(Cs, columns)
    lines = [(1, 0, Fraction(float(np.abs(Cs).sum(axis=0).max())) * (1 - rel) - tiny)]
    for a, b in weights:
        ai, bi = _integer_weights(a, b)
        # int64 cumulative weights: exact medians; each deviation passes <= n + d + 1 roundings
        L = float(_weighted_medians(columns, ai, bi)[1].sum())
        A, B = int(ai.sum()), int(bi.sum())
        lines.append((A, B, Fraction(L) * (1 - rel) - (A + B) * tiny))
    value = [f * g for _, f, g in points]
    best = None
    for x in _near_best(points, value):
        E = np.abs(Cs - x)
        F, G = (Fraction(float(v)) * (1 + rel) + tiny for v in (E.sum(axis=0).max(), E.sum(axis=1).max()))
        if best is None or F * G < best[0] * best[1]:
            best = (F, G, x)
    return lines, points, best


def _near_best(points, value, most: int = 3):
    """The ``x`` of at most ``most`` points whose float ``value`` is within a relative ``1e-6`` of the
    smallest, lowest first: the float estimate only chooses which get an exact (costly) evaluation,
    and any point is a valid upper bound."""
    ranked = sorted(range(len(points)), key=value.__getitem__)[:most]
    return [points[i][0] for i in ranked if value[i] <= value[ranked[0]] * (1 + 1e-6)]


def _to_int(v: float) -> int:
    return int(round(math.ldexp(v, _BITS)))


def _polygon_min(lines, pad_f, pad_g, slack=0):
    """``(value, F, G)``: the minimum of ``(F - pad_f)_+ (G - pad_g)_+`` over ``{F, G >= 0, A F + B G
    >= L for (A, B, L) in lines}`` (``A, B >= 0``) and a vertex attaining it. The function is
    quasi-concave and nondecreasing along the recession cone (the positive quadrant), so the
    minimum is at a vertex: a feasible intersection of two lines. Exact for integer lines
    (``slack=0``, Fractions); with floats (the search's estimate) a vertex is feasible within a
    relative ``slack``."""
    lines = [(1, 0, 0), (0, 1, 0), *lines]
    div = (lambda p, q: p / q) if slack else Fraction
    best = None
    for i, (a1, b1, l1) in enumerate(lines):
        for a2, b2, l2 in lines[i + 1:]:
            det = a1 * b2 - a2 * b1
            if det == 0:
                continue
            F, G = div(l1 * b2 - l2 * b1, det), div(a1 * l2 - a2 * l1, det)
            if all(a * F + b * G >= l - slack * abs(l) for a, b, l in lines):
                v = max(F - pad_f, 0) * max(G - pad_g, 0)
                if best is None or v < best[0]:
                    best = (v, F, G)
    return best  # the polygon contains every (f(x), g(x)) and lies in the quadrant: never empty


def _sqrt_enclosure(q: Fraction) -> tuple[int, int, int]:
    """``(lo, hi, k)`` with ``lo 2^-k <= sqrt(q) <= hi 2^-k``, about ``2^-60`` apart relatively
    (``q >= 0``); integers, so that scaling by ``2^E`` stays cheap (:func:`dyadic`)."""
    if q == 0:
        return 0, 0, 0
    num, den = q.numerator, q.denominator
    k = _BITS - (num.bit_length() - den.bit_length()) // 2  # sqrt(q) 2^k ~ 2^60
    num, den = (num << 2 * k, den) if k >= 0 else (num, den << -2 * k)  # z = q 4^k = num / den
    return math.isqrt(num // den), math.isqrt(-(-num // den) - 1) + 1, k


def _scaled(man: int, exp: int, up: bool):
    """``man 2^exp`` (``man >= 0``) as a Fraction, rounded outward (``up``: towards +inf) to stay
    within ``2^(+-_CAP_BITS)`` as the context's ends do: an exact ``2^(2^40)`` is a 2^40-bit
    integer (MemoryError). Beyond the cap an upper end is ``inf``, a lower end ``2^_CAP_BITS``;
    below it an upper end is ``2^-_CAP_BITS``, a lower end 0."""
    top = exp + man.bit_length()
    if man == 0 or top < -_CAP_BITS:
        return dyadic(1, -_CAP_BITS) if up and man else Fraction(0)
    if top > _CAP_BITS:
        return math.inf if up else dyadic(1, _CAP_BITS)
    return dyadic(man, exp)


def _ldexp(v: float, e: int) -> float:
    """``v 2^e`` as a double, ``inf`` past the double range (vertices are for plots only)."""
    try:
        return math.ldexp(v, e)
    except OverflowError:
        return math.copysign(math.inf, v)


def _log(q: Fraction) -> float:
    return math.log(q.numerator) - math.log(q.denominator) if q else -math.inf


def _pareto_filter(pairs):
    front = []
    for f, g in sorted(pairs):
        if not front or g < front[-1][1]:
            front.append((f, g))
    return tuple(front)


# -- public ------------------------------------------------------------------------------------

def residual_bracket(ctx: Context, X, exact: bool = True) -> Bracket:
    """A certified bracket of ``r(Y)`` valid for every ``Y`` in the entrywise enclosure ``X``.

    ``exact=True`` follows the Pareto front with LPs until the bracket is tight: the search
    stops at an estimated gap of ``1e-10`` in ``r^2``; the certified relative width is typically
    ``1e-15``-``1e-11``, at worst near HiGHS's feasibility tolerance ``1e-10``. ``exact=False`` is the
    fast bracket, no LP: the same cutting-plane search with each weighted problem solved
    approximately (L-BFGS on a smoothed copy), its weights certified exactly, and the best of
    the points it visits. It is as rigorous as the exact one, only wider: a relative gap
    ``(upper - lower) / upper`` of 0.15-0.25 % on random matrices and MiniLM layer outputs at
    128 x 384 (0.4 % at most), in tens of ms (``benchmarks/bench_residual.py``). Ends beyond
    ``2^(+-2^24)`` are rounded outward (``upper = inf``, ``x = None`` past the top).
    See the module docstring for the method.

    >>> from rankcollapse.numerics.context import get_context
    >>> ctx = get_context("mpmath")
    >>> X = ctx.array([[0, 0], [1, 0], [0, 1]])
    >>> b = residual_bracket(ctx, X)
    >>> round(float(b.lower), 12), round(float(b.upper), 12), b.vertices
    (1.0, 1.0, ((1.0, 1.0),))
    >>> fast = residual_bracket(ctx, X, exact=False)
    >>> fast.lower <= 1 <= fast.upper, fast.n_lp  # both enclose r(X) = 1; neither need contain the other
    (True, 0)
    """
    t0 = time.perf_counter()
    X = np.asarray(X)
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError("residual_bracket needs a nonempty matrix")
    if not exact and X.dtype in _FAST_TYPES and np.isfinite(X).all():
        fast = _fast_bracket_doubles(ctx, X, t0)
        if fast is not None:
            return fast
    try:
        M, E, Rad, Er = ctx.mid_rad_dyadic(X, mid_bits=max(ctx.prec, 53) + MID_GUARD_BITS)  # M 2^E
    except ValueError:
        raise ValueError("residual_bracket needs finite entries") from None
    if not any(M.flat):
        E = Er  # no midpoint fixes the unit: take the radii's, so that the pads stay small integers
    pad_f = dyadic(int(max(Rad.sum(axis=0))), Er - E)               # ||radii||_1 in units 2^E
    pad_g = dyadic(int(max(Rad.sum(axis=1))), Er - E)

    order = np.argsort(M, axis=0)                                    # exact: Python ints
    median = M[order[(n - 1) // 2, np.arange(d)], np.arange(d)]
    C = M - median                                                   # exact; min f at x = 0
    f_min, g_median = _exact_fg(C, 0)
    lines = [(1, 0, f_min)]                                          # f >= min f
    candidates = [(f_min, g_median, 0)]                              # exact (F, G) in units 2^E, x
    vertices, s, n_lp = [(0.0, 0.0)], 0, 0                           # vertices: floats in units 2^(E+s)
    if f_min:                                                        # else all rows are equal
        s = max(int(v).bit_length() for v in np.abs(C).flat)         # |C| < 2^s
        den = 1 << s
        Cf = np.array([c / den for c in C.flat]).reshape(n, d)       # int / int: correctly rounded
        weights, points, n_lp = (_pareto_search if exact else _smooth_search)(Cf)
        for a, b in weights:
            lines.append(_certificate(C, order, [max(_to_int(v), 0) for v in a], [max(_to_int(v), 0) for v in b]))
        # Exact upper bounds at the (at most 3) points whose float value (padded) is within 1e-6 of the best
        # (the cap only keeps float() finite: pads that large make every candidate equal anyway)
        pf, pg = (float(min(p / den, 2 ** 1000)) for p in (pad_f, pad_g))
        value = [(f + pf) * (g + pg) for _, f, g in points]
        C60 = C * (1 << _BITS)
        near_best = {tuple(_to_int(t) << s for t in x)  # x = x60 2^(E-60); a set: searches revisit points
                     for x in _near_best(points, value)}
        for x60 in near_best:
            F, G = _exact_fg(C60, np.array(x60, dtype=object))
            candidates.append((dyadic(F, -_BITS), dyadic(G, -_BITS), np.array(x60, dtype=object)))
        vertices = [(f, g) for _, f, g in points]

    lo, _, k = _sqrt_enclosure(_polygon_min(lines, pad_f, pad_g)[0])
    lower = _scaled(lo, E - k, up=False)
    # choosing the best candidate needs no exactness (any one is a valid upper bound): logs
    F, G, x_best = min(candidates, key=lambda c: _log(c[0] + pad_f) + _log(c[1] + pad_g))
    _, hi, k = _sqrt_enclosure((F + pad_f) * (G + pad_g))
    upper = _scaled(hi, E - k, up=True)
    # past the cap (upper = inf) there is no point to show
    point = None if upper == math.inf else functools.partial(_exact_point, median, np.broadcast_to(x_best, (d,)), E)
    vertices = tuple((_ldexp(f, E + s), _ldexp(g, E + s)) for f, g in _pareto_filter(vertices))
    return Bracket(lower, upper, point, ctx.certified, n_lp, time.perf_counter() - t0, vertices)


def _exact_point(median, x60, E: int) -> np.ndarray:
    """``x = median + x60 2^-60``, in units ``2^E``, as exact Fractions."""
    return np.array([dyadic((int(m) << _BITS) + int(o), E - _BITS) for m, o in zip(median, x60)], dtype=object)


def _fast_bracket_doubles(ctx: Context, X: np.ndarray, t0: float) -> Bracket | None:
    """The fast bracket of a matrix of doubles (or long doubles) without reading it as exact
    integers: ``C = X - medians`` in X's type, each entry within a relative ``2^-52`` of its own
    value, which joins the pads like a radius; then :func:`_fast_doubles` on ``C`` scaled by a
    power of two (and rounded to doubles). One rounding for doubles; for long doubles one of
    ``2^-64`` and one of ``2^-53``, together below ``2^-52``. None when the subtraction
    overflows (the exact read handles that)."""
    n, d = X.shape
    median = np.sort(X, axis=0)[(n - 1) // 2]
    Cf = X - median
    top = np.abs(Cf).max()
    if not np.isfinite(top):
        return None
    x_best, e, lower, upper, vertices = np.zeros(d), 0, Fraction(0), Fraction(0), ((0.0, 0.0),)
    if top:  # else every row equals the medians exactly
        e = int(np.frexp(top)[1])
        # exact but for gradual underflow, which `tiny` covers (a long double's lies far below it)
        Cs = np.ldexp(Cf, -e).astype(np.float64)
        rel, tiny = _float_bounds(n, d)
        A = np.abs(Cs)
        pad_f, pad_g = (Fraction(float(v)) * (1 + rel) * Fraction(1, 2**52) + tiny
                        for v in (A.sum(axis=0).max(), A.sum(axis=1).max()))
        lines, points, (F, G, x_best) = _fast_doubles(Cs)
        scale = Fraction(2) ** e
        lo, _, k = _sqrt_enclosure(_polygon_min(lines, pad_f, pad_g)[0])
        lower = dyadic(lo, -k) * scale
        _, hi, k = _sqrt_enclosure((F + pad_f) * (G + pad_g))
        upper = dyadic(hi, -k) * scale
        vertices = tuple((_ldexp(f, e), _ldexp(g, e)) for f, g in _pareto_filter((f, g) for _, f, g in points))
    return Bracket(lower, upper, functools.partial(_fast_point, median, x_best, e), ctx.certified, 0,
                   time.perf_counter() - t0, vertices)


def _fast_point(median, x_best, e: int) -> np.ndarray:
    """``x = median + x_best 2^e`` as exact Fractions (``x_best`` is in units ``2^e``: ldexp could
    round it into the subnormals)."""
    scale = Fraction(2) ** e
    return np.array([Fraction(*m.as_integer_ratio()) + Fraction(t) * scale for m, t in zip(median, x_best)],
                    dtype=object)


def r_float(X) -> float:
    """``r(X)`` in float64 for exploration: the same Pareto search on doubles, no certificate.

    >>> round(r_float([[0.0], [1.0]]) ** 2, 12)
    0.5
    """
    X = np.asarray(X, dtype=np.float64)
    C = X - np.sort(X, axis=0)[(X.shape[0] - 1) // 2]  # lower medians: 0 is a data value (the LP's anchor)
    scale = float(np.abs(C).max())
    if scale == 0:
        return 0.0
    _, points, _ = _pareto_search(C / scale)
    return scale * min(math.sqrt(f * g) for _, f, g in points)
