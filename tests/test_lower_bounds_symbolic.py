"""Family lower_bounds (LB1, LB2): the SymPy proofs, and that each rejects a wrong statement."""

import sympy
from sympy import Rational, tanh

from rankcollapse import proofs
from rankcollapse.proofs.lower_bounds import (GAMMA_N2, UPPER_FACTOR, lower_constant, one_layer, proves_gamma_n2,
                                              proves_recurrence, proves_two_token_residual)


def test_every_step_is_proved_and_general():
    for cid in ("LB1", "LB2"):
        claim = proofs.get(cid)
        assert (claim.kind, claim.family) == ("theorem", "lower_bounds")
        results = proofs.check_steps(claim)
        assert results and all(ok is True for _, ok in results), cid
        assert all(step.kind_of_support == "general" for step, _ in results)


def test_the_recurrence_is_the_layer_and_a_wrong_one_is_rejected():
    assert proves_recurrence(one_layer)
    assert not proves_recurrence(lambda x, w, v: v * x * tanh(2 * w * x**2))  # sigma(2t) - sigma(-2t) = tanh(t)


def test_best_constant_is_one_eighth_and_neither_smaller_nor_larger_passes():
    assert GAMMA_N2 == Rational(1, 8) and UPPER_FACTOR == 4 * GAMMA_N2
    assert proves_gamma_n2(UPPER_FACTOR)
    assert not proves_gamma_n2(Rational(1, 4))   # a smaller gamma is not a bound (sharpness)
    assert not proves_gamma_n2(Rational(1))      # a larger one is a bound but not the best


def test_lower_constant_below_upper_and_tends_to_it():
    v, w, t0 = sympy.symbols("v w t_0", positive=True)
    c = lower_constant(v, w, t0)
    assert sympy.simplify(UPPER_FACTOR * v * w - c - v * w * t0**2 / 6) == 0
    assert sympy.limit(c / (v * w / 2), t0, 0) == 1
    assert lower_constant(1, 1, Rational(1, 4)) == Rational(47, 96)


def test_two_token_residual_and_render():
    assert proves_two_token_residual()
    text = proofs.get("LB1").render()
    assert "c**(3**L/2 - 1/2)*r(X)**(3**L)" in text and "[proved]" in text
    assert r"\geq" in proofs.get("LB1").latex()
