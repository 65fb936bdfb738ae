"""The network model: one forward pass for every context, matching docs/theory.md §2 and 6."""

import numpy as np
import pytest
from hypothesis import given

from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import MLP, Attention, Head, Layer, LayerNorm, Network, attention_probs, forward
from rankcollapse.numerics.strategies import network_cases

ARB = get_context("arb")


def _reference_forward(net, X):
    """An independent float64 transcription of docs/theory.md §2, §6, written without rankcollapse.numerics.network."""
    from scipy.special import erf

    def ln(Y, p):
        mu = Y.mean(1, keepdims=True)
        var = ((Y - mu) ** 2).mean(1, keepdims=True)
        out = (Y - mu) / np.sqrt(var + float(p.eps))
        return out * (1 if p.gain is None else p.gain.astype(float)) + (0 if p.bias is None else p.bias.astype(float))

    f = lambda A: None if A is None else np.asarray(A, dtype=float)  # noqa: E731
    acts = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
            "gelu": lambda z: z * (1 + erf(z / np.sqrt(2))) / 2}
    Z = f(X)
    for layer in net.layers:
        a = layer.attention

        def attend(U):
            out = 0
            for h in a.heads:
                q = U @ f(h.W_Q) + (0 if h.b_Q is None else f(h.b_Q))
                k = U @ f(h.W_K) + (0 if h.b_K is None else f(h.b_K))
                S = q @ k.T / np.sqrt(net.d_qk)
                P = np.exp(S - S.max(1, keepdims=True))
                P /= P.sum(1, keepdims=True)
                Y = P @ U @ f(h.W_V) + (0 if h.b_V is None else f(h.b_V))
                out = out + (Y if h.W_O is None else Y @ f(h.W_O))
            return out + (0 if a.b_O is None else f(a.b_O))

        def sub(U, F, skip, p):
            inp = ln(U, p) if p is not None and p.position == "pre" else U
            out = F(inp) + (U if skip else 0)
            return ln(out, p) if p is not None and p.position == "post" else out

        Z = sub(Z, attend, a.skip, a.layernorm)
        if layer.mlp is not None:
            m = layer.mlp
            mlp = lambda U: acts[m.activation](U @ f(m.W1) + (0 if m.b1 is None else f(m.b1))) @ f(m.W2) + (  # noqa: E731
                0 if m.b2 is None else f(m.b2))
            Z = sub(Z, mlp, m.skip, m.layernorm)
    return Z


@given(network_cases(max_depth=2, skip=None, mlp=None, layernorm=False))
def test_forward_matches_independent_reference(case):
    out = forward(get_context("float64"), case.net, case.X)[-1]
    ref = _reference_forward(case.net, case.X)
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-9 * (1 + np.abs(ref).max()))


@given(network_cases(max_depth=2, skip=None, mlp=None, layernorm=True))
def test_arb_forward_with_layernorm_agrees_with_float64(case):
    """With LayerNorm (pre and post; tests/test_backends.py covers networks without it): the arb
    pass gives narrow balls whose midpoints agree with the float64 pass and with the independent
    float64 transcription above. A closeness test: float64 is no reference to enclose."""
    with ARB.workprec(200):
        out = forward(ARB, case.net, case.X)[-1]
    approx = forward(get_context("float64"), case.net, case.X)[-1]
    ref = _reference_forward(case.net, case.X)
    scale = 1 + np.abs(ref).max()
    widths = [float(ARB.hi(v) - ARB.lo(v)) for v in out.ravel()]
    assert max(widths) <= 2.0 ** -100 * scale  # finite and narrow: the midpoints mean something
    mids = ARB.to_float(out)
    np.testing.assert_allclose(mids, approx, rtol=1e-7, atol=1e-7 * scale)
    np.testing.assert_allclose(mids, ref, rtol=1e-7, atol=1e-7 * scale)


@given(network_cases(max_depth=1))
def test_attention_rows_are_stochastic(case):
    head = case.net.layers[0].attention.heads[0]
    with ARB.workprec(128):
        P = attention_probs(ARB, ARB.array(case.X), head, case.net.d_qk)
        for row in P:
            total = row.sum()
            assert ARB.lo(total) <= 1 <= ARB.hi(total)
            assert all(ARB.lo(p) >= 0 for p in row)


def test_key_mask_excludes_padding():
    h = Head([[1.0]], [[1.0]], [[1.0]])
    net = Network(1, (Layer(Attention((h,))),))
    X = [[0.0], [1.0], [100.0]]
    masked = forward(get_context("float64"), net, X, key_mask=[True, True, False])[1]
    unmasked_two = forward(get_context("float64"), net, X[:2])[1]
    np.testing.assert_allclose(masked[:2], unmasked_two)


def test_skip_with_zero_values_is_identity():
    """Claim E5 in one line: W_h = 0 with a skip connection leaves X unchanged."""
    z = np.zeros((2, 2))
    net = Network(1, tuple(Layer(Attention((Head(np.ones((2, 1)), np.ones((2, 1)), z),), skip=True))
                           for _ in range(5)))
    X = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert (forward(get_context("float64"), net, X)[-1] == X).all()


def test_layernorm_post_output_rows_are_normalised():
    h = Head(np.ones((2, 1)), np.ones((2, 1)), np.eye(2))
    net = Network(1, (Layer(Attention((h,), skip=True, layernorm=LayerNorm("post", eps=0))),))
    out = forward(get_context("float64"), net, [[1.0, 2.0], [0.0, -1.0]])[1]
    np.testing.assert_allclose(out.mean(1), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(1), 1, atol=1e-12)


def test_unknown_activation_is_an_error():
    net = Network(1, (Layer(Attention((Head(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1))),)),
                            MLP(np.ones((1, 1)), np.ones((1, 1)), activation="swish")),))
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        forward(get_context("float64"), net, [[1.0], [2.0]])
