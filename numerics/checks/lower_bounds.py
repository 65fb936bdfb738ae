"""Numeric checks of the lower-bound claims LB1 (the cubic rate is tight) and LB2 (gamma = 1/8 for
n = 2, d = 1); the proofs are in :mod:`rankcollapse.proofs.lower_bounds`.

**LB1.** :func:`tight_case` builds the two-token family ``X = [x_0; -x_0]`` with one repeated
head (``d = d_qk = 1``, exact Fraction weights), and :func:`tight_pairs` certifies, at every layer
``l`` of the network as the toolkit runs it (the split forward pass, so ``r(X^l)`` keeps its
relative accuracy far below 1e-1000),

    c^((3^l-1)/2) r(X)^(3^l)  <=  r(X^l)  <=  C^((3^l-1)/2) r(X)^(3^l),

``c = (|vw|/2)(1 - t_0^2/3)``, ``C = |vw|/2`` (LB2's constant). Both sides are evaluated as the
recurrences ``B_l = c B_{l-1}^3`` in ball arithmetic. The search draws cases inside the
hypotheses (``t_0 <= 1`` and ``|v| t_0 <= 1``, which implies ``|v| tanh t_0 <= 1``), checked
exactly by :func:`family_constants`.

**LB2.** :func:`gamma_n2_pairs` compares ``r(SA(X))`` with ``(beta s / 2) r(X)^3`` on every
one-layer network with two tokens and one feature (biases included).

>>> case = tight_case("1/2", 1, 1, 1, depth=10)
>>> [(x, str(w), str(v), str(t)) for x, w, v, t in [family_constants(case)]][0][1:]
('1', '1', '1/4')
>>> from rankcollapse.numerics.checks.common import certified_verdict
>>> certified_verdict(tight_pairs, case, 0.0)[0].verdict
'holds'
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from rankcollapse.proofs.lower_bounds import UPPER_FACTOR as _UPPER

UPPER_FACTOR = Fraction(int(_UPPER.p), int(_UPPER.q))  # 1/2, exact

from ..context import Context
from ..exact import to_fraction
from ..network import Attention, Head, Layer, Network, forward_split, scale_s
from ..residual import residual_bracket
from ..strategies import Case, single_head_cases
from ...proofs import lower_bounds as claims
from . import NumericCheck, register
from .steps import UNDECIDED, all_finite

__all__ = ["tight_case", "tight_cases", "family_constants", "tight_pairs", "tight_table", "gamma_n2_pairs",
           "LB1", "LB2"]


def tight_case(x0, q, k, v, depth: int) -> Case:
    """``X = [x0; -x0]`` through ``depth`` copies of the head ``W_Q = q, W_K = k, W_V = v``
    (``d = d_qk = 1``, so ``w = q k``); every number is kept exact."""
    f = lambda z: np.array([[to_fraction(z)]], dtype=object)  # noqa: E731
    head = Head(f(q), f(k), f(v))
    x0 = to_fraction(x0)
    return Case(np.array([[x0], [-x0]], dtype=object), Network(1, tuple(Layer(Attention((head,))) for _ in range(depth))))


def family_constants(case: Case) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    """``(x_0, w, v, t_0)`` exactly, after checking that ``case`` is in LB1's family and inside
    the hypotheses the search uses (``t_0 = |w| x_0^2 <= 1``, ``|v| t_0 <= 1``); ValueError
    naming what is wrong otherwise."""
    X = case.X
    if X.shape != (2, 1) or to_fraction(X[1, 0]) != -to_fraction(X[0, 0]) or to_fraction(X[0, 0]) == 0:
        raise ValueError(f"LB1 needs X = [x0; -x0] with x0 != 0, got shape {X.shape}")
    if case.net.d_qk != 1 or any(layer.mlp or layer.attention.skip or layer.attention.layernorm or len(layer.attention.heads) != 1
                                 or layer.attention.b_O is not None for layer in case.net.layers):
        raise ValueError("LB1 needs single-head layers, d_qk = 1, no skip, MLP, LayerNorm or b_O")
    heads = [layer.attention.heads[0] for layer in case.net.layers]
    weights = {tuple(to_fraction(getattr(h, name)[0, 0]) for name in ("W_Q", "W_K", "W_V")) for h in heads}
    if len(weights) != 1 or any(b is not None for h in heads for b in (h.W_O, h.b_Q, h.b_K, h.b_V)):
        raise ValueError("LB1's family repeats one head with scalar W_Q, W_K, W_V and no biases or W_O")
    head = heads[0]
    x0 = to_fraction(X[0, 0])
    w = to_fraction(head.W_Q[0, 0]) * to_fraction(head.W_K[0, 0])
    v = to_fraction(head.W_V[0, 0])
    t0 = abs(w) * x0 * x0
    if w == 0 or v == 0 or t0 > 1 or abs(v) * t0 > 1:
        raise ValueError(f"LB1's hypotheses fail: w = {w}, v = {v}, t_0 = {t0} (need w, v != 0, t_0 <= 1, |v| t_0 <= 1)")
    return x0, w, v, t0


@st.composite
def tight_cases(draw, max_depth: int = 6):
    """Family cases inside the hypotheses: ``t_0`` on a grid in (0, 1], ``|v| t_0 <= 1``, random
    signs, ``x_0`` from 1e-3 to 4 (so ``r(X)`` spans three decades)."""
    t0 = Fraction(draw(st.integers(1, 64)), 64)
    x0 = Fraction(draw(st.integers(1, 4000)), 1000)
    v = Fraction(draw(st.integers(1, 1000)), 1000) / t0 * draw(st.sampled_from([1, -1]))
    q = Fraction(draw(st.integers(1, 1000)), 500) * draw(st.sampled_from([1, -1]))
    k = t0 / (x0 * x0) / q * draw(st.sampled_from([1, -1]))
    return tight_case(x0, q, k, v, draw(st.integers(1, max_depth)))


def _bracket_pair(b):
    return (b.lower, b.upper)


def _recurrence(ctx: Context, c, start, depth: int) -> list:
    """``[B_0, ..., B_depth]`` with ``B_l = c B_{l-1}^3`` (balls: the closed form's enclosure)."""
    out = [start]
    for _ in range(depth):
        out.append(c * out[-1] * out[-1] * out[-1])
    return out


def tight_pairs(ctx: Context, case: Case):
    """LB1 at every layer: (lower bound, r(X^l)) and (r(X^l), upper bound); see the module docstring."""
    x0, w, v, t0 = family_constants(case)
    outs = forward_split(ctx, case.net, case.X)
    if not all_finite(ctx, outs[-1].R):
        return [UNDECIDED]
    brackets = [residual_bracket(ctx, Z.R) for Z in outs]
    r0 = ctx.sqrt(ctx.number(2)) * ctx.number(abs(x0))  # LB1 Step 2: r([x; -x]) = sqrt(2)|x|
    C = ctx.number(abs(v * w)) * ctx.number(UPPER_FACTOR)
    c = C * ctx.number(1 - t0 * t0 / 3)
    lower, upper = _recurrence(ctx, c, r0, case.net.depth), _recurrence(ctx, C, r0, case.net.depth)
    pairs = []
    for l in range(1, case.net.depth + 1):
        pairs.append(((ctx.lo(lower[l]), ctx.hi(lower[l])), _bracket_pair(brackets[l])))
        pairs.append((_bracket_pair(brackets[l]), (ctx.lo(upper[l]), ctx.hi(upper[l]))))
    return pairs


def tight_table(pairs) -> list[dict]:
    """Per layer, from :func:`tight_pairs`' output: log10 of the lower bound, of r(X^l) and of the
    upper bound (midpoints, as floats of exact ends: they reach far below the double range)."""
    from ..exact import log10_abs

    mid = lambda e: log10_abs((e[0] + e[1]) / 2)  # noqa: E731
    return [{"layer": l + 1, "log10_lower": mid(pairs[2 * l][0]), "log10_r": mid(pairs[2 * l][1]),
             "log10_upper": mid(pairs[2 * l + 1][1])} for l in range(len(pairs) // 2)]


def gamma_n2_pairs(ctx: Context, case: Case):
    """LB2: ``r(SA(X)) <= (beta s / 2) r(X)^3`` for one layer on two tokens and one feature."""
    (layer,) = case.net.layers
    (head,) = layer.attention.heads
    outs = forward_split(ctx, case.net, case.X)
    if not all_finite(ctx, outs[-1].R):
        return [UNDECIDED]
    r0, r1 = residual_bracket(ctx, outs[0].R), residual_bracket(ctx, outs[1].R)
    W_QK = (ctx.array(head.W_Q) @ ctx.array(head.W_K).T)[0, 0]
    beta = abs(W_QK) * abs(ctx.array(head.W_V)[0, 0])
    R0 = ctx.number(r0.upper)
    bound = ctx.number(UPPER_FACTOR) * beta * scale_s(ctx, case.net.d_qk) * R0 * R0 * R0
    return [((r1.lower, r1.upper), (ctx.lo(bound), ctx.hi(bound)))]


LB1 = register(NumericCheck(
    claims.LB1, tight_cases, tight_pairs, {"quick": 6, "default": 40, "thorough": 400},
    "on the two-token family: c^((3^l-1)/2) r^(3^l) <= r(X^l) <= (|vw|/2)^((3^l-1)/2) r^(3^l) at every layer"))

LB2 = register(NumericCheck(
    claims.LB2, lambda: single_head_cases(max_depth=1, max_n=2, max_d=1), gamma_n2_pairs,
    {"quick": 10, "default": 200, "thorough": 2000},
    "n = 2, d = 1, one layer (biases too): r(SA(X)) <= (beta s / 2) r(X)^3, i.e. gamma = 1/8"))
