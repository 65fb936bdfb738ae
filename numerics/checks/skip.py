"""Numeric check of Claim E5 (the paper's Claim 3.1) and measurements with skip connections.

**E5.** Every layer is ``X -> X + sum_h P_h X W_h + 1 b^T`` with ``W_h = W_V,h W_O,h = 0`` for
every head (here ``W_V,h = 0`` or ``W_O,h = 0``, drawn per head), any ``W_Q``, ``W_K``, ``b_Q``,
``b_K``. Then every head contributes ``P_h (X W_V,h) W_O,h = 0`` and the layer adds the
row-constant ``1 c^T`` with ``c^T = sum_h b_V,h^T W_O,h + b_O^T``, so ``X^L = X + 1 c_total^T`` and
``r(X^L) = r(X)`` (N3 Step 1: ``r`` ignores ``1 v^T``); with no biases, ``X^L = X``.

The check (:func:`identity_pairs`) certifies this *exactly*, not up to rounding. E5 is a
statement about every input and every bias, so the cases may be chosen exactly representable:
the input, the biases and the nonzero value/output weights are rounded to multiples of
``2^-GRID_BITS`` (:func:`dyadic`, 160 bits, about 1e-48: the near-rank-1 inputs' residuals, relative size
down to 1e-40, survive it). Every number on the value path is then an integer times ``2^-2*GRID_BITS`` of
moderate size, and at ``EXACT_BITS`` bits (at least; more if the search asks for more) arb
performs every addition and multiplication on it exactly; a ball times an exact 0 is an exact 0,
so the attention -- an enclosure like any other -- drops out exactly. The check asserts

* ``max_ij |D_ij - D_1j| <= 0`` for ``D = X^L - X``: the rows of the change are *identical*
  (certified: the enclosure is exactly ``[0, 0]``), hence ``r(X^L) = r(X)``;
* with no biases, ``max_ij |D_ij| <= 0``: the output *equals* the input;
* consistency of the residual brackets: ``lower r(X^L) <= upper r(X)`` and ``lower r(X) <= upper
  r(X^L)`` (they overlap; disjoint brackets would prove ``r(X^L) != r(X)``).

**Measured** (not a verdict): :func:`skip_ratio_survey` -- the distribution of ``r(X^L) / r(X)``
over random networks with skip connections, against the same networks without them.

>>> from rankcollapse.numerics.checks.common import certified_verdict
>>> case = e5_case([[1, 2], [3, -1], [0.5, 0.25]], depth=3, heads=2, biases=True, seed=1)
>>> certified_verdict(identity_pairs, case, 1.0)[0].verdict
'holds'
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from ..context import Context, get_context
from ..exact import exact_array
from ..network import Attention, Head, Layer, Network, forward
from ..residual import residual_bracket
from ..strategies import Case, network_cases
from ...proofs import skip as claims
from . import NumericCheck, register
from .steps import UNDECIDED, all_finite

__all__ = ["GRID_BITS", "EXACT_BITS", "dyadic", "zero_value_weights", "e5_cases", "e5_case",
           "identity_pairs", "skip_ratio_survey", "E5"]

GRID_BITS = 160
EXACT_BITS = 1024


def dyadic(X, bits: int = GRID_BITS):
    """X (any shape, or None) with every entry rounded to the nearest multiple of ``2^-bits``,
    as exact Fractions."""
    if X is None:
        return None
    scale = 1 << bits
    A = exact_array(np.asarray(X, dtype=None if isinstance(X, np.ndarray) else object))
    return np.frompyfunc(lambda q: Fraction(round(q * scale), scale), 1, 1)(A).astype(object)


def zero_value_weights(att: Attention, which, biases: bool) -> Attention:
    """``att`` with ``W_h = 0`` for every head: ``W_V`` zeroed where ``which[h]`` is "V", ``W_O`` where
    it is "O". Without ``biases`` the layer's row-constant term is made exactly 0 too."""
    heads = []
    for head, w in zip(att.heads, which):
        d = head.W_V.shape[0]
        if w == "V" or head.W_O is None:
            head = replace(head, W_V=np.zeros((d, head.W_V.shape[1])), W_O=dyadic(head.W_O),
                           b_V=dyadic(head.b_V) if biases else None)
        else:
            head = replace(head, W_O=np.zeros(head.W_O.shape), W_V=dyadic(head.W_V), b_V=dyadic(head.b_V))
        heads.append(head)
    return replace(att, heads=tuple(heads), b_O=dyadic(att.b_O) if biases else None, skip=True)


@st.composite
def e5_cases(draw, max_depth: int = 4):
    """network_cases with skips (1-3 heads, W_O, biases), then ``W_h = 0`` in every head."""
    case = draw(network_cases(max_depth=max_depth, max_heads=3, skip=True, mlp=False))
    biases = draw(st.booleans())
    layers = tuple(Layer(zero_value_weights(layer.attention,
                                            draw(st.lists(st.sampled_from("VO"), min_size=len(layer.attention.heads),
                                                          max_size=len(layer.attention.heads))), biases))
                   for layer in case.net.layers)
    return Case(dyadic(case.X), Network(case.net.d_qk, layers))


