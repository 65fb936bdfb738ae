"""Family multi_head: Lemma E2 and the published Cor 2.3."""

import pytest
from sympy import sqrt

from rankcollapse import proofs
from rankcollapse.proofs.multi_head import BETA_GAP_INSTANCE, beta_E2, beta_per_head


@pytest.mark.parametrize("claim_id, kind, proved", [("E2", "theorem", 4),
                                                    ("cor2.3", "published", 2)])
def test_kind_and_every_proved_step(claim_id, kind, proved):
    claim = proofs.get(claim_id)
    assert (claim.kind, claim.family) == (kind, "multi_head")
    outcomes = [ok for step, ok in proofs.check_steps(claim) if step.status == "proved"]
    assert outcomes == [True] * proved


def test_renders():
    assert "Sum(" in proofs.get("E2").render() and "c[h]" in proofs.get("E2").render()
    assert r"\sum_{h=1}^{H}" in proofs.get("E2").latex()
    cor = proofs.get("cor2.3")
    assert "H*beta*gamma" in cor.render() and "W_h = W_V,h W_O,h" in cor.notes
    assert [s.label for s in cor.steps if s.status == "numeric"] == ["search"]


HEADS = [((1, 4, 1), (1, 1, 4)), ((2, 1, 1), (1, 3, 5)), ((1, 2, 8), (3, 1, 1), (1, 1, 1))]


@pytest.mark.parametrize("heads", HEADS)
def test_per_head_beta_never_exceeds_E2_beta(heads):
    assert (beta_E2(heads) - beta_per_head(heads)).is_nonnegative


def test_the_gap_instance_is_strict():
    assert beta_per_head(BETA_GAP_INSTANCE) == 2 and beta_E2(BETA_GAP_INSTANCE) == 4
    # one head: the two betas coincide
    assert beta_E2([(3, 2, 8)]) == beta_per_head([(3, 2, 8)]) == 3 * sqrt(16)
