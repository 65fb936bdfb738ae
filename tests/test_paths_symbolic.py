"""Family paths: Thm 2.1 (path decomposition), counts and bias propagation."""

import pytest
from sympy import Mul, Rational, Symbol

from rankcollapse import proofs
from rankcollapse.proofs.paths import (X_nc, network, path_counts, path_length_shares, path_sum,
                          proves_bias_propagation, proves_path_counts, proves_path_sum)


def P(layer, head):
    return Symbol(f"P^{layer}_{head}", commutative=False)


def W(layer, head):
    return Symbol(f"W^{layer}_{head}", commutative=False)


def test_kind_and_every_proved_step():
    claim = proofs.get("thm2.1")
    assert (claim.kind, claim.family) == ("theorem", "paths")
    assert [ok for _, ok in proofs.check_steps(claim)] == [True] * 6


def test_render_shows_paths():
    claim = proofs.get("thm2.1")
    assert "P_path(p)*X*W_path(p)" in claim.render()
    assert "binomial(L, k)" in claim.render()
    assert r"\sum_{p=1}^{H^{L}}" in claim.render(latex=True)


@pytest.mark.parametrize("L, H", [(1, 1), (2, 3), (3, 2), (4, 3)])
def test_counts_add_up(L, H):
    assert sum(path_counts(L, H, skip=True).values()) == (1 + H)**L
    assert path_counts(L, H, skip=False) == {L: H**L}
    assert sum(path_length_shares(L, H).values()) == 1


def test_shares_are_exact():
    assert path_length_shares(3, 1) == {0: Rational(1, 8), 1: Rational(3, 8),
                                        2: Rational(3, 8), 3: Rational(1, 8)}


def test_network_and_bias_propagation():
    assert network(1, 1, skip=True) == X_nc + P(1, 1) * X_nc * W(1, 1)
    assert proves_bias_propagation(3, 2, skip=True)


def test_wrong_counts_are_rejected():
    assert proves_path_counts({0: 1, 1: 4, 2: 4}, 2, 2, skip=True)
    assert not proves_path_counts({0: 1, 1: 4, 2: 3}, 2, 2, skip=True)
    assert not proves_path_counts({2: 5}, 2, 2, skip=False)


def test_wrong_path_sums_are_rejected():
    heads = (1, 2)
    weights_reversed = sum(Mul(P(2, g), P(1, h), X_nc, W(2, g), W(1, h))
                           for h in heads for g in heads)
    assert not proves_path_sum(weights_reversed, 2, 2, skip=False)
    one_path_missing = path_sum(2, 2, False) - Mul(P(2, 1), P(1, 1), X_nc, W(1, 1), W(2, 1))
    assert not proves_path_sum(one_path_missing, 2, 2, skip=False)
    assert not proves_path_sum(path_sum(2, 2, False), 2, 2, skip=True)  # skips add paths