def e5_case(X, depth: int = 2, heads: int = 1, biases: bool = False, seed: int = 0, d_qk: int = 1) -> Case:
    """A deterministic E5 network on X: random ``W_Q, W_K`` (and biases), ``W_h = 0``."""
    rng = np.random.default_rng(seed)
    X = dyadic(np.asarray(X, dtype=object))
    d = X.shape[1]
    b = (lambda k: rng.normal(size=k)) if biases else (lambda k: None)  # noqa: E731
    layers = []
    for _ in range(depth):
        hs = tuple(Head(rng.normal(size=(d, d_qk)), rng.normal(size=(d, d_qk)), rng.normal(size=(d, d)),
                        rng.normal(size=(d, d)), b(d_qk), b(d_qk), b(d)) for _ in range(heads))
        layers.append(Layer(zero_value_weights(Attention(hs, b(d)), "VO" * heads, biases)))
    return Case(X, Network(d_qk, tuple(layers)))


def _has_bias(net: Network) -> bool:
    return any(a.b_O is not None or any(h.b_V is not None for h in a.heads)
               for a in (l.attention for l in net.layers))


def identity_pairs(ctx: Context, case):
    """E5, exactly: the change ``X^L - X`` has identical rows (and is 0 without biases); the
    residual brackets of ``X^L`` and ``X`` overlap. See the module docstring."""
    with ctx.workprec(max(ctx.prec, EXACT_BITS)):
        outs = forward(ctx, case.net, case.X)
        if not all_finite(ctx, outs[-1]):
            return [UNDECIDED]
        D = outs[-1] - outs[0]
        spread = ctx.max(abs(D - D[0:1, :]))
        pairs = [((ctx.lo(spread), ctx.hi(spread)), (0, 0))]
        if not _has_bias(case.net):
            size = ctx.max(abs(D))
            pairs.append(((ctx.lo(size), ctx.hi(size)), (0, 0)))
        r0, rL = residual_bracket(ctx, outs[0]), residual_bracket(ctx, outs[-1])
    pairs += [((rL.lower, rL.lower), (r0.upper, r0.upper)), ((r0.lower, r0.lower), (rL.upper, rL.upper))]
    return pairs


E5 = register(NumericCheck(
    claims.E5, e5_cases, identity_pairs, {"quick": 10, "default": 50, "thorough": 500},
    "with skips and W_h = 0: X^L - X has exactly identical rows (X^L = X without biases), and the "
    "brackets of r(X^L) and r(X) overlap"))


# ----------------------------------------------------------------------------- measured
def _random_layer(rng, d, H, ws, skip):
    g = lambda *shape: rng.normal(0.0, ws / np.sqrt(d), size=shape)  # noqa: E731
    hs = tuple(Head(g(d, d), g(d, d), g(d, d), g(d, d) if H > 1 else None) for _ in range(H))
    return Layer(Attention(hs, skip=skip))


def skip_ratio_survey(seed: int = 0, trials: int = 20, n: int = 6, d: int = 4, heads: int = 2,
                      depths=(1, 2, 4, 8, 12), weight_scales=(0.5, 1.0, 2.0), bits: int = 256) -> list[dict]:
    """``r(X^l) / r(X)`` for random attention networks (Gaussian weights ``N(0, ws^2/d)``, inputs
    ``N(0, 1)``), with skip connections and, for contrast, the same weights without them.

    One row per (weight scale, skip): per depth l the quantiles (min, median, max) of the ratio
    over ``trials`` networks, from certified brackets at ``bits`` bits (midpoints; a ratio whose
    bracket reaches 0 is reported as its upper end). A measurement, not a verdict."""
    ctx = get_context("arb")
    rng = np.random.default_rng(seed)
    L = max(depths)
    rows = []
    for ws in weight_scales:
        ratios = {True: {l: [] for l in depths}, False: {l: [] for l in depths}}
        for _ in range(trials):
            X = rng.normal(size=(n, d))
            layers = [_random_layer(rng, d, heads, ws, True) for _ in range(L)]
            for skip in (True, False):
                net = Network(d, tuple(Layer(replace(lay.attention, skip=skip)) for lay in layers))
                b = bits
                while True:  # raise the precision until the forward pass is finite (big logits)
                    with ctx.workprec(b):
                        outs = forward(ctx, net, X)
                        if all_finite(ctx, outs[-1]) or b >= 1 << 14:
                            break
                    b *= 2
                with ctx.workprec(b):
                    r0 = residual_bracket(ctx, outs[0])
                    for l in depths:
                        rl = residual_bracket(ctx, outs[l])
                        mid = (rl.lower + rl.upper) / 2 if rl.lower > 0 else rl.upper
                        ratios[skip][l].append(float(mid / ((r0.lower + r0.upper) / 2)))
        for skip in (True, False):
            rows.append({"weight_scale": ws, "skip": skip, "trials": trials, "n": n, "d": d, "H": heads,
                         "quantiles": {l: (min(v), float(np.median(v)), max(v)) for l, v in ratios[skip].items()}})
    return rows
