"""Family skip: Claim E5 (the paper's Claim 3.1)."""

from sympy import Matrix, eye, ones, zeros

from rankcollapse import proofs
from rankcollapse.proofs.skip import proves_fixed_point, skip_layer
from rankcollapse.proofs.symbols import is_zero, s, softmax_rows, sym_matrix


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


def _layer_without_skip(X_, W_h, b):
    """sum_h P_h X W_h + 1 b^T: skip_layer's layer with the skip connection removed, written
    out here from the same softmax of the same symbolic query/key weights (2 heads)."""
    out = ones(X_.rows, 1) * b.T
    for head in range(2):
        W_Q, W_K = sym_matrix(f"q{head}", 2, 1), sym_matrix(f"k{head}", 2, 1)
        out += softmax_rows(s * (X_ * W_Q) * (X_ * W_K).T) * X_ * W_h
    return out


def test_without_the_skip_the_same_weights_erase_the_input():
    X = sym_matrix("x", 2, 2)
    erased = _layer_without_skip(X, zeros(2, 2), zeros(2, 1))
    assert erased == zeros(2, 2)   # W_h = 0, b = 0 and no skip: every token is mapped to 0
    assert not is_zero(erased - X)  # so X is lost (for symbolic, i.e. any, X), not kept
    # the skip connection is the only difference between the two layers, whatever the weights
    for W_h, b in ((zeros(2, 2), zeros(2, 1)), (eye(2), Matrix([1, -2])),
                   (sym_matrix("w", 2, 2), sym_matrix("b", 2, 1))):
        assert is_zero(skip_layer(X, W_h, b) - X - _layer_without_skip(X, W_h, b))
