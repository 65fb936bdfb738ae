"""The registry API: ids, order, validation, check_steps and rendering."""

import importlib
import re
from pathlib import Path

import pytest
import sympy

from rankcollapse import proofs
from rankcollapse.numerics.checks import CHECKS, NumericCheck, audit
from rankcollapse.proofs.registry import Claim, Step, register

EXPECTED = {
    "N1": "theorem", "N2": "theorem", "N3": "theorem",
    "E1": "theorem", "E4": "theorem", "thm2.2": "published",
    "E2": "theorem", "cor2.3": "published",
    "thm2.1": "theorem", "E5": "theorem",
    "E3": "theorem", "cor3.2": "published",
    "sec3.3": "published", "erratum": "theorem", "erratum.nohyp": "published",
    "thm2.2.causal": "published", "M1": "theorem", "M2": "theorem", "wu2024": "published",
    "LB1": "theorem", "LB2": "theorem", "G1": "theorem", "G2": "theorem",
}
SPOT_CHECKED = {"E1:Step 4", "E1:Step 5"}  # proved for every n, spot-checked as well
NUMERIC = {"thm2.2:search", "cor2.3:search", "cor3.2:search",
           "sec3.3:search", "erratum.nohyp:search", "thm2.2.causal:search"}


def test_ids_kinds_and_order():
    claims = proofs.all_claims()
    assert [c.id for c in claims] == list(EXPECTED)
    assert {c.id: c.kind for c in claims} == EXPECTED
    orders = [importlib.import_module(f"rankcollapse.proofs.{c.family}").ORDER for c in claims]
    assert orders == sorted(orders)


def test_every_numeric_step_is_backed_by_a_check_object():
    backed = {f"{c.claim.id}:{s.label}" for c in CHECKS for s in c.steps}
    numeric = {f"{c.id}:{s.label}" for c in proofs.all_claims() for s in c.steps if s.status == "numeric"}
    assert numeric == NUMERIC and backed == NUMERIC | SPOT_CHECKED
    assert audit() == []


def test_audit_names_a_numeric_step_without_check_and_a_check_without_claim():
    step = Step("Step 9", "t", None, "numeric", "spot-checked")
    lonely = _claim(step)  # not registered, and no check backs its numeric step
    assert audit([lonely], []) == ["theorem test: numeric step 'Step 9' has no numeric check"]
    orphan = NumericCheck(lonely, lambda: None, lambda ctx, case: [], {}, "nothing", (step,))
    assert audit([], [orphan]) == ["check 'test:Step 9' (nothing) tests a claim that is not registered"]
    assert audit([lonely], [orphan]) == []


def test_verify_refuses_an_inconsistent_catalogue(monkeypatch, capsys):
    """A theorem with a numeric step and no check (registered next to the real catalogue) stops
    verify with exit 1 before anything runs; so does a check whose claim is not registered."""
    from rankcollapse.cli import main
    lonely = _claim(Step("Step 9", "t", None, "numeric", "spot-checked"))
    monkeypatch.setattr("rankcollapse.numerics.checks.all_claims", lambda: [*proofs.all_claims(), lonely])
    assert main(["verify", "--suite", "quick"]) == 1
    assert "theorem test: numeric step 'Step 9' has no numeric check" in capsys.readouterr().err
    monkeypatch.undo()
    causal = next(c for c in CHECKS if c.claim.id == "thm2.2.causal")
    monkeypatch.setattr("rankcollapse.numerics.checks.CHECKS", [c for c in CHECKS if c is not causal])
    assert main(["verify", "--suite", "quick"]) == 1
    assert "published thm2.2.causal: numeric step 'search' has no numeric check" in capsys.readouterr().err


def test_get_unknown_lists_known_ids():
    with pytest.raises(KeyError, match="known ids: N1, N2"):
        proofs.get("nope")


def test_register_rejects_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        register(proofs.get("N1"))


def test_every_proved_step_goes_through():
    for claim in proofs.all_claims():
        for step, ok in proofs.check_steps(claim):
            assert ok is (True if step.status == "proved" else None), (claim.id, step.label)


def _claim(*steps, claim_id="test"):
    return Claim(id=claim_id, title="t", source="s", kind="theorem", family="norms",
                 hypotheses=(), statement=sympy.Symbol("x") > 0, steps=steps)


def test_step_and_claim_validation():
    with pytest.raises(ValueError, match="proof iff"):
        Step("a", "t", None, "proved", "r")
    with pytest.raises(ValueError, match="proof iff"):
        Step("a", "t", None, "assumed", "r", proof=lambda: True)
    with pytest.raises(ValueError, match="reason"):
        Step("a", "t", None, "assumed", "")
    with pytest.raises(ValueError, match="unknown status"):
        Step("a", "t", None, "believed", "r")
    with pytest.raises(ValueError, match="duplicate step labels"):
        _claim(Step("a", "t", None, "assumed", "r"), Step("a", "u", None, "assumed", "r"))


def test_check_steps_reports_false_and_rejects_non_bools():
    claim = _claim(Step("a", "t", None, "proved", "r", proof=lambda: False),
                   Step("b", "t", None, "assumed", "r"))
    assert [ok for _, ok in proofs.check_steps(claim)] == [False, None]
    with pytest.raises(TypeError, match="not a bool"):
        proofs.check_steps(_claim(Step("a", "t", None, "proved", "r", proof=lambda: None)))


def test_renders_list_every_step_with_status():
    for claim in proofs.all_claims():
        plain, tex = claim.render(), claim.render(latex=True)
        for number, step in enumerate(claim.steps, 1):
            assert f"{number}. {step.label} [{step.scope}]" in plain
        assert tex.count(r"\begin{enumerate}") == tex.count(r"\end{enumerate}") == 1
        assert tex.count(r"\item") == len(claim.steps) + len(claim.hypotheses)
        assert claim.latex().startswith(r"\begin{align*}")
        assert claim.latex().count(r"\\") == len(claim.steps)


def test_latex_escapes_prose():
    tex = proofs.get("N2").render(latex=True)
    assert r"triangle\_counterexample()" in tex and r"\{-1, 0, 1, 2\}" in tex


def test_sympy_only():
    forbidden = re.compile(r"^\s*(import|from)\s+(numpy|scipy|mpmath)\b", re.MULTILINE)
    for path in (Path(proofs.__file__).parent).glob("*.py"):
        assert not forbidden.search(path.read_text()), path
