"""Numeric check of the path decomposition (Thm 2.1) and the path-length statistics.

**The identity.** For a network of attention layers (several heads with ``W_O`` and every bias,
with or without skip connections), with ``P^l_h`` the attention of head h in layer l *on that
layer's actual input* ``X^(l-1)``:

    X^L = sum_{paths} P^L_{h_L} ... P^1_{h_1} X W^1_{h_1} ... W^L_{h_L} + 1 b_total^T,

``W^l_h = W_V,h W_O,h``, and a skip layer offers one more "head" ``h = 0`` with ``P_0 = W_0 = I``.
Every bias is row-constant: layer l adds ``1 b_l^T`` with ``b_l^T = sum_h b_V,h^T W_O,h + b_O^T``,
and a later layer m maps ``1 c^T`` to ``sum_h P^m_h 1 c^T W^m_h = 1 c^T (sum_h W^m_h)`` because
``P 1 = 1`` (plus ``1 c^T`` itself through a skip). So (``rankcollapse.proofs.paths``, Step 6)

    b_total^T = sum_l b_l^T prod_{m > l} (sum_h W^m_h  [+ I if layer m has a skip]).

**The verdict.** :func:`path_pairs` computes both sides in arb and asserts
``|X^L - path sum|_max <= tol`` with ``tol = 2^(-bits/2) * S``, S the size of what is summed
(the largest entry of ``sum_paths |P_path X W_path| + |1 b_total^T|``, at least 1). Why this
tolerance: the two sides are different computations with transcendental steps (softmax), so
their enclosures are never identical and an exact ``0`` can never be certified; what can be
certified is that the difference is smaller than any fixed fraction of the scale. Rounding in
arb at ``bits`` bits leaves a difference of order ``2^-bits * S`` (times a small growth factor),
far below ``2^(-bits/2) S``; a real mistake in the decomposition (a wrong order of factors, a
missing bias term) leaves a difference of order S, far above it. ``violated`` needs the
certified *lower* end of the difference to exceed the tolerance, so it proves the identity
false whatever the tolerance; ``holds`` proves ``|difference| <= 2^(-bits/2) S``, and raising the
precision makes that as strong as wanted.

**Path lengths.** :func:`length_table` gives, for named architectures with skip connections, the
exact share ``C(L,k) H^k / (1+H)^L`` of paths of each length (``rankcollapse.proofs.paths``), as exact
integers, with summaries computed in log space (``97^96`` has 191 digits).

>>> row = length_table(12, 12)
>>> row["mean"], row["modes"], f"{row['share_le_half']:.3g}", f"{row['share_full']:.3g}"
(Fraction(144, 13), (11, 12), '0.000127', '0.383')
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import product

import numpy as np

from rankcollapse.proofs.paths import path_counts

from ..context import Context
from ..network import Attention, LayerNorm, Network, attention_probs, forward, layer_norm
from ..strategies import network_cases
from ...proofs import paths as claims
from . import NumericCheck, register
from .steps import UNDECIDED, all_finite

__all__ = ["layer_bias", "path_forward", "path_labels", "path_terms", "path_pairs", "ARCHITECTURES", "length_table", "THM21"]


def _W_h(ctx, head):
    W = ctx.array(head.W_V)
    return W if head.W_O is None else W @ ctx.array(head.W_O)


def layer_bias(ctx: Context, att: Attention, d: int):
    """``b_l^T = sum_h b_V,h^T W_O,h + b_O^T`` as a 1 x d row (exact zeros if there is none)."""
    b = ctx.array(np.zeros((1, d)))
    for head in att.heads:
        if head.b_V is not None:
            bv = ctx.array(head.b_V).reshape(1, -1)
            b = b + (bv if head.W_O is None else bv @ ctx.array(head.W_O))
    if att.b_O is not None:
        b = b + ctx.array(att.b_O).reshape(1, -1)
    return b


def path_forward(ctx: Context, net: Network, path, X, probs=None, bias: bool = False,
                 layernorm: LayerNorm | None = None) -> list:
    """The states along one path ``(h_1, ..., h_L)``: ``[X, X_1, ...]``, one state per layer with
    ``h_l >= 1`` (head ``h_l`` of layer l); ``h_l = 0`` is the identity (a skip) and adds none.

    A step maps ``Y -> P Y W_V,h W_O,h``. With ``probs`` (``probs[l][h-1]``: the attention of head h
    of layer l in the full network's forward pass) the P's are fixed and the last state is the
    path's term ``P_path X W_path`` of Thm 2.1 (:func:`path_terms`). Without, each P is the
    head's attention on the path's own state: the path run as a network of its own, as in the
    paper's path-length experiment, where each step also adds the head's biases (``bias``:
    ``(P Y W_V + 1 b_V^T) W_O + 1 b_O^T``) and is followed by ``layernorm``."""
    states = [X]
    for l, (layer, h) in enumerate(zip(net.layers, path)):
        if h == 0:
            continue
        head = layer.attention.heads[h - 1]
        P = probs[l][h - 1] if probs is not None else attention_probs(ctx, X, head, net.d_qk)
        if bias:
            X = P @ (X @ ctx.array(head.W_V))
            if head.b_V is not None:
                X = X + ctx.array(head.b_V).reshape(1, -1)
            if head.W_O is not None:
                X = X @ ctx.array(head.W_O)
            if layer.attention.b_O is not None:
                X = X + ctx.array(layer.attention.b_O).reshape(1, -1)
        else:
            X = P @ (X @ _W_h(ctx, head))
        if layernorm is not None:
            X = layer_norm(ctx, X, layernorm)
        states.append(X)
    return states


def path_labels(net: Network):
    """Every path ``(h_1, ..., h_L)`` of the network: ``h = 0`` (the identity) where a layer has a
    skip connection, the heads ``1..H_l`` everywhere."""
    return product(*[range(0 if layer.attention.skip else 1, len(layer.attention.heads) + 1)
                     for layer in net.layers])


def path_terms(ctx: Context, net: Network, X):
    """``(outs, terms, b_total)``: the forward pass, the list of ``((h_1..h_L), P_path X W_path)``
    and the propagated bias row, all in ``ctx``. Layers with LayerNorm or an MLP are refused
    (Thm 2.1 is about attention layers)."""
    if any(l.mlp is not None or l.attention.layernorm is not None for l in net.layers):
        raise ValueError("the path decomposition is stated for attention layers only")
    outs = forward(ctx, net, X)
    d = outs[0].shape[1]
    probs = [[attention_probs(ctx, outs[l], head, net.d_qk) for head in layer.attention.heads]
             for l, layer in enumerate(net.layers)]
    terms = [(path, path_forward(ctx, net, path, outs[0], probs)[-1]) for path in path_labels(net)]
    # sum_h W^m_h, plus I through a skip: what a row-constant 1 c^T entering layer m becomes
    carry = [sum((_W_h(ctx, head) for head in layer.attention.heads),
                 ctx.array(np.eye(d) if layer.attention.skip else np.zeros((d, d)))) for layer in net.layers]
    b_total = ctx.array(np.zeros((1, d)))
    for l, layer in enumerate(net.layers):
        b = layer_bias(ctx, layer.attention, d)
        for C in carry[l + 1:]:
            b = b @ C
        b_total = b_total + b
    return outs, terms, b_total


def path_pairs(ctx: Context, case):
    """``|X^L - (path sum + 1 b_total^T)|_max <= 2^(-bits/2) S`` (see the module docstring)."""
    outs, terms, b_total = path_terms(ctx, case.net, case.X)
    if not (all_finite(ctx, outs[-1]) and all(all_finite(ctx, T) for _, T in terms)):
        return [UNDECIDED]
    total = sum((T for _, T in terms), np.broadcast_to(b_total, outs[-1].shape))
    size = sum((abs(T) for _, T in terms), abs(np.broadcast_to(b_total, outs[-1].shape)))
    S = max(Fraction(1), ctx.hi(ctx.max(size)))
    tol = S / 2 ** (ctx.prec // 2)
    diff = ctx.max(abs(outs[-1] - total))
    return [((ctx.lo(diff), ctx.hi(diff)), (tol, tol))]


THM21 = register(NumericCheck(
    claims.THM21, lambda: network_cases(max_depth=3, max_heads=3, skip=None, mlp=False), path_pairs,
    {"quick": 10, "default": 50, "thorough": 500},
    "X^L against the sum over paths P_path X W_path + 1 b_total^T (multi-head, W_O, biases, "
    "skips drawn per layer): |difference| <= 2^(-bits/2) x scale"))


# ----------------------------------------------------------------------------- path lengths
ARCHITECTURES = {  # name -> (layers L, heads H per layer)
    "BERT-base": (12, 12),
    "BERT-large": (24, 16),
    "GPT-2 small": (12, 12),
    "GPT-2 XL": (48, 25),
    "GPT-3 175B": (96, 96),
}


def _log10_int(k: int) -> float:
    """log10 of a positive integer of any size."""
    return math.log10(k) if k < 1 << 1000 else (k.bit_length() - 1000) * math.log10(2) + math.log10(k >> (k.bit_length() - 1000))


def length_table(L: int, H: int) -> dict:
    """Exact path-length statistics with skip connections: lengths k = 0..L with shares
    ``C(L,k) H^k / (1+H)^L`` (from :func:`rankcollapse.proofs.paths.path_counts`).

    Returns ``total`` (the exact integer ``(1+H)^L``), ``log10_total``, ``counts`` (exact), ``log10_share``
    (per k, in log space so that 1e-190 is no problem), ``mean`` (exact, = L H / (1+H)),
    ``modes`` (the most frequent lengths: ``C(L,k) H^k`` can tie, e.g. k = L - 1 and L when
    H = L), ``share_le_half`` (share of paths of length <= L/2), ``share_full`` (length L) and
    ``share_le`` (cumulative shares).
    """
    counts = path_counts(L, H, skip=True)
    total = (1 + H) ** L
    assert sum(counts.values()) == total
    log_total = _log10_int(total)
    cumulative, acc = {}, 0
    for k in range(L + 1):
        acc += counts[k]
        cumulative[k] = Fraction(acc, total)
    return {
        "L": L, "H": H, "total": total, "log10_total": log_total, "counts": counts,
        "log10_share": {k: _log10_int(c) - log_total for k, c in counts.items()},
        "mean": Fraction(sum(k * c for k, c in counts.items()), total),
        "modes": tuple(k for k, c in counts.items() if c == max(counts.values())),
        "share_le_half": float(cumulative[L // 2]),
        "share_full": float(Fraction(counts[L], total)),
        "share_le": cumulative,
    }
