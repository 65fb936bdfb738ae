"""Self-attention networks (THEORY 2), one implementation for every number context.

A layer is an attention sublayer followed by an optional MLP sublayer. A sublayer F with
input Z computes (THEORY 6)::

    no LayerNorm:  F(Z) + (Z if skip else 0)
    pre-LN:        F(LN(Z)) + (Z if skip else 0)
    post-LN:       LN(F(Z) + (Z if skip else 0))

Head h: ``P_h = softmax_rows((X W_Q + 1 b_Q^T)(X W_K + 1 b_K^T)^T / sqrt(d_qk))`` and
``SA_h(X) = P_h X W_V + 1 b_V^T``; the attention sublayer is ``sum_h SA_h(X) W_O,h + 1 b_O^T``.
Parameters are stored exactly (double arrays, or object arrays of Fractions read from decimal
strings); a :class:`~numerics.context.Context` encloses them at its working precision.

>>> from numerics.context import get_context
>>> net = single_head([[1.0]], [[1.0]], [[1.0]])           # d = d_qk = 1
>>> X = [["0"], ["1"]]
>>> outs = forward(net, X, get_context("float64"))
>>> [round(float(v), 6) for v in outs[1][:, 0]]            # both tokens move to the softmax average
[0.5, 0.731059]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .context import Context
from .exact import exact_array

__all__ = ["Head", "LayerNorm", "Attention", "MLP", "Layer", "Network", "forward",
           "attention_probs", "single_head", "as_exact", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "gelu", "tanh")


def as_exact(A):
    """Keep doubles as doubles (exact, fast); everything else as exact Fractions."""
    if A is None:
        return None
    A = np.asarray(A, dtype=None if isinstance(A, np.ndarray) else object)
    if A.dtype.kind in "fi":
        return A.astype(np.float64)
    return exact_array(A)


def _frozen_arrays(obj, names):
    for name in names:
        object.__setattr__(obj, name, as_exact(getattr(obj, name)))


@dataclass(frozen=True)
class Head:
    """One attention head. ``W_O`` absent means the identity; absent biases are zero."""

    W_Q: np.ndarray
    W_K: np.ndarray
    W_V: np.ndarray
    W_O: np.ndarray | None = None
    b_Q: np.ndarray | None = None
    b_K: np.ndarray | None = None
    b_V: np.ndarray | None = None

    def __post_init__(self):
        _frozen_arrays(self, ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V"))


@dataclass(frozen=True)
class LayerNorm:
    """Row-wise ``gain * (y - mean) / sqrt(var + eps) + bias`` with the biased variance."""

    position: str = "pre"
    gain: np.ndarray | None = None
    bias: np.ndarray | None = None
    eps: object = 0

    def __post_init__(self):
        _frozen_arrays(self, ("gain", "bias"))


@dataclass(frozen=True)
class Attention:
    heads: tuple[Head, ...]
    b_O: np.ndarray | None = None
    skip: bool = False
    layernorm: LayerNorm | None = None

    def __post_init__(self):
        object.__setattr__(self, "heads", tuple(self.heads))
        _frozen_arrays(self, ("b_O",))


@dataclass(frozen=True)
class MLP:
    """``f(Y) = s(Y W1 + 1 b1^T) W2 + 1 b2^T`` with s one of ``ACTIVATIONS``."""

    W1: np.ndarray
    W2: np.ndarray
    b1: np.ndarray | None = None
    b2: np.ndarray | None = None
    activation: str = "relu"
    skip: bool = False
    layernorm: LayerNorm | None = None

    def __post_init__(self):
        _frozen_arrays(self, ("W1", "W2", "b1", "b2"))


@dataclass(frozen=True)
class Layer:
    attention: Attention
    mlp: MLP | None = None


@dataclass(frozen=True)
class Network:
    d_qk: int
    layers: tuple[Layer, ...] = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))

    @property
    def depth(self) -> int:
        return len(self.layers)


def single_head(W_Q, W_K, W_V, depth: int = 1, d_qk: int | None = None) -> Network:
    """The paper's pure single-head SAN: the same head repeated ``depth`` times."""
    head = Head(W_Q, W_K, W_V)
    return Network(d_qk=d_qk or head.W_Q.shape[1],
                   layers=tuple(Layer(Attention((head,))) for _ in range(depth)))


# -- forward pass ----------------------------------------------------------------------

def _row(ctx: Context, b):
    """A bias vector as a 1 x k row (broadcasts as ``1 b^T``); None stays None."""
    return None if b is None else ctx.array(b).reshape(1, -1)


def _add_bias(Y, b):
    return Y if b is None else Y + b


