"""Attention variants: how an attention sublayer turns logits into weights (the extension point).

A variant is written once, against a number context ``ctx`` (float64, mpmath intervals, arb
balls), and then runs in every backend, in ``rankcollapse check``, in instance files and in the
Hypothesis strategies. It sees the scaled logits ``S = s (X W_Q + 1 b_Q^T)(X W_K + 1 b_K^T)^T``
and the layer's mask ``M`` (an n x n boolean matrix, or None) and returns the n x n weights::

    class MyVariant(AttentionVariant):
        name = "my-variant"          # the instance file's {"variant": {"name": ...}}
        row_stochastic = False       # True only if every row of the weights sums to exactly 1

        def weights(self, ctx, S, mask):
            ...                      # ctx.exp, ctx.sqrt, +, *, / on object arrays

Register it with :func:`register_variant` to read and write it in instance files. Built in:
:class:`Softmax` (the paper's attention, with a temperature and a fixed additive logit bias,
e.g. ALiBi; XLNet's relative positions depend on the queries, so they are a head's term,
:class:`rankcollapse.numerics.network.Relative`) and :class:`Sigmoid` (sigmoid attention, the worked example of
``docs/variants.md``). A masked key always gets weight exactly 0.

Near rank collapse the logits of the input ``X = 1 c^T + R`` are an O(1) constant plus parts
of the size of R (:class:`Logits`); :meth:`AttentionVariant.split_weights` may exploit that to
keep the residual's relative accuracy (softmax does: row-constant parts cancel). The default
forms the whole logit matrix, which is always valid; it just needs more bits near collapse.

>>> from rankcollapse.numerics.context import get_context
>>> ctx = get_context("float64")
>>> S = ctx.array([[0.0, 1.0], [2.0, 0.0]])
>>> [round(float(p), 4) for p in Softmax().weights(ctx, S, None)[0]]
[0.2689, 0.7311]
>>> Softmax().weights(ctx, S, np.array([[True, False], [True, True]]))[0].tolist()  # causal
[1.0, 0.0]
>>> [round(float(p), 4) for p in Sigmoid(bias=0).weights(ctx, S, None)[0]]
[0.5, 0.7311]
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .context import Context
from .exact import exact_array, to_fraction

__all__ = ["AttentionVariant", "Softmax", "Sigmoid", "Logits", "SOFTMAX", "VARIANTS", "register_variant",
           "softmax_rows"]


@dataclass(frozen=True)
class Logits:
    """The scaled logits of ``X = 1 c^T + R`` in pieces: ``S = k0 + u 1^T + 1 a^T + B`` with
    ``k0`` (1 x 1) the common part ``s q.k``, ``u`` (n x 1) the row-constant part ``s (R W_Q) k``,
    ``a`` (1 x n) the column-constant part ``s (R W_K) q`` and ``B = s (R W_Q)(R W_K)^T``. Every
    piece but ``k0`` is as small as R, except ``bias``: an O(1) n x n part that varies from row
    to row (relative positions, :class:`rankcollapse.numerics.network.Relative`), or None."""

    k0: np.ndarray
    u: np.ndarray
    a: np.ndarray
    B: np.ndarray
    bias: np.ndarray | None = None

    def full(self):
        S = self.B + self.a + self.u + self.k0
        return S if self.bias is None else S + self.bias


def _row_shift(ctx: Context, S, mask):
    """An exact number at each row's largest unmasked entry, as a column, and ``S`` with masked
    entries set to it (so they cannot overflow). Any exact shift cancels in a softmax; this
    one leaves ``exp`` only the row's spread, which near collapse is tiny and cheap."""
    F = ctx.to_float(S)
    if mask is not None:
        F = np.where(mask, F, -np.inf)
    rows, top = np.arange(S.shape[0]), np.argmax(F, axis=1)
    for i in rows[~np.isfinite(F[rows, top])]:  # doubles tied at +-inf: the exact upper ends decide
        keys = np.flatnonzero(np.broadcast_to(True if mask is None else mask, S.shape)[i])
        top[i] = max(keys, key=lambda j: ctx.hi(S[i, j]), default=top[i])
    shift = ctx.centers(S[rows, top]).reshape(-1, 1)
    if mask is not None:
        S = np.where(mask, S, np.broadcast_to(shift, S.shape))
    return shift, S


def softmax_rows(ctx: Context, S, mask=None):
    """Row-wise softmax; masked keys (``mask`` False, broadcast against ``S``) get exactly 0."""
    if mask is not None:
        mask = np.broadcast_to(mask, S.shape)
    shift, S = _row_shift(ctx, S, mask)
    E = ctx.exp(S - shift)
    if mask is not None:
        E = E * ctx.array(mask.astype(np.float64))
    return E / E.sum(axis=1, keepdims=True)


