"""Masks and attention variants in the network model: certified per-layer brackets of r(X^l)
against an independent forward pass (plain mpmath at 120 digits, whole matrices, written from
the definitions in docs/theory.md), instance files, and the bounds' ``n/a``."""

import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rankcollapse.numerics import strategies as rs
from rankcollapse.numerics.certify import check_network
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.instance import InstanceError, instance_to_json, parse_instance
from rankcollapse.numerics.network import (CAUSAL, Attention, Head, Layer, MaskError, Network, forward,
                                           mask_matrix)
from rankcollapse.numerics.residual import residual_bracket
from rankcollapse.numerics.variants import Sigmoid, Softmax

DPS = 120


def _mp(A):
    return mpmath.matrix([[mpmath.mpf(Fraction(v).numerator) / Fraction(v).denominator for v in row]
                          for row in np.asarray(A, dtype=object)])


def _weights(att, S, n):
    """The attention weights from their definitions (docs/theory.md, section on variants)."""
    M = mask_matrix(att.mask, n)
    allowed = lambda i, j: M is None or M[i, j]  # noqa: E731
    v = att.variant
    if isinstance(v, Sigmoid):
        b = _mp([[v.bias]])[0, 0]
        return mpmath.matrix([[1 / (1 + mpmath.exp(-(S[i, j] + b))) if allowed(i, j) else 0
                               for j in range(n)] for i in range(n)])
    T = _mp([[v.temperature]])[0, 0]
    bias = _mp(v.bias) if v.bias is not None else mpmath.zeros(n, n)
    P = mpmath.zeros(n, n)
    for i in range(n):
        e = [mpmath.exp(S[i, j] / T + bias[i, j]) if allowed(i, j) else 0 for j in range(n)]
        for j in range(n):
            P[i, j] = e[j] / sum(e)
    return P


def _layernorm(ln, Y):
    n, d = Y.rows, Y.cols
    out = mpmath.zeros(n, d)
    eps = _mp([[ln.eps]])[0, 0]
    for i in range(n):
        mean = sum(Y[i, j] for j in range(d)) / d
        var = sum((Y[i, j] - mean) ** 2 for j in range(d)) / d
        for j in range(d):
            g = 1 if ln.gain is None else _mp([ln.gain])[0, j]
            b = 0 if ln.bias is None else _mp([ln.bias])[0, j]
            out[i, j] = g * (Y[i, j] - mean) / mpmath.sqrt(var + eps) + b
    return out


def _sublayer(F, Z, skip, ln):
    inp = _layernorm(ln, Z) if ln is not None and ln.position == "pre" else Z
    out = F(inp) + (Z if skip else 0 * Z)
    return _layernorm(ln, out) if ln is not None and ln.position == "post" else out


def _attention(att, d_qk, X):
    n = X.rows
    out = 0 * X
    for h in att.heads:
        Q = X * _mp(h.W_Q) + (0 if h.b_Q is None else mpmath.ones(n, 1) * _mp([h.b_Q]))
        K = X * _mp(h.W_K) + (0 if h.b_K is None else mpmath.ones(n, 1) * _mp([h.b_K]))
        P = _weights(att, Q * K.T / mpmath.sqrt(d_qk), n)
        # SA_h(X) = P X W_V + 1 b_V^T: the value bias is not weighted (it matters when rows of P
        # do not sum to 1, as in sigmoid attention)
        SA = P * X * _mp(h.W_V) + (0 if h.b_V is None else mpmath.ones(n, 1) * _mp([h.b_V]))
        out += SA * (_mp(h.W_O) if h.W_O is not None else mpmath.eye(SA.cols))
    return out + (0 if att.b_O is None else mpmath.ones(n, 1) * _mp([att.b_O]))


