"""LB1 certified to depth 10 on the toolkit's own network, the hypotheses enforced, and negative
controls: without the (1 - t_0^2/3) factor, or with gamma below 1/8, the certified check fails."""

from fractions import Fraction

import numpy as np
import pytest

from rankcollapse.numerics.checks.common import certified_verdict, search
from rankcollapse.numerics.checks.lower_bounds import (family_constants, gamma_n2_pairs, tight_case, tight_cases,
                                                       tight_pairs, tight_table)
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import Head, single_head
from rankcollapse.numerics.residual import residual_bracket
from rankcollapse.numerics.network import forward_split
from rankcollapse.numerics.strategies import Case
from rankcollapse.numerics.verdict import HOLDS, VIOLATED, decide

ctx = get_context("arb")


def test_family_certified_to_depth_10_far_below_1e_1000():
    case = tight_case("1/2", "-2", "-1/2", 1, depth=10)   # w = qk = 1 with negative factors
    with ctx.workprec(256):
        pairs = tight_pairs(ctx, case)
    assert len(pairs) == 20
    assert all(decide(lhs, rhs, certified=True).verdict == HOLDS for lhs, rhs in pairs)
    rows = tight_table(pairs)
    assert rows[-1]["log10_r"] < -17000 and rows[6]["log10_r"] < -600
    # every layer's residual is pinned between the two bounds to within a factor 10^(0.01 3^l)
    for row in rows:
        assert row["log10_lower"] <= row["log10_r"] <= row["log10_upper"]
        assert row["log10_upper"] - row["log10_lower"] < 0.02 * 3 ** row["layer"]


def test_the_recurrence_is_what_the_network_computes():
    case = tight_case("3/4", 1, 2, "1/2", depth=3)
    with ctx.workprec(256):
        outs = forward_split(ctx, case.net, case.X)
        x = ctx.number(Fraction(3, 4))
        for Z in outs[1:]:
            x = ctx.number(Fraction(1, 2)) * x * ctx.tanh(ctx.array([[2 * x * x]]))[0, 0]
            assert (Z.X[0, 0] - x).contains(0) and (Z.X[1, 0] + x).contains(0)
            assert abs(float(Z.X[0, 0] - x)) < 1e-60 * abs(float(x))


def test_hypotheses_are_enforced_with_named_errors():
    with pytest.raises(ValueError, match="t_0 = 4"):
        family_constants(tight_case(2, 1, 1, "1/8", depth=1))       # t_0 = |w| x_0^2 = 4
    with pytest.raises(ValueError, match=r"\|v\| t_0 <= 1"):
        family_constants(tight_case("1/2", 1, 1, 5, depth=1))       # |v| t_0 = 5/4
    with pytest.raises(ValueError, match="x0"):
        family_constants(Case(np.array([[1.0], [0.5]]), single_head([[1.0]], [[1.0]], [[1.0]])))


def test_negative_control_the_factor_one_minus_t0_squared_over_3_is_needed():
    """With c = |vw|/2 (no correction) the 'lower bound' exceeds r(X^1): tanh t < t."""
    case = tight_case(1, 1, 1, 1, depth=1)                           # t_0 = 1: the largest allowed
    with ctx.workprec(256):
        r1 = residual_bracket(ctx, forward_split(ctx, case.net, case.X)[1].R)
        naive = ctx.number(Fraction(1, 2)) * (ctx.sqrt(ctx.number(2))) ** 3
        assert decide((ctx.lo(naive), ctx.hi(naive)), (r1.lower, r1.upper), certified=True).verdict == VIOLATED
    assert certified_verdict(tight_pairs, case, 0.0)[0].verdict == HOLDS


def test_negative_control_gamma_below_one_eighth_is_violated():
    case = Case(np.array([["0.001"], ["-0.001"]], dtype=object), single_head([[1.0]], [[1.0]], [[1.0]]))
    verdict, _ = certified_verdict(gamma_n2_pairs, case, 0.0)
    assert verdict.verdict == HOLDS and verdict.ratio > 0.999   # the supremum is approached ...
    halved = lambda k, c: [(lhs, (rhs[0] / 2, rhs[1] / 2)) for lhs, rhs in gamma_n2_pairs(k, c)]  # noqa: E731
    assert certified_verdict(halved, case, 0.0)[0].verdict == VIOLATED   # ... so gamma = 1/16 fails


def test_lb2_covers_biases_and_uncentred_inputs():
    head = Head([[1.5]], [[-2.0]], [[0.75]], b_Q=[0.5], b_K=[3.0], b_V=[1.0])
    from rankcollapse.numerics.network import Attention, Layer, Network
    case = Case(np.array([["10.001"], ["10"]], dtype=object), Network(1, (Layer(Attention((head,))),)))
    verdict, _ = certified_verdict(gamma_n2_pairs, case, 1.0)
    assert verdict.verdict == HOLDS and 0 < verdict.ratio < 1


def test_search_stays_inside_the_hypotheses_and_holds():
    result = search(tight_cases(max_depth=3), tight_pairs, 4, seed=3)
    assert result.verdict == HOLDS and result.examples == 4 and result.worst_ratio > 0.5
