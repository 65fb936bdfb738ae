"""Hypothesis strategies for property tests of attention networks (public API).

Use them to test your own attention variant against the bounds::

    from hypothesis import given
    from rankcollapse.numerics import strategies as rs
    from rankcollapse.numerics.certify import check_network

    @given(rs.single_head_cases(max_depth=2))
    def test_my_variant(case):
        report = check_network(case.net, case.X)
        assert all(v.verdict != "violated" for r in report.layers for v in r.verdicts.values())

Inputs come in three flavours, because rank collapse lives near rank 1: generic matrices,
near-rank-1 matrices (a large common row plus a tiny residual, built exactly so that the
residual is not lost to rounding), and matrices with identical rows. Weights have scales from
1e-3 to 1e2. Matrices of doubles are exact; near-rank-1 inputs are exact Fractions.

>>> from hypothesis import Phase, find, settings
>>> case = find(single_head_cases(max_depth=1), lambda c: True,
...             settings=settings(phases=[Phase.generate]))     # no shrinking: it takes seconds
>>> case.X.shape[0] >= 2 and case.net.depth == 1
True
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from .instance import Instance
from .network import CAUSAL, MLP, Attention, Head, Layer, LayerNorm, Network
from .variants import SOFTMAX, Sigmoid, Softmax

__all__ = ["Case", "shapes", "weight_scales", "matrices", "inputs", "near_rank_one", "identical_rows",
           "heads", "masks", "variants", "single_head_cases", "network_cases"]

# Entries on a grid of 1e-3 in [-1, 1] (zeros included), times a scale. Raw doubles in [-1, 1]
# would include values like 1e-300, whose products make bounds of 10^-100000 that no
# precision cap reaches; the interesting structure is in shapes, scales and near-rank-1 inputs.
_unit = st.integers(-1000, 1000).map(lambda k: k / 1000)


# An input and a network: the one type for both (what an instance file holds, what a strategy
# draws and what a check evaluates), ready for rankcollapse.numerics.certify.check_network.
Case = Instance


def shapes(min_n: int = 2, max_n: int = 6, max_d: int = 4, min_d: int = 1):
    """``(n, d)``: tokens and features. ``min_d = 3`` for LayerNorm claims: with d = 1 LayerNorm
    maps every row to its bias, with d = 2 onto one line (two points when eps = 0), so such
    cases say nothing about LayerNorm."""
    return st.tuples(st.integers(min_n, max_n), st.integers(min_d, max_d))


def weight_scales(low: float = 1e-3, high: float = 1e2):
    """Log-uniform scales, including the ends."""
    return st.one_of(st.sampled_from([low, high]),
                     st.floats(np.log10(low), np.log10(high)).map(lambda e: float(10.0 ** e)))


def matrices(rows: int, cols: int, scale=None):
    """``rows x cols`` doubles with entries in ``[-scale, scale]``."""
    scale_st = weight_scales() if scale is None else st.just(scale)
    return st.tuples(st.lists(_unit, min_size=rows * cols, max_size=rows * cols), scale_st).map(
        lambda t: np.array(t[0], dtype=np.float64).reshape(rows, cols) * t[1])


def near_rank_one(n: int, d: int):
    """``1 v^T + eps N`` exactly (Fractions): a common row of size up to 1e3 and a residual of
    relative size eps in [1e-40, 1e-2] that a double could not even represent on top of v."""
    return st.tuples(matrices(1, d, 1.0), st.sampled_from([1, 10, 1000]), matrices(n, d, 1.0),
                     st.integers(2, 40)).map(
        lambda t: np.array([[Fraction(t[0][0, j]) * t[1] + Fraction(t[2][i, j]) / 10 ** t[3]
                             for j in range(d)] for i in range(n)], dtype=object))


def identical_rows(n: int, d: int):
    """All rows equal: ``r(X) = 0``."""
    return matrices(1, d).map(lambda v: np.repeat(v, n, axis=0))


def inputs(n: int, d: int, identical: bool = True):
    """Generic, near-rank-1 and (optionally) identical-row inputs."""
    options = [matrices(n, d, 1.0), matrices(n, d), near_rank_one(n, d)]
    return st.one_of(*options, *([identical_rows(n, d)] if identical else []))


def heads(d: int, d_qk: int, biases: bool = False, W_O: bool = False):
    """One head with weights of one random scale each."""
    vec = lambda k: matrices(1, k).map(lambda m: m[0]) if biases else st.none()  # noqa: E731
    return st.builds(Head, matrices(d, d_qk), matrices(d, d_qk), matrices(d, d),
                     matrices(d, d) if W_O else st.none(), vec(d_qk), vec(d_qk), vec(d))


def masks(n: int):
    """Attention masks for n tokens: none, causal, or a random graph mask with 1 on the diagonal
    (every token may attend to itself, as in decoders and graph transformers)."""
    graph = st.lists(st.booleans(), min_size=n * n, max_size=n * n).map(
        lambda bits: (np.array(bits).reshape(n, n) | np.eye(n, dtype=bool)).astype(int))
    return st.one_of(st.none(), st.just(CAUSAL), graph)


def variants(n: int):
    """The built-in attention variants: softmax (plain, with a temperature, with an additive
    logit bias) and sigmoid attention."""
    bias = matrices(n, n, 1.0)
    return st.one_of(st.just(SOFTMAX),
                     st.builds(Softmax, st.sampled_from(["0.5", "2"]), st.one_of(st.none(), bias)),
                     st.builds(Sigmoid, st.sampled_from(["0", "-1"])))


@st.composite
def single_head_cases(draw, min_depth: int = 1, max_depth: int = 6, max_n: int = 6, max_d: int = 4,
                      identical: bool = False, biases: bool = True):
    """The paper's pure single-head SAN (each layer its own head) and an input."""
    n, d = draw(shapes(max_n=max_n, max_d=max_d))
    d_qk = draw(st.integers(1, 3))
    depth = draw(st.integers(min_depth, max_depth))
    layers = [Layer(Attention((draw(heads(d, d_qk, biases=biases)),))) for _ in range(depth)]
    return Case(draw(inputs(n, d, identical)), Network(d_qk, tuple(layers)))