def _mlp(m, Y):
    act = {"relu": lambda y: max(y, 0), "tanh": mpmath.tanh,
           "gelu": lambda y: y * (1 + mpmath.erf(y / mpmath.sqrt(2))) / 2}[m.activation]
    H = Y * _mp(m.W1) + (0 if m.b1 is None else mpmath.ones(Y.rows, 1) * _mp([m.b1]))
    H = H.apply(act)
    return H * _mp(m.W2) + (0 if m.b2 is None else mpmath.ones(Y.rows, 1) * _mp([m.b2]))


def reference_forward(net, X):
    with mpmath.workdps(DPS):
        Z, outs = _mp(X), []
        outs.append(Z)
        for layer in net.layers:
            att = layer.attention
            Z = _sublayer(lambda W: _attention(att, net.d_qk, W), Z, att.skip, att.layernorm)
            if layer.mlp is not None:
                Z = _sublayer(lambda W: _mlp(layer.mlp, W), Z, layer.mlp.skip, layer.mlp.layernorm)
            outs.append(Z)
        return [np.array([[_frac(Z[i, j]) for j in range(Z.cols)] for i in range(Z.rows)], dtype=object)
                for Z in outs]


def _frac(x):
    sign, man, exp, _ = mpmath.mpf(x)._mpf_
    value = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -value if sign else value


def _reference_bracket(Y):
    """r of the 120-digit reference matrix, certified for that matrix; the reference itself is
    off by ~1e-110 relative, far below what the tests compare."""
    ctx = get_context("arb")
    with ctx.workprec(512):
        return residual_bracket(ctx, ctx.array(Y))


def _assert_brackets_match(net, X):
    report = check_network(net, X)
    ref = reference_forward(net, X)
    for r, Y in zip(report.layers, ref):
        lo, hi = r.residual.lower, r.residual.upper
        b = _reference_bracket(Y)
        slack = Fraction(1, 10**90) * max(1, abs(b.upper))
        assert lo <= b.upper + slack and b.lower - slack <= hi, (r.layer, float(lo), float(hi), float(b.lower))
        if b.upper > Fraction(1, 10**80):  # the certified bracket is narrow, so a wrong pass fails
            assert hi - lo <= Fraction(1, 10**6) * hi, (r.layer, float(lo), float(hi))
    return report


def _net(mask, *, skip=False, ln=None, mlp=None, variant=None, depth=2, d=2, seed=0):
    rng = np.random.default_rng(seed)
    w = lambda *shape: np.round(rng.uniform(-1, 1, shape), 3)  # noqa: E731
    from rankcollapse.numerics.network import MLP, LayerNorm
    from rankcollapse.numerics.variants import SOFTMAX
    layers = []
    for _ in range(depth):
        head = Head(w(d, 1), w(d, 1), w(d, d), w(d, d), w(1)[0:1], w(1)[0:1], w(d))
        norm = LayerNorm(ln, w(d) + 1, w(d), Fraction(1, 1000)) if ln else None
        m = MLP(w(d, 3), w(3, d), w(3), w(d), mlp) if mlp else None
        layers.append(Layer(Attention((head,), w(d), skip, norm, mask, variant or SOFTMAX), m))
    return Network(1, tuple(layers))


X4 = np.array([["0.5", "-0.25"], ["0.5", "-0.2"], ["0.55", "-0.25"], ["0.4", "0.1"]], dtype=object)
GRAPH = [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]]


@pytest.mark.parametrize("mask", [CAUSAL, GRAPH])
@pytest.mark.parametrize("extras", [{}, {"skip": True}, {"ln": "pre"}, {"ln": "post", "skip": True},
                                    {"mlp": "gelu"}, {"mlp": "relu", "skip": True}])
def test_masked_brackets_contain_the_reference(mask, extras):
    report = _assert_brackets_match(_net(mask, **extras), X4)
    for r in report.layers[1:]:  # the unmasked lemmas do not cover masked attention: n/a
        assert r.bounds["one_step"] is None and r.bounds["E4"] is None and r.bounds["published"] is None


@pytest.mark.parametrize("variant", [Softmax("0.5"), Softmax(1, np.eye(4, dtype=int)), Sigmoid("-1")])
def test_variant_brackets_contain_the_reference(variant):
    _assert_brackets_match(_net(None, variant=variant, skip=isinstance(variant, Sigmoid)), X4)


