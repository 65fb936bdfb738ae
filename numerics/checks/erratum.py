"""Numeric checks of the erratum's technical lemma (claims ``erratum`` and ``erratum.nohyp``).

With ``P = softmax_rows(1 r^T + E)``, ``pi = softmax(r)`` and ``delta_i = max_j E_ij - min_j E_ij``:

* ``erratum`` (theorem): ``pi_j (1 - delta_i) <= P_ij`` always, and ``P_ij <= pi_j (1 + 2 delta_i)``
  when ``delta_i < t*``, t* the positive root of ``e^t = 1 + 2t`` (``rankcollapse.proofs.erratum.T_STAR``,
  enclosed by :func:`t_star`; never the rounded 1.256).
* ``erratum.nohyp`` (published): the upper bound without the hypothesis. It is false; the
  search finds a certified violation.

The cases come in three families (:func:`lemma_cases`):

* ``LayerCase`` -- an actual single-head attention layer: ``P`` is the layer's attention
  (:func:`rankcollapse.numerics.network.attention_probs`), and ``E = s R W R^T``, ``pi = softmax(s (R W^T x +
  R W_K b_Q))`` with ``R = X - 1 x^T``, x the exact token mean (E1 Step 1). A violation here is a
  network, saved as an instance file.
* ``LogitCase`` -- arbitrary logit rows ``E_i`` and ``pi = softmax(r)``, ``P = softmax_rows(1 r^T +
  E)``; the two-token family ``pi = (1 - p, p)``, ``E_i = (0, delta)`` of ``rankcollapse.proofs.erratum`` is
  one of its sub-strategies. These are not networks: a violation is saved as a case file of
  their exact values (:class:`rankcollapse.numerics.checks.common.ExactCase`, read back by
  :func:`rankcollapse.numerics.checks.common.load_case`).

The pairs are stated for the deviation ``P_ij / pi_j - 1`` (pi_j > 0): ``1 - P_ij / pi_j <= delta_i``
and ``P_ij / pi_j - 1 <= 2 delta_i``. Both sides are then of the size of ``delta_i`` -- not of
``pi_j``, which can be ``e^-(10^9)`` and needs no cancellation, nor of 1, next to which a
deviation of ``1e-80`` (near-rank-1 inputs) would look like an equality -- so the working
precision is chosen from ``delta_i``. When ``delta_i >= 1`` is certified the lower bound holds
by sign alone (``1 - P_ij / pi_j < 1``) and gives no pair.

Rows whose logits ``E_i`` are exactly constant (``delta_i = 0``, decided exactly on the rational
``R W R^T``) give ``P_i = pi`` exactly (E1 Step 1, proved) and both bounds are then equalities,
which no enclosure can certify; those rows are skipped (nothing to check).

>>> from rankcollapse.numerics.checks.common import certified_verdict
>>> case = LogitCase(E=np.array([[0.0, 1.5]]), r=np.array([0.0, math.log(1 / 99)]))  # pi ~ (0.99, 0.01)
>>> certified_verdict(nohyp_pairs, case, 0.0)[0].verdict      # P_12 > pi_2 (1 + 2 delta)
'violated'
>>> certified_verdict(lemma_pairs, case, 0.0)[0].verdict      # delta = 1.5 > t*: no upper bound claimed
'holds'
"""

from __future__ import annotations

import functools
import math  # noqa: F401  (the doctest uses it)
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy
from hypothesis import strategies as st

from rankcollapse.proofs.erratum import T_STAR

from ..context import Context
from ..exact import exact_array
from ..network import Attention, Layer, Network
from ..variants import softmax_rows
from ..strategies import Case, heads, inputs, matrices, shapes
from ...proofs import erratum as claims
from . import NumericCheck, register
from .common import ExactCase
from .steps import UNDECIDED, all_finite, decompose

__all__ = ["t_star", "LogitCase", "lemma_cases", "lemma_pairs", "nohyp_pairs", "ERRATUM", "NOHYP"]


# ----------------------------------------------------------------------------- t*
@functools.cache
def _t_star_binary(bits: int) -> Fraction:
    """SymPy's value of T_STAR to ``bits`` bits, read exactly from its binary representation
    (no decimal strings: Python refuses to convert integers of more than 4300 digits)."""
    sign, man, exp, _ = sympy.Float(T_STAR.evalf(int(bits * 0.30103) + 10))._mpf_
    q = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -q if sign else q


def t_star(ctx: Context):
    """A certified enclosure of t* = -1/2 - W_{-1}(-e^{-1/2}/2) in ``ctx``.

    SymPy's value to prec + 32 bits, widened by ``2^(10 - prec)`` (a thousand times the
    rounding at the working precision) to ``[a, b]``; then the enclosure is *proved* in the
    context: ``g(t) = e^t - 1 - 2t`` is convex with roots 0 and t* (``rankcollapse.proofs.erratum`` Steps 3-4),
    so ``g(a) < 0 < g(b)`` with ``a > 0`` puts t* in ``[a, b]``.
    """
    value = ctx.number(_t_star_binary(ctx.prec + 32))
    pad = ctx.number(Fraction(1, 2 ** max(ctx.prec - 10, 1)))
    a, b = value - pad, value + pad
    g = lambda t: ctx.expm1(np.array([t], dtype=object))[0] - 2 * t  # noqa: E731
    if not (ctx.lo(a) > 0 and ctx.hi(g(a)) < 0 and ctx.lo(g(b)) > 0):
        raise ArithmeticError(f"could not certify the enclosure of t* at {ctx.prec} bits")
    return ctx.hull(a, b)


