"""Lemma E2 and the published Cor 2.3 on multi-head layers, E1's numeric proof steps, and the
"gamma needed" measurement -- all certified in arb."""

import json
from fractions import Fraction

import numpy as np
from hypothesis import given, settings

from rankcollapse import proofs
from rankcollapse.numerics.checks import checks_for
from rankcollapse.numerics.checks.common import certified_verdict, scale_log10, search
from rankcollapse.numerics.certify import bound_pairs
from rankcollapse.numerics.checks.multi_head import gamma_needed, random_network
from rankcollapse.numerics.checks.steps import STEP4, STEP5, step4_pairs, step5_pairs
from rankcollapse.numerics.examples import contracting_single_head
from rankcollapse.numerics.instance import load_instance
from rankcollapse.numerics.network import Attention, Head, Layer, Network
from rankcollapse.numerics.strategies import Case, network_cases, single_head_cases
from rankcollapse.numerics.verdict import HOLDS, VIOLATED

ONE_STEP, PUBLISHED = bound_pairs("one_step"), bound_pairs("published")


def _ok(verdict):
    return verdict.verdict == HOLDS or verdict.equality_case


@settings(max_examples=40)
@given(network_cases(max_depth=1, max_heads=3, skip=False, mlp=False))
def test_lemma_E2_holds_on_random_multi_head_layers(case):
    verdict, _ = certified_verdict(ONE_STEP, case, scale_log10(case.X))
    assert _ok(verdict), verdict


def test_E2_on_a_three_head_contracting_layer():
    rng = np.random.default_rng(3)
    net = random_network(rng, n=6, d=4, heads=3, depth=2, weight_scale=0.5)
    X = np.array([[Fraction(1) + Fraction(int(v), 10**6) for v in row] for row in rng.integers(-9, 9, (6, 4))],
                 dtype=object)
    for pairs in (ONE_STEP, PUBLISHED):
        verdict, bits = certified_verdict(pairs, Case(X, net), scale_log10(X))
        assert verdict.verdict == HOLDS and verdict.ratio < 1


def test_registered_checks_use_the_multi_head_strategy():
    (e2,) = checks_for(proofs.get("E2"))
    (cor,) = checks_for(proofs.get("cor2.3"))
    assert e2.evaluate.__qualname__.startswith("bound_pairs")
    res = search(cor.strategy(), cor.evaluate, examples=15, seed=3)
    assert res.verdict == HOLDS, res


def _E2_over_4(ctx, case):
    """A deliberately false bound: Lemma E2 divided by 4."""
    return [(lhs, (rhs[0] / 4, rhs[1] / 4)) for lhs, rhs in ONE_STEP(ctx, case)]


def test_mutation_E2_over_4_is_caught_saved_and_reloaded(tmp_path):
    res = search(network_cases(max_depth=1, max_heads=2, max_n=3, max_d=2, skip=False, mlp=False),
                 _E2_over_4, examples=80, seed=2, save_as=tmp_path / "E2_over_4.json")
    assert res.verdict == VIOLATED, res
    saved = load_instance(res.counterexample)
    case = Case(saved.X, saved.net)
    assert certified_verdict(_E2_over_4, case, scale_log10(saved.X))[0].verdict == VIOLATED
    # the true lemma holds on the very same instance (heads with W_O, biases)
    assert certified_verdict(ONE_STEP, case, scale_log10(saved.X))[0].verdict == HOLDS
    assert json.loads(open(res.counterexample).read())["format"] == "rankcollapse-instance/1"


def _published_with_inverse_H(ctx, case):
    """Cor 2.3 with the factor H replaced by 1/H: (4 beta s / H), i.e. divided by H^2 at layer 1."""
    H = len(case.net.layers[0].attention.heads)
    return [(lhs, (rhs[0] / H**2, rhs[1] / H**2)) for lhs, rhs in PUBLISHED(ctx, case)[:1]]


def test_mutation_H_inverted_is_caught():
    """Three heads of the same two-token layer: the published factor H = 3 is needed."""
    head = Head([[1.0]], [[1.0]], [[1.0]], [[1.0]])
    net = Network(1, (Layer(Attention((head, head, head))),))
    case = Case(np.array([[0.0], [0.01]]), net)
    assert certified_verdict(PUBLISHED, case, 0.0)[0].verdict == HOLDS
    assert certified_verdict(_published_with_inverse_H, case, 0.0)[0].verdict == VIOLATED


def test_gamma_needed_two_tokens_approaches_one_eighth():
    """n = 2, d = 1: r(SA(X)) / (4 beta s r(X)^3) -> sigma'(0) / 2 = 1/8 as the logits vanish."""
    net = Network(1, (Layer(Attention((Head([[1.0]], [[1.0]], [[1.0]]),))),))
    (g,) = gamma_needed(Case(np.array([[Fraction(0)], [Fraction(1, 10**4)]], dtype=object), net))
    assert Fraction(1249, 10**4) < g.lower <= g.upper < Fraction(1, 8)


def test_gamma_needed_on_random_networks_is_far_below_one():
    rng = np.random.default_rng(0)
    for H in (1, 3):
        net = random_network(rng, n=4, d=3, heads=H, depth=2)
        for g in gamma_needed(Case(rng.normal(size=(4, 3)), net)):
            assert 0 <= g.lower <= g.upper < Fraction(1, 8)


# -- E1's numeric proof steps (E2 Step 2 applies them head by head) --------------------------
@settings(max_examples=40)
@given(single_head_cases(max_depth=1))
def test_E1_steps_4_and_5_hold(case):
    for pairs in (step4_pairs, step5_pairs):
        verdict, _ = certified_verdict(pairs, case, scale_log10(case.X))
        assert verdict.verdict == HOLDS, verdict


def test_step_checks_back_the_proof_steps_by_object():
    E1 = proofs.get("E1")
    assert STEP4.steps == (E1.step("Step 4"),) and STEP5.steps == (E1.step("Step 5"),)
    assert STEP4.claim is E1 and STEP4 in checks_for(E1)


def _step4_without_n(ctx, case):
    """A false Step 4: ||Q R||_1 <= c pi_max ||R||_1 (the factor n dropped)."""
    n = case.X.shape[0]
    return [(lhs, (rhs[0] / n, rhs[1] / n)) for lhs, rhs in step4_pairs(ctx, case)[1:]]


def test_mutation_step4_without_n_is_caught():
    res = search(single_head_cases(max_depth=1, max_n=4, max_d=2), _step4_without_n, examples=100, seed=0)
    assert res.verdict == VIOLATED, res


def test_step_checks_on_a_deterministic_layer():
    case = contracting_single_head(n=5, d=3, depth=1)
    for check in (STEP4, STEP5):
        verdict, _ = certified_verdict(check.evaluate, case, scale_log10(case.X))
        assert verdict.verdict == HOLDS and verdict.ratio < 1, check.name
