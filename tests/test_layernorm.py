"""The published 'LayerNorm plays no role' (Sec 3.3), tested as: at depth 12, if the stack
without LayerNorm has collapsed, so has the stack with it. Refuted with certified instances."""

from fractions import Fraction

import numpy as np
from hypothesis import given, settings

from rankcollapse.numerics.checks.common import certified_verdict, scale_log10, search
from rankcollapse.numerics.checks.layernorm import (MIN_D, THRESHOLD, collapsing_example, ln_cases, ln_pairs,
                                       normalised_residual, rho_trajectory, seeded_case,
                                       structured_ln_cases, without_layernorm)
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.instance import load_instance, save_instance
from rankcollapse.numerics.network import Attention, Head, Layer, Network, forward
from rankcollapse.numerics.strategies import Case
from rankcollapse.numerics.verdict import HOLDS, VIOLATED

WITNESS = 33  # seeded_case(33): pre-LN, 4 tokens, d = 3


def test_both_stacks_collapse_on_a_moderate_example():
    case = collapsing_example()
    assert certified_verdict(ln_pairs, case, scale_log10(case.X))[0].verdict == HOLDS


def test_witness_keeps_its_residual_with_layernorm_and_loses_it_without(tmp_path):
    case = seeded_case(WITNESS)
    verdict, _ = certified_verdict(ln_pairs, case, scale_log10(case.X))
    assert verdict.verdict == VIOLATED and verdict.lhs[0] > Fraction(9, 10)
    path = save_instance(tmp_path / "sec33.json", case.X, case.net)
    inst = load_instance(path)
    assert certified_verdict(ln_pairs, Case(inst.X, inst.net), scale_log10(inst.X))[0].verdict == VIOLATED


def test_witness_is_an_equilibrium_over_48_layers():
    case = seeded_case(WITNESS)
    with_ln, without = rho_trajectory(case, 48, True), rho_trajectory(case, 48, False)
    assert min(lo for lo, _ in with_ln[12:]) > Fraction(9, 10)
    assert max(hi for _, hi in without[12:]) < Fraction(1, 10**50)


@settings(max_examples=10)
@given(structured_ln_cases())
def test_search_draws_no_degenerate_width(case):
    """d = 1 maps every row to the bias and d = 2 onto one line: they say nothing about sec3.3
    (the seeded stacks draw d from MIN_D on too)."""
    d = case.X.shape[1]
    assert d >= MIN_D == 3
    assert all(len(layer.attention.layernorm.gain) == d for layer in case.net.layers)


def test_search_finds_a_violation():
    res = search(ln_cases(), ln_pairs, examples=40, seed=1)
    assert res.verdict == VIOLATED, res


def test_literal_formalisation_fails_without_layernorm_too():
    """Antipodal tokens [u; -u], no biases: the attention is symmetric, the rows stay antipodal
    and r(X^l)/||X^l||_{1,inf} = 1 at every depth, with no LayerNorm at all -- while X^l itself
    vanishes doubly exponentially (so deep layers need ~3^l digits; 5 layers here)."""
    u = np.array([1.0, -0.5, 0.25])
    head = Head(np.eye(3) * 0.7, np.eye(3) * 0.4, np.diag([0.9, -0.3, 0.5]))
    net = Network(3, (Layer(Attention((head,))),) * 5)
    ctx = get_context("arb")
    with ctx.workprec(1024):
        outs = forward(ctx, net, np.array([u, -u]))
        rhos = [normalised_residual(ctx, Y) for Y in outs]
        size = float(abs(outs[-1][0, 0]).mid())
    assert all(lo > Fraction(999, 1000) and hi <= 1 for lo, hi in rhos)
    assert size < 1e-80                                 # the matrix itself vanishes


def test_normalised_residual_bounds():
    ctx = get_context("arb")
    with ctx.workprec(128):
        assert normalised_residual(ctx, ctx.array(np.zeros((2, 3)))) == (0, 0)
        lo, hi = normalised_residual(ctx, ctx.array([[1.0, 2.0], [3.0, 5.0]]))
    assert 0 < lo <= hi <= 1 and THRESHOLD == Fraction(1, 100)
    assert without_layernorm(seeded_case(1).net).layers[0].attention.layernorm is None
