"""The search machinery itself: what counts as a decision, and how a violation is re-checked."""

from fractions import Fraction

import pytest
from hypothesis import strategies as st

from rankcollapse.numerics.checks.common import VACUOUS_KEY, search
from rankcollapse.numerics.strategies import Case
from rankcollapse.numerics.verdict import INCONCLUSIVE, VIOLATED

CASES = st.just(Case([["0"]], None))


def test_vacuous_cases_do_not_make_a_claim_hold():
    result = search(CASES, lambda ctx, case: [], examples=3, seed=0)
    assert result.verdict == INCONCLUSIVE and result.counts == {VACUOUS_KEY: result.examples}


def test_a_violation_is_rechecked_at_twice_its_precision():
    seen = []

    def evaluate(ctx, case):  # 2 > 1, decided at any precision
        seen.append(ctx.prec)
        return [((Fraction(2), Fraction(2)), (Fraction(1), Fraction(1)))]
    result = search(CASES, evaluate, examples=1, seed=0)
    first = seen[0]
    assert result.verdict == VIOLATED and max(seen) >= 2 * first


def test_certified_verdicts_that_disagree_are_an_error():
    """'violated' at one precision and 'holds' at a higher one means an enclosure is wrong."""
    def evaluate(ctx, case):
        lhs = Fraction(2) if ctx.prec < 128 else Fraction(0)
        return [((lhs, lhs), (Fraction(1), Fraction(1)))]
    with pytest.raises(RuntimeError, match="an enclosure is invalid"):
        search(CASES, evaluate, examples=1, seed=0)


def test_shrinking_stops_after_its_evaluation_budget(monkeypatch):
    """Every integer above 10 violates; shrinking 10**6 towards 11 takes many evaluations. With a
    budget of 3 the search stops early and still returns a certified, re-checkable violation."""
    from rankcollapse.numerics.checks import common

    def evaluate(ctx, case):
        k = Fraction(case.X[0][0])
        return [((k, k), (Fraction(10), Fraction(10)))]
    cases = st.integers(0, 10**6).map(lambda k: Case([[str(k)]], None))
    full = search(cases, evaluate, examples=50, seed=1)
    monkeypatch.setattr(common, "SHRINK_EVALUATIONS", 3)
    capped = search(cases, evaluate, examples=50, seed=1)
    assert full.verdict == capped.verdict == VIOLATED
    assert "lhs in [11, 11]" in full.detail          # shrunk all the way to the boundary
    assert capped.examples < full.examples and capped.examples <= full.examples - 5
    assert "lhs in [11, 11]" not in capped.detail    # stopped early, on a violation all the same
