"""Numeric checks of the gradient claims G1 (query/key derivatives vanish at ``X = 1 x^T``) and G2
(they are at most ``K r(X)^2``); the proofs are in :mod:`rankcollapse.proofs.gradients`.

**G1.** A :class:`QKPair` is a collapsed input ``X = 1 x^T`` and two heads that share ``W_V, b_V``
and differ in every query/key weight and bias. :func:`g1_pairs` runs both through the split
forward pass at ``EXACT_BITS`` (as E5 does: on doubles every operation on the value path is
exact there) and certifies ``max |SA_1(X) - SA_2(X)| <= 0``: the output does not depend on
``W_Q, W_K, b_Q, b_K`` at all, so their derivatives vanish.

**G2.** :func:`jacobian` is the derivative of one head's output with respect to one parameter
entry, from the definition: the logit derivative ``dl`` formed from ``X`` (not from ``R``), the
softmax derivative ``dP_ij = P_ij (dl_ij - sum_m P_im dl_im)``, then ``dP X W_V`` (whole matrices;
the precision is chosen from the bound's size and the entries' scale, as for every check).
:func:`g2_pairs` compares every entry with G2's bound, with ``r(X)^2`` taken as the square of the
residual bracket's upper end.

>>> from rankcollapse.numerics.checks.common import certified_verdict
>>> from rankcollapse.numerics.network import single_head
>>> from rankcollapse.numerics.strategies import Case
>>> case = Case(np.array([[1.0, 2.0], [1.0, 2.5], [0.5, 2.0]]),
...             single_head([[1.0, 0.0], [0.5, 1.0]], [[0.25, 1.0], [1.0, -1.0]], [[1.0, 0.0], [0.0, 1.0]]))
>>> v, _ = certified_verdict(g2_pairs, case, 1.0)
>>> v.verdict, round(v.ratio, 3)
('holds', 0.121)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from ..context import Context
from ..network import Attention, Head, Layer, Network, attention_probs, forward_split, scale_s
from ..norms import norm_1
from ..residual import residual_bracket
from ..strategies import Case, heads, identical_rows, inputs, shapes, single_head_cases
from ...proofs import gradients as claims
from . import NumericCheck, register
from .common import ExactCase
from .skip import EXACT_BITS
from .steps import UNDECIDED, all_finite

__all__ = ["QKPair", "qk_pairs", "g1_pairs", "jacobian", "g2_pairs", "PARAMETERS", "G1", "G2"]


@dataclass(frozen=True)
class QKPair(ExactCase):
    """A collapsed input and two heads that differ only in their query/key weights and biases."""

    X: np.ndarray
    W_V: np.ndarray
    b_V: np.ndarray
    W_Q: np.ndarray
    W_K: np.ndarray
    b_Q: np.ndarray
    b_K: np.ndarray
    W_Q2: np.ndarray
    W_K2: np.ndarray
    b_Q2: np.ndarray
    b_K2: np.ndarray

    def networks(self) -> tuple[Network, Network]:
        d_qk = np.asarray(self.W_Q).shape[1]
        one = lambda *w: Network(d_qk, (Layer(Attention((Head(w[0], w[1], self.W_V, None, w[2], w[3], self.b_V),))),))  # noqa: E731
        return one(self.W_Q, self.W_K, self.b_Q, self.b_K), one(self.W_Q2, self.W_K2, self.b_Q2, self.b_K2)


@st.composite
def qk_pairs(draw, collapsed: bool = True):
    """:class:`QKPair` cases: ``X = 1 x^T`` (or, with ``collapsed=False``, any X: the negative
    control), two random heads with biases, the second taking the first's value weights."""
    n, d = draw(shapes())
    d_qk = draw(st.integers(1, 3))
    h1, h2 = draw(heads(d, d_qk, biases=True)), draw(heads(d, d_qk, biases=True))
    X = draw(identical_rows(n, d) if collapsed else inputs(n, d, identical=False))
    return QKPair(X, h1.W_V, h1.b_V, h1.W_Q, h1.W_K, h1.b_Q, h1.b_K, h2.W_Q, h2.W_K, h2.b_Q, h2.b_K)