# ----------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class LogitCase(ExactCase):
    """Logit rows ``E`` (k x n) and the logits ``r`` of ``pi = softmax(r)`` (exact: doubles or
    Fractions)."""

    E: np.ndarray
    r: np.ndarray

    @property
    def X(self):
        """For :func:`rankcollapse.numerics.checks.common.scale_log10`: the entries that set the scale."""
        return np.concatenate([np.ravel(self.E), np.ravel(self.r)]).reshape(1, -1)


def _logit_rows(max_n: int, max_rows: int):
    return st.integers(2, max_n).flatmap(lambda n: st.builds(
        LogitCase, st.integers(1, max_rows).flatmap(lambda k: matrices(k, n)), matrices(1, n).map(lambda m: m[0])))


def _two_token():
    """``pi = (1 - p, p)`` through ``r = (0, -t)``, t in [1, 12], and ``E_i = (0, delta)``, delta in
    [0.5, 4] (both sides of t*): rankcollapse.proofs.erratum's family."""
    return st.builds(lambda t, dl: LogitCase(np.array([[0.0, dl]]), np.array([0.0, -t])),
                     st.floats(1, 12), st.floats(0.5, 4))


@st.composite
def _layer_cases(draw, max_n: int = 5, max_d: int = 3):
    n, d = draw(shapes(max_n=max_n, max_d=max_d))
    d_qk = draw(st.integers(1, 3))
    head = draw(heads(d, d_qk, biases=True))
    return Case(draw(inputs(n, d, identical=False)), Network(d_qk, (Layer(Attention((head,))),)))


def lemma_cases(max_n: int = 5):
    """Actual attention layers first (so shrinking prefers an instance that is a network), then
    arbitrary logit rows, then the two-token family."""
    return st.one_of(_layer_cases(max_n=max_n), _logit_rows(max_n, 3), _two_token())


# ----------------------------------------------------------------------------- evaluation
def _constant_rows(M) -> list[bool]:
    return [all(v == row[0] for v in row) for row in M]


def _rows(ctx: Context, case):
    """``(P, pi, E, flat)``: enclosures of the attention, pi and the logits E, and which rows of E
    are exactly constant (delta_i = 0)."""
    if isinstance(case, LogitCase):
        E = ctx.array(case.E)
        r = ctx.array(case.r).reshape(1, -1)
        P = softmax_rows(ctx, r + E)
        pi = softmax_rows(ctx, r)[0]
        return P, pi, E, _constant_rows(exact_array(case.E))
    D = decompose(ctx, case.X, case.net.layers[0].attention.heads[0], case.net.d_qk)
    return D.P, D.pi, D.E, D.flat


def _enc(ctx, v):
    return ctx.lo(v), ctx.hi(v)


def _pairs(ctx: Context, case, hypothesis: bool):
    P, pi, E, flat = _rows(ctx, case)
    if not (all_finite(ctx, P) and all_finite(ctx, pi) and all_finite(ctx, E)):
        return [UNDECIDED]
    tstar = t_star(ctx) if hypothesis else None
    out = []
    for i in range(E.shape[0]):
        if flat[i]:
            continue  # delta_i = 0: P_i = pi exactly, both bounds are equalities
        delta = ctx.max(E[i]) - ctx.min(E[i])
        upper = not hypothesis
        if hypothesis:
            if ctx.hi(delta) < ctx.lo(tstar):
                upper = True
            elif ctx.lo(delta) <= ctx.hi(tstar):
                # undecided whether delta_i < t*: this pair stays inconclusive, so the precision
                # goes up (delta_i is rational and t* transcendental: they are never equal)
                out.append((_enc(ctx, delta), _enc(ctx, tstar)))
        lower = hypothesis and not ctx.lo(delta) >= 1  # delta_i >= 1: 1 - P_ij / pi_j < 1 <= delta_i
        for j in range(E.shape[1]):
            dev = P[i, j] / pi[j] - 1
            if lower:
                out.append((_enc(ctx, -dev), _enc(ctx, delta)))       # 1 - P_ij / pi_j <= delta_i
            if upper:
                out.append((_enc(ctx, dev), _enc(ctx, 2 * delta)))    # P_ij / pi_j - 1 <= 2 delta_i
    return out


def lemma_pairs(ctx: Context, case):
    """``erratum``: the lower bound (where ``delta_i < 1`` is possible) and the upper bound where
    ``delta_i < t*`` is certified, as deviations of ``P_ij / pi_j`` from 1."""
    return _pairs(ctx, case, hypothesis=True)


def nohyp_pairs(ctx: Context, case):
    """``erratum.nohyp``: ``P_ij / pi_j - 1 <= 2 delta_i`` for every row, no hypothesis."""
    return _pairs(ctx, case, hypothesis=False)


ERRATUM = register(NumericCheck(
    claims.ERRATUM, lemma_cases, lemma_pairs, {"quick": 20, "default": 120, "thorough": 1200},
    "pi_j (1 - delta_i) <= P_ij, and P_ij <= pi_j (1 + 2 delta_i) when delta_i < t* (exact root), "
    "on attention layers and arbitrary logit rows"))

NOHYP = register(NumericCheck(
    claims.ERRATUM_NOHYP, lemma_cases, nohyp_pairs, {"quick": 20, "default": 120, "thorough": 1200},
    "P_ij against pi_j (1 + 2 delta_i) with no hypothesis on delta_i, on attention layers and "
    "arbitrary logit rows",
    steps=(claims.ERRATUM_NOHYP.step("search"),)))
