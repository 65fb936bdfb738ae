"""Numeric checks of the masked-attention claims (:mod:`rankcollapse.proofs.masks`).

**thm2.2.causal** (published, a finding): pure single-head networks with a causal mask in every
layer; ``r(X^l)`` (the masked network, split forward pass) against the published form with
``gamma = 1`` evaluated from the same weights (:func:`causal_published_pairs`). Predicted by hand
to fail near rank 1: the first token is copied, so the residual shrinks linearly.

**M1** (theorem): :func:`masked_bound` evaluates M1's explicit one-step bound for a layer with
any mask that has a 1 on the diagonal (several heads, ``W_O``, biases), at the residual LP's
best point x, and :func:`m1_pairs` compares it with the certified ``r`` of the layer's output.

>>> from rankcollapse.numerics.checks.common import certified_verdict
>>> case = causal_case([["0"], ["0.1"]], [[1.0]], [[1.0]], [[1.0]], depth=1)
>>> v, _ = certified_verdict(causal_published_pairs, case, 0.0)
>>> v.verdict, round(v.ratio, 1)          # r = sigma(1/100) r(X) against 4 r(X)^3: ~25x too small
('violated', 25.1)
>>> certified_verdict(m1_pairs, case, 0.0)[0].verdict
'holds'
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from ..bounds import AtLeast, _expm1, published_bounds
from ..context import Context
from ..exact import log10_abs
from ..network import (CAUSAL, Attention, Head, Layer, Network, Split, attention_probs, forward_split,
                       mask_matrix, scale_s)
from ..norms import norm_1, norm_inf
from ..residual import residual_bracket
from ..strategies import Case, masks, network_cases, single_head_cases
from ..variants import Softmax, softmax_rows
from ..verdict import decide
from ...proofs import masks as claims
from . import NumericCheck, register
from .steps import UNDECIDED, all_finite

__all__ = ["causal_case", "with_mask", "unmasked", "causal_published_pairs", "m1_applies", "masked_bound", "m1_pairs",
           "m1_cases", "dobrushin", "m2_applies", "contraction_pairs", "contraction_table", "contraction_cases",
           "two_component_case", "no_collapse_pairs", "THM22_CAUSAL", "M1", "M2"]


def with_mask(net: Network, mask) -> Network:
    """``net`` with every layer's attention given ``mask``."""
    return replace(net, layers=tuple(replace(l, attention=replace(l.attention, mask=mask)) for l in net.layers))


def unmasked(net: Network) -> Network:
    """The same weights without masks: what the published forms are stated for."""
    return with_mask(net, None)


def causal_case(X, W_Q, W_K, W_V, depth: int = 1) -> Case:
    """One head repeated ``depth`` times with a causal mask."""
    head = Head(W_Q, W_K, W_V)
    return Case(np.asarray(X, dtype=object), Network(np.asarray(head.W_Q).shape[1],
                                                     tuple(Layer(Attention((head,), mask=CAUSAL)) for _ in range(depth))))


def causal_published_pairs(ctx: Context, case: Case):
    """``r(X^l)`` of the causal network against Thm 2.2 (gamma = 1) from the same weights."""
    outs = forward_split(ctx, case.net, case.X)
    if not all_finite(ctx, outs[-1].R):
        return [UNDECIDED]
    brackets = [residual_bracket(ctx, Z.R) for Z in outs]
    r0 = ctx.hull(ctx.number(brackets[0].lower), ctx.number(brackets[0].upper))
    bounds = published_bounds(ctx, unmasked(case.net), r0)
    return [((b.lower, b.upper), (ctx.lo(P), ctx.hi(P))) for b, P in zip(brackets[1:], bounds[1:]) if P is not None]


def _row_spread_expm1(ctx, E, M):
    """``max_i (e^{delta_i} - 1)`` with ``delta_i`` the spread of row i of E over its keys; an
    :class:`~rankcollapse.numerics.bounds.AtLeast` past ``e^T_MAX`` (as for E1)."""
    spreads = []
    for i in range(E.shape[0]):
        row = E[i, M[i]]
        spreads.append(ctx.max(row) - ctx.min(row))
    return _expm1(ctx, ctx.max(np.array(spreads, dtype=object)))


