"""Family erratum: the corrected lemma (with t*) and the published one without hypothesis."""

import pytest
import sympy
from sympy import Rational, exp

from rankcollapse import proofs
from rankcollapse.proofs.erratum import T_STAR, nohyp_counterexample, proves_root, violates_upper_bound


@pytest.mark.parametrize("claim_id, kind, proved", [("erratum", "theorem", 5),
                                                    ("erratum.nohyp", "published", 2)])
def test_kind_and_every_proved_step(claim_id, kind, proved):
    claim = proofs.get(claim_id)
    assert (claim.kind, claim.family) == (kind, "erratum")
    outcomes = [ok for step, ok in proofs.check_steps(claim) if step.status == "proved"]
    assert outcomes == [True] * proved


def test_renders():
    assert "LambertW" in proofs.get("erratum").render()
    assert "W_{-1}" in proofs.get("erratum").latex()
    assert "Refuted" in proofs.get("erratum.nohyp").notes


def test_t_star():
    assert abs(T_STAR.evalf(50) - sympy.Float("1.2564312086261696769827376", 50)) < 1e-24
    assert proves_root(T_STAR)


@pytest.mark.parametrize("candidate", [Rational(1256, 1000), sympy.S.Zero, Rational(5, 4),
                                       -Rational(1, 2) - sympy.LambertW(-exp(-Rational(1, 2)) / 2)])
def test_wrong_roots_are_rejected(candidate):
    # 1.256 is only close, 0 is not positive, W_0 gives the root 0 (not t*)
    assert not proves_root(candidate)


def test_counterexample():
    pi, E_row, delta, P, bound = nohyp_counterexample()
    assert pi == sympy.Matrix([[Rational(99, 100), Rational(1, 100)]])
    assert E_row == sympy.Matrix([[0, Rational(3, 2)]]) and delta > T_STAR
    assert P > bound
    assert not violates_upper_bound(Rational(1, 2), Rational(3, 2))   # uniform pi: fine
    assert not violates_upper_bound(Rational(1, 100), 1)             # delta < t*: fine
