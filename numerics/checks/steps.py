"""Numeric checks of proof steps that SymPy does not prove.

``proofs`` marks two steps of Lemma E1 as ``numeric``; they are checked here with the actual
attention of random single-head layers (:func:`rankcollapse.numerics.strategies.single_head_cases`, with
biases), for the exact token mean ``x`` (any x works; the mean is exact in Fractions):

* ``E1:Step 4`` -- with ``Q = P - 1 pi^T`` and ``c = max_i (e^{delta_i} - 1)``:
  ``||Q R||_inf <= c ||R||_inf`` and ``||Q R||_1 <= n c pi_max ||R||_1``.
* ``E1:Step 5`` -- submultiplicativity in each norm applied to Step 4,
  ``||Q R W_V||_1 <= n c pi_max ||R||_1 ||W_V||_1`` and ``||Q R W_V||_inf <= c ||R||_inf ||W_V||_inf``,
  then the geometric mean ``||Q R W_V||_{1,inf} <= c sqrt(n pi_max) ||W_V||_{1,inf} ||R||_{1,inf}``.

(Bare submultiplicativity ``||AB|| <= ||A|| ||B||`` is often an equality -- any 1 x 1 ``W_V`` --
and an equality is never certifiable with enclosures; it is claim N1's business. The forms
above are strict whenever ``c > 0``, because Step 2's bound ``|P_ij - pi_j| <= (e^{delta_i} - 1)
pi_j`` is strict for a non-constant row of E.)

When every row of ``E = s R W R^T`` is exactly constant (decided in exact rational arithmetic,
e.g. ``W_QK = 0`` or identical rows), ``c = 0`` and ``P = 1 pi^T`` exactly (E1 Step 1, proved):
both sides are 0 and there is nothing to check numerically; the check returns no pair.

Each is registered with the step object it backs (``steps=``); the ``search`` steps of the
published claims are backed by those claims' own searches.

>>> from rankcollapse.numerics.checks.common import certified_verdict
>>> from rankcollapse.numerics.examples import contracting_single_head
>>> case = contracting_single_head(n=4, d=3, depth=1)
>>> [(c.name, certified_verdict(c.evaluate, case, 0.0)[0].verdict) for c in (STEP4, STEP5)]
[('E1:Step 4', 'holds'), ('E1:Step 5', 'holds')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..context import Context
from ..exact import exact_array
from ..network import Head, attention_probs, scale_s
from ..variants import softmax_rows
from ..norms import norm_1, norm_inf
from ..strategies import single_head_cases
from ...proofs import single_head as claims
from . import NumericCheck, register

__all__ = ["Decomposition", "decompose", "exact_mean", "all_finite", "UNDECIDED",
           "step4_pairs", "step5_pairs", "STEP4", "STEP5"]

# A pair no precision decides as it stands: "the enclosures overlap" (not "zero on both sides"),
# so the adaptive precision keeps doubling. Returned when a computation at the current precision
# produced a non-finite enclosure (e.g. exp of a logit whose ball is wider than 700).
UNDECIDED = ((Fraction(0), math.inf), (Fraction(1), Fraction(1)))


def all_finite(ctx: Context, A) -> bool:
    """Every entry of A has a finite enclosure (arb balls: ``is_finite``; else via doubles)."""
    flat = np.ravel(A)
    if ctx.name == "arb":
        return all(v.is_finite() for v in flat)
    return bool(np.all(np.isfinite(ctx.to_float(flat))))


@dataclass
class Decomposition:
    """E1 Step 1 for one head at an exact point x, all in one context."""

    R: np.ndarray        # X - 1 x^T
    E: np.ndarray        # s R W R^T
    pi: np.ndarray       # softmax(s (R W^T x + R W_K b_Q))
    P: np.ndarray        # the head's actual attention on X
    flat: list           # rows of E that are exactly constant (delta_i = 0), decided exactly
    x: list              # the exact point (Fractions)

    @property
    def Q(self):
        return self.P - self.pi.reshape(1, -1)


def exact_mean(X) -> list[Fraction]:
    """The token mean of X in exact rational arithmetic."""
    Q = exact_array(X)
    return [sum(Q[:, j], Fraction(0)) / Q.shape[0] for j in range(Q.shape[1])]


def decompose(ctx: Context, X, head: Head, d_qk: int, x=None) -> Decomposition:
    """``R, E, pi, P`` of E1 Step 1 for the input X (exact entries) and the exact point x
    (default: the exact token mean)."""
    x = exact_mean(X) if x is None else [Fraction(v) for v in x]
    Rq = exact_array(X) - np.array(x, dtype=object).reshape(1, -1)
    Eq = Rq @ (exact_array(head.W_Q) @ exact_array(head.W_K).T) @ Rq.T
    flat = [all(v == row[0] for v in row) for row in Eq]
    Xc = ctx.array(X)
    xc = ctx.array(np.array(x, dtype=object)).reshape(-1, 1)
    R = Xc - xc.T
    s = scale_s(ctx, d_qk)
    W = ctx.array(head.W_Q) @ ctx.array(head.W_K).T
    r = R @ W.T @ xc
    if head.b_Q is not None:
        r = r + R @ ctx.array(head.W_K) @ ctx.array(head.b_Q).reshape(-1, 1)
    pi = softmax_rows(ctx, (s * r).T)[0]
    return Decomposition(R, s * (R @ W @ R.T), pi, attention_probs(ctx, Xc, head, d_qk), flat, x)


def _c(ctx, D: Decomposition):
    delta = np.array([ctx.max(row) - ctx.min(row) for row in D.E], dtype=object)
    return ctx.max(ctx.expm1(delta))


def _enc(ctx, v):
    return ctx.lo(v), ctx.hi(v)


def _setup(ctx, case):
    """``(head, D, c, n pi_max)``; None if every row of E is exactly constant (nothing to check);
    "undecided" if something is not finite at this precision."""
    head = case.net.layers[0].attention.heads[0]
    D = decompose(ctx, case.X, head, case.net.d_qk)
    if all(D.flat):
        return None
    if not (all_finite(ctx, D.P) and all_finite(ctx, D.pi) and all_finite(ctx, D.E)):
        return "undecided"
    n = D.R.shape[0]
    return head, D, _c(ctx, D), ctx.number(n) * ctx.max(D.pi)


def step4_pairs(ctx: Context, case):
    """``||Q R||_inf <= c ||R||_inf`` and ``||Q R||_1 <= n c pi_max ||R||_1`` (first layer's head)."""
    setup = _setup(ctx, case)
    if setup is None or setup == "undecided":
        return [] if setup is None else [UNDECIDED]
    _, D, c, npi = setup
    QR = D.Q @ D.R
    return [(_enc(ctx, norm_inf(ctx, QR)), _enc(ctx, c * norm_inf(ctx, D.R))),
            (_enc(ctx, norm_1(ctx, QR)), _enc(ctx, npi * c * norm_1(ctx, D.R)))]


def step5_pairs(ctx: Context, case):
    """Step 4 through ``W_V`` in each norm, then the geometric mean (see the module docstring)."""
    setup = _setup(ctx, case)
    if setup is None or setup == "undecided":
        return [] if setup is None else [UNDECIDED]
    head, D, c, npi = setup
    W_V = ctx.array(head.W_V)
    M = D.Q @ D.R @ W_V
    m1, minf = norm_1(ctx, M), norm_inf(ctx, M)
    b1 = npi * c * norm_1(ctx, D.R) * norm_1(ctx, W_V)
    binf = c * norm_inf(ctx, D.R) * norm_inf(ctx, W_V)
    geo = c * ctx.sqrt(npi) * ctx.sqrt_nonneg(norm_1(ctx, W_V) * norm_inf(ctx, W_V)) \
        * ctx.sqrt_nonneg(norm_1(ctx, D.R) * norm_inf(ctx, D.R))
    return [(_enc(ctx, m1), _enc(ctx, b1)), (_enc(ctx, minf), _enc(ctx, binf)),
            (_enc(ctx, ctx.sqrt_nonneg(m1 * minf)), _enc(ctx, geo))]


STEP4 = register(NumericCheck(
    claims.E1, lambda: single_head_cases(max_depth=1), step4_pairs,
    {"quick": 20, "default": 100, "thorough": 1000},
    "||Q R||_inf against c ||R||_inf and ||Q R||_1 against n c pi_max ||R||_1, actual attention",
    steps=(claims.E1.step("Step 4"),)))

STEP5 = register(NumericCheck(
    claims.E1, lambda: single_head_cases(max_depth=1), step5_pairs,
    {"quick": 20, "default": 100, "thorough": 1000},
    "||Q R W_V|| in each norm against Step 4 x ||W_V||, then the geometric mean",
    steps=(claims.E1.step("Step 5"),)))
