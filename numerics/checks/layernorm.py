"""Numeric test of the published Sec 3.3 remark, "layer normalisation plays no role".

**Formalisation** (claim ``sec3.3`` in :mod:`rankcollapse.proofs.layernorm`, which says why the literal
``r(X^L) / ||X^L||_{1,inf} -> 0`` is not what is tested): for every pure-attention stack with
LayerNorm in every layer (pre or post, any gain and bias, eps > 0) and every input X, with
``rho = r / ||.||_{1,inf}``: if the same weights *without* LayerNorm have collapsed at depth
L = 12, ``rho(X^12) <= 1/100``, then the stack *with* LayerNorm has collapsed too,
``rho(X^12_LN) <= 1/100``. Depth and threshold are :data:`rankcollapse.proofs.layernorm.DEPTH` and
:data:`rankcollapse.proofs.layernorm.THRESHOLD`.

:func:`ln_pairs` decides the hypothesis like the erratum's ``delta_i < t*``: certified ``<=``
-> the conclusion is a pair ``rho_LN <= 1/100``; certified ``>`` -> no pair (the hypothesis
fails: nothing is claimed); undecided -> an inconclusive pair, so the precision goes up.
A violation is an instance whose LayerNorm stack has a certified ``rho(X^12_LN) > 1/100`` (lower
end of the enclosure) while the same weights without LayerNorm have a certified
``rho(X^12) <= 1/100`` (upper end). ``rho <= 1`` always (``x = 0`` in the minimum), which bounds
the enclosures.

The search (:func:`ln_cases`): d = 3-4 features (:data:`MIN_D`: with d = 2 LayerNorm maps
every row onto one line, to one of two points when eps = 0; with d = 1 to its bias); four
fifths dense seeded stacks (:func:`seeded_case`), the rest built entry by entry by Hypothesis:
n = 2-5 tokens, 1-2 heads (``W_O`` with two) with every bias, the same layer repeated 12 times
or 12 independent layers, LayerNorm pre or post with random gain, random or no bias and eps in
{1e-5, 1e-3, 1e-1} (eps = 0 is undefined on zero-variance rows).

>>> from rankcollapse.numerics.checks.common import certified_verdict
>>> case = collapsing_example()
>>> certified_verdict(ln_pairs, case, 1.0)[0].verdict       # both stacks collapse here
'holds'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from rankcollapse.proofs.layernorm import DEPTH, THRESHOLD as _THRESHOLD

from ..context import Context, get_context
from ..network import Attention, Head, Layer, LayerNorm, Network, forward
from ..norms import norm_1, norm_inf
from ..residual import residual_bracket
from ..strategies import Case, heads, inputs, matrices, shapes
from ..verdict import INCONCLUSIVE, MAX_BITS, Verdict, adaptive, decide
from ...proofs import layernorm as claims
from . import NumericCheck, register
from .steps import UNDECIDED, all_finite

__all__ = ["DEPTH", "THRESHOLD", "MIN_D", "without_layernorm", "normalised_residual", "seeded_case",
           "ln_cases", "ln_pairs", "rho_trajectory", "collapsing_example", "SEC33", "Sec33Report", "sec33_check"]

THRESHOLD = Fraction(_THRESHOLD.p, _THRESHOLD.q)
MIN_D = 3  # d = 1, 2 degenerate (module docstring)
EPS = (Fraction(1, 10**5), Fraction(1, 10**3), Fraction(1, 10))


def without_layernorm(net: Network) -> Network:
    """The same weights with every LayerNorm (attention and MLP sublayers) removed."""
    return replace(net, layers=tuple(
        replace(l, attention=replace(l.attention, layernorm=None),
                mlp=None if l.mlp is None else replace(l.mlp, layernorm=None)) for l in net.layers))


_TINY = Fraction(1, 2**200)


def _coarsen(ctx: Context, Y):
    """Entries below ``2^-(prec + 64)`` times the largest one, replaced by the ball ``0 +- that``
    (a wider enclosure of the same number). A collapsing stack can leave entries ``1e-2631643``
    next to entries of size 0.01, and the residual's exact integer arithmetic would then work
    with numbers of millions of bits; the enclosure loses nothing at the working precision."""
    if ctx.name != "arb":
        return Y
    import flint
    top = ctx.max(abs(Y)).upper()
    if top == 0:
        return Y
    floor = top * flint.arb(2) ** (-(ctx.prec + 64))
    floor = floor.upper()
    small = np.frompyfunc(lambda v: bool(abs(v).upper() < floor), 1, 1)(Y).astype(bool)
    if not small.any():
        return Y
    Y = Y.copy()
    Y[small] = flint.arb(0, floor)
    return Y


def normalised_residual(ctx: Context, Y) -> tuple[Fraction, Fraction] | None:
    """Enclosure of ``rho(Y) = r(Y) / ||Y||_{1,inf}`` (0 for Y = 0; always <= 1, since ``x = 0`` is a
    candidate in the minimum); None if Y is not finite at this precision.

    A collapsing LayerNorm stack can reach entries like ``1e-2631643``; exact Fractions of that
    size cost minutes per operation, so the quotient is formed in the context and a value
    certainly below ``2^-200`` is reported as the (outward) enclosure ``[0, 2^-200]``.
    """
    if not all_finite(ctx, Y):
        return None
    Y = _coarsen(ctx, Y)
    N = ctx.sqrt_nonneg(norm_1(ctx, Y) * norm_inf(ctx, Y))
    if ctx.name == "arb" and N == 0:  # exact zero ball: Y = 0
        return Fraction(0), Fraction(0)
    br = residual_bracket(ctx, Y)
    if br.upper == 0:
        return Fraction(0), Fraction(0)
    if ctx.name == "arb":
        rho = ctx.hull(ctx.number(br.lower), ctx.number(br.upper)) / N
        if rho.is_finite() and rho.upper() < ctx.number(_TINY):
            return Fraction(0), _TINY
        if not (N > 0):
            return Fraction(0), Fraction(1)
        return min(max(ctx.lo(rho), Fraction(0)), Fraction(1)), min(ctx.hi(rho), Fraction(1))
    lo_N, hi_N = ctx.lo(N), ctx.hi(N)
    if hi_N == 0:
        return Fraction(0), Fraction(0)
    hi = min(Fraction(1), br.upper / lo_N) if lo_N > 0 else Fraction(1)
    return min(br.lower / hi_N, Fraction(1)), hi


def ln_pairs(ctx: Context, case, depth: int = DEPTH):
    """sec3.3 at depth 12: ``rho(no-LN stack) <= 1/100`` implies ``rho(LN stack) <= 1/100``."""
    net = Network(case.net.d_qk, case.net.layers[:depth])
    free = normalised_residual(ctx, forward(ctx, without_layernorm(net), case.X)[-1])
    t = (THRESHOLD, THRESHOLD)
    if free is None:
        return [UNDECIDED]
    if free[0] > THRESHOLD:
        return []  # the stack without LayerNorm has not collapsed: nothing is claimed
    if free[1] > THRESHOLD:
        return [(free, t)]  # undecided hypothesis: inconclusive, so the precision goes up
    rho = normalised_residual(ctx, forward(ctx, net, case.X)[-1])
    return [UNDECIDED] if rho is None else [(rho, t)]


def seeded_case(seed: int, depth: int = DEPTH) -> Case:
    """A dense random LayerNorm stack from an integer seed: n = 2-4, d = 3-4, d_qk = 1-2, one head,
    the layer repeated ``depth`` times; ``W_Q, W_K ~ N(0, a^2)`` with a log-uniform in
    [10^-0.5, 10], ``W_V ~ N(0, v^2)`` with v log-uniform in [0.1, 10^1.5], gain ``N(0, g^2)``, g
    log-uniform in [0.1, 10], bias 0 or ``N(0, c^2)`` with c log-uniform in [1e-2, 10], eps 1e-5;
    input N(0, 1)."""
    rng = np.random.default_rng(seed)
    n, d, d_qk = int(rng.integers(2, 5)), int(rng.integers(MIN_D, 5)), int(rng.integers(1, 3))
    a, v = 10 ** rng.uniform(-0.5, 1), 10 ** rng.uniform(-1, 1.5)
    gain = rng.normal(size=d) * 10 ** rng.uniform(-1, 1)
    bias = rng.normal(size=d) * 10 ** rng.uniform(-2, 1) if rng.integers(2) else None
    ln = LayerNorm(["pre", "post"][int(rng.integers(2))], gain, bias, EPS[0])
    head = Head(rng.normal(size=(d, d_qk)) * a, rng.normal(size=(d, d_qk)) * a, rng.normal(size=(d, d)) * v)
    return Case(rng.normal(size=(n, d)), Network(d_qk, (Layer(Attention((head,), None, False, ln)),) * depth))


@st.composite
def structured_ln_cases(draw, depth: int = DEPTH, max_n: int = 5):
    n, d = draw(shapes(max_n=max_n, max_d=4, min_d=MIN_D))
    d_qk = draw(st.integers(1, 3))
    untied = draw(st.booleans())  # False first, so shrinking prefers one layer repeated

    def layer():
        H = draw(st.integers(1, 2))
        hs = tuple(draw(heads(d, d_qk, biases=True, W_O=H > 1)) for _ in range(H))
        bias = draw(st.one_of(st.none(), matrices(1, d).map(lambda m: m[0])))
        ln = LayerNorm(draw(st.sampled_from(["pre", "post"])), draw(matrices(1, d))[0], bias, draw(st.sampled_from(EPS)))
        return Layer(Attention(hs, None, False, ln))

    layers = tuple(layer() for _ in range(depth)) if untied else (layer(),) * depth
    return Case(draw(inputs(n, d, identical=False)), Network(d_qk, layers))


def ln_cases(depth: int = DEPTH):
    """Dense seeded stacks (four fifths; :func:`seeded_case`: about 10% of them violate, and
    shrinking them is cheap, only the seed shrinks) or stacks built entry by entry by Hypothesis
    (d >= :data:`MIN_D`, 1-2 heads, every bias, pre/post, eps choices)."""
    seeded = st.integers(0, 2**32 - 1).map(lambda k: seeded_case(k, depth))
    structured = structured_ln_cases(depth)
    return st.integers(0, 4).flatmap(lambda k: seeded if k < 4 else structured)  # four fifths seeded


def rho_trajectory(case, depth: int = DEPTH, layernorm: bool = True, bits: int = 256) -> list:
    """Certified enclosures of ``rho(X^l)``, l = 0..depth, for the case's first layer repeated
    ``depth`` times, with or without its LayerNorm (arb at ``bits``, doubled while not finite)."""
    ctx = get_context("arb")
    layer = case.net.layers[0]
    net = Network(case.net.d_qk, (layer,) * depth)
    net = net if layernorm else without_layernorm(net)
    while True:
        with ctx.workprec(bits):
            outs = forward(ctx, net, case.X)
            rhos = [normalised_residual(ctx, Y) for Y in outs]
        if all(r is not None for r in rhos) or bits >= 1 << 14:
            return rhos
        bits *= 2


def collapsing_example(seed: int = 0, n: int = 4, d: int = 4, position: str = "post") -> Case:
    """A small tied stack with moderate weights: collapses with and without LayerNorm."""
    rng = np.random.default_rng(seed)
    g = lambda *shape: rng.normal(0, 0.3, size=shape)  # noqa: E731
    ln = LayerNorm(position, np.ones(d), np.zeros(d), Fraction(1, 10**5))
    layer = Layer(Attention((Head(g(d, d), g(d, d), np.eye(d)),), None, False, ln))
    return Case(rng.normal(size=(n, d)), Network(d, (layer,) * DEPTH))


@dataclass(frozen=True)
class Sec33Report:
    """sec3.3 for one network at its full depth (``rankcollapse check``): enclosures of ``rho`` at
    the last layer without and with LayerNorm (None: no finite enclosure), and the verdict on
    ``rho_LN <= 1/100`` -- None when the stack without LayerNorm has certainly not collapsed
    (``rho > 1/100``): the claim then says nothing."""

    depth: int
    rho_without: tuple | None
    rho_with: tuple | None
    verdict: Verdict | None
    bits: int
    reason: str


def _sec33_at(ctx: Context, bits: int, case) -> Sec33Report:
    with ctx.workprec(bits):
        free = normalised_residual(ctx, forward(ctx, without_layernorm(case.net), case.X)[-1])
        rho = normalised_residual(ctx, forward(ctx, case.net, case.X)[-1])
    t, depth = (THRESHOLD, THRESHOLD), case.net.depth
    if free is None or rho is None:
        verdict = Verdict(INCONCLUSIVE, (Fraction(0), math.inf), t, "no finite enclosure of rho at this precision")
    elif free[0] > THRESHOLD:
        return Sec33Report(depth, free, rho, None, bits, "the stack without LayerNorm has not collapsed "
                           "(rho > 1/100): sec3.3 claims nothing here")
    elif free[1] > THRESHOLD:
        verdict = Verdict(INCONCLUSIVE, free, t, "whether the stack without LayerNorm has collapsed is undecided")
    else:
        verdict = decide(rho, t, ctx.certified)
    return Sec33Report(depth, free, rho, verdict, bits, verdict.reason)


def sec33_check(case, backend: str = "arb", start_bits: int = 128, max_bits: int = MAX_BITS) -> Sec33Report:
    """The sec3.3 comparison for one network at its full depth: if the same stack without
    LayerNorm has ``rho(X^L) <= 1/100``, the stack as given must too (the claim is stated at
    depth :data:`DEPTH`; at another depth this is the same implication there). Precision as in
    ``check``: start at ``start_bits``, double while undecided.

    >>> report = sec33_check(collapsing_example())
    >>> report.depth, report.verdict.verdict, report.rho_with[1] <= THRESHOLD
    (12, 'holds', True)
    """
    ctx = get_context(backend)
    if not ctx.certified:
        return _sec33_at(ctx, 53, case)
    report, _, undecided = adaptive(lambda bits: _sec33_at(ctx, bits, case),
                                    lambda r: [] if r.verdict is None else [r.verdict], start_bits, max_bits)
    return replace(report, reason=undecided or report.reason)


SEC33 = register(NumericCheck(
    claims.SEC33, ln_cases, ln_pairs, {"quick": 60, "default": 200, "thorough": 2000},
    "depth 12: if the stack without LayerNorm has r/||X||_{1,inf} <= 1/100, the same stack with "
    "LayerNorm (pre/post, any gain, bias, eps > 0) must too",
    steps=(claims.SEC33.step("search"),)))
