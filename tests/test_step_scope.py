"""Issue 11 item 6: every 'proved' step says on which sizes it is proved, and `derive` counts
general, fixed-size, numeric and assumed steps."""

import re

import pytest

from rankcollapse import proofs
from rankcollapse.numerics.checks import NumericCheck, checks_for
from rankcollapse.numerics.checks import register as register_check
from rankcollapse.cli import main


def run(*args):
    return main(list(args))
from rankcollapse.proofs.registry import Step

# reason texts that name an explicit size: such a step must carry `sizes`
FIXED = re.compile(r"\b\d x ?\d\b|\b\dx\d\b|n ?= ?\d|H ?= ?\d\b|L, H <= \d|L <= \d")


def test_a_proof_on_explicit_matrices_declares_its_sizes():
    for claim in proofs.all_claims():
        for step in claim.steps:
            if step.status == "proved" and FIXED.search(step.reason) and "symbolic n" not in step.reason \
                    and "symbolic length n" not in step.reason and "instance" not in step.reason:
                assert step.sizes, f"{claim.id} {step.label}: {step.reason!r} names a size but has no sizes"
            if step.sizes:
                assert step.scope == f"proved for {step.sizes}" and step.kind_of_support == "fixed-size"


def test_E1_is_proved_for_every_n_except_the_centring_identity():
    scopes = {s.label: s.kind_of_support for s in proofs.get("E1").steps}
    assert scopes == {"Step 1": "general", "Step 2": "general", "Step 3": "fixed-size", "Step 4": "general",
                      "Step 5": "general", "Step 6": "general", "Step 7": "general", "Final": "general"}
    step4 = proofs.get("E1").steps[3]
    assert step4.proof() and any(step4 in c.steps for c in checks_for(proofs.get("E1")))  # spot-check kept


def test_sizes_only_on_proved_steps_and_no_spot_check_on_assumed_ones():
    with pytest.raises(ValueError, match="only a 'proved' step has sizes"):
        Step("a", "t", None, "assumed", "r", sizes="n=3")
    claim = proofs.get("E5")
    assumed = next((s for c in proofs.all_claims() for s in c.steps if s.status == "assumed"), None)
    owner = next(c for c in proofs.all_claims() if assumed in c.steps)
    with pytest.raises(ValueError, match="not a numeric or proved step"):
        register_check(NumericCheck(owner, lambda: None, lambda ctx, case: [], {}, "x", (assumed,)))
    assert claim.kind == "theorem"


def test_derive_prints_the_support_counts(capsys):
    assert run("derive", "E1") == 0
    assert "Step support: 7 general, 1 fixed-size, 0 numeric, 0 assumed" in capsys.readouterr().out
    assert run("derive", "G2") == 0
    out = capsys.readouterr().out
    assert "[proved for n=3, d=2, d_qk=2]" in out and "2 general, 2 fixed-size, 0 numeric, 1 assumed" in out
    for cid in ("LB1", "LB2", "G1", "G2"):
        assert run("derive", cid, "--latex") == 0
        out = capsys.readouterr().out
        assert "% Step support:" in out and r"\begin{enumerate}" in out