def g1_pairs(ctx: Context, case: QKPair):
    """G1, exactly: ``max |SA_1(X) - SA_2(X)| <= 0`` (see the module docstring)."""
    with ctx.workprec(max(ctx.prec, EXACT_BITS)):
        outs = [forward_split(ctx, net, case.X)[-1].X for net in case.networks()]
        if not all(all_finite(ctx, Y) for Y in outs):
            return [UNDECIDED]
        gap = ctx.max(abs(outs[0] - outs[1]))
        return [((ctx.lo(gap), ctx.hi(gap)), (0, 0))]


PARAMETERS = ("W_Q", "W_K", "b_Q")  # b_K: its derivative is 0 for every X (G2 Step 3)


def jacobian(ctx: Context, X, head: Head, d_qk: int, param: str, a: int, b: int):
    """``d SA(X) / d param[a, b]`` (n x d) for ``param`` in :data:`PARAMETERS` (``a`` ignored for
    ``b_Q``), from the definition; X is a matrix in ``ctx``."""
    n = X.shape[0]
    s = scale_s(ctx, d_qk)
    one = ctx.array(np.ones((n, 1)))
    bias = lambda v: one @ ctx.array(v).reshape(1, -1) if v is not None else 0  # noqa: E731
    Q = X @ ctx.array(head.W_Q) + bias(head.b_Q)
    K = X @ ctx.array(head.W_K) + bias(head.b_K)
    P = attention_probs(ctx, X, head, d_qk)
    if param == "W_Q":
        dl = (X[:, a:a + 1] @ K[:, b:b + 1].T) * s
    elif param == "b_Q":
        dl = (one @ K[:, b:b + 1].T) * s
    elif param == "W_K":
        dl = (Q[:, b:b + 1] @ X[:, a:a + 1].T) * s
    else:
        raise ValueError(f"unknown parameter {param!r}; choose one of {', '.join(PARAMETERS)}")
    dP = P * (dl - (P * dl).sum(axis=1, keepdims=True))
    return dP @ (X @ ctx.array(head.W_V))


def g2_pairs(ctx: Context, case: Case):
    """G2 for a one-layer single-head case: every entry of every query/key derivative against
    its bound ``K r(X)^2`` (see :mod:`rankcollapse.proofs.gradients`)."""
    (layer,) = case.net.layers
    (head,) = layer.attention.heads
    d_qk = case.net.d_qk
    X = ctx.array(case.X)
    n, d = X.shape
    bracket = residual_bracket(ctx, X)
    r2 = ctx.number(bracket.upper) ** 2
    s = scale_s(ctx, d_qk)
    W_K1 = norm_1(ctx, ctx.array(head.W_K))
    W_Vmax = ctx.max(abs(ctx.array(head.W_V)))
    one = ctx.array(np.ones((n, 1)))
    Q = X @ ctx.array(head.W_Q) + (one @ ctx.array(head.b_Q).reshape(1, -1) if head.b_Q is not None else 0)
    pairs = []
    for param in PARAMETERS:
        for a in range(1 if param == "b_Q" else d):
            for b in range(d_qk):
                J = jacobian(ctx, X, head, d_qk, param, a, b)
                if not all_finite(ctx, J):
                    return [UNDECIDED]
                for i in range(n):
                    size = {"W_Q": abs(X[i, a]) * W_K1, "b_Q": W_K1, "W_K": abs(Q[i, b])}[param]
                    bound = 2 * s * size * W_Vmax * r2
                    for c in range(d):
                        J_ic = abs(J[i, c])
                        pairs.append(((ctx.lo(J_ic), ctx.hi(J_ic)), (ctx.lo(bound), ctx.hi(bound))))
    return pairs


G1 = register(NumericCheck(
    claims.G1, qk_pairs, g1_pairs, {"quick": 10, "default": 50, "thorough": 500},
    "X = 1 x^T: two heads differing in every query/key weight and bias give exactly the same output"))

G2 = register(NumericCheck(
    claims.G2, lambda: single_head_cases(max_depth=1, max_n=4, max_d=3), g2_pairs,
    {"quick": 10, "default": 100, "thorough": 1000},
    "every entry of d SA / d(W_Q, W_K, b_Q) against 2 s (|X_ia| ||W_K||_1 | 1 | |Q_ib|) ||W_V||_max r(X)^2"))
