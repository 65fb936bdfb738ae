"""Issue 11 masks: thm2.2.causal (a finding, predicted by hand), M1 (explicit one-step bound for
masked attention) and M2 (per-layer contraction; no collapse with two components)."""

import numpy as np

from rankcollapse import proofs
from rankcollapse.numerics.checks.common import certified_verdict, load_case, save_case
from rankcollapse.numerics.checks.masks import (causal_case, causal_published_pairs, contraction_pairs, dobrushin,
                                                m1_pairs, no_collapse_pairs, two_component_case, unmasked)
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import CAUSAL, Attention, Head, Layer, Network
from rankcollapse.numerics.strategies import Case
from rankcollapse.numerics.verdict import HOLDS, VIOLATED
from rankcollapse.proofs.masks import causal_instance_violates

ctx = get_context("arb")


def test_claims_and_their_proofs():
    assert proofs.get("thm2.2.causal").kind == "published" and proofs.get("wu2024").kind == "published"
    for cid in ("thm2.2.causal", "M1", "M2", "wu2024"):
        assert all(ok is not False for _, ok in proofs.check_steps(cid)), cid


def test_causal_prediction_is_a_certified_violation_and_is_saved_for_check(tmp_path):
    """By hand: r(SA(X)) = sigma(delta^2) r(X) ~ r(X)/2, far above 4 beta s r(X)^3 near rank 1."""
    case = causal_case([["0"], ["0.1"]], [[1.0]], [[1.0]], [[1.0]])
    verdict, _ = certified_verdict(causal_published_pairs, case, 0.0)
    assert verdict.verdict == VIOLATED and 25 < verdict.ratio < 25.2   # sigma(1/100) / (4 r^2) = 25.12
    assert causal_instance_violates(__import__("sympy").Rational(1, 10))
    again = load_case(save_case(tmp_path / "causal.json", case))
    assert again.net.layers[0].attention.mask == CAUSAL
    assert certified_verdict(causal_published_pairs, again, 0.0)[0].verdict == VIOLATED
    # the same weights without the mask satisfy the published form: the mask is the cause
    plain = Case(case.X, unmasked(case.net))
    from rankcollapse.numerics.certify import bound_pairs
    assert certified_verdict(bound_pairs("published"), plain, 0.0)[0].verdict == HOLDS


def test_m1_holds_on_masks_and_is_tight_on_the_causal_pair():
    X = np.array([["0.5", "-0.25"], ["0.5", "-0.2"], ["0.55", "-0.25"], ["0.4", "0.1"]], dtype=object)
    head = Head([[1.0], [0.5]], [[0.25], [-1.0]], [[1.0, 0.5], [0.0, 1.0]], b_Q=[0.5])
    for mask in (CAUSAL, [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]], None):
        case = Case(X, Network(1, (Layer(Attention((head,), mask=mask)),) * 2))
        verdict, _ = certified_verdict(m1_pairs, case, 0.0)
        assert verdict.verdict == HOLDS and 0 < verdict.ratio <= 1, mask
    # W_QK = 0, two tokens, causal: P = [[1, 0], [1/2, 1/2]] and r(SA(X)) = r(X)/2 = the bound
    zero = causal_case([["0"], ["0.001"]], [[0.0]], [[0.0]], [[1.0]])
    with ctx.workprec(256):
        (lhs, rhs), = m1_pairs(ctx, zero)
    assert abs(float(lhs[0]) / float(rhs[0]) - 1) < 1e-30


def test_m1_negative_control_the_linear_term_is_needed():
    """Drop lam (keep only E1's cubic part): the causal pair violates it."""
    case = causal_case([["0"], ["0.01"]], [[1.0]], [[1.0]], [[1.0]])
    with ctx.workprec(256):
        (lhs, _), = m1_pairs(ctx, case)
        (_, cubic), = causal_published_pairs(ctx, case)   # 4 beta s r^3 >= E1's cubic factor here
    assert lhs[0] > 100 * cubic[1]


def test_m2_rate_and_the_two_components_that_do_not_collapse():
    cc = causal_case([["0"], ["0.5"], ["1"], ["-0.25"]], [[1.0]], [[1.0]], [[1.0]], depth=4)
    assert certified_verdict(contraction_pairs, cc, 0.0)[0].verdict == HOLDS
    with ctx.workprec(128):
        P = ctx.array([[1, 0, 0], [0.5, 0.5, 0], [0.25, 0.25, 0.5]])
        assert abs(float(dobrushin(ctx, P).mid()) - 0.75) < 1e-30   # 1 - min overlap (rows 1, 2 share 1/4)
    two = two_component_case(depth=10)
    verdict, _ = certified_verdict(no_collapse_pairs, two, 0.0)
    assert verdict.verdict == HOLDS and verdict.lhs[0] > 0.3    # r(X^10) >= r(X)/2 > 0: no collapse
    with ctx.workprec(128):
        (_, rhs_first), *_ = contraction_pairs(ctx, two)
    assert rhs_first[1] >= 1   # delta = 1: the rate says nothing, as it must


def _softmax_rate(X, mask):
    """delta(P) for one layer with W_Q = W_K = 1, d_qk = 1, in float64 (an independent reference)."""
    S = np.where(mask, X @ X.T, -np.inf)
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    n = len(X)
    return 1 - min(np.minimum(P[i], P[k]).sum() for i in range(n) for k in range(i + 1, n))


def test_check_prints_m2_contraction_next_to_the_rate(tmp_path, capsys):
    """`check` on a W_V = I masked stack reports M2 per layer, in every certified backend alike;
    the rate agrees with an independent float64 Dobrushin coefficient; elsewhere M2 is absent."""
    import json

    from rankcollapse.cli import main
    from rankcollapse.numerics.instance import save_instance

    X = [["0"], ["0.5"], ["1"], ["-0.25"]]
    cc = causal_case(X, [[1.0]], [[1.0]], [[1.0]], depth=3)
    path = save_instance(tmp_path / "causal.json", cc.X, cc.net)
    reports = {}
    for backend in ("arb", "mpmath"):
        out = tmp_path / f"{backend}.json"
        assert main(["check", str(path), "--backend", backend, "--json", str(out)]) == 0
        reports[backend] = json.loads(out.read_text())["M2"]
    assert "rate delta(P^l)" in capsys.readouterr().out
    arb, mp = reports["arb"], reports["mpmath"]
    assert [r["layer"] for r in arb] == [1, 2, 3] and all(r["verdict"] == "holds" for r in arb + mp)
    assert all(0 < r["observed"] < r["rate"] < 1 for r in arb)
    assert all(abs(a["rate"] - m["rate"]) < 1e-12 and abs(a["observed"] - m["observed"]) < 1e-12 for a, m in zip(arb, mp))
    Xf = np.array([[0.0], [0.5], [1.0], [-0.25]])
    assert abs(arb[0]["rate"] - _softmax_rate(Xf, np.tril(np.ones((4, 4), dtype=bool)))) < 1e-12
    scaled = causal_case(X, [[1.0]], [[1.0]], [[2.0]])           # W_V = 2: M2's hypothesis fails
    path = save_instance(tmp_path / "scaled.json", scaled.X, scaled.net)
    out = tmp_path / "scaled_report.json"
    assert main(["check", str(path), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["M2"] is None