class AttentionVariant(abc.ABC):
    """The protocol (see the module docstring). Subclasses are frozen dataclasses of exact
    parameters, so that a network stays hashable, comparable and savable."""

    name: ClassVar[str]
    row_stochastic: ClassVar[bool] = False

    @abc.abstractmethod
    def weights(self, ctx: Context, S, mask):
        """The n x n weights for scaled logits ``S`` (in ``ctx``) and mask ``M`` (or None)."""

    def split_weights(self, ctx: Context, logits: Logits, mask):
        """``(Pi, D)`` with weights ``P = Pi + D`` (``D`` may be None). A row-stochastic variant
        may return ``Pi`` as one 1 x n row shared by every query; then ``D``'s rows sum to 0 and
        the common part ``Pi X`` moves into the split's common row exactly."""
        return self.weights(ctx, logits.full(), mask), None

    @property
    def plain(self) -> bool:
        """Whether this is the paper's attention (softmax, temperature 1, no bias): the bounds
        of the paper and of Lemmas E1-E4 are stated for it alone."""
        return False

    def params(self) -> dict:
        """The parameters as exact values (for instance files); keys are the JSON keys."""
        return {}


@dataclass(frozen=True)
class Softmax(AttentionVariant):
    """``P = softmax_rows(S / temperature + bias)`` over the unmasked keys of each row."""

    temperature: object = 1
    bias: np.ndarray | None = None  # n x n additive logit bias (exact), or None

    name: ClassVar[str] = "softmax"
    row_stochastic: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "temperature", to_fraction(self.temperature))
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.bias is not None:
            object.__setattr__(self, "bias", exact_array(self.bias))

    def __eq__(self, other):
        return (type(other) is type(self) and self.temperature == other.temperature
                and _same_array(self.bias, other.bias))

    def __hash__(self):
        return hash((self.name, self.temperature, None if self.bias is None else self.bias.shape))

    @property
    def plain(self) -> bool:
        return self.temperature == 1 and self.bias is None

    def params(self) -> dict:
        return {"temperature": self.temperature, "bias": self.bias}

    def _scaled(self, ctx, S):
        if self.temperature != 1:
            S = S / ctx.number(self.temperature)
        return S if self.bias is None else S + ctx.array(self.bias)

    def weights(self, ctx, S, mask):
        return softmax_rows(ctx, self._scaled(ctx, S), mask)

    def split_weights(self, ctx, logits: Logits, mask):
        """``pi`` = softmax of the column-constant part (and the logits' O(1) ``bias``) per row
        (one shared row when every row has the same keys and no bias), and ``D = P - Pi`` from
        ``expm1`` of the small logits ``B``: ``D_ij = pi_ij (E_ij - sigma_i) / (1 + sigma_i)``
        with ``E = expm1(B)``, ``sigma = E pi``. Near collapse D is O(|B|) and keeps its relative
        accuracy (no ``P - Pi``); far from it (some ``|B_ij| > 1``, judged from doubles: both forms are
        exact) ``D = softmax(a + B) - Pi`` cannot overflow."""
        shared = self.bias is None and logits.bias is None and (mask is None or bool((mask == mask[0]).all()))
        row_mask = None if mask is None else mask[0:1] if shared else mask
        a = logits.a if shared else np.broadcast_to(logits.a, logits.B.shape)
        a = self._scaled(ctx, a if logits.bias is None else a + logits.bias)
        pi = softmax_rows(ctx, a, row_mask)
        B = logits.B if self.temperature == 1 else logits.B / ctx.number(self.temperature)
        if not (np.abs(ctx.to_float(B)) <= 1).all():  # (NaN: no finite enclosure yet)
            return pi, softmax_rows(ctx, a + B, mask) - pi
        if mask is not None:  # masked keys: pi = 0 there, and E = 0 keeps them finite
            B = B * ctx.array(mask.astype(np.float64))
        E = ctx.expm1(B)
        sigma = ctx.matmul(E, pi.T) if shared else (E * pi).sum(axis=1, keepdims=True)
        return pi, pi * (E - sigma) / (1 + sigma)


@dataclass(frozen=True)
class Sigmoid(AttentionVariant):
    """Sigmoid attention, ``P_ij = sigmoid(S_ij + bias)`` on unmasked keys: rows need not sum to 1
    (``bias = -log n`` makes them sum to about 1 at initialisation). The worked example of the
    variant protocol (``docs/variants.md``)."""

    bias: object = 0

    name: ClassVar[str] = "sigmoid"

    def __post_init__(self):
        object.__setattr__(self, "bias", to_fraction(self.bias))

    def params(self) -> dict:
        return {"bias": self.bias}

    def weights(self, ctx, S, mask):
        P = 1 / (1 + ctx.exp(-(S + ctx.number(self.bias))))
        return P if mask is None else P * ctx.array(mask.astype(np.float64))


def _same_array(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool((a == b).all())


SOFTMAX = Softmax()

VARIANTS: dict[str, type[AttentionVariant]] = {}


def register_variant(cls: type[AttentionVariant]) -> type[AttentionVariant]:
    """Make a variant readable and writable in instance files under ``cls.name``."""
    if VARIANTS.setdefault(cls.name, cls) is not cls:
        raise ValueError(f"an attention variant named {cls.name!r} is already registered")
    return cls


register_variant(Softmax)
register_variant(Sigmoid)
