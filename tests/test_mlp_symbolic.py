"""Family mlp: Lemma E3, exact Lipschitz constants, published Cor 3.2."""

import pytest
import sympy
from sympy import Rational, erf, exp, pi, sqrt

from rankcollapse import proofs
from rankcollapse.proofs.mlp import GELU_LIPSCHITZ, lipschitz_constant, proves_lipschitz


@pytest.mark.parametrize("claim_id, kind, proved", [("E3", "theorem", 4),
                                                    ("cor3.2", "published", 1)])
def test_kind_and_every_proved_step(claim_id, kind, proved):
    claim = proofs.get(claim_id)
    assert (claim.kind, claim.family) == (kind, "mlp")
    outcomes = [ok for step, ok in proofs.check_steps(claim) if step.status == "proved"]
    assert outcomes == [True] * proved


def test_renders():
    assert "lambda*r(Y)" in proofs.get("E3").render()
    assert "erf(1)" in proofs.get("E3").render()
    assert r"\lambda" in proofs.get("cor3.2").render(latex=True)
    assert [s.label for s in proofs.get("cor3.2").steps if s.status == "numeric"] == ["search"]


def test_exact_constants():
    assert lipschitz_constant("relu") == 1 and lipschitz_constant("tanh") == 1
    gelu = lipschitz_constant("gelu")
    assert sympy.simplify(gelu - ((1 + erf(1)) / 2 + exp(-1) / sqrt(pi))) == 0
    assert abs(float(gelu) - 1.128904) < 1e-6
    assert GELU_LIPSCHITZ == gelu


@pytest.mark.parametrize("activation, wrong", [("gelu", Rational(1129, 1000)), ("gelu", 1),
                                               ("gelu", (1 + erf(1)) / 2),
                                               ("tanh", 2), ("relu", 0)])
def test_wrong_constants_are_rejected(activation, wrong):
    assert not proves_lipschitz(activation, wrong)


def test_unknown_activation():
    with pytest.raises(KeyError, match="known"):
        lipschitz_constant("swish")
