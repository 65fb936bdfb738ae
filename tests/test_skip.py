"""Claim E5 (skip connections with W_h = 0 are the identity up to a row-constant), certified
exactly, and the measured behaviour of r(X^l)/r(X) with skip connections."""

from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import given, settings

from rankcollapse.numerics.checks.common import certified_verdict, scale_log10, search
from rankcollapse.numerics.checks.skip import (EXACT_BITS, GRID_BITS, dyadic, e5_case, e5_cases, identity_pairs,
                                  skip_ratio_survey)
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.instance import load_instance, save_instance
from rankcollapse.numerics.network import forward
from rankcollapse.numerics.strategies import Case
from rankcollapse.numerics.verdict import HOLDS, VIOLATED


@settings(max_examples=25)
@given(e5_cases())
def test_E5_output_is_the_input_up_to_a_row_constant(case):
    verdict, _ = certified_verdict(identity_pairs, case, scale_log10(case.X))
    assert verdict.verdict == HOLDS, verdict


def test_without_biases_the_output_equals_the_input_exactly():
    case = e5_case([["0.1", "-2"], ["3.5", "0.25"], ["1e-30", "7"]], depth=4, heads=3, seed=2)
    ctx = get_context("arb")
    with ctx.workprec(EXACT_BITS):
        outs = forward(ctx, case.net, case.X)
    assert all((a - b).is_zero() for a, b in zip(outs[-1].ravel(), outs[0].ravel()))
    assert len(identity_pairs(ctx, case)) == 4  # spread, size, and the two overlap pairs


def test_with_biases_the_change_is_an_exact_row_constant():
    case = e5_case([[1, 2], [3, -1], [0.5, 0.25]], depth=3, heads=2, biases=True, seed=1)
    ctx = get_context("arb")
    with ctx.workprec(EXACT_BITS):
        outs = forward(ctx, case.net, case.X)
        D = outs[-1] - outs[0]
    assert not D[0, 0].is_zero()                        # the biases moved every token ...
    assert all((D[i] - D[0])[j].is_zero() for i in range(3) for j in range(2))  # ... by the same row
    verdict, _ = certified_verdict(identity_pairs, case, 0.0)
    assert verdict.verdict == HOLDS


def test_negative_control_nonzero_value_weights_are_caught(tmp_path):
    """Put W_V back into one head: the layer is no longer the identity and the exact check
    reports a violation, saved and re-checked from the instance file."""
    case = e5_case([[1, 2], [3, -1], [0.5, 0.25]], depth=2, heads=1, seed=4)
    att = case.net.layers[0].attention
    head = replace(att.heads[0], W_V=np.eye(2), W_O=None)
    net = replace(case.net, layers=(replace(case.net.layers[0], attention=replace(att, heads=(head,))),)
                  + case.net.layers[1:])
    bad = Case(case.X, net)
    verdict, _ = certified_verdict(identity_pairs, bad, 1.0)
    assert verdict.verdict == VIOLATED
    path = save_instance(tmp_path / "not_identity.json", bad.X, bad.net)
    inst = load_instance(path)
    assert certified_verdict(identity_pairs, Case(inst.X, inst.net), 1.0)[0].verdict == VIOLATED


def test_dyadic_rounding_is_exact_and_keeps_tiny_residuals():
    inputs = [Fraction(1, 3), Fraction(1, 3) + Fraction(1, 10**40)]
    X = dyadic([inputs])
    assert X.shape == (1, 2)
    for q, x in zip(X.ravel(), inputs):
        assert isinstance(q, Fraction)
        assert (2**GRID_BITS) % q.denominator == 0           # dyadic: a multiple of 2^-GRID_BITS
        assert abs(q - x) <= Fraction(1, 2**(GRID_BITS + 1))  # rounded to the nearest one
    assert X[0, 1] != X[0, 0]  # the grid resolves the 1e-40 difference


def test_search_finds_no_counterexample():
    res = search(e5_cases(max_depth=3), identity_pairs, examples=10, seed=5)
    assert res.verdict == HOLDS, res


def test_skip_connections_keep_the_residual_and_pure_attention_loses_it():
    rows = skip_ratio_survey(seed=1, trials=3, n=4, d=3, heads=2, depths=(1, 6), weight_scales=(0.5,))
    with_skip, without = (next(r for r in rows if r["skip"] is s) for s in (True, False))
    assert with_skip["quantiles"][6][0] > 0.5          # smallest ratio with skips
    assert without["quantiles"][6][2] < 1e-6           # largest ratio without them
