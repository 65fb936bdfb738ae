"""The erratum's lemma with the exact hypothesis delta_i < t*, and the refuted version without."""

import json
import math
from fractions import Fraction

import numpy as np
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from rankcollapse.numerics.checks import erratum as E
from rankcollapse.numerics.checks.common import CASE_FORMAT, certified_verdict, load_case, scale_log10, search
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.instance import load_instance
from rankcollapse.numerics.strategies import Case
from rankcollapse.numerics.verdict import HOLDS, VIOLATED
from rankcollapse.proofs.erratum import T_STAR


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
    """pi_2 = e^-40 (the limit pi_2 -> 0 of rankcollapse.proofs.erratum Step 2): just below t* the upper bound
    holds, just above it fails -- decided at the precision the 1e-5 gap needs."""
    below, above = _two_tokens(1.2564, -40.0), _two_tokens(1.2565, -40.0)
    assert certified_verdict(E.nohyp_pairs, below, 0.0)[0].verdict == HOLDS
    assert certified_verdict(E.nohyp_pairs, above, 0.0)[0].verdict == VIOLATED
    assert certified_verdict(E.lemma_pairs, above, 0.0)[0].verdict == HOLDS  # no upper bound claimed


def test_nohyp_counterexample_from_the_brief():
    case = E.LogitCase(np.array([[0.0, 1.5]]), np.array([math.log(0.99), math.log(0.01)]))
    verdict, _ = certified_verdict(E.nohyp_pairs, case, 0.0)
    assert verdict.verdict == VIOLATED
    assert Fraction(333, 100) < verdict.lhs[0] and verdict.rhs == (3, 3)   # P_12 / pi_2 - 1 > 2 * 1.5


def test_nohyp_search_saves_a_counterexample_that_reloads_violated(tmp_path):
    """The shrunk counterexample is bare logit rows (not a network): saved with its exact values,
    reloaded as the same case, and certified violated again."""
    logit_rows = st.one_of(E._logit_rows(5, 3), E._two_token())  # the cases that are not networks
    res = search(logit_rows, E.nohyp_pairs, examples=30, seed=0, save_as=tmp_path / "nohyp.json")
    assert res.verdict == VIOLATED and res.counterexample == str(tmp_path / "nohyp.json"), res
    saved = json.loads(open(res.counterexample).read())
    assert (saved["format"], saved["type"]) == (CASE_FORMAT, "LogitCase")
    assert all(isinstance(v, str) for v in [*saved["E"][0], *saved["r"]])       # exact strings, not floats
    case = load_case(res.counterexample)
    assert isinstance(case, E.LogitCase) and all(isinstance(v, Fraction) for v in case.E.ravel())
    verdict, _ = certified_verdict(E.nohyp_pairs, case, scale_log10(case.X))
    assert verdict.verdict == VIOLATED and verdict.lhs[0] > verdict.rhs[1]


def test_logit_case_round_trip_is_exact(tmp_path):
    """Doubles keep every binary digit (log(0.99) has 50 of them), Fractions stay rational."""
    from rankcollapse.numerics.checks.common import save_case

    case = E.LogitCase(np.array([[Fraction(1, 3), 1.5]], dtype=object), np.array([math.log(0.99), -4.0]))
    back = load_case(save_case(tmp_path / "case.json", case))
    assert back.E.tolist() == [[Fraction(1, 3), Fraction(3, 2)]]
    assert back.r.tolist() == [Fraction(math.log(0.99)), Fraction(-4)]


def test_verify_reports_the_nohyp_counterexample_file(quick_verify):
    import io

    from rich.console import Console

    from rankcollapse.verify import print_table, report_json

    results = quick_verify.results(["erratum.nohyp"])
    (row,) = report_json(results, "quick", 0)["claims"]
    assert row["verdict"] == VIOLATED and row["counterexample"] == str(quick_verify.out / "erratum.nohyp.json")
    assert certified_verdict(E.nohyp_pairs, load_case(row["counterexample"]), 0.0)[0].verdict == VIOLATED
    console = Console(file=io.StringIO(), width=300)
    print_table(results, console)
    assert f"counterexample saved to {row['counterexample']}" in console.file.getvalue()


def test_nohyp_violation_by_an_actual_attention_layer(tmp_path):
    """An actual layer realises the counterexample: tokens -2 and -4 (x = -3, R = (1, -1)),
    W_QK = 1: E_1 = (1, -1), delta_1 = 2 > t*, pi ~ (0.0025, 0.9975), and P_11 ~ 0.018 ~ 7.3 pi_1."""
    from rankcollapse.numerics.network import Attention, Head, Layer, Network
    from rankcollapse.numerics.instance import save_instance
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
        assert E.lemma_pairs(ctx, case) == [] and E.nohyp_pairs(ctx, case) == []
