"""Lemma E1, Theorem E4 and the published Thm 2.2 on random single-head networks, certified."""

import dataclasses
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
from hypothesis import given, settings

from rankcollapse.numerics.certify import bound_pairs, check_network
from rankcollapse.numerics.checks.common import certified_verdict, scale_log10, search
from rankcollapse.numerics.instance import load_instance
from rankcollapse.numerics.examples import deep_single_head
from rankcollapse.numerics.exact import to_fraction
from rankcollapse.numerics.network import Attention, Head, Layer, Network
from rankcollapse.numerics.residual import residual_bracket
from rankcollapse.numerics.strategies import Case, single_head_cases
from rankcollapse.numerics.verdict import HOLDS, INCONCLUSIVE, VIOLATED

ONE_STEP, E4 = bound_pairs("one_step"), bound_pairs("E4")


@settings(max_examples=200)
@given(single_head_cases(max_depth=1))
def test_lemma_E1_holds_on_random_layers(case):
    verdict, _ = certified_verdict(ONE_STEP, case, scale_log10(case.X))
    assert verdict.verdict == HOLDS or verdict.equality_case, verdict


@settings(max_examples=30)
@given(single_head_cases(min_depth=1, max_depth=6))
def test_theorem_E4_holds_at_every_layer(case):
    verdict, _ = certified_verdict(E4, case, scale_log10(case.X))
    assert verdict.verdict == HOLDS or verdict.equality_case, verdict


def float_trap() -> Case:
    """Two tokens, one feature, rows 0.82 and 0.82 + 2^-40: the true output residual is ~2e-37,
    far below float64's rounding noise on entries of size 1."""
    X = np.array([[Fraction("0.82")], [Fraction("0.82") + Fraction(1, 2**40)]], dtype=object)
    head = Head([["-0.921"]], [["-1.836"]], [["-0.967"]])
    return Case(X, Network(1, (Layer(Attention((head,))),)))


def naive_float64_residual(case) -> float:
    """The layer on one matrix of doubles, as a float64 script would write it."""
    X = case.X.astype(float)
    h = case.net.layers[0].attention.heads[0]
    S = X @ h.W_Q.astype(float) @ h.W_K.astype(float).T @ X.T
    P = np.exp(S - S.max(axis=1, keepdims=True))
    X1 = (P / P.sum(axis=1, keepdims=True)) @ X @ h.W_V.astype(float)
    return abs(X1[1, 0] - X1[0, 0])  # r of a 2 x 1 matrix is the rows' difference


def test_float_trap_float64_would_say_violated_certified_says_holds():
    case = float_trap()
    rough = check_network(case.net, case.X, backend="float64").layers[1]
    bound = float(rough.bounds["one_step"][1])
    assert naive_float64_residual(case) / bound > 1e8  # what a float64 script reports
    assert float(rough.residual.upper) / bound < 1  # the split pass keeps R's relative accuracy...
    assert rough.verdicts["one_step"].verdict == INCONCLUSIVE  # ... but float64 never decides
    report = check_network(case.net, case.X)
    exact = report.layers[1]
    assert exact.verdicts["one_step"].verdict == HOLDS
    assert exact.verdicts["E4"].verdict == HOLDS
    assert exact.residual.upper < Fraction(1, 10**30)
    assert report.bits == 128                  # no bits spent on cancelling the O(1) common row


def test_split_forward_certifies_depth_10_at_low_precision():
    """deep_single_head(10): r(X^10) ~ 1e-76189. The split pass certifies every bound at every
    layer at 128 bits (a whole-matrix pass needs 262 144); a pass that lost R's relative accuracy
    would leave the deep layers undecided at 128 bits and double."""
    case = deep_single_head(depth=10)
    report = check_network(case.net, case.X, max_bits=128)
    assert report.bits == 128 and not report.notes
    assert all(v.verdict == HOLDS for r in report.layers[1:] for v in r.verdicts.values())
    top = report.layers[-1].residual
    assert top.upper < Fraction(1, 10**76000)
    assert (top.upper - top.lower) / top.upper < Fraction(1, 10**6)  # relative accuracy kept


SHIPPED = Path(__file__).resolve().parent.parent / "docs" / "instances"


def _same_exactly(a, b) -> bool:
    """Two networks (or parts of one) hold the same structure and the same numbers, exactly."""
    if dataclasses.is_dataclass(a) or dataclasses.is_dataclass(b):
        return type(a) is type(b) and all(_same_exactly(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(map(_same_exactly, a, b)))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None or np.shape(a) != np.shape(b):
            return False
        return all(to_fraction(x) == to_fraction(y) for x, y in zip(np.ravel(a), np.ravel(b)))
    return a == b


def test_shipped_float_trap_instance_matches():
    inst = load_instance(SHIPPED / "float_trap.json")
    case = float_trap()
    assert inst.X.shape == case.X.shape and (inst.X == case.X).all()
    assert _same_exactly(inst.net, case.net)
    assert not _same_exactly(inst.net, deep_single_head(depth=1).net)  # the comparison can fail


def _fourth_power(ctx, case):
    """A deliberately false bound: Lemma E1 with one power of r too many (``||R||^4`` instead of
    ``||R||^3``), i.e. the true bound times r(X). Near rank one it is far too small."""
    r0 = residual_bracket(ctx, ctx.array(case.X))
    return [(lhs, (rhs[0] * r0.lower, rhs[1] * r0.upper)) for lhs, rhs in ONE_STEP(ctx, case)]


def test_mutation_false_bound_is_caught_and_saved(tmp_path):
    res = search(single_head_cases(max_depth=1, biases=False), _fourth_power, examples=150, seed=1,
                 save_as=tmp_path / "mutant.json")
    assert res.verdict == VIOLATED, res
    saved = load_instance(res.counterexample)
    again, _ = certified_verdict(_fourth_power, Case(saved.X, saved.net), scale_log10(saved.X))
    assert again.verdict == VIOLATED
    # the true lemma holds on the very same saved instance
    assert certified_verdict(ONE_STEP, Case(saved.X, saved.net), scale_log10(saved.X))[0].verdict == HOLDS
    assert json.loads(open(res.counterexample).read())["format"] == "rankcollapse-instance/1"