def m1_applies(layer: Layer) -> bool:
    """M1 covers a masked softmax attention sublayer (1s on the diagonal) without skip,
    LayerNorm or MLP; `check` reports it there (unmasked layers have E1)."""
    att = layer.attention
    M = att.mask if att.mask is None or isinstance(att.mask, str) else np.asarray(att.mask)
    return (M is not None and att.variant.plain and not att.skip and att.layernorm is None and layer.mlp is None
            and (isinstance(M, str) or bool(M.diagonal().all())))


def masked_bound(ctx: Context, Z: Split, x_R, layer: Layer, d_qk: int):
    """M1's bound on ``r(layer(X))`` for ``X = 1 c^T + R`` (a split) at the point ``x = c + x_R``:
    per head ``u_h = (lam_1 + n c pi_max) ||W_h||_1``, ``v_h = (lam_inf + c) ||W_h||_inf``, summed
    over heads, times ``||R||_1`` and ``||R||_inf``, then the geometric mean. ``rho`` is the mean
    row of ``Pi``. Plain softmax attention without skip, LayerNorm or MLP only."""
    att = layer.attention
    if att.skip or att.layernorm is not None or layer.mlp is not None or not att.variant.plain:
        raise ValueError("M1 covers one attention sublayer (softmax, any mask) without skip, LayerNorm or MLP")
    n = Z.R.shape[0]
    M = mask_matrix(att.mask, n)
    Mb = np.ones((n, n), dtype=bool) if M is None else M
    if not Mb.diagonal().all():
        raise ValueError("M1 needs a 1 on the mask's diagonal")
    x_R = ctx.array(x_R).reshape(1, -1)
    xc = (Z.c + x_R).reshape(-1, 1)
    R = Z.R - x_R
    s = scale_s(ctx, d_qk)
    A1 = Ainf = ctx.number(0)
    saturated = False
    for head in att.heads:
        W_K = ctx.array(head.W_K)
        W = ctx.matmul(ctx.array(head.W_Q), W_K.T)
        E = ctx.matmul(ctx.matmul(R, W), R.T) * s  # array first: mpmath's iv scalar * ndarray raises
        col = ctx.matmul(ctx.matmul(R, W.T), xc)
        if head.b_Q is not None:
            col = col + ctx.matmul(ctx.matmul(R, W_K), ctx.array(head.b_Q).reshape(-1, 1))
        Pi = softmax_rows(ctx, np.broadcast_to((col * s).T, (n, n)), M)
        c = _row_spread_expm1(ctx, E, Mb)
        if isinstance(c, AtLeast):  # the bound is increasing in c: keep a certified lower end
            saturated, c = True, c.value
        G0 = Pi - Pi.sum(axis=0, keepdims=True) / n
        W_h = ctx.array(head.W_V) if head.W_O is None else ctx.matmul(ctx.array(head.W_V), ctx.array(head.W_O))
        A1 = A1 + (norm_1(ctx, G0) + n * c * ctx.max(Pi)) * norm_1(ctx, W_h)
        Ainf = Ainf + (norm_inf(ctx, G0) + c) * norm_inf(ctx, W_h)
    bound = ctx.sqrt_nonneg(A1 * norm_1(ctx, R) * Ainf * norm_inf(ctx, R))
    return AtLeast(bound) if saturated else bound


