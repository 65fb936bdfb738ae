"""Numeric checks of the multi-head claims: Lemma E2 and the published Cor 2.3, and the
"gamma needed" measurement.

* ``E2`` (theorem): one multi-head layer (1-3 heads, each with ``W_O`` and every bias; no skip,
  MLP or LayerNorm). The certified bracket of ``r(SA(X))`` against Lemma E2's bound with the
  layer's actual attention (:func:`rankcollapse.numerics.bounds.one_step_bound`: the heads are summed in
  ``||.||_1`` and ``||.||_inf`` separately, the geometric mean is taken last).
* ``cor2.3`` (published): multi-head networks of depth 1-3 against the published bound with
  gamma = 1 and the per-head composite beta, ``P_l = 4 beta_l H lam s P_(l-1)^3``, ``P_0 = r(X)``
  (:func:`rankcollapse.numerics.bounds.published_bounds`). An adversarial search: E2 does not imply it.

:func:`gamma_needed` measures, layer by layer, the gamma a single step would need,
``r(X^l) / (4 beta H lam s r(X^(l-1))^3)`` (published per-head beta), as a certified bracket:
one step of the published form with gamma = 1, from the layer's actual input, holds iff this is
<= 1; if it is <= 1 at every layer, the published bound (from ``P_0 = r(X)``) holds at every
depth.

>>> from rankcollapse.numerics.examples import contracting_single_head
>>> case = contracting_single_head(n=4, d=3, depth=2)
>>> [f"{float(g.lower):.3g}" for g in gamma_needed(case)]     # both layers well below 1
['0.0092', '0.00134']
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..bounds import layer_constants
from ..certify import bound_pairs
from ..context import Context, get_context
from ..exact import log10_abs
from ..network import MLP, Attention, Head, Layer, Network, forward, scale_s
from ..residual import residual_bracket
from ..strategies import Case, network_cases
from ..verdict import working_precision
from ...proofs import multi_head as claims
from . import NumericCheck, register

__all__ = ["E2", "COR23", "GammaNeeded", "gamma_needed", "random_network", "gamma_needed_survey"]


E2 = register(NumericCheck(
    claims.E2, lambda: network_cases(max_depth=1, max_heads=3, skip=False, mlp=False), bound_pairs("one_step"),
    {"quick": 20, "default": 100, "thorough": 1000},
    "r(SA(X)) against Lemma E2's bound (heads summed per norm) with the actual attention, 1-3 heads"))

COR23 = register(NumericCheck(
    claims.COR23, lambda: network_cases(max_depth=3, max_heads=3, skip=False, mlp=False), bound_pairs("published"),
    {"quick": 20, "default": 100, "thorough": 1000},
    "r(X^l) against (4 beta H s)^((3^l-1)/2) r(X)^(3^l), gamma = 1, per-head composite beta, "
    "multi-head depth 1-3",
    steps=(claims.COR23.step("search"),)))


# ----------------------------------------------------------------------------- gamma needed
@dataclass(frozen=True)
class GammaNeeded:
    """Certified bracket of ``r(X^l) / (4 beta H lam s r(X^(l-1))^3)`` at layer ``layer``."""

    layer: int
    lower: Fraction
    upper: Fraction
    bits: int


def _ratio_at(ctx: Context, net: Network, X, bits: int):
    with ctx.workprec(bits):
        outs = forward(ctx, net, X)
        br = [residual_bracket(ctx, Y) for Y in outs]
        s = scale_s(ctx, net.d_qk)
        out = []
        for l, layer in enumerate(net.layers, start=1):
            if br[l - 1].lower <= 0:
                continue  # r(X^(l-1)) not certified positive: no ratio (r = 0 stays 0)
            _, _, beta, H, lam = layer_constants(ctx, layer)
            a = 4 * beta * H * lam * s
            if ctx.lo(a) <= 0:
                continue
            lo_den = ctx.lo(a) * br[l - 1].lower ** 3
            hi_den = ctx.hi(a) * br[l - 1].upper ** 3
            out.append(GammaNeeded(l, br[l].lower / hi_den, br[l].upper / lo_den, bits))
        return out


def gamma_needed(case, rel_width: float = 1e-6, max_bits: int = 1 << 14) -> list[GammaNeeded]:
    """Per-layer certified brackets of the gamma each layer needs (pure attention [+ MLP] layers
    without skip or LayerNorm). The precision starts from the sizes of the residuals and doubles
    until every bracket is relatively narrower than ``rel_width`` (or ``max_bits``)."""
    ctx = get_context("arb")
    with ctx.workprec(64):
        rough = [residual_bracket(ctx, Y).upper for Y in forward(ctx, case.net, case.X)]
    smallest = min((q for q in rough if q > 0), default=Fraction(1))
    scale = max(1.0, max(abs(float(v)) for v in np.ravel(case.X)))
    bits = working_precision(log10_abs(smallest), float(np.log10(scale)))
    while True:
        out = _ratio_at(ctx, case.net, case.X, bits)
        wide = [g for g in out if g.upper > 0 and (g.upper - g.lower) > Fraction(rel_width) * g.upper]
        if not wide or bits >= max_bits:
            return out
        bits *= 2


def random_network(rng: np.random.Generator, n: int, d: int, heads: int, depth: int,
                   weight_scale: float = 1.0, d_qk: int | None = None, biases: bool = True,
                   mlp: bool = False) -> Network:
    """A pure attention network with Gaussian weights ``N(0, weight_scale^2 / d)`` (``W_O`` for
    several heads, biases ``N(0, 0.1^2)``), optionally with a ReLU MLP (width d) in every layer."""
    d_qk = d_qk or d
    g = lambda *shape: rng.normal(0.0, weight_scale / np.sqrt(d), size=shape)  # noqa: E731
    b = (lambda k: rng.normal(0.0, 0.1, size=k)) if biases else (lambda k: None)  # noqa: E731
    layers = []
    for _ in range(depth):
        hs = tuple(Head(g(d, d_qk), g(d, d_qk), g(d, d), g(d, d) if heads > 1 else None,
                        b(d_qk), b(d_qk), b(d)) for _ in range(heads))
        m = None
        if mlp:
            m = MLP(g(d, d), g(d, d), b(d), b(d), "relu")
        layers.append(Layer(Attention(hs, b(d)), m))
    return Network(d_qk, tuple(layers))


def gamma_needed_survey(seed: int = 0, trials: int = 6, depth: int = 2,
                        configs=((4, 4, 1), (4, 4, 2), (4, 4, 3), (8, 4, 1), (8, 4, 3)),
                        weight_scales=(0.5, 1.0, 2.0)) -> list[dict]:
    """The gamma needed along trajectories of random networks (inputs Gaussian, scale 1).

    One row per (n, d, H, weight scale): the largest certified lower end and upper end of the
    per-layer gamma over ``trials`` networks of ``depth`` layers, and the share of layers that
    need gamma > 1 (certified: lower end > 1)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, d, H in configs:
        for ws in weight_scales:
            gs = []
            for _ in range(trials):
                net = random_network(rng, n, d, H, depth, ws)
                gs += gamma_needed(Case(rng.normal(size=(n, d)), net))
            rows.append({"n": n, "d": d, "H": H, "weight_scale": ws, "layers": len(gs),
                         "max_lower": max((g.lower for g in gs), default=None),
                         "max_upper": max((g.upper for g in gs), default=None),
                         "share_above_1": sum(g.lower > 1 for g in gs) / max(len(gs), 1)})
    return rows
