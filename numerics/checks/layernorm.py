"""Numeric test of the published Sec 3.3 remark, "layer normalisation plays no role".

**Formalisation.** The literal reading "for every LayerNorm configuration, a pure-attention
stack with LayerNorm has ``r(X^L) / ||X^L||_{1,inf} -> 0``" is refuted for a reason that has
nothing to do with LayerNorm: for antipodal inputs ``X = [u; -u]`` and no biases the attention
matrix is symmetric, ``X^l = c_l [u W_V...; -u W_V...]`` stays antipodal and ``r(X^l) /
||X^l||_{1,inf} = 1`` at every depth -- with or without LayerNorm (without it, ``c_l -> 0``: the
whole matrix vanishes rather than collapsing to a nonzero rank-1 matrix). So the toolkit tests
what the remark means, that LayerNorm does not change whether a stack collapses, in the
direction that matters (LayerNorm cannot *prevent* collapse):

    sec3.3 (as tested): for every pure-attention stack with LayerNorm in every layer (pre or
    post, any gain and bias, eps > 0) and every input X: if the same stack *without* LayerNorm
    has collapsed at depth L = 12, ``rho(X^12) <= 1/100`` with ``rho = r / ||.||_{1,inf}``, then the
    stack *with* LayerNorm has collapsed too, ``rho(X^12_LN) <= 1/100``.

:func:`ln_pairs` decides the hypothesis like the erratum's ``delta_i < t*``: certified ``<=``
-> the conclusion is a pair ``rho_LN <= 1/100``; certified ``>`` -> no pair (the hypothesis
fails: nothing is claimed); undecided -> an inconclusive pair, so the precision goes up.
A violation is an instance whose LayerNorm stack keeps a certified ``rho >= 1/100`` at depth 12
while the same weights without LayerNorm have certifiably collapsed. ``rho <= 1`` always
(``x = 0`` in the minimum), which bounds the enclosures.

The search (:func:`ln_cases`): n = 2-5 tokens, d = 3-4 features (d = 2 degenerates: LayerNorm
maps every row to one of two points; d = 1 to a constant), 1-2 heads with ``W_O`` and biases,
the same layer repeated 12 times or 12 independent layers, LayerNorm pre or post with random
gain and bias and eps in {1e-5, 1e-3, 1e-1} (eps = 0 is undefined on zero-variance rows).

>>> from numerics.checks.common import certified_verdict
>>> case = collapsing_example()
>>> certified_verdict(ln_pairs, case, 1.0)[0].verdict       # both stacks collapse here
'holds'
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from ..context import Context, get_context
from ..network import Attention, Head, Layer, LayerNorm, Network, forward
from ..norms import norm_1, norm_inf
from ..residual import residual_bracket
from ..strategies import Case, heads, inputs, matrices
from . import NumericCheck, register
from .steps import sqrt_nonneg

__all__ = ["DEPTH", "THRESHOLD", "without_layernorm", "normalised_residual", "ln_cases", "ln_pairs",
           "collapsing_example", "SEC33"]

DEPTH = 12
THRESHOLD = Fraction(1, 100)
EPS = (Fraction(1, 10**5), Fraction(1, 10**3), Fraction(1, 10))


def without_layernorm(net: Network) -> Network:
    """The same weights with every LayerNorm removed."""
    return replace(net, layers=tuple(replace(l, attention=replace(l.attention, layernorm=None)) for l in net.layers))


def normalised_residual(ctx: Context, Y) -> tuple[Fraction, Fraction]:
    """Enclosure of ``rho(Y) = r(Y) / ||Y||_{1,inf}`` (0 for Y = 0; always <= 1)."""
    N = sqrt_nonneg(ctx, norm_1(ctx, Y) * norm_inf(ctx, Y))
    if ctx.hi(N) == 0:
        return Fraction(0), Fraction(0)
    br = residual_bracket(ctx, Y)
    lo = br.lower / ctx.hi(N)
    hi = min(Fraction(1), br.upper / ctx.lo(N)) if ctx.lo(N) > 0 else Fraction(1)
    return min(lo, Fraction(1)), hi


def ln_pairs(case, ctx: Context, depth: int = DEPTH):
    """sec3.3 at depth 12: ``rho(no-LN stack) <= 1/100`` implies ``rho(LN stack) <= 1/100``."""
    net = Network(case.net.d_qk, case.net.layers[:depth])
    free = normalised_residual(ctx, forward(without_layernorm(net), case.X, ctx)[-1])
    t = (THRESHOLD, THRESHOLD)
    if free[0] > THRESHOLD:
        return []  # the stack without LayerNorm has not collapsed: nothing is claimed
    if free[1] > THRESHOLD:
        return [(free, t)]  # undecided hypothesis: inconclusive, so the precision goes up
    return [(normalised_residual(ctx, forward(net, case.X, ctx)[-1]), t)]


@st.composite
def ln_cases(draw, depth: int = DEPTH, max_n: int = 5):
    n, d = draw(st.integers(2, max_n)), draw(st.integers(3, 4))
    d_qk = draw(st.integers(1, 3))
    tied = draw(st.booleans())

    def layer():
        H = draw(st.integers(1, 2))
        hs = tuple(draw(heads(d, d_qk, biases=True, W_O=H > 1)) for _ in range(H))
        bias = draw(st.one_of(st.none(), matrices(1, d).map(lambda m: m[0])))
        ln = LayerNorm(draw(st.sampled_from(["pre", "post"])), draw(matrices(1, d))[0], bias, draw(st.sampled_from(EPS)))
        return Layer(Attention(hs, None, False, ln))

    layers = (layer(),) * depth if tied else tuple(layer() for _ in range(depth))
    return Case(draw(inputs(n, d, identical=False)), Network(d_qk, layers))


def collapsing_example(seed: int = 0, n: int = 4, d: int = 4, position: str = "post") -> Case:
    """A small tied stack with moderate weights: collapses with and without LayerNorm."""
    rng = np.random.default_rng(seed)
    g = lambda *shape: rng.normal(0, 0.3, size=shape)  # noqa: E731
    ln = LayerNorm(position, np.ones(d), np.zeros(d), Fraction(1, 10**5))
    layer = Layer(Attention((Head(g(d, d), g(d, d), np.eye(d)),), None, False, ln))
    return Case(rng.normal(size=(n, d)), Network(d, (layer,) * DEPTH))


SEC33 = register(NumericCheck(
    "sec3.3", ln_cases, ln_pairs, {"quick": 12, "default": 50, "thorough": 500},
    "depth 12: if the stack without LayerNorm has r/||X||_{1,inf} <= 1/100, the same stack with "
    "LayerNorm (pre/post, any gain, bias, eps > 0) must too"))
