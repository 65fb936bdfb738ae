"""Thm 2.1 (path decomposition) numerically in arb, and exact path-length statistics."""

from fractions import Fraction
from math import comb, log10

import numpy as np
from hypothesis import given, settings

from rankcollapse.numerics.checks.common import certified_verdict, scale_log10, search
from rankcollapse.numerics.checks.multi_head import random_network
from rankcollapse.numerics.checks.paths import ARCHITECTURES, length_table, path_pairs, path_terms
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import Attention, Layer, Network
from rankcollapse.numerics.strategies import Case, network_cases
from rankcollapse.numerics.verdict import HOLDS, VIOLATED


@settings(max_examples=30)
@given(network_cases(max_depth=3, max_heads=3, skip=None, mlp=False))
def test_path_sum_equals_the_forward_pass(case):
    verdict, _ = certified_verdict(path_pairs, case, scale_log10(case.X))
    assert verdict.verdict == HOLDS, verdict


def _skip_net(seed=0, L=3, H=3, n=4, d=3):
    rng = np.random.default_rng(seed)
    net = random_network(rng, n, d, H, L, weight_scale=1.0)
    layers = tuple(Layer(Attention(l.attention.heads, l.attention.b_O, skip=(i != 1))) for i, l in enumerate(net.layers))
    return Case(rng.normal(size=(n, d)), Network(net.d_qk, layers))


def test_path_count_and_identity_on_a_mixed_skip_network():
    case = _skip_net()
    ctx = get_context("arb")
    with ctx.workprec(128):
        outs, terms, b_total = path_terms(ctx, case.net, case.X)
    assert len(terms) == 4 * 3 * 4                     # (1+H) per skip layer, H otherwise
    assert {sum(h != 0 for h in path) for path, _ in terms} == {1, 2, 3}
    assert certified_verdict(path_pairs, case, 0.0)[0].verdict == HOLDS


def _bias_not_propagated(ctx, case):
    """A wrong decomposition: the biases added once, not carried through later W's."""
    from rankcollapse.numerics.checks.paths import layer_bias
    outs, terms, _ = path_terms(ctx, case.net, case.X)
    d = outs[0].shape[1]
    naive = sum((layer_bias(ctx, l.attention, d) for l in case.net.layers), ctx.array(np.zeros((1, d))))
    total = sum((T for _, T in terms), np.broadcast_to(naive, outs[-1].shape))
    diff = ctx.max(abs(outs[-1] - total))
    tol = Fraction(1, 2 ** (ctx.prec // 2)) * 1000
    return [((ctx.lo(diff), ctx.hi(diff)), (tol, tol))]


def test_mutation_unpropagated_bias_is_caught():
    case = _skip_net(seed=2)
    assert certified_verdict(_bias_not_propagated, case, 0.0)[0].verdict == VIOLATED
    res = search(network_cases(min_depth=2, max_depth=2, max_heads=2, max_n=3, max_d=2, skip=None, mlp=False),
                 _bias_not_propagated, examples=20, seed=0)
    assert res.verdict == VIOLATED


def test_length_shares_are_exact_binomials():
    t = length_table(12, 12)
    assert t["total"] == 13**12 and sum(t["counts"].values()) == t["total"]
    assert Fraction(t["counts"][12], t["total"]) == Fraction(12, 13) ** 12
    assert t["mean"] == Fraction(12 * 12, 13) and t["modes"] == (11, 12)
    assert t["share_le"][12] == 1


def test_gpt3_table_in_log_space():
    L, H = ARCHITECTURES["GPT-3 175B"]
    t = length_table(L, H)
    assert abs(t["log10_total"] - 96 * log10(97)) < 1e-9
    assert abs(t["log10_share"][0] + 96 * log10(97)) < 1e-9          # the single length-0 path
    assert abs(t["log10_share"][96] - 96 * log10(96 / 97)) < 1e-9
    assert t["counts"][50] == comb(96, 50) * 96**50
    assert t["share_le_half"] < 1e-60