def softmax_rows(ctx: Context, S, key_mask=None):
    """Row-wise softmax. Each row is shifted by an exact number at its largest entry, which
    changes nothing mathematically and keeps exp from overflowing; being exact (not a double
    near the maximum) it leaves exp arguments as small as the row's spread, which near rank
    collapse is tiny and makes high-precision exp cheap. Masked keys get probability exactly 0."""
    F = ctx.to_float(S)
    if key_mask is not None:
        F = np.where(key_mask, F, -np.inf)
    shift = ctx.centers(S[np.arange(S.shape[0]), np.argmax(F, axis=1)]).reshape(-1, 1)
    if key_mask is not None:  # masked logits are replaced before exp so they cannot overflow
        S = np.where(key_mask, S, np.broadcast_to(shift, S.shape))
    E = ctx.exp(S - shift)
    if key_mask is not None:
        E = E * ctx.array(key_mask.astype(np.float64))
    return E / E.sum(axis=1, keepdims=True)


def attention_probs(ctx: Context, X, head: Head, d_qk: int, key_mask=None):
    """``P_h`` for input X (a matrix already in ``ctx``)."""
    q = _add_bias(ctx.matmul(X, ctx.array(head.W_Q)), _row(ctx, head.b_Q))
    k = _add_bias(ctx.matmul(X, ctx.array(head.W_K)), _row(ctx, head.b_K))
    S = ctx.matmul(q, k.T) / ctx.sqrt(ctx.array([[d_qk]]))[0, 0]
    return softmax_rows(ctx, S, key_mask)


def _attention(ctx, X, att: Attention, d_qk, key_mask):
    out = None
    for head in att.heads:
        Y = _add_bias(ctx.matmul(attention_probs(ctx, X, head, d_qk, key_mask),
                                 ctx.matmul(X, ctx.array(head.W_V))), _row(ctx, head.b_V))
        if head.W_O is not None:
            Y = ctx.matmul(Y, ctx.array(head.W_O))
        out = Y if out is None else out + Y
    return _add_bias(out, _row(ctx, att.b_O))


def activation(ctx: Context, name: str, Y):
    if name == "relu":
        return ctx.relu(Y)
    if name == "tanh":
        return ctx.tanh(Y)
    if name == "gelu":  # the exact (erf) GELU, as in BERT
        root2 = ctx.sqrt(ctx.array([[2]]))[0, 0]
        return Y * (1 + ctx.erf(Y / root2)) / 2
    raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def _mlp(ctx, Y, mlp: MLP):
    hidden = activation(ctx, mlp.activation, _add_bias(ctx.matmul(Y, ctx.array(mlp.W1)), _row(ctx, mlp.b1)))
    return _add_bias(ctx.matmul(hidden, ctx.array(mlp.W2)), _row(ctx, mlp.b2))


def layer_norm(ctx: Context, Y, ln: LayerNorm):
    d = Y.shape[1]
    mean = Y.sum(axis=1, keepdims=True) / d
    C = Y - mean
    var = (C * C).sum(axis=1, keepdims=True) / d
    out = C / ctx.sqrt(var + ctx.array([[ln.eps]]))
    if ln.gain is not None:
        out = out * ctx.array(ln.gain).reshape(1, -1)
    return _add_bias(out, _row(ctx, ln.bias))


def _sublayer(ctx, Z, F, skip: bool, ln: LayerNorm | None):
    inp = layer_norm(ctx, Z, ln) if ln is not None and ln.position == "pre" else Z
    out = F(inp)
    if skip:
        out = out + Z
    return layer_norm(ctx, out, ln) if ln is not None and ln.position == "post" else out


def layer_forward(ctx: Context, X, layer: Layer, d_qk: int, key_mask=None):
    att = layer.attention
    Y = _sublayer(ctx, X, lambda Z: _attention(ctx, Z, att, d_qk, key_mask), att.skip, att.layernorm)
    if layer.mlp is not None:
        m = layer.mlp
        Y = _sublayer(ctx, Y, lambda Z: _mlp(ctx, Z, m), m.skip, m.layernorm)
    return Y


def forward(net: Network, X, ctx: Context, key_mask=None) -> list:
    """``[X^0, X^1, ..., X^L]``: the input and every layer's output, in ``ctx``.

    ``key_mask`` (optional, n booleans) excludes padding keys from every softmax.
    """
    Xl = ctx.array(as_exact(X))
    mask = None if key_mask is None else np.asarray(key_mask, dtype=bool).reshape(1, -1)
    outs = [Xl]
    for layer in net.layers:
        Xl = layer_forward(ctx, Xl, layer, net.d_qk, mask)
        outs.append(Xl)
    return outs

