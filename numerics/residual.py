"""The residual ``r(X) = min_x ||X - 1 x^T||_{1,inf}``, bracketed rigorously (docs/theory.md §1).

**The problem.** Write ``f(x) = ||X - 1x^T||_1`` (largest column sum of ``|X_ij - x_j|``) and
``g(x) = ||X - 1x^T||_inf`` (largest row sum). Both are convex and piecewise linear, and
``r(X)^2 = min_x f(x) g(x)``. The set of attainable pairs ``(f, g)`` plus the positive quadrant
is a convex polygon; ``f*g`` is quasi-concave, so its minimum over the polygon sits at a vertex
of the lower-left (Pareto) boundary. ``r`` is invariant under ``X -> X + 1 v^T`` and
homogeneous, ``r(cX) = |c| r(X)``.

**Finding the vertices.** ``min f`` alone is exact: each column sum is minimised by the
column's median, independently, so ``x = column medians`` gives ``min f``. The other vertices
come from weighted problems ``min_x wf f(x) + wg g(x)`` (``wf + wg = 1``): start with the
min-``f`` point and the min-``g`` point, solve the weighted problem whose weight is normal to the
segment between two known vertices, and split the segment at the new point if it lies below
the segment by more than a relative ``1e-11`` (dichotomic search: at most ``2k - 1`` weighted
problems for ``k`` vertices). The whole front is not needed, only its part near the minimum
of ``f*g``: between two known points the front lies in the triangle bounded by the chord and
the two points' certificate lines (below), so segments whose triangle cannot beat the best
product found are never split, and the others are split best-first. Random ``128 x 64``
matrices have about a hundred vertices; the search visits a handful.

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
is large: at ``128 x 384`` HiGHS needed 40-160 s for one weight. We solve its dual instead,
``max sum_j z_j`` over ``a, b >= 0`` (``sum a = wf``, ``sum b = wg``) with ``z_j <= sum_i (a_j +
b_i) |X_ij - X_kj|`` for candidate medians ``k`` of column ``j`` (the bound ``L`` above, with
the minimum over ``t`` restricted to data points, where it is attained). Only the few ``k``
near each column's weighted median matter, so the rows are generated on demand: solve with
the current cuts, compute the exact weighted medians of the suggested ``(a, b)``, add the cuts
the solution violates, and repeat. Cuts stay valid for every weight, so the pool is shared
along the dichotomic search. The LP's row duals ``lambda_jk`` (a distribution over the
candidate medians of each column) give the primal point ``x_j = sum_k lambda_jk X_kj``, which
by convexity is at least as good as the LP value.

**The fast bracket** (``exact=False``) solves no LP. Any nonnegative weights certify, so it
takes them from multiplicative weights (Hedge): the weights play the maximising side of the
zero-sum game ``max_{a,b} min_x sum_j a_j col_j(x) + sum_i b_i row_i(x)``, the minimiser
answers with the exact weighted medians, and by concavity of ``L`` the averaged weights certify
at least the average value, which tends to the optimum (30 rounds: a few per cent). One run
with ``a = 0`` bounds ``min g``; a second uses the weight normal to the chord from the
min-``f`` point to the lowest-``g`` point it found. The upper bound is the best point visited
(column medians, token mean, the weighted medians of every round). Each round is one sort-free
pass over the matrix in doubles; only the final certificates are exact.

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

import heapq
import itertools
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .context import Context, dyadic

__all__ = ["Bracket", "token_mean_residual", "residual_bracket", "r_float"]

_TOL = 1e-11  # relative; only decides how long to refine (tightness), never soundness
_BITS = 60    # fixed-point bits for LP output made exact (weights, points) and for square roots
MID_GUARD_BITS = 1024  # midpoints are kept exactly down to this far below the working precision
# HiGHS accepts constraint violations up to 1e-7 by default; summed over the columns that would
# leave a relative gap near 1e-8 between the LP value and the exactly recomputed certificate.
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


@dataclass(frozen=True)
class Bracket:
    """``lower <= r(Y) <= upper`` for every ``Y`` in the entrywise enclosure of ``X``."""

    lower: Fraction       # certified lower bound of r(X) (0 allowed)
    upper: Fraction       # certified upper bound of r(X)
    x: np.ndarray         # object array of Fractions: the best point found (upper = value there)
    certified: bool       # False for float64 input (exact for its doubles, which carry no error bound)
    n_lp: int             # number of LPs solved (HiGHS calls)
    seconds: float
    vertices: tuple       # Pareto vertices (f, g) found, as floats (for docs/plots; inf past the double range)


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

def _weighted_medians(C, order, a, b):
    """Per column of the float matrix ``C`` (``order`` sorts its columns): the row index of a
    weighted median for the weights ``a_j + b_i``, and the weighted deviation from it."""
    d = C.shape[1]
    W = a[None, :] + b[:, None]
    cum = np.cumsum(np.take_along_axis(W, order, axis=0), axis=0)
    k = order[np.argmax(2 * cum >= cum[-1], axis=0), np.arange(d)]
    return k, (W * np.abs(C - C[k, np.arange(d)])).sum(axis=0)


@dataclass(frozen=True)
class _Solve:
    a: np.ndarray      # column weights (sum wf)
    b: np.ndarray      # row weights (sum wg)
    x: np.ndarray      # primal point
    lower: float       # float estimate of the certificate value L


class _WeightedLP:
    """``min_x wf f(x) + wg g(x)`` on a float matrix, by constraint generation on the dual.

    A cut ``(j, k)`` is the row ``z_j <= sum_i (a_j + b_i) |C_ij - C_kj|``. The pool is shared by
    all weights, so each solve after the first starts from the cuts that mattered before.
    """

    def __init__(self, C: np.ndarray):
        self.C = C
        n, d = C.shape
        self.order = np.argsort(C, axis=0, kind="stable")
        self.n_lp = 0
        self._pool: set = set()
        self._J = np.empty(0, dtype=np.int64)
        self._K = np.empty(0, dtype=np.int64)
        self._D = np.empty((0, n))
        self._add(np.arange(d), self.order[(n - 1) // 2])

    def _add(self, J, K) -> bool:
        new = [jk for jk in zip(J.tolist(), K.tolist()) if jk not in self._pool]
        if new:
            self._pool.update(new)
            J, K = np.array(new).T
            self._J, self._K = np.concatenate([self._J, J]), np.concatenate([self._K, K])
            self._D = np.vstack([self._D, np.abs(self.C[:, J] - self.C[K, J]).T])
        return bool(new)

    def weighted_medians(self, a, b):
        return _weighted_medians(self.C, self.order, a, b)

    def _constraints(self):
        """The cut rows ``z_j - (sum_i D_i) a_j - sum_i D_i b_i <= 0`` as one CSR matrix over the
        variables ``z (d), a (d), b (n)``."""
        n, d = self.C.shape
        m = len(self._J)
        rows = np.arange(m)
        data = np.concatenate([np.ones(m), -self._D.sum(axis=1), -self._D.ravel()])
        ri = np.concatenate([rows, rows, np.repeat(rows, n)])
        ci = np.concatenate([self._J, d + self._J, np.tile(2 * d + np.arange(n), m)])
        return sp.csr_matrix((data, (ri, ci)), shape=(m, 2 * d + n))

    def solve(self, wf: float, wg: float) -> _Solve:
        n, d = self.C.shape
        cost = np.concatenate([-np.ones(d), np.zeros(d + n)])  # variables z (d), a (d), b (n)
        A_eq = np.zeros((2, 2 * d + n))
        A_eq[0, d:2 * d] = A_eq[1, 2 * d:] = 1
        bounds = [(None, None)] * d + [(0, None)] * (d + n)
        while True:
            res = linprog(cost, A_ub=self._constraints(), b_ub=np.zeros(len(self._J)), A_eq=A_eq,
                          b_eq=[wf, wg], bounds=bounds, method="highs", options=_HIGHS)
            self.n_lp += 1
            if res.status != 0:
                raise RuntimeError(f"HiGHS failed on a residual LP: {res.message}")
            z, a, b = res.x[:d], res.x[d:2 * d], res.x[2 * d:]
            k, dev = self.weighted_medians(a, b)
            violated = dev < z
            # The LP value is an upper bound (relaxation), dev.sum() a lower one: stop when they
            # meet, or when every violated cut is already in (solver tolerance, nothing to add).
            converged = -res.fun - dev.sum() <= _TOL * abs(res.fun)
            if converged or not self._add(np.flatnonzero(violated), k[violated]):
                break
        lam = -res.ineqlin.marginals  # per column a distribution over the candidate medians
        x = np.bincount(self._J, lam * self.C[self._K, self._J], d) / np.bincount(self._J, lam, d)
        return _Solve(a, b, x, float(dev.sum()))


def _fg(C, x) -> tuple[float, float]:
    E = np.abs(C - x)
    return float(E.sum(axis=0).max()), float(E.sum(axis=1).max())


def _segment_bound(p, q) -> float | None:
    """A lower bound of ``f*g`` on the Pareto front between the points ``p`` and ``q`` (None when
    there is no front between them). The front there lies in the box they span, above both
    points' certificate lines and below the chord, i.e. in the triangle ``p, q, t`` with ``t``
    where the lines meet; ``f*g`` is smallest at a corner, and ``p``, ``q`` are known."""
    (_, fp, gp, (a1, b1, c1)), (_, fq, gq, (a2, b2, c2)) = p, q
    if not (fp < fq and gp > gq):
        return None
    det = a1 * b2 - a2 * b1
    if det:
        tf, tg = (c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det
        if fp <= tf <= fq and gq <= tg <= gp:
            return tf * tg
    return fp * gq  # rounding put t outside the box: fall back to the box's best corner


def _pareto_search(C: np.ndarray):
    """Search the Pareto front of ``(f, g)`` on a float matrix ``C`` whose column medians are 0
    (so ``x = 0`` minimises ``f``) for the minimum of ``f*g``.

    Starts from the min-``f`` and min-``g`` points and splits segments at the weight normal to
    them (dichotomic search), best-first by :func:`_segment_bound`, skipping segments that cannot
    beat the best product found by a relative ``_TOL``: only the part of the front near the
    minimiser is refined. Returns the certificate weights ``[(a, b), ...]``, every point visited
    as ``(x, f, g)``, and the number of LPs.
    """
    lp = _WeightedLP(C)
    zero = np.zeros(C.shape[1])
    f0, g0 = _fg(C, zero)
    first = lp.solve(0.0, 1.0)
    solves = [first]
    points = [(zero, f0, g0, (1.0, 0.0, f0)), (first.x, *_fg(C, first.x), (0.0, 1.0, first.lower))]
    best = min(f * g for _, f, g, _ in points)
    heap, tiebreak = [], itertools.count()

    def push(p, q):
        bound = _segment_bound(p, q)
        if bound is not None:
            heapq.heappush(heap, (bound, next(tiebreak), p, q))

    push(*points)
    while heap and heap[0][0] < best * (1 - _TOL):
        _, _, p, q = heapq.heappop(heap)
        (_, fp, gp, _), (_, fq, gq, _) = p, q
        wf, wg = (gp - gq) / (gp - gq + fq - fp), (fq - fp) / (gp - gq + fq - fp)
        sol = lp.solve(wf, wg)
        solves.append(sol)
        r = (sol.x, *_fg(C, sol.x), (wf, wg, sol.lower))
        points.append(r)
        best = min(best, r[1] * r[2])
        level = wf * fp + wg * gp
        if wf * r[1] + wg * r[2] < level - _TOL * level:  # else the new line closes the segment
            push(p, r)
            push(r, q)
    return [(sol.a, sol.b) for sol in solves], [(x, f, g) for x, f, g, _ in points], lp.n_lp


def _hedge(C, order, wf: float, wg: float, rounds: int):
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
        k, dev = _weighted_medians(C, order, a, b)
        x = C[k, np.arange(d)]
        E = np.abs(C - x)
        cols, rows = E.sum(axis=0), E.sum(axis=1)
        points.append((x, float(cols.max()), float(rows.max())))
        if best is None or dev.sum() > best[2]:
            best = (a, b, float(dev.sum()))
        total_a, total_b = total_a + a, total_b + b
        la, lb = la + eta * cols / max(cols.max(), 1e-300), lb + eta * rows / max(rows.max(), 1e-300)
    avg = (total_a / rounds, total_b / rounds)
    return [best, (*avg, float(_weighted_medians(C, order, *avg)[1].sum()))], points


def _hedge_search(C: np.ndarray, rounds: int = 30):
    """The cheap bracket's search, on a float matrix ``C`` with column medians 0 (``x = 0``
    minimises ``f``): one Hedge run for ``min g`` (``wf = 0``), then one for the weight normal to
    the chord from the min-``f`` point to the lowest-``g`` point found. Same returns as
    :func:`_pareto_search` (no LPs)."""
    order = np.argsort(C, axis=0, kind="stable")
    zero = np.zeros(C.shape[1])
    f0, g0 = _fg(C, zero)
    token_mean = C.mean(axis=0)
    points = [(zero, f0, g0), (token_mean, *_fg(C, token_mean))]
    certs, pts = _hedge(C, order, 0.0, 1.0, rounds)
    points += pts
    _, f1, g1 = min(points, key=lambda p: (p[2], p[1]))
    if f1 > f0 and g1 < g0:
        wf = (g0 - g1) / (g0 - g1 + f1 - f0)
        more, pts = _hedge(C, order, wf, 1 - wf, rounds)
        certs, points = certs + more, points + pts
    best_g = max((c for c in certs if not c[0].any()), key=lambda c: c[2])
    best_mixed = max(certs, key=lambda c: c[2] / (c[0].sum() * f0 + c[1].sum() * g0))
    return [(a, b) for a, b, _ in {id(c): c for c in (best_g, best_mixed)}.values()], points, 0


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
    d = C.shape[1]
    W = np.add.outer(np.array(b, dtype=object), np.array(a, dtype=object))
    cum = np.cumsum(np.take_along_axis(W, order, axis=0), axis=0)
    rank = np.argmax((2 * cum >= cum[-1]).astype(bool), axis=0)
    median = C[order[rank, np.arange(d)], np.arange(d)]
    return sum(a), sum(b), int((W * np.abs(C - median)).sum())


def _to_int(v: float) -> int:
    return int(round(math.ldexp(v, _BITS)))


def _polygon_min(lines, pad_f: Fraction, pad_g: Fraction) -> Fraction:
    """``min (F - pad_f)_+ (G - pad_g)_+`` over ``{F, G >= 0, A F + B G >= L for (A, B, L) in
    lines}`` (integers, ``A, B >= 0``). The function is quasi-concave and nondecreasing along the
    recession cone (the positive quadrant), so the minimum is at a vertex: a feasible
    intersection of two lines. Exact."""
    lines = [(1, 0, 0), (0, 1, 0), *lines]
    best = None
    for i, (a1, b1, l1) in enumerate(lines):
        for a2, b2, l2 in lines[i + 1:]:
            det = a1 * b2 - a2 * b1
            if det == 0:
                continue
            fn, gn = l1 * b2 - l2 * b1, a1 * l2 - a2 * l1  # vertex (fn / det, gn / det)
            if det < 0:
                fn, gn, det = -fn, -gn, -det
            if all(a * fn + b * gn >= l * det for a, b, l in lines):
                v = max(Fraction(fn, det) - pad_f, 0) * max(Fraction(gn, det) - pad_g, 0)
                best = v if best is None or v < best else best
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

    ``exact=True`` follows the Pareto front with LPs until the bracket is tight: for point
    matrices the relative width is typically ``1e-14``, at worst near HiGHS's feasibility
    tolerance ``1e-10`` (it limits how optimal the suggested weights are). ``exact=False`` is the
    fast bracket, no LP: the exact ``min f``, certificates from multiplicative-weights rounds
    (one for ``min g``, one mixed) and the best of the points those rounds visit (column
    medians, token mean, weighted medians). It is as rigorous as the exact one, only wider: a
    relative gap ``(upper - lower) / upper`` of 1-3 % on random matrices up to 128 x 384, where it
    takes a fraction of a second against seconds to minutes for the LPs (``docs/performance.md``).
    See the module docstring for the method.

    >>> from rankcollapse.numerics.context import get_context
    >>> ctx = get_context("mpmath")
    >>> X = ctx.array([[0, 0], [1, 0], [0, 1]])
    >>> b = residual_bracket(ctx, X)
    >>> round(float(b.lower), 12), round(float(b.upper), 12), b.vertices
    (1.0, 1.0, ((1.0, 1.0),))
    >>> fast = residual_bracket(ctx, X, exact=False)
    >>> fast.lower <= b.lower <= b.upper <= fast.upper, fast.n_lp
    (True, 0)
    """
    t0 = time.perf_counter()
    X = np.asarray(X)
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError("residual_bracket needs a nonempty matrix")
    try:
        M, E, Rad, Er = ctx.mid_rad_dyadic(X, mid_bits=max(ctx.prec, 53) + MID_GUARD_BITS)  # M 2^E
    except ValueError:
        raise ValueError("residual_bracket needs finite entries") from None
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
        weights, points, n_lp = (_pareto_search if exact else _hedge_search)(Cf)
        for a, b in weights:
            lines.append(_certificate(C, order, [max(_to_int(v), 0) for v in a], [max(_to_int(v), 0) for v in b]))
        # Exact upper bounds at the points whose float value (padded) is within 1e-6 of the best
        # (the cap only keeps float() finite: pads that large make every candidate equal anyway)
        pf, pg = (float(min(p / den, 2 ** 1000)) for p in (pad_f, pad_g))
        value = [(f + pf) * (g + pg) for _, f, g in points]
        C60 = C * (1 << _BITS)
        near_best = {tuple(_to_int(t) << s for t in x)  # x = x60 2^(E-60); a set: searches revisit points
                     for (x, _, _), v in zip(points, value) if v <= min(value) * (1 + 1e-6)}
        for x60 in near_best:
            F, G = _exact_fg(C60, np.array(x60, dtype=object))
            candidates.append((dyadic(F, -_BITS), dyadic(G, -_BITS), np.array(x60, dtype=object)))
        vertices = [(f, g) for _, f, g in points]

    lo, _, k = _sqrt_enclosure(_polygon_min(lines, pad_f, pad_g))
    lower = dyadic(lo, E - k)
    # choosing the best candidate needs no exactness (any one is a valid upper bound): logs
    F, G, x_best = min(candidates, key=lambda c: _log(c[0] + pad_f) + _log(c[1] + pad_g))
    _, hi, k = _sqrt_enclosure((F + pad_f) * (G + pad_g))
    upper = dyadic(hi, E - k)
    x = np.array([dyadic((int(m) << _BITS) + int(o), E - _BITS)
                  for m, o in zip(median, np.broadcast_to(x_best, (d,)))], dtype=object)
    vertices = tuple((_ldexp(f, E + s), _ldexp(g, E + s)) for f, g in _pareto_filter(vertices))
    return Bracket(lower, upper, x, ctx.certified, n_lp, time.perf_counter() - t0, vertices)


def r_float(X) -> float:
    """``r(X)`` in float64 for exploration: the same Pareto search on doubles, no certificate.

    >>> round(r_float([[0.0], [1.0]]) ** 2, 12)
    0.5
    """
    X = np.asarray(X, dtype=np.float64)
    C = X - np.median(X, axis=0)
    scale = float(np.abs(C).max())
    if scale == 0:
        return 0.0
    _, points, _ = _pareto_search(C / scale)
    return scale * min(math.sqrt(f * g) for _, f, g in points)
