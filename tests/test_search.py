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
