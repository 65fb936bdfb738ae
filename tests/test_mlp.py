"""Lemma E3 (the MLP alone) and the published Cor 3.2 (attention + MLP), certified in arb."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings

from rankcollapse import proofs
from rankcollapse.numerics.checks import checks_for
from rankcollapse.numerics.checks.common import certified_verdict, scale_log10, search
from rankcollapse.numerics.checks.mlp import activation_lipschitz, mlp_case, mlp_cases, mlp_lambda, mlp_pairs
from rankcollapse.numerics.certify import bound_pairs
from rankcollapse.numerics.checks.multi_head import random_network
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.instance import load_instance
from rankcollapse.numerics.network import Layer, forward_split, layer_forward
from rankcollapse.numerics.strategies import Case
from rankcollapse.numerics.verdict import HOLDS, VIOLATED


@settings(max_examples=40)
@given(mlp_cases())
def test_lemma_E3_holds_on_random_mlps(case):
    verdict, _ = certified_verdict(mlp_pairs, case, scale_log10(case.X))
    assert verdict.verdict == HOLDS or verdict.equality_case, verdict


def test_identity_attention_passes_the_input_through_exactly():
    case = mlp_case([[Fraction(1, 3)], [2.0]], [[1.0]], [[1.0]], "relu")
    ctx = get_context("arb")
    with ctx.workprec(128):
        Y = forward_split(ctx, case.net, case.X)[0]
        out = layer_forward(ctx, Y, Layer(case.net.layers[0].attention), case.net.d_qk)
    for got, want in ((out.c, Y.c), (out.R, Y.R)):
        assert all(a.mid() == b.mid() and a.rad() == b.rad() for a, b in zip(got.ravel(), want.ravel()))


@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh"])
def test_E3_on_each_activation(activation):
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(5, 3))
    case = mlp_case(Y, rng.normal(size=(3, 4)), rng.normal(size=(4, 3)), activation, rng.normal(size=4), None)
    verdict, _ = certified_verdict(mlp_pairs, case, scale_log10(Y))
    assert verdict.verdict == HOLDS and verdict.ratio < 1


def test_lipschitz_constants_are_exact_or_tightly_enclosed():
    ctx = get_context("arb")
    with ctx.workprec(128):
        assert ctx.lo(activation_lipschitz(ctx, "relu")) == ctx.hi(activation_lipschitz(ctx, "relu")) == 1
        assert ctx.hi(activation_lipschitz(ctx, "tanh")) == 1
        gelu = activation_lipschitz(ctx, "gelu")
        assert Fraction("1.1289") < ctx.lo(gelu) < ctx.hi(gelu) < Fraction("1.12895")
        assert ctx.hi(gelu) - ctx.lo(gelu) < Fraction(1, 10**30)


def test_E3_is_tight_for_a_linear_relu_map():
    """All pre-activations positive: f is affine and r(f(Y)) = lam r(Y) exactly (d = width = 1).
    The bound is attained, so a certified verdict can only say 'inconclusive' or 'holds' -- never
    'violated'; the brackets of both sides coincide to the LP's accuracy."""
    case = mlp_case([[1.0], [2.0], [4.0]], [[2.0]], [[3.0]], "relu")
    verdict, _ = certified_verdict(mlp_pairs, case, 1.0, max_bits=256)
    assert verdict.verdict != VIOLATED
    assert abs(verdict.ratio - 1) < 1e-9


def _E3_over_4(ctx, case):
    """A deliberately false bound: lam / 4."""
    return [(lhs, (rhs[0] / 4, rhs[1] / 4)) for lhs, rhs in mlp_pairs(ctx, case)]


def test_mutation_lambda_over_4_is_caught_and_saved(tmp_path):
    res = search(mlp_cases(max_n=4, max_d=2, max_width=2), _E3_over_4, examples=60, seed=0,
                 save_as=tmp_path / "E3_over_4.json")
    assert res.verdict == VIOLATED, res
    saved = load_instance(res.counterexample)
    case = Case(saved.X, saved.net)
    assert certified_verdict(_E3_over_4, case, scale_log10(saved.X))[0].verdict == VIOLATED
    # the true lemma is not violated there; shrinking tends to end on the simplest, affine
    # case, where E3 is an equality (see test_E3_is_tight_for_a_linear_relu_map)
    true, _ = certified_verdict(mlp_pairs, case, scale_log10(saved.X), max_bits=512)
    assert true.verdict != VIOLATED and true.ratio <= 1 + 1e-9


def test_cor32_on_a_deterministic_attention_mlp_network():
    rng = np.random.default_rng(5)
    net = random_network(rng, n=4, d=3, heads=2, depth=3, weight_scale=0.5, mlp=True)
    X = np.array([[Fraction(1) + Fraction(int(v), 10**5) for v in row] for row in rng.integers(-9, 9, (4, 3))],
                 dtype=object)
    verdict, _ = certified_verdict(bound_pairs("published"), Case(X, net), scale_log10(X))
    assert verdict.verdict == HOLDS, verdict
    (cor,) = checks_for(proofs.get("cor3.2"))
    assert cor.evaluate.__qualname__.startswith("bound_pairs")


def test_mlp_lambda_matches_the_closed_form():
    ctx = get_context("arb")
    case = mlp_case([[0.0, 1.0]], [[1.0, -2.0], [3.0, 0.5]], [[1.0, 1.0], [0.0, 2.0]], "relu")
    with ctx.workprec(128):
        lam = mlp_lambda(ctx, case.net.layers[0].mlp)
    # ||W1||_1 = 4, ||W1||_inf = 3.5, ||W2||_1 = 3, ||W2||_inf = 2
    # lam = sqrt(4 * 3.5) sqrt(3 * 2) = sqrt(84) (L_relu = 1): the enclosure must contain it
    exact = (14 * 6) ** 0.5
    lo, hi = ctx.lo(lam), ctx.hi(lam)
    assert 0 <= lo and lo ** 2 <= 84 <= hi ** 2
    assert hi - lo < Fraction(1, 10**30)
    assert abs(float(lo) - exact) < 1e-12
