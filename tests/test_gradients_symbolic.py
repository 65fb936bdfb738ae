"""Family gradients (G1, G2): the SymPy proofs, their scopes, and mutations they reject."""

from sympy import Function, Matrix, Symbol

from rankcollapse import proofs
from rankcollapse.proofs.gradients import (_collapsed_input, derivatives_vanish_at, proves_attention_constant,
                                           proves_collapsed_logits, softmax_derivative_ok)


def test_every_proved_step_goes_through_and_says_its_scope():
    for cid in ("G1", "G2"):
        claim = proofs.get(cid)
        assert (claim.kind, claim.family) == ("theorem", "gradients")
        assert all(ok is not False for _, ok in proofs.check_steps(claim))
    scopes = {s.label: s.scope for s in proofs.get("G2").steps}
    assert scopes["Step 1"] == "proved" and scopes["Step 3"] == "proved for n=3, d=2, d_qk=2"
    assert scopes["Step 4"] == "assumed"
    assert "[proved for n=3, d=2, d_qk=2]" in proofs.get("G1").render()


def test_equal_logits_give_constant_attention_and_key_dependent_ones_do_not():
    theta = Symbol("theta", real=True)
    assert proves_attention_constant(lambda m: Function("g")(theta))
    assert not proves_attention_constant(lambda m: Function("h")(m, theta))
    assert proves_collapsed_logits() and softmax_derivative_ok()


def test_value_weights_still_get_gradients_at_collapse():
    """The brute-force check can fail: the derivative in W_V (not claimed to vanish) is caught."""
    assert derivatives_vanish_at(_collapsed_input(), ("b_K",))
    assert not derivatives_vanish_at(_collapsed_input(), ("W_V",))
    assert not derivatives_vanish_at(Matrix([[1, 0], [1, 0], [1, 0]]), ("b_V",))