def test_a_mask_changes_the_output():
    """Guards the reference itself: masked and unmasked passes differ, and the causal first
    token attends only to itself (its output is its own value row)."""
    net_c, net_u = _net(CAUSAL, depth=1), _net(None, depth=1)
    F = get_context("float64")
    out_c, out_u = forward(F, net_c, X4)[1], forward(F, net_u, X4)[1]
    assert not np.allclose(out_c, out_u)
    h = net_c.layers[0].attention.heads[0]
    x0 = np.array(X4[0], dtype=float)
    first = ((x0 @ h.W_V.astype(float) + h.b_V.astype(float)) @ h.W_O.astype(float)
             + net_c.layers[0].attention.b_O.astype(float))
    np.testing.assert_allclose(out_c[0], first, rtol=1e-12)


def test_a_padding_key_mask_combines_with_the_layer_mask():
    net = _net(CAUSAL, depth=1)
    F = get_context("float64")
    both = forward(F, net, X4, key_mask=[True, False, True, True])[1]
    graph = np.tril(np.ones((4, 4), dtype=int))
    graph[:, 1] = 0
    graph[1, 1] = 0
    graph[1, 0] = 1  # query 1 keeps key 0: the combined mask of row 1 is {0}
    alone = forward(F, _net(graph.tolist(), depth=1), X4)[1]
    np.testing.assert_allclose(both, alone, rtol=1e-12)


@st.composite
def _masked_cases(draw):
    n = draw(st.integers(2, 4))
    X = draw(st.one_of(rs.near_rank_one(n, 2), rs.matrices(n, 2, 1.0)))
    net = _net(draw(rs.masks(n)), variant=draw(rs.variants(n)), skip=draw(st.booleans()),
               mlp=draw(st.sampled_from([None, "tanh"])), depth=draw(st.integers(1, 2)),
               seed=draw(st.integers(0, 10**6)))
    return rs.Case(X, net)


@settings(max_examples=6, deadline=None)
@given(_masked_cases())
def test_masked_variant_cases_round_trip_and_stay_valid(case):
    """The strategies' masks and variants survive an instance file exactly, and certified
    brackets of the reloaded case contain the reference."""
    again = parse_instance(json.loads(json.dumps(instance_to_json(case.X, case.net))), "case.json")
    for a, b in zip(case.net.layers, again.net.layers):
        ma, mb = a.attention.mask, b.attention.mask
        assert (ma is None and mb is None) or (isinstance(ma, str) and ma == mb) or (ma == mb).all()
        assert a.attention.variant == b.attention.variant
    _assert_brackets_match(again.net, again.X)


@pytest.mark.parametrize("mask, message", [
    ([[1, 0], [0, 0]], "row 1 has no 1"),
    ([[1, 2], [0, 1]], "entry [0][1] is 2"),
    ("diagonal", 'expected null, "causal"'),
])
def test_bad_masks_are_named(mask, message):
    with pytest.raises(MaskError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Attention((Head([[1]], [[1]], [[1]]),), mask=mask)


def test_instance_errors_name_the_mask_field():
    obj = {"format": "rankcollapse-instance/1", "input": [["0"], ["1"], ["2"]], "d_qk": 1,
           "layers": [{"attention": {"heads": [{"W_Q": [["1"]], "W_K": [["1"]], "W_V": [["1"]]}],
                                     "mask": [[1, 0], [1, 1]]}}]}
    with pytest.raises(InstanceError, match=r"x.json: layers\[0\].attention.mask: expected 3 rows \(n = 3"):
        parse_instance(obj, "x.json")
    obj["layers"][0]["attention"]["mask"] = None
    obj["layers"][0]["attention"]["variant"] = {"name": "relu-normalised"}
    with pytest.raises(InstanceError, match="unknown attention variant .*known: sigmoid, softmax"):
        parse_instance(obj, "x.json")
