"""Family skip: Claim E5 (the paper's Claim 3.1)."""

from sympy import Matrix, eye, zeros

import proofs
from proofs.skip import proves_fixed_point, skip_layer
from proofs.symbols import sym_matrix


def test_kind_and_every_proved_step():
    claim = proofs.get("E5")
    assert (claim.kind, claim.family) == ("theorem", "skip")
    assert "Claim 3.1" in claim.title and "Claim 3.1" in claim.source
    assert [ok for _, ok in proofs.check_steps(claim)] == [True, True]


def test_render():
    claim = proofs.get("E5")
    assert "Eq(r(X_L), r(X))" in claim.render()
    assert r"r{\left(X_{L} \right)} = r{\left(X \right)}" in claim.latex()


def test_nonzero_weights_or_bias_move_the_input():
    assert proves_fixed_point(zeros(2, 2), zeros(2, 1))
    assert not proves_fixed_point(eye(2), zeros(2, 1))
    assert not proves_fixed_point(zeros(2, 2), Matrix([1, 0]))


def test_without_the_skip_the_same_weights_erase_the_input():
    X = sym_matrix("x", 2, 2)
    assert skip_layer(X, zeros(2, 2), zeros(2, 1)) - X == zeros(2, 2)