def m1_pairs(ctx: Context, case: Case):
    """M1 on every layer: the certified ``r(X^l)`` against :func:`masked_bound` of ``X^(l-1)``."""
    outs = forward_split(ctx, case.net, case.X)
    if not all_finite(ctx, outs[-1].R):
        return [UNDECIDED]
    brackets = [residual_bracket(ctx, Z.R) for Z in outs]
    pairs = []
    for l, layer in enumerate(case.net.layers, start=1):
        bound = masked_bound(ctx, outs[l - 1], brackets[l - 1].x, layer, case.net.d_qk)
        rhs = (ctx.lo(bound.value), math.inf) if isinstance(bound, AtLeast) else (ctx.lo(bound), ctx.hi(bound))
        pairs.append(((brackets[l].lower, brackets[l].upper), rhs))
    return pairs


@st.composite
def m1_cases(draw, max_depth: int = 2):
    """Attention-only networks (1-3 heads, W_O, biases) whose layers draw a mask: none, causal,
    or a random graph with a 1 on the diagonal."""
    case = draw(network_cases(max_depth=max_depth, mlp=False, skip=False))
    n = case.X.shape[0]
    layers = tuple(replace(l, attention=replace(l.attention, mask=draw(masks(n)))) for l in case.net.layers)
    return Case(case.X, replace(case.net, layers=layers))


THM22_CAUSAL = register(NumericCheck(
    claims.THM22_CAUSAL, lambda: single_head_cases(max_depth=1, max_n=2, max_d=1).map(lambda c: Case(c.X, with_mask(c.net, CAUSAL))),
    causal_published_pairs, {"quick": 15, "default": 100, "thorough": 1000},
    "causal mask in every layer: r(X^l) against (4 beta s)^((3^l-1)/2) r(X)^(3^l) (gamma = 1, same weights)",
    steps=(claims.THM22_CAUSAL.step("search"),)))

M1 = register(NumericCheck(
    claims.M1, m1_cases, m1_pairs, {"quick": 4, "default": 80, "thorough": 800},
    "any mask with a 1 on the diagonal: r(SA_M(X)) against sqrt((lam_1 + n c pi_max)(lam_inf + c)) "
    "||W_V||_{1,inf} ||R||_{1,inf} at every layer"))


# ---------------------------------------------------------------- M2: per-layer contraction
def dobrushin(ctx: Context, P):
    """``delta(P) = 1 - min_{i,k} sum_j min(P_ij, P_kj)`` (``min(a, b) = (a + b - |a - b|)/2``)."""
    n = P.shape[0]
    overlaps = [((P[i] + P[k] - abs(P[i] - P[k])) / 2).sum() for i in range(n) for k in range(i + 1, n)]
    return 1 - ctx.min(np.array(overlaps, dtype=object)) if overlaps else ctx.number(0)


def _diam(ctx, R):
    return ctx.max(np.array([ctx.max(R[:, c]) - ctx.min(R[:, c]) for c in range(R.shape[1])], dtype=object))


def m2_applies(net: Network) -> bool:
    """Whether M2's hypothesis holds at every layer: ``X^l = P^l X^(l-1)`` (one softmax head with
    ``W_V = I``, no value or output bias, no ``W_O``, skip, LayerNorm or MLP; any mask).

    >>> m2_applies(causal_case([["0"], ["1"]], [[1.0]], [[1.0]], [[1.0]], depth=2).net)
    True
    >>> m2_applies(causal_case([["0"], ["1"]], [[1.0]], [[1.0]], [[2.0]]).net)  # W_V = 2
    False
    """
    def pure(layer):
        att = layer.attention
        if len(att.heads) != 1 or layer.mlp is not None or att.skip or att.layernorm is not None or att.b_O is not None:
            return False
        (head,) = att.heads
        W_V = np.asarray(head.W_V)
        return (isinstance(att.variant, Softmax) and head.W_O is None and head.b_V is None
                and W_V.shape[0] == W_V.shape[1] and bool((W_V == np.eye(W_V.shape[0])).all()))
    return all(pure(layer) for layer in net.layers)


