"""Certified per-layer checks of a network on an input (``rankcollapse check``).

For every layer output ``X^l`` this computes a certified bracket of ``r(X^l)`` and compares it
with three bounds (see :mod:`rankcollapse.numerics.bounds`):

* ``one_step``  -- Lemma E1/E2 (x E3) applied to ``X^(l-1)`` with the layer's actual attention,
* ``E4``        -- the a-priori Theorem E4 from the input alone,
* ``published`` -- Thm 2.2 / Cor 2.3 / Cor 3.2 as published, with gamma = 1 (under a mask:
  applied unchanged, the finding ``thm2.2.causal``),
* ``M1``        -- the explicit one-step bound for a masked attention layer (any mask with a 1
  on the diagonal; :mod:`rankcollapse.numerics.checks.masks`).

The forward pass keeps ``X^l = 1 c_l^T + R_l`` split (:class:`rankcollapse.numerics.network.Split`), so
``R_l`` is enclosed to a *relative* accuracy set by the working precision, however small it
is. The precision therefore starts at ``START_BITS`` and doubles while any verdict is
undecided, up to a cap; what is still undecided there is ``inconclusive``.

>>> from rankcollapse.numerics.network import single_head
>>> net = single_head([["0.5"]], [["1"]], [["1"]], depth=2)
>>> report = check_network(net, [["0"], ["0.25"], ["0.5"]])
>>> [(r.layer, r.verdicts["E4"].verdict) for r in report.layers[1:]]
[(1, 'holds'), (2, 'holds')]
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction


from .bounds import AtLeast, apriori_bounds, one_step_bound, published_bounds
from .context import Context, get_context
from .network import Network, forward_split
from .residual import Bracket, residual_bracket
from .verdict import EQUALITY_CASE, INCONCLUSIVE, MAX_BITS, Verdict, adaptive, decide

__all__ = ["LayerReport", "NetworkReport", "check_network", "bound_pairs", "BOUND_NAMES", "UndefinedLayerNorm"]

BOUND_NAMES = ("one_step", "E4", "published", "M1")

# The forward pass carries R_l apart from the common row (rankcollapse.numerics.network.Split), so the bits a
# verdict needs are those that separate the residual from its bound, not -log2 of either: start
# low and double while undecided.
START_BITS = 128


@dataclass(frozen=True)
class LayerReport:
    layer: int
    residual: Bracket
    bounds: dict          # name -> (lo, hi) exact Fractions, or None where the bound does not apply
    verdicts: dict        # name -> Verdict


@dataclass
class NetworkReport:
    layers: list
    backend: str
    bits: int
    seconds: float
    notes: list = field(default_factory=list)


def _enclosure(ctx: Context, value):
    """``(lo, hi)`` exact ends; a bound known only from below has ``hi = inf``."""
    if value is None:
        return None
    if isinstance(value, AtLeast):
        return ctx.lo(value.value), math.inf
    return ctx.lo(value), ctx.hi(value)


def _bracket(ctx: Context, Y) -> Bracket:
    """The residual bracket; ``[0, inf]`` (and no point x) when an entry has no finite
    enclosure, as happens at low precision when logits are huge: more bits then fix it."""
    try:
        return residual_bracket(ctx, Y)
    except ValueError:  # residual_bracket needs finite entries
        return Bracket(Fraction(0), math.inf, None, ctx.certified, 0, 0.0, ())


def _explained(v: Verdict) -> Verdict:
    """An equality case whose bound lies inside r's bracket: the bracket's relative width (set
    by the residual LP's certificates and its 60-bit square roots, ~1e-18 to 1e-14, not by the
    precision) hides any margin, as at a skip layer whose r barely moves. Say so."""
    (lo, hi), rhs_lo = v.lhs, v.rhs[0]
    if not v.equality_case or isinstance(hi, float) or not lo < rhs_lo < hi:
        return v
    return replace(v, reason=f"{EQUALITY_CASE}: the bound lies inside the bracket of r(X^l), of relative width "
                   f"{float((hi - lo) / hi):.1e} (set by the residual's certificates, not by the precision): "
                   "any margin is smaller than that")


def _evaluate(ctx: Context, net: Network, X) -> list[LayerReport]:
    outs = forward_split(ctx, net, X)
    n = outs[0].R.shape[0]
    brackets = [_bracket(ctx, Z.R) for Z in outs]  # r(X^l) = r(R_l); the points x are R's
    B0 = ctx.number(brackets[0].upper)  # >= ||X - 1 x^T||_{1,inf} at the bracket's point x
    r0 = ctx.hull(ctx.number(brackets[0].lower), ctx.number(brackets[0].upper))
    from .checks.masks import m1_applies, masked_bound, unmasked  # (checks import this module)

    E4 = apriori_bounds(ctx, net, n, B0)
    pub = published_bounds(ctx, unmasked(net), r0)  # a mask changes nothing in the published form
    reports = [LayerReport(0, brackets[0], {}, {})]
    for l, layer in enumerate(net.layers, start=1):
        x = brackets[l - 1].x
        bounds = {"one_step": (-math.inf, math.inf) if x is None else
                  _enclosure(ctx, one_step_bound(ctx, outs[l - 1], x, layer, net.d_qk)),
                  "E4": _enclosure(ctx, E4[l]), "published": _enclosure(ctx, pub[l]),
                  "M1": None if not m1_applies(layer) else (-math.inf, math.inf) if x is None else
                  _enclosure(ctx, masked_bound(ctx, outs[l - 1], x, layer, net.d_qk))}
        lhs = (brackets[l].lower, brackets[l].upper)
        verdicts = {k: _explained(decide(lhs, b, ctx.certified and brackets[l].certified))
                    for k, b in bounds.items() if b is not None}
        reports.append(LayerReport(l, brackets[l], bounds, verdicts))
    return reports


def bound_pairs(name: str):
    """A check function ``(ctx, case) -> [(lhs, rhs), ...]``: ``r(X^l)`` against the bound
    ``name`` for every layer where it applies (see :mod:`rankcollapse.numerics.checks.common`)."""
    def evaluate(ctx, case):
        return [((r.residual.lower, r.residual.upper), r.bounds[name])
                for r in _evaluate(ctx, case.net, case.X)[1:] if r.bounds.get(name) is not None]
    return evaluate


class UndefinedLayerNorm(ValueError):
    """A LayerNorm with eps = 0 met a row of zero variance: 0/0, no value to certify."""


# A layer whose r(X^l) has no finite enclosure yet (e.g. a LayerNorm row variance whose ball
# contains 0): undecided, so that the precision goes up as for an open verdict.
_NO_ENCLOSURE = Verdict(INCONCLUSIVE, (Fraction(0), math.inf), (Fraction(0), math.inf),
                        "r(X^l) has no finite enclosure at this precision")


def _open(layers):
    for r in layers:
        yield from r.verdicts.values()
        if r.residual.upper == math.inf:
            yield _NO_ENCLOSURE


def _zero_eps_layernorm(net: Network, depth: int) -> str | None:
    """The field of the first LayerNorm with eps = 0 in the first ``depth`` layers, if any."""
    for i, layer in enumerate(net.layers[:depth]):
        for name, sub in (("attention", layer.attention), ("mlp", layer.mlp)):
            if sub is not None and sub.layernorm is not None and sub.layernorm.eps == 0:
                return f"layers[{i}].{name}.layernorm"
    return None


def check_network(net: Network, X, backend: str = "arb", max_bits: int = MAX_BITS) -> NetworkReport:
    """Per-layer certified brackets, bounds and verdicts (float64: estimates, never decided).

    Raises :class:`UndefinedLayerNorm` when a residual has no finite enclosure even at
    ``max_bits`` behind a LayerNorm with eps = 0 (a row of zero variance: 0/0)."""
    ctx = get_context(backend)
    t0 = time.perf_counter()
    if not ctx.certified:
        return NetworkReport(_evaluate(ctx, net, X), backend, 53, time.perf_counter() - t0,
                             ["float64 is for exploration: no verdict is decided"])
    layers, bits, undecided = adaptive(lambda b: _run_at(ctx, b, net, X), _open, START_BITS, max_bits)
    notes = [undecided] if undecided else []
    unenclosed = [r.layer for r in layers if r.residual.upper == math.inf]
    if unenclosed:
        ln = _zero_eps_layernorm(net, unenclosed[0])
        if ln is not None:
            raise UndefinedLayerNorm(f"{ln}.eps: eps = 0 and a row reaching this LayerNorm has zero variance (or "
                                     f"one too close to 0 to certify at {bits} bits): LayerNorm is 0/0 there; "
                                     "give eps > 0")
        notes.append(f"r(X^{unenclosed[0]}) has no finite enclosure at {bits} bits")
    return NetworkReport(layers, backend, bits, time.perf_counter() - t0, notes)


def _run_at(ctx, bits, net, X):
    with ctx.workprec(bits):
        return _evaluate(ctx, net, X)
