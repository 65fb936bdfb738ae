"""Self-attention networks (docs/theory.md §2), one implementation for every number context.

A layer is an attention sublayer followed by an optional MLP sublayer. A sublayer F with
input Z computes (docs/theory.md §6)::

    no LayerNorm:  F(Z) + (Z if skip else 0)
    pre-LN:        F(LN(Z)) + (Z if skip else 0)
    post-LN:       LN(F(Z) + (Z if skip else 0))

Head h: ``P_h = softmax_rows((X W_Q + 1 b_Q^T)(X W_K + 1 b_K^T)^T / sqrt(d_qk))`` and
``SA_h(X) = P_h X W_V + 1 b_V^T``; the attention sublayer is ``sum_h SA_h(X) W_O,h + 1 b_O^T``.
A head may add relative positional logits (:class:`Relative`, XLNet and Transformer-XL):
``s (X W_Q + 1 b_R^T)_i . (E_{i-j} W_R)`` with ``E_t`` the sinusoid encoding of the distance
``t = i - j``. Parameters are stored exactly (double arrays, or object arrays of Fractions read
from decimal strings); a :class:`~rankcollapse.numerics.context.Context` encloses them at its
working precision.

>>> from rankcollapse.numerics.context import get_context
>>> net = single_head([[1.0]], [[1.0]], [[1.0]])           # d = d_qk = 1
>>> X = [["0"], ["1"]]
>>> outs = forward(get_context("float64"), net, X)
>>> [round(float(v), 6) for v in outs[1][:, 0]]            # both tokens move to the softmax average
[0.5, 0.731059]

The pass carries every layer as a :class:`Split` ``1 c^T + R``, so a residual far below the
precision stays accurate (two layers on tokens ``1/2`` and ``1/2 + 2^-40``, at 64 bits):

>>> from fractions import Fraction
>>> ctx = get_context("arb")
>>> with ctx.workprec(64):
...     Z = forward_split(ctx, single_head([["1"]], [["1"]], [["1"]], depth=2),
...                       [["0.5"], [Fraction(1, 2) + Fraction(1, 2**40)]])[-1]
>>> Z.R[1, 0] - Z.R[0, 0]                                  # r(X^2): ~1e-111, to 15 digits
[1.66326556250318e-111 +/- 3.89e-126]
>>> Z.X[1, 0] - Z.X[0, 0]                                  # formed as one matrix: rounding noise
[+/- 1.12e-16]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import functools

import numpy as np

from .context import Context
from .exact import exact_array
from .variants import SOFTMAX, AttentionVariant, Logits, softmax_rows

__all__ = ["Head", "LayerNorm", "Attention", "MLP", "Layer", "Network", "Split", "forward", "forward_split", "scale_s",
           "split", "attention_weights", "attention_probs", "single_head", "as_exact", "ACTIVATIONS", "CAUSAL",
           "mask_matrix", "MaskError", "Relative", "sinusoid_table"]

ACTIVATIONS = ("relu", "gelu", "tanh")  # the instance format's; "gelu_tanh" (real models) is not in it


def as_exact(A):
    """Keep doubles as doubles (exact, fast); everything else as exact Fractions. The result is
    read-only; doubles that nothing can write already (the array and every array it views) are
    kept, not copied, so networks built from one set of weights share them (the four variants
    of a real model)."""
    if A is None:
        return None
    A = np.asarray(A, dtype=None if isinstance(A, np.ndarray) else object)
    if A.dtype.kind == "f" and A.dtype.itemsize <= 8:  # doubles (or narrower): exact as doubles
        if A.dtype == np.float64 and _read_only(A):
            return A
        A = A.astype(np.float64)
    else:
        A = exact_array(A)
    A.flags.writeable = False
    return A


def _read_only(A) -> bool:
    while isinstance(A, np.ndarray):
        if A.flags.writeable:
            return False
        A = A.base
    return True


def _frozen_arrays(obj, names):
    for name in names:
        object.__setattr__(obj, name, as_exact(getattr(obj, name)))


@functools.lru_cache(maxsize=8)
def sinusoid_table(n: int, width: int, clamp: int = 0) -> np.ndarray:
    """The (2n - 1) x ``width`` sinusoid encodings of the distances ``t = n-1, ..., -(n-1)`` (row
    ``n - 1 - t``): ``[sin(t w_k), cos(t w_k)]``, ``w_k = 10000^(-2k/width)``, ``|t|`` clamped at
    ``clamp`` when ``clamp > 0`` (Transformer-XL, XLNet).

    Computed once in float64 and then taken as exact parameters in every context, as the weights
    are (Hugging Face computes this table in float32, even in a float64 model).

    >>> sinusoid_table(2, 4)[:, :2]            # t = 1, 0, -1: sin(t), sin(t / 100)
    array([[ 0.84147098,  0.00999983],
           [ 0.        ,  0.        ],
           [-0.84147098, -0.00999983]])
    """
    if width % 2:
        raise ValueError(f"a sinusoid encoding needs an even width, got {width}")
    t = np.arange(n - 1, -n, -1, dtype=np.float64)
    if clamp > 0:
        t = np.clip(t, -clamp, clamp)
    angles = t[:, None] / 10000.0 ** (np.arange(0, width, 2) / width)
    table = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    table.flags.writeable = False  # shared by the cache
    return table


@dataclass(frozen=True)
class Relative:
    """A head's relative positional logits (Transformer-XL, XLNet's ``r``, ``r_r_bias``,
    ``clamp_len``): ``s (Q_i + b_R) . (E_{i-j} W_R)`` is added to the logit ``(i, j)``, with ``Q = X
    W_Q`` the head's queries (without ``b_Q``) and ``E = sinusoid_table(n, W_R.shape[0], clamp)``.
    It depends on the input through ``Q``, so it is part of the logits, not a fixed bias."""

    W_R: np.ndarray
    b_R: np.ndarray | None = None
    clamp: int = 0

    def __post_init__(self):
        _frozen_arrays(self, ("W_R", "b_R"))

    def keys(self, ctx: Context, n: int):
        """``E W_R``: the (2n - 1) x d_qk positional keys of the distances n-1, ..., -(n-1)."""
        return ctx.matmul(ctx.array(sinusoid_table(n, self.W_R.shape[0], self.clamp)), ctx.array(self.W_R))


def relative_shift(M, n: int):
    """The n x n matrix ``M[i, n - 1 - i + j]`` (the distance ``i - j``'s column) of the rows of
    ``M`` against the (2n - 1) distances; a single row is shared by every query."""
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    return M[i if M.shape[0] == n else 0, n - 1 - i + j]


@dataclass(frozen=True)
class Head:
    """One attention head. ``W_O`` absent means the identity; absent biases are zero;
    ``relative`` adds relative positional logits (:class:`Relative`)."""

    W_Q: np.ndarray
    W_K: np.ndarray
    W_V: np.ndarray
    W_O: np.ndarray | None = None
    b_Q: np.ndarray | None = None
    b_K: np.ndarray | None = None
    b_V: np.ndarray | None = None
    relative: Relative | None = None

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


CAUSAL = "causal"


class MaskError(ValueError):
    """A mask that is not a valid attention mask (the message says why)."""


def _check_mask(mask):
    """``None``, ``"causal"``, or an n x n matrix of 0/1 with a 1 in every row (as booleans)."""
    if mask is None or (isinstance(mask, str) and mask == CAUSAL):
        return mask
    if isinstance(mask, str):
        raise MaskError(f'expected null, "causal" or an n x n matrix of 0/1, got {mask!r}')
    M = np.asarray(mask, dtype=object)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or not M.size:
        raise MaskError(f"expected a square n x n matrix of 0/1, got shape {M.shape}")
    bad = [(i, j) for (i, j), v in np.ndenumerate(M) if v not in (0, 1)]
    if bad:
        i, j = bad[0]
        raise MaskError(f"entry [{i}][{j}] is {M[i, j]}; a mask holds 0 or 1")
    M = M.astype(bool)
    empty = np.flatnonzero(~M.any(axis=1))
    if empty.size:
        raise MaskError(f"row {empty[0]} has no 1: query {empty[0]} would attend to no key")
    return M


def mask_matrix(mask, n: int):
    """The n x n boolean matrix of a mask (None stays None): 1 = query i may attend key j."""
    if mask is None:
        return None
    if isinstance(mask, str):
        return np.tril(np.ones((n, n), dtype=bool))
    if mask.shape != (n, n):
        raise MaskError(f"the mask is {mask.shape[0]} x {mask.shape[1]} but the input has n = {n} tokens")
    return mask


@dataclass(frozen=True)
class Attention:
    """Heads summed through ``W_O``, with a mask (None, ``"causal"`` or an n x n 0/1 matrix with
    a 1 in every row) and an attention variant (softmax unless told otherwise), shared by
    every head of the sublayer."""

    heads: tuple[Head, ...]
    b_O: np.ndarray | None = None
    skip: bool = False
    layernorm: LayerNorm | None = None
    mask: object = None
    variant: AttentionVariant = SOFTMAX

    def __post_init__(self):
        object.__setattr__(self, "heads", tuple(self.heads))
        object.__setattr__(self, "mask", self.check_mask(self.mask))
        _frozen_arrays(self, ("b_O",))

    check_mask = staticmethod(_check_mask)

    @property
    def plain(self) -> bool:
        """The paper's attention: unmasked softmax, temperature 1, no bias, no relative positions."""
        return self.mask is None and self.variant.plain and all(h.relative is None for h in self.heads)


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

@dataclass(frozen=True)
class Split:
    """A matrix carried as ``X = 1 c^T + R``: a common row ``c`` (1 x d) and the rest ``R``.

    Near rank collapse ``R`` is tiny (``r(X) = r(R)``) while ``c`` is O(1). Every layer maps the
    pair through formulas in which ``R`` only ever meets differences computed as such (``expm1``
    of logit differences, activation differences), never as the difference of two O(1)
    numbers, so ``R`` keeps its *relative* accuracy: certifying ``r(X^L) <= bound`` needs
    the bits that separate the two sides, not ``-log2 r(X^L)`` of them (see
    ``docs/performance.md``)."""

    c: np.ndarray
    R: np.ndarray

    @property
    def X(self):
        return self.R + self.c

    def __add__(self, other: "Split") -> "Split":  # a skip connection
        return Split(self.c + other.c, self.R + other.R)


def split(ctx: Context, X) -> Split:
    """``X`` (in ``ctx``) with ``c`` an exact point of its first row's enclosure."""
    c = ctx.centers(X[0:1, :])
    return Split(c, X - c)


def input_split(ctx: Context, X) -> Split:
    """The input as a split whose ``R = X - 1 X_0^T`` is formed exactly, then enclosed: it keeps
    full relative accuracy however close the rows are."""
    if not ctx.certified:
        return split(ctx, ctx.array(as_exact(X)))
    Xq = exact_array(as_exact(X))
    return Split(ctx.array(Xq[0:1, :]), ctx.array(Xq - Xq[0:1, :]))


def scale_s(ctx: Context, d_qk: int):
    """``s = 1/sqrt(d_qk)`` in the context."""
    return 1 / ctx.sqrt(ctx.number(d_qk))


def _row(ctx: Context, b):
    """A bias vector as a 1 x k row (broadcasts as ``1 b^T``); None stays None."""
    return None if b is None else ctx.array(b).reshape(1, -1)


def _add_bias(Y, b):
    return Y if b is None else Y + b


def attention_weights(ctx: Context, Z: Split, head: Head, d_qk: int, mask=None,
                      variant: AttentionVariant = SOFTMAX):
    """``(Pi, D)`` with the head's weights ``P = Pi + D`` for the input ``Z = 1 c^T + R``
    (:meth:`~rankcollapse.numerics.variants.AttentionVariant.split_weights`).

    With ``Q = 1 q^T + R W_Q`` (``q = W_Q^T c + b_Q``) and ``K = 1 k^T + R W_K``
    (``k = W_K^T c + b_K``) the scaled logits are ``s q.k + s (R W_Q k)_i`` (constant along each
    row: a softmax drops them) plus ``a_j + B_ij`` with ``a = s R W_K q`` and
    ``B = s R W_Q W_K^T R^T``: every piece but ``s q.k`` is formed from R alone. Relative positions
    (``P = E W_R``) add the O(1) part ``s (W_Q^T c + b_R) . P_{i-j}``, which varies along rows
    (``Logits.bias``), and ``s (R W_Q)_i . P_{i-j}`` to B."""
    s = scale_s(ctx, d_qk)
    q_c = ctx.matmul(Z.c, ctx.array(head.W_Q))
    q = _add_bias(q_c, _row(ctx, head.b_Q))
    k = _add_bias(ctx.matmul(Z.c, ctx.array(head.W_K)), _row(ctx, head.b_K))
    Q_R, K_R = ctx.matmul(Z.R, ctx.array(head.W_Q)), ctx.matmul(Z.R, ctx.array(head.W_K))
    # arrays first in every product: mpmath's iv scalar * ndarray raises
    B, bias = ctx.matmul(Q_R, K_R.T) * s, None
    if head.relative is not None:
        n, rel = Z.R.shape[0], head.relative
        P = rel.keys(ctx, n)
        bias = relative_shift(ctx.matmul(_add_bias(q_c, _row(ctx, rel.b_R)), P.T) * s, n)
        B = B + relative_shift(ctx.matmul(Q_R, P.T) * s, n)
    logits = Logits(ctx.matmul(q, k.T) * s, ctx.matmul(Q_R, k.T) * s, ctx.matmul(q, K_R.T) * s, B, bias)
    return variant.split_weights(ctx, logits, mask)


def attention_probs(ctx: Context, X, head: Head, d_qk: int, mask=None, variant: AttentionVariant = SOFTMAX):
    """``P_h`` for input X (a matrix already in ``ctx``), from the logits as defined; for softmax
    every entry's enclosure stays in [0, 1] (``Pi + D`` would add the two enclosures' widths)."""
    s = scale_s(ctx, d_qk)
    Q = ctx.matmul(X, ctx.array(head.W_Q))
    k = _add_bias(ctx.matmul(X, ctx.array(head.W_K)), _row(ctx, head.b_K))
    S = ctx.matmul(_add_bias(Q, _row(ctx, head.b_Q)), k.T) * s
    if head.relative is not None:
        n, rel = X.shape[0], head.relative
        S = S + relative_shift(ctx.matmul(_add_bias(Q, _row(ctx, rel.b_R)), rel.keys(ctx, n).T) * s, n)
    return variant.weights(ctx, S, mask)


def _attention(ctx, Z: Split, att: Attention, d_qk, mask) -> Split:
    """``sum_h (P_h Z W_V + 1 b_V^T) W_O + 1 b_O^T`` with ``P_h Z = (P_h 1) c^T + P_h R``.

    Row-stochastic weights (``P 1 = 1``) with a shared row ``pi``: ``P_h Z W_V = 1 (c + R^T
    pi)^T W_V + D R W_V``, so only ``D R W_V`` (as small as D times R) stays in the residual.
    Per-row ``Pi`` (masks, biases, relative positions): ``Pi R W_V`` stays in the residual too,
    less its first row, which joins ``c`` (else R would keep the O(1) common part of the first
    layers' rows, and its rounding, for ever). Other variants: ``(rho - rho_0) c^T W_V`` joins
    it, ``rho = P 1``."""
    c = R = None
    for head in att.heads:
        Pi, D = attention_weights(ctx, Z, head, d_qk, mask, att.variant)
        W_V = ctx.array(head.W_V)
        V_R, V_c = ctx.matmul(Z.R, W_V), ctx.matmul(Z.c, W_V)
        if att.variant.row_stochastic and Pi.shape[0] == 1:
            c_h, R_h = V_c + ctx.matmul(Pi, V_R), None
        elif att.variant.row_stochastic:  # the rows' common part joins c, as above: R stays as
            # small as the rows' spread (else it keeps an O(1) part, and a 1e-16 floor)
            common = split(ctx, ctx.matmul(Pi, V_R))
            c_h, R_h = V_c + common.c, common.R
        else:
            rho = Pi.sum(axis=1, keepdims=True) + (0 if D is None else D.sum(axis=1, keepdims=True))
            c_h, R_h = rho[0:1] * V_c, (rho - rho[0:1]) * V_c + ctx.matmul(Pi, V_R)
        if D is not None:
            R_h = ctx.matmul(D, V_R) if R_h is None else R_h + ctx.matmul(D, V_R)
        c_h = _add_bias(c_h, _row(ctx, head.b_V))
        if head.W_O is not None:
            W_O = ctx.array(head.W_O)
            c_h, R_h = ctx.matmul(c_h, W_O), ctx.matmul(R_h, W_O)
        c, R = (c_h, R_h) if c is None else (c + c_h, R + R_h)
    return Split(_add_bias(c, _row(ctx, att.b_O)), R)


def _gelu_tanh_arg(ctx: Context, Y):
    """``sqrt(2/pi) (y + 0.044715 y^3)``, the tanh GELU's argument."""
    return ctx.sqrt(2 / ctx.pi()) * (Y + ctx.number("0.044715") * Y * Y * Y)


def activation(ctx: Context, name: str, Y):
    if name == "relu":
        return ctx.relu(Y)
    if name == "tanh":
        return ctx.tanh(Y)
    if name == "gelu":  # the exact (erf) GELU, as in BERT
        return Y * (1 + ctx.erf(Y * scale_s(ctx, 2))) / 2
    if name == "gelu_tanh":  # GPT-2's and ALBERT's GELU approximation ("gelu_new" in Hugging Face)
        return Y * (1 + ctx.tanh(_gelu_tanh_arg(ctx, Y))) / 2
    raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def activation_slope(ctx: Context, name: str, Y):
    """The activation's derivative (for ReLU: 0, 1, or [0, 1] across the kink)."""
    if name == "relu":
        return ctx.heaviside(Y)
    if name == "tanh":  # 4 / (e^y + e^-y)^2: arb's tanh of a wide ball is NaN, exp's is not
        C = ctx.exp(Y) + ctx.exp(-Y)
        return 4 / (C * C)
    if name == "gelu":  # Phi(y) + y phi(y)
        return (1 + ctx.erf(Y * scale_s(ctx, 2))) / 2 + Y * ctx.exp(-Y * Y / 2) * scale_s(ctx, 2) / ctx.sqrt(ctx.pi())
    if name == "gelu_tanh":  # (1 + tanh u)/2 + y u'(y) sech(u)^2 / 2, sech^2 = 4 / (e^u + e^-u)^2
        u = _gelu_tanh_arg(ctx, Y)
        C = ctx.exp(u) + ctx.exp(-u)
        du = ctx.sqrt(2 / ctx.pi()) * (1 + 3 * ctx.number("0.044715") * Y * Y)
        return (1 + ctx.tanh(u)) / 2 + 2 * Y * du / (C * C)
    raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def activation_difference(ctx: Context, name: str, u, Delta):
    """``s(u + Delta) - s(u)`` (``u`` a row, broadcast), enclosed two ways and intersected:
    directly (error ~ 2^-prec |s(u)|: good while Delta is large) and by the mean value theorem,
    ``Delta s'(between u and u + Delta)`` (error ~ |Delta|^2: good once Delta is tiny)."""
    V = u + Delta
    direct = activation(ctx, name, V) - activation(ctx, name, u)
    if not ctx.certified:  # no widths to choose by: tiny Delta by the midpoint rule instead
        # (error ~ |Delta|^3 |s^(3)| / 24, against ~1e-16 |s(u)| for the direct difference; at the
        # switch |Delta| = 1e-5 both are below 1e-10 relative), so residuals stay accurate
        small = np.abs(Delta) < 1e-5
        if small.any():
            direct = np.where(small, Delta * activation_slope(ctx, name, u + Delta / 2), direct)
        return direct
    return ctx.intersect(direct, Delta * activation_slope(ctx, name, ctx.hull(np.broadcast_to(u, V.shape), V)))


def _mlp(ctx, Z: Split, mlp: MLP) -> Split:
    """Row ``i`` of ``s(Z W1 + 1 b1^T)`` is ``s(u) + [s(u + Delta_i) - s(u)]``, ``u = W1^T c + b1``."""
    u = _add_bias(ctx.matmul(Z.c, ctx.array(mlp.W1)), _row(ctx, mlp.b1))
    H_R = activation_difference(ctx, mlp.activation, u, ctx.matmul(Z.R, ctx.array(mlp.W1)))
    W2 = ctx.array(mlp.W2)
    return Split(_add_bias(ctx.matmul(activation(ctx, mlp.activation, u), W2), _row(ctx, mlp.b2)),
                 ctx.matmul(H_R, W2))


def layer_norm(ctx: Context, Y, ln: LayerNorm):
    d = Y.shape[1]
    mean = Y.sum(axis=1, keepdims=True) / d
    C = Y - mean
    var = (C * C).sum(axis=1, keepdims=True) / d
    out = C / ctx.sqrt(var + ctx.array([[ln.eps]]))
    if ln.gain is not None:
        out = out * ctx.array(ln.gain).reshape(1, -1)
    return _add_bias(out, _row(ctx, ln.bias))


def layer_norm_split(ctx: Context, Z: Split, ln: LayerNorm) -> Split:
    """LayerNorm of ``1 c^T + R`` as a split whose residual keeps its relative accuracy.

    With ``c0``, ``R0`` the row-centred parts, row i's variance is ``v + delta_i`` where ``v =
    |c0|^2/d + eps`` and ``delta_i = (2 c0.R0_i + |R0_i|^2)/d`` is small with R; so
    ``LN(row i) = g (c0 + R0_i) / sqrt(v + delta_i) + b`` splits into the common row
    ``g c0 / sqrt(v) + b`` and ``g (c0 (1/sqrt(v + delta_i) - 1/sqrt(v)) + R0_i / sqrt(v + delta_i))``,
    where the difference of inverse roots is ``-delta_i / (sqrt(v) sqrt(v + delta_i) (sqrt(v) +
    sqrt(v + delta_i)))``: no O(1) numbers are subtracted, unlike ``LN(X) - LN(X)_0``."""
    d = Z.c.shape[1]
    c0 = Z.c - Z.c.sum(axis=1, keepdims=True) / d
    R0 = Z.R - Z.R.sum(axis=1, keepdims=True) / d
    v = (c0 * c0).sum(axis=1, keepdims=True) / d + ctx.array([[ln.eps]])
    delta = (2 * (R0 * c0).sum(axis=1, keepdims=True) + (R0 * R0).sum(axis=1, keepdims=True)) / d
    root_v, root_t = ctx.sqrt(v), ctx.sqrt(v + delta)
    c, R = c0 / root_v, c0 * (-delta / (root_v * root_t * (root_v + root_t))) + R0 / root_t
    if ln.gain is not None:
        gain = ctx.array(ln.gain).reshape(1, -1)
        c, R = c * gain, R * gain
    return Split(_add_bias(c, _row(ctx, ln.bias)), R)


def _sublayer(ctx, Z: Split, F, skip: bool, ln: LayerNorm | None) -> Split:
    inp = layer_norm_split(ctx, Z, ln) if ln is not None and ln.position == "pre" else Z
    out = F(inp)
    if skip:
        out = out + Z
    return layer_norm_split(ctx, out, ln) if ln is not None and ln.position == "post" else out


def layer_mask(att: Attention, n: int, key_mask=None):
    """The n x n mask a layer applies: its own, and the input's padding (``key_mask``: the keys
    every query may attend), combined."""
    M = mask_matrix(att.mask, n)
    if key_mask is None:
        return M
    keys = np.broadcast_to(np.asarray(key_mask, dtype=bool).reshape(1, -1), (n, n))
    return keys if M is None else M & keys


def layer_forward(ctx: Context, Z: Split, layer: Layer, d_qk: int, key_mask=None) -> Split:
    att = layer.attention
    mask = layer_mask(att, Z.R.shape[0], key_mask)
    Y = _sublayer(ctx, Z, lambda W: _attention(ctx, W, att, d_qk, mask), att.skip, att.layernorm)
    if layer.mlp is not None:
        m = layer.mlp
        Y = _sublayer(ctx, Y, lambda W: _mlp(ctx, W, m), m.skip, m.layernorm)
    return Y


def forward_split(ctx: Context, net: Network, X, key_mask=None) -> list[Split]:
    """``[X^0, ..., X^L]`` as splits ``1 c_l^T + R_l`` (what certified checks use: ``r(X^l) =
    r(R_l)``, and ``R_l`` is accurate relative to its own size)."""
    Z = input_split(ctx, X)
    outs = [Z]
    for layer in net.layers:
        Z = layer_forward(ctx, Z, layer, net.d_qk, key_mask)
        outs.append(Z)
    return outs


def forward(ctx: Context, net: Network, X, key_mask=None) -> list:
    """``[X^0, X^1, ..., X^L]``: the input and every layer's output, in ``ctx``.

    ``key_mask`` (optional, n booleans) excludes padding keys from every layer's attention, on
    top of each layer's own mask.
    """
    return [Z.X for Z in forward_split(ctx, net, X, key_mask)]
