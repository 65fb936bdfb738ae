"""Numeric checks of the MLP claims: Lemma E3 and the published Cor 3.2.

* ``E3`` (theorem): the MLP block alone, ``f(Y) = s(Y W1 + 1 b1^T) W2 + 1 b2^T`` with ReLU, GELU
  or tanh: the certified bracket of ``r(f(Y))`` against ``lam`` times the certified bracket of
  ``r(Y)``, ``lam = L_s ||W1||_{1,inf} ||W2||_{1,inf}``. ``L_s`` is the proved Lipschitz constant
  (``rankcollapse.proofs.mlp``): exactly 1 for ReLU and tanh, and for GELU the enclosure of
  :func:`rankcollapse.numerics.bounds.lipschitz`.
  A case is a :class:`~rankcollapse.numerics.network.Network` whose single layer has an attention sublayer
  that is exactly the identity (a skip connection around one head with ``W_V = 0``: ``P X 0 = 0``
  exactly in every context) followed by the MLP, so the forward pass is the library's and a
  counterexample would be an ordinary instance file.
* ``cor3.2`` (published): attention + MLP networks of depth 1-3 (1-3 heads, biases, every
  activation), ``r(X^l)`` against the published form with gamma = 1,
  ``P_l = 4 beta_l H lam_l s P_(l-1)^3``.

>>> from rankcollapse.numerics.checks.common import certified_verdict
>>> case = mlp_case([[0.0], [1.0], [3.0]], [[2.0, -1.0]], [[1.0], [0.5]], "tanh")
>>> certified_verdict(mlp_pairs, case, 0.5)[0].verdict
'holds'
"""

from __future__ import annotations

import numpy as np
import sympy
from hypothesis import strategies as st

from rankcollapse.proofs.mlp import lipschitz_constant

from ..bounds import lipschitz
from ..certify import bound_pairs
from ..context import Context
from ..exact import to_fraction
from ..network import MLP, Attention, Head, Layer, Network, forward
from ..norms import norm_1, norm_inf
from ..residual import residual_bracket
from ..strategies import Case, inputs, matrices, shapes, network_cases
from ...proofs import mlp as claims
from . import NumericCheck, register

__all__ = ["identity_attention", "mlp_case", "mlp_cases", "activation_lipschitz", "mlp_lambda",
           "mlp_pairs", "E3", "COR32"]


def identity_attention(d: int) -> Attention:
    """An attention sublayer that is exactly the identity: skip + one head with ``W_V = 0``."""
    z = np.zeros((d, 1))
    return Attention((Head(z, z, np.zeros((d, d))),), skip=True)


def mlp_case(Y, W1, W2, activation: str = "relu", b1=None, b2=None) -> Case:
    """The MLP ``f`` applied to ``Y`` as a one-layer network (identity attention, then ``f``)."""
    Y = np.asarray(Y, dtype=None if isinstance(Y, np.ndarray) else object)
    d = Y.shape[1]
    return Case(Y, Network(1, (Layer(identity_attention(d), MLP(W1, W2, b1, b2, activation)),)))


@st.composite
def mlp_cases(draw, max_n: int = 6, max_d: int = 4, max_width: int = 5):
    n, d = draw(shapes(max_n=max_n, max_d=max_d))
    k = draw(st.integers(1, max_width))
    vec = lambda m: draw(st.one_of(st.none(), matrices(1, m).map(lambda a: a[0])))  # noqa: E731
    return mlp_case(draw(inputs(n, d, identical=False)), draw(matrices(d, k)), draw(matrices(k, d)),
                    draw(st.sampled_from(["relu", "gelu", "tanh"])), vec(k), vec(d))


def activation_lipschitz(ctx: Context, activation: str):
    """``L_s`` in ``ctx``: exact when the proved constant is rational (ReLU, tanh: 1), else the
    enclosure of :func:`rankcollapse.numerics.bounds.lipschitz` (GELU)."""
    value = lipschitz_constant(activation)
    if isinstance(value, sympy.Rational):
        return ctx.number(to_fraction(str(value)))
    return lipschitz(ctx, activation)


def mlp_lambda(ctx: Context, mlp: MLP):
    """``lam = L_s ||W1||_{1,inf} ||W2||_{1,inf}`` (Lemma E3)."""
    W1, W2 = ctx.array(mlp.W1), ctx.array(mlp.W2)
    return (activation_lipschitz(ctx, mlp.activation) * ctx.sqrt_nonneg(norm_1(ctx, W1) * norm_inf(ctx, W1))
            * ctx.sqrt_nonneg(norm_1(ctx, W2) * norm_inf(ctx, W2)))


def mlp_pairs(ctx: Context, case):
    """``r(f(Y)) <= lam r(Y)``: brackets of both residuals, lam enclosed."""
    Y, fY = forward(ctx, case.net, case.X)
    lam = mlp_lambda(ctx, case.net.layers[0].mlp)
    rY, rf = residual_bracket(ctx, Y), residual_bracket(ctx, fY)
    return [((rf.lower, rf.upper), (ctx.lo(lam) * rY.lower, ctx.hi(lam) * rY.upper))]


E3 = register(NumericCheck(
    claims.E3, mlp_cases, mlp_pairs, {"quick": 20, "default": 120, "thorough": 1200},
    "r(f(Y)) against L_s ||W1||_{1,inf} ||W2||_{1,inf} r(Y) for the MLP alone (ReLU, GELU, tanh)"))

COR32 = register(NumericCheck(
    claims.COR32, lambda: network_cases(max_depth=3, max_heads=3, skip=False, mlp=True), bound_pairs("published"),
    {"quick": 12, "default": 60, "thorough": 600},
    "r(X^l) against (4 beta H lam s)^((3^l-1)/2) r(X)^(3^l), gamma = 1, attention + MLP depth 1-3",
    steps=(claims.COR32.step("search"),)))