@st.composite
def network_cases(draw, min_depth: int = 1, max_depth: int = 3, max_heads: int = 3, max_n: int = 5,
                  max_d: int = 3, skip: bool | None = False, mlp: bool | None = None,
                  layernorm: bool = False, identical: bool = False, min_d: int = 1,
                  masked: bool = False, variant: bool = False):
    """General layers: several heads with W_O and biases, optional MLP, skip, LayerNorm.

    ``skip`` / ``mlp``: True = always, False = never, None = drawn per layer. ``min_d``: the
    smallest width (see :func:`shapes`; 3 to test a claim about LayerNorm, 1 to exercise the
    arithmetic on every width). ``masked``: each layer draws a mask (:func:`masks`);
    ``variant``: each layer draws an attention variant (:func:`variants`).
    """
    n, d = draw(shapes(max_n=max_n, max_d=max_d, min_d=min_d))
    d_qk = draw(st.integers(1, 3))
    choose = lambda flag: draw(st.booleans()) if flag is None else flag  # noqa: E731
    layers = []
    for _ in range(draw(st.integers(min_depth, max_depth))):
        hs = tuple(draw(heads(d, d_qk, biases=True, W_O=True)) for _ in range(draw(st.integers(1, max_heads))))
        ln = (LayerNorm(draw(st.sampled_from(["pre", "post"])), draw(matrices(1, d)).ravel(),
                        draw(matrices(1, d)).ravel(), Fraction(1, 10**5)) if layernorm else None)
        att = Attention(hs, draw(matrices(1, d)).ravel(), choose(skip), ln,
                        draw(masks(n)) if masked else None, draw(variants(n)) if variant else SOFTMAX)
        m = None
        if choose(mlp):
            width = draw(st.integers(1, 4))
            m = MLP(draw(matrices(d, width)), draw(matrices(width, d)), draw(matrices(1, width)).ravel(),
                    draw(matrices(1, d)).ravel(), draw(st.sampled_from(["relu", "gelu", "tanh"])), choose(skip))
        layers.append(Layer(att, m))
    return Case(draw(inputs(n, d, identical)), Network(d_qk, tuple(layers)))
