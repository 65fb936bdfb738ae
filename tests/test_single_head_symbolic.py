"""Family single_head: Lemma E1, Theorem E4, published Thm 2.2."""

import pytest
import sympy
from sympy import Rational, log, sqrt

from rankcollapse import proofs
from rankcollapse.proofs.single_head import (A_FACTOR, GROWTH_INSTANCE, THM22_BOUND, closed_form_B,
                                depth_to_eps, proves_closed_form, proves_depth_formula,
                                proves_phi_increasing, proves_published_matches_E4,
                                proves_value_centering)
from rankcollapse.proofs.symbols import (B0, H, L, X, a, beta, d_qk, gamma, lam, nonneg_on_halfline, phi,
                            r, s, stochastic_matrix, sym_matrix, t)


@pytest.mark.parametrize("claim_id, kind, proved", [("E1", "theorem", 6), ("E4", "theorem", 6),
                                                    ("thm2.2", "published", 1)])
def test_kind_and_every_proved_step(claim_id, kind, proved):
    claim = proofs.get(claim_id)
    assert (claim.kind, claim.family) == (kind, "single_head")
    outcomes = [ok for step, ok in proofs.check_steps(claim) if step.status == "proved"]
    assert outcomes == [True] * proved


def test_E1_steps_follow_theory():
    labels = [step.label for step in proofs.get("E1").steps]
    assert labels == [f"Step {k}" for k in range(1, 8)] + ["Final"]
    numeric = {s.label for s in proofs.get("E1").steps if s.status == "numeric"}
    assert numeric == {"Step 4", "Step 5"}


def test_renders_show_the_constants():
    plain, tex = proofs.get("E1").render(), proofs.get("E1").render(latex=True)
    for word in ("beta", "gamma", "d_qk", "phi", "||R||_{1,inf}**3"):
        assert word in plain
    assert r"\beta" in tex and r"\gamma" in tex and r"\phi" in tex
    assert "sqrt(d_qk)" in proofs.get("thm2.2").render()
    assert "3**L" in proofs.get("E4").render()


def test_closed_form_values():
    assert closed_form_B(Rational(1, 4), 4, 0) == 4
    assert closed_form_B(Rational(1, 4), 4, 1) == 16        # a B_0^3
    assert closed_form_B(2, 1, 3) == 2**13                   # (27 - 1)/2 = 13
    a_, B0_ = GROWTH_INSTANCE
    assert a_ < 1 and [closed_form_B(a_, B0_, k) for k in range(3)] == [4, 16, 1024]


def test_depth_to_eps():
    depth = depth_to_eps(Rational(1, 4), 1, Rational(1, 1000))
    assert sympy.simplify(depth - log(log(2000) / log(2), 3)) == 0
    k = int(sympy.ceiling(depth))
    assert closed_form_B(Rational(1, 4), 1, k) <= Rational(1, 1000) < closed_form_B(
        Rational(1, 4), 1, k - 1)
    assert depth_to_eps(Rational(1, 4), 1, 3) == 0           # eps sqrt(a) >= 1
    with pytest.raises(ValueError):
        depth_to_eps(Rational(1, 4), 2, Rational(1, 10))     # sqrt(a) B_0 = 1


def test_a_factor_is_the_published_rate():
    assert A_FACTOR == 4 * gamma * beta * H * lam * s
    assert A_FACTOR.subs({H: 1, lam: 1, s: 1 / sqrt(d_qk)}) == 4 * gamma * beta / sqrt(d_qk)


def test_mutations_are_rejected():
    # exponent 3^L instead of (3^L - 1)/2
    assert not proves_closed_form(a**(3**L) * B0**(3**L))
    assert not proves_closed_form(a**((3**L + 1) / 2) * B0**(3**L))
    # wrong logarithm base in the depth formula
    assert not proves_depth_formula(
        lambda a_, b_, e_: log(log(e_ * sqrt(a_)) / log(sqrt(a_) * b_), 2))
    # centering needs P 1 = 1
    assert proves_value_centering([stochastic_matrix("p", 3)])
    assert not proves_value_centering([sym_matrix("p", 3, 3)])
    # a published form with the wrong exponent does not match E4
    wrong = (4 * gamma * beta / sqrt(d_qk))**(3**L) * r(X)**(3**L)
    assert proves_published_matches_E4(THM22_BOUND, {H: 1, lam: 1})
    assert not proves_published_matches_E4(wrong, {H: 1, lam: 1})
    assert not proves_published_matches_E4(THM22_BOUND, {H: 2, lam: 1})


def test_phi_tactic_rejects_false_claims():
    assert proves_phi_increasing()
    assert not nonneg_on_halfline(sympy.exp(-t) - 1, t)
    assert not nonneg_on_halfline(sympy.exp(t) - 1 - 2 * t, t)
    assert phi(0) == 1 and abs(phi(sympy.Float(1)) - (sympy.E - 1)) < 1e-12
    assert abs(phi(2 * t).evalf(subs={t: 0.5}) - (sympy.E - 1)) < 1e-12
