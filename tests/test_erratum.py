"""The erratum's lemma with the exact hypothesis delta_i < t*, and the refuted version without."""

import math
from fractions import Fraction

import numpy as np
import sympy
from hypothesis import given, settings

from numerics.checks import erratum as E
from numerics.checks.common import certified_verdict, scale_log10, search
from numerics.context import get_context
from numerics.instance import load_instance
from numerics.strategies import Case
from numerics.verdict import HOLDS, VIOLATED
from proofs.erratum import T_STAR


def test_t_star_enclosure_is_certified_and_tight():
    ctx = get_context("arb")
    value = sympy.Float(T_STAR.evalf(700), 700)
    for bits in (64, 256, 2048):
        with ctx.workprec(bits):
            t = E.t_star(ctx)
        lo, hi = ctx.lo(t), ctx.hi(t)
        assert lo < Fraction(str(value)) < hi and hi - lo < Fraction(1, 2 ** (bits - 16))
    assert Fraction(1256, 1000) < lo                                   # 1.256 rounds t* down


@settings(max_examples=60)
@given(E.lemma_cases())
def test_corrected_lemma_holds(case):
    verdict, _ = certified_verdict(E.lemma_pairs, case, scale_log10(case.X))
    assert verdict.verdict == HOLDS or verdict.equality_case, verdict


def _two_tokens(delta, log_p):
    return E.LogitCase(np.array([[0.0, delta]]), np.array([0.0, log_p]))


def test_hypothesis_is_sharp_at_t_star():
    """pi_2 = e^-40 (the limit pi_2 -> 0 of proofs.erratum Step 2): just below t* the upper bound
    holds, just above it fails -- decided at the precision the 1e-5 gap needs."""
    below, above = _two_tokens(1.2564, -40.0), _two_tokens(1.2565, -40.0)
    assert certified_verdict(E.nohyp_pairs, below, 0.0)[0].verdict == HOLDS
    assert certified_verdict(E.nohyp_pairs, above, 0.0)[0].verdict == VIOLATED
    assert certified_verdict(E.lemma_pairs, above, 0.0)[0].verdict == HOLDS  # no upper bound claimed


def test_nohyp_counterexample_from_the_brief():
    case = E.LogitCase(np.array([[0.0, 1.5]]), np.array([math.log(0.99), math.log(0.01)]))
    verdict, _ = certified_verdict(E.nohyp_pairs, case, 0.0)
    assert verdict.verdict == VIOLATED
    assert "P_12 / pi_2 - 1 <= 2 delta_1" in E.LAST_VIOLATION["text"] and "pi ~ (0.99, 0.01)" in E.LAST_VIOLATION["text"]
    assert Fraction(333, 100) < verdict.lhs[0] and verdict.rhs == (3, 3)   # P_12 / pi_2 - 1 > 2 * 1.5


def test_nohyp_search_finds_a_violation_and_describes_it():
    E.LAST_VIOLATION.clear()
    res = search(E.lemma_cases(), E.nohyp_pairs, examples=30, seed=0)
    assert res.verdict == VIOLATED, res
    assert E.LAST_VIOLATION["claim"] == "erratum.nohyp" and "lhs in" in E.LAST_VIOLATION["text"]


def test_nohyp_violation_by_an_actual_attention_layer(tmp_path):
    """An actual layer realises the counterexample: tokens -2 and -4 (x = -3, R = (1, -1)),
    W_QK = 1: E_1 = (1, -1), delta_1 = 2 > t*, pi ~ (0.0025, 0.9975), and P_11 ~ 0.018 ~ 7.3 pi_1."""
    from numerics.network import Attention, Head, Layer, Network
    from numerics.instance import save_instance
    net = Network(1, (Layer(Attention((Head([[1.0]], [[1.0]], [[1.0]]),))),))
    path = save_instance(tmp_path / "nohyp_layer.json", np.array([[-2.0], [-4.0]]), net)
    inst = load_instance(path)
    case = Case(inst.X, inst.net)
    verdict, _ = certified_verdict(E.nohyp_pairs, case, scale_log10(inst.X))
    assert verdict.verdict == VIOLATED
    assert Fraction(627, 100) < verdict.lhs[0] and verdict.rhs == (4, 4)   # P_11 / pi_1 - 1 > 2 * 2
    assert certified_verdict(E.lemma_pairs, case, scale_log10(inst.X))[0].verdict == HOLDS


def test_constant_logit_rows_are_skipped():
    case = E.LogitCase(np.array([[0.5, 0.5, 0.5]]), np.array([0.0, 1.0, -1.0]))
    ctx = get_context("arb")
    with ctx.workprec(64):
        assert E.lemma_pairs(case, ctx) == [] and E.nohyp_pairs(case, ctx) == []