def contraction_pairs(ctx: Context, case: Case):
    """M2 at every layer: ``diam(X^l) <= delta(P^l) diam(X^(l-1))`` for single-head layers with
    ``W_V = I`` and any mask (P from the logits as defined, in ``ctx``)."""
    outs = forward_split(ctx, case.net, case.X)
    if not all_finite(ctx, outs[-1].R):
        return [UNDECIDED]
    pairs = []
    for l, layer in enumerate(case.net.layers, start=1):
        (head,) = layer.attention.heads
        P = attention_probs(ctx, outs[l - 1].X, head, case.net.d_qk, mask_matrix(layer.attention.mask, case.X.shape[0]),
                            layer.attention.variant)
        lhs, rhs = _diam(ctx, outs[l].R), dobrushin(ctx, P) * _diam(ctx, outs[l - 1].R)
        pairs.append(((ctx.lo(lhs), ctx.hi(lhs)), (ctx.lo(rhs), ctx.hi(rhs))))
    return pairs


def contraction_table(ctx: Context, case: Case) -> list[dict]:
    """Per layer: the observed contraction diam(X^l)/diam(X^(l-1)) next to the rate delta(P^l)
    (ratios of the enclosures' midpoints, as floats, for reports and `docs/masks.md`) and M2's
    verdict on the layer (:func:`~rankcollapse.numerics.verdict.decide` on the enclosures)."""
    diam_0 = _diam(ctx, ctx.array(case.X))              # diam is per column, so X itself (no second pass)
    base = (ctx.lo(diam_0) + ctx.hi(diam_0)) / 2          # exact: diameters may leave the double range
    rows = []
    for l, ((lo, hi), (rlo, rhi)) in enumerate(contraction_pairs(ctx, case), start=1):
        v = decide((lo, hi), (rlo, rhi), ctx.certified)
        rows.append({"layer": l, "observed": _float_ratio((lo + hi) / 2, base),
                     "rate": _float_ratio((rlo + rhi) / 2, base), "verdict": v.verdict, "reason": v.reason})
        base = (lo + hi) / 2
    return rows


def _float_ratio(a, b) -> float:
    if not b or isinstance(a, float) and not math.isfinite(a):  # an undecided layer's end is inf
        return math.nan if not b else math.inf
    q = Fraction(a) / Fraction(b)
    return float(q) if q == 0 or abs(log10_abs(q)) < 300 else (math.inf if q > 1 else 0.0)


@st.composite
def contraction_cases(draw, max_depth: int = 4):
    """Pure single-head networks with ``W_V = I`` and a mask per layer (none, causal, graph)."""
    case = draw(single_head_cases(max_depth=max_depth, max_n=4, max_d=2))
    n, d = case.X.shape
    layers = tuple(replace(l, attention=replace(l.attention, mask=draw(masks(n)),
                                                heads=(replace(l.attention.heads[0], W_V=np.eye(d), b_V=None),)))
                   for l in case.net.layers)
    return Case(case.X, replace(case.net, layers=layers))


def two_component_case(a="1", b="2", depth: int = 10) -> Case:
    """Tokens [a; a; b; b], a block-diagonal mask {1, 2} | {3, 4}, W_QK = W_V = 1: no collapse."""
    mask = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    head = Head([[1.0]], [[1.0]], [[1.0]])
    return Case(np.array([[a], [a], [b], [b]], dtype=object),
                Network(1, tuple(Layer(Attention((head,), mask=mask)) for _ in range(depth))))


def no_collapse_pairs(ctx: Context, case: Case):
    """``r(X) / 2 <= r(X^l)`` at every layer (the two-component example keeps its residual)."""
    outs = forward_split(ctx, case.net, case.X)
    r0 = residual_bracket(ctx, outs[0].R)
    return [((r0.upper / 2, r0.upper / 2), (b.lower, b.upper))
            for b in (residual_bracket(ctx, Z.R) for Z in outs[1:])]


M2 = register(NumericCheck(
    claims.M2, contraction_cases, contraction_pairs, {"quick": 8, "default": 60, "thorough": 600},
    "W_V = I, any mask: diam(X^l) <= delta(P^l) diam(X^(l-1)) at every layer (Dobrushin's coefficient)"))
