"""The explicit bounds of docs/theory.md §4 and the published forms, evaluated in any number context.

* :func:`one_step_bound` -- Lemmas E1/E2 with the actual attention of a layer (and E3's MLP
  factor). It tracks a pair ``(u, v)`` bounding ``||Res||_1`` and ``||Res||_inf`` of one
  representative residual, and only takes the geometric mean at the end, because the
  composite "norm" must never be added (docs/theory.md §1).
* :func:`apriori_bounds` -- Theorem E4: ``B_l = lam_l 4 Gamma_l beta_l H s B_{l-1}^3``.
* :func:`published_bounds` -- Thm 2.2 / Cor 2.3 / Cor 3.2 as published, with gamma = 1:
  ``P_l = (4 beta_l H lam_l s) P_{l-1}^3``, ``P_0 = r(X)``.

A bound that does not apply to a layer is ``None`` from that layer on: LayerNorm anywhere, a
mask or an attention variant other than the paper's softmax (the lemmas are proved for it
alone: under a mask each row normalises over its own keys and Step 1's common ``pi`` is gone,
``docs/theory.md``), and for E4 and the published forms a skip connection.

>>> from rankcollapse.numerics.context import get_context
>>> from rankcollapse.numerics.network import single_head
>>> ctx = get_context("arb")
>>> net = single_head([[1.0]], [[1.0]], [[1.0]], depth=3)
>>> B = apriori_bounds(ctx, net, n=2, B0=ctx.number("0.1"))
>>> [f"{float(ctx.to_float(b)):.3g}" for b in B]             # doubly exponential decay
['0.1', '0.00286', '6.6e-08', '8.11e-22']
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from .context import Context
from .network import Layer, Network, Split, scale_s
from .variants import softmax_rows
from .norms import norm_1, norm_inf

__all__ = ["one_step_bound", "apriori_bounds", "published_bounds", "layer_constants", "phi", "AtLeast",
           "published_closed_form"]


# e^T_MAX ~ 10^28462. A bound whose exponent exceeds it is vacuous for any real input, and
# balls cannot enclose e^t for astronomically large t (they become [+/- inf]), so beyond it
# the bounds keep a certified *lower* end only (every bound here is increasing in t).
T_MAX = 2 ** 16


@dataclass(frozen=True)
class AtLeast:
    """A bound known only from below: ``value``'s lower end is a certified lower bound of the
    true bound, whose upper end is unknown (reported as +inf)."""

    value: object


def _lower_if_saturated(pieces, combine):
    """``combine(*values)`` of nonnegative, increasing ingredients, some maybe ``AtLeast``."""
    values = [p.value if isinstance(p, AtLeast) else p for p in pieces]
    out = combine(*values)
    return AtLeast(out) if any(isinstance(p, AtLeast) for p in pieces) else out


def _expm1(ctx: Context, t):
    """``e^t - 1`` for a scalar ``t >= 0``; an ``AtLeast`` past ``T_MAX``."""
    if ctx.hi(t) <= T_MAX:
        return ctx.expm1(t)
    return AtLeast(ctx.expm1(ctx.number(_clamp(ctx.lo(t)))))


def _clamp(t_lo):
    """A point in [0, T_MAX] below the true t >= 0 (its enclosure's lower end may be -inf)."""
    return min(max(t_lo, 0), T_MAX)


def phi(ctx: Context, t):
    """``phi(t) = (e^t - 1)/t`` with ``phi(0) = 1``, for ``t >= 0``. phi is increasing, so a ``t``
    whose enclosure touches 0 gives ``[1, phi(hi t)]``; expm1 keeps tiny t accurate; past
    ``T_MAX`` only a lower end is kept."""
    if ctx.hi(t) == 0:
        return ctx.number(1)
    if ctx.hi(t) > T_MAX:
        return AtLeast(phi(ctx, ctx.number(_clamp(ctx.lo(t)))))
    if ctx.lo(t) > 0:
        return ctx.expm1(t) / t
    top = ctx.number(ctx.hi(t))
    return ctx.hull(ctx.number(1), ctx.expm1(top) / top)


@functools.cache
def _lipschitz_digits(activation: str, digits: int) -> str:
    # imported here: SymPy and the proofs take ~2 s to import, and only MLP bounds need them
    # (a real-model worker computes attention-only bounds)
    import sympy

    from rankcollapse.proofs.mlp import lipschitz_constant

    return str(sympy.N(lipschitz_constant(activation), digits))


def lipschitz(ctx: Context, activation: str):
    """The activation's Lipschitz constant (proved in ``rankcollapse.proofs.mlp``), enclosed in ``ctx``: the
    SymPy value to prec + 20 digits, widened by 10^-(prec + 10)."""
    digits = int(ctx.prec * 0.30103) + 20
    value = ctx.number(_lipschitz_digits(activation, digits))
    pad = ctx.number(f"1e-{digits - 10}")
    return ctx.hull(value - pad, value + pad)


def _W_QK(ctx, head):
    return ctx.matmul(ctx.array(head.W_Q), ctx.array(head.W_K).T)


def _W_h(ctx, head):
    W = ctx.array(head.W_V)
    return W if head.W_O is None else ctx.matmul(W, ctx.array(head.W_O))


def _has_layernorm(layer: Layer) -> bool:
    return layer.attention.layernorm is not None or (layer.mlp is not None and layer.mlp.layernorm is not None)


def _lemmas_apply(layer: Layer) -> bool:
    """Lemmas E1-E3 are proved for unmasked softmax attention without LayerNorm."""
    return layer.attention.plain and not _has_layernorm(layer)


def _mlp_factors(ctx, mlp):
    """E3 per norm: ``(L_s ||W1||_1 ||W2||_1, L_s ||W1||_inf ||W2||_inf)``."""
    L = lipschitz(ctx, mlp.activation)
    W1, W2 = ctx.array(mlp.W1), ctx.array(mlp.W2)
    return L * norm_1(ctx, W1) * norm_1(ctx, W2), L * norm_inf(ctx, W1) * norm_inf(ctx, W2)


def one_step_bound(ctx: Context, Z: Split, x_R, layer: Layer, d_qk: int):
    """An enclosure of the E1/E2 (x E3) bound on ``r(layer(X))`` (docs/theory.md §4) for the input
    ``X = 1 c^T + R`` (a :class:`~rankcollapse.numerics.network.Split` in ``ctx``) at the point
    ``x = c + x_R``, ``x_R`` exact: then ``X - 1 x^T = R - 1 x_R^T`` exactly, so the bound's
    residual keeps R's relative accuracy. The lemmas hold for every point x, hence for the
    true one, whose enclosure is ``c + x_R``. ``None`` for a layer the lemmas do not cover
    (LayerNorm, a mask, another attention variant)."""
    if not _lemmas_apply(layer):
        return None
    n = Z.R.shape[0]
    x_R = ctx.array(x_R).reshape(1, -1)
    xc = (Z.c + x_R).reshape(-1, 1)
    R = Z.R - x_R
    s = scale_s(ctx, d_qk)
    u, v = norm_1(ctx, R), norm_inf(ctx, R)
    A1 = Ainf = ctx.number(0)
    for head in layer.attention.heads:
        # E = s R W_QK R^T and the logits of x's query, r = s R W_K (W_Q^T x + b_Q), through the
        # d_qk-wide products R W_Q and R W_K: a tenth of the operations of forming R W_QK.
        # ctx.matmul: one arb_mat product in balls, not numpy's loop over Python objects (~100x)
        W_Q, R_K = ctx.array(head.W_Q), ctx.matmul(R, ctx.array(head.W_K))
        E = ctx.matmul(ctx.matmul(R, W_Q), R_K.T) * s  # array first: mpmath's iv scalar * ndarray raises
        q = ctx.matmul(W_Q.T, xc)
        if head.b_Q is not None:
            q = q + ctx.array(head.b_Q).reshape(-1, 1)
        pi = softmax_rows(ctx, (ctx.matmul(R_K, q) * s).T)[0]
        c = _expm1(ctx, ctx.max(ctx.max(E, axis=1) - ctx.min(E, axis=1)))  # max_i expm1(t_i) = expm1(max_i t_i)
        W_h = _W_h(ctx, head)
        A1 = _lower_if_saturated([A1, c], lambda a, c: a + n * c * ctx.max(pi) * norm_1(ctx, W_h))
        Ainf = _lower_if_saturated([Ainf, c], lambda a, c: a + c * norm_inf(ctx, W_h))
    return _lower_if_saturated([A1, Ainf], lambda A1, Ainf: _finish_one_step(ctx, layer, A1 * u, Ainf * v, u, v))


def _finish_one_step(ctx, layer, u_out, v_out, u, v):
    """Skip connection and MLP (E3, per norm), then the geometric mean."""
    if layer.attention.skip:
        u_out, v_out = u_out + u, v_out + v
    if layer.mlp is not None:
        f1, finf = _mlp_factors(ctx, layer.mlp)
        u_out, v_out = (f1 * u_out + (u_out if layer.mlp.skip else 0),
                        finf * v_out + (v_out if layer.mlp.skip else 0))
    return ctx.sqrt_nonneg(u_out * v_out)


def layer_constants(ctx: Context, layer: Layer):
    """``(kappa, beta_E2, beta_published, H, lam)`` of a layer (docs/theory.md §4 and Cor 2.3):
    ``kappa = max_h ||W_QK,h||_1``, ``beta_E2 = sqrt(max_h k_h||W_h||_1 * max_h k_h||W_h||_inf)``,
    ``beta_published = max_h k_h ||W_h||_{1,inf}`` with ``W_h = W_V,h W_O,h``, and the MLP's
    ``lam = L_s ||W1||_{1,inf} ||W2||_{1,inf}`` (1 without an MLP)."""
    k, m1, minf, mc = [], [], [], []
    for head in layer.attention.heads:
        kh, W_h = norm_1(ctx, _W_QK(ctx, head)), _W_h(ctx, head)
        a, b = kh * norm_1(ctx, W_h), kh * norm_inf(ctx, W_h)
        k.append(kh), m1.append(a), minf.append(b), mc.append(ctx.sqrt_nonneg(a * b))
    lam = ctx.number(1)
    if layer.mlp is not None:
        f1, finf = _mlp_factors(ctx, layer.mlp)
        lam = ctx.sqrt_nonneg(f1 * finf)
    return ctx.max(k), ctx.sqrt_nonneg(ctx.max(m1) * ctx.max(minf)), ctx.max(mc), len(layer.attention.heads), lam


def _applies(layer: Layer) -> bool:
    """E4 and the published forms are stated for unmasked softmax attention (+ MLP) without skips
    or LayerNorm."""
    return _lemmas_apply(layer) and not (layer.attention.skip or (layer.mlp is not None and layer.mlp.skip))


def _recurrence(ctx: Context, net: Network, start, step) -> list:
    """``[start, step(layer, previous), ...]`` while the layers are ones E4 and the published
    forms are stated for; ``None`` from the first layer that is not."""
    out, value = [start], start
    for layer in net.layers:
        value = None if value is None or not _applies(layer) else step(layer, value)
        out.append(value)
    return out


def apriori_bounds(ctx: Context, net: Network, n: int, B0) -> list:
    """Theorem E4: ``[B_0, ..., B_L]`` with ``B_0 >= ||X - 1x^T||_{1,inf}``."""
    s = scale_s(ctx, net.d_qk)

    def step(layer, B):
        kappa, beta, _, H, lam = layer_constants(ctx, layer)
        Bv = B.value if isinstance(B, AtLeast) else B
        Gamma = phi(ctx, 2 * s * kappa * Bv * Bv)
        return _lower_if_saturated([B, Gamma], lambda B, G: lam * 4 * ctx.sqrt(ctx.number(n)) / 2 * G
                                   * beta * H * s * B * B * B)
    return _recurrence(ctx, net, B0, step)


def published_bounds(ctx: Context, net: Network, r0) -> list:
    """The published forms with gamma = 1: ``[P_0 = r(X), P_1, ..., P_L]``."""
    s = scale_s(ctx, net.d_qk)

    def step(layer, P):
        _, _, beta, H, lam = layer_constants(ctx, layer)
        return 4 * beta * H * lam * s * P * P * P
    return _recurrence(ctx, net, r0, step)


def published_closed_form(depth: int, heads: int, beta, gamma, d_qk, r0, lam="1", eps="1e-100") -> dict:
    """The published bound ``a^((3^L-1)/2) r0^(3^L)``, ``a = 4 gamma beta H lam / sqrt(d_qk)``, in
    mpmath at the digits ``3^L`` needs (log space, so depth 40 neither overflows nor hangs).

    >>> res = published_closed_form(40, 1, "0.1", "1", "1", "0.5")
    >>> res["value"], res["contracts"], res["depth_to_eps"]
    ('5.0e-6078832729528464401', True, 5)
    """
    import mpmath

    from .exact import to_fraction

    if not isinstance(depth, int) or depth < 0 or not isinstance(heads, int) or heads < 1:
        raise ValueError(f"--depth must be >= 0 and --heads >= 1, got {depth} and {heads}")
    vals = {}
    for name, v in (("beta", beta), ("gamma", gamma), ("dqk", d_qk), ("r0", r0), ("lam", lam), ("eps", eps)):
        try:
            vals[name] = to_fraction(v)
        except (ValueError, TypeError, ZeroDivisionError) as e:
            raise ValueError(f"--{name}: {v!r} is not a decimal number ({e})") from None
        if vals[name] <= 0:
            raise ValueError(f"--{name} must be positive, got {v}")
    with mpmath.workdps(32 + int(depth * math.log10(3))):  # the digits of 3^depth, and 30 more
        q = lambda name: mpmath.mpf(vals[name].numerator) / vals[name].denominator  # noqa: E731
        a = 4 * q("gamma") * q("beta") * heads * q("lam") / mpmath.sqrt(q("dqk"))
        log10_a, log10_r0 = mpmath.log10(a), mpmath.log10(q("r0"))  # once: the depth search below takes up to 65
        log10_B = lambda L: mpmath.mpf(3 ** L - 1) / 2 * log10_a + 3 ** L * log10_r0  # noqa: E731
        log10_value = log10_B(depth)
        contraction = mpmath.sqrt(a) * q("r0")
        # B_L is doubly exponential in L, so a few steps settle the depth to eps; stop at 64.
        target = mpmath.log10(q("eps"))
        depth_to_eps = next((L for L in range(65) if log10_B(L) <= target), None)
        return {"value": mpmath.nstr(mpmath.power(10, log10_value), 17),
                "log10": mpmath.nstr(log10_value, 17), "a": mpmath.nstr(a, 17),
                "sqrt_a_r0": mpmath.nstr(contraction, 17), "contracts": bool(contraction < 1),
                "depth_to_eps": depth_to_eps}
