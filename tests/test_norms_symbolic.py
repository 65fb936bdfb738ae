"""Family norms: N1-N3 (composite norm, triangle counterexample, residual facts)."""

import pytest
from sympy import Matrix, Rational, eye, sqrt

from rankcollapse import proofs
from rankcollapse.proofs.norms import (norm_1, norm_composite, norm_inf, proves_transpose_swap,
                          triangle_counterexample, violates_triangle)

PROVED = {"N1": 3, "N2": 3, "N3": 4}


@pytest.mark.parametrize("claim_id", sorted(PROVED))
def test_kind_and_every_proved_step(claim_id):
    claim = proofs.get(claim_id)
    assert (claim.kind, claim.family) == ("theorem", "norms")
    outcomes = [ok for step, ok in proofs.check_steps(claim) if step.status == "proved"]
    assert outcomes == [True] * PROVED[claim_id]


def test_renders_show_the_composite_norm():
    for claim_id in PROVED:
        claim = proofs.get(claim_id)
        assert "||" in claim.render() and "{1,inf}" in claim.render()
        assert r"\right\|_{1,\infty}" in claim.render(latex=True)
        assert r"\right\|_{1,\infty}" in claim.latex()


def test_exact_helpers():
    M = Matrix([[1, -2, 0], [Rational(1, 2), 3, -1]])
    assert norm_1(M) == 5 and norm_inf(M) == Rational(9, 2)
    assert norm_composite(M) == sqrt(Rational(45, 2))


def test_counterexample_is_exact_and_minimal_in_search_order():
    A, B, lhs, rhs = triangle_counterexample()
    assert lhs == norm_composite(A + B) and rhs == norm_composite(A) + norm_composite(B)
    assert (lhs - rhs).is_positive
    assert A.shape == B.shape == (2, 2)


def test_mutations_are_rejected():
    # the same norm on both sides is not the transpose duality
    assert not proves_transpose_swap(norm_1, norm_1)
    assert not proves_transpose_swap(norm_inf, norm_inf)
    # composite norms of I, I add up exactly: no violation
    assert not violates_triangle(eye(2), eye(2))
    # a pair that satisfies the triangle inequality strictly
    assert not violates_triangle(Matrix([[1, 0], [0, 0]]), Matrix([[0, 1], [0, 0]]))
