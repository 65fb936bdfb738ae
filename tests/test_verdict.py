"""Three-valued verdicts and the precision rule (docs/theory.md §5)."""

import math
from fractions import Fraction as F

from hypothesis import given, strategies as st

from rankcollapse.numerics.verdict import HOLDS, INCONCLUSIVE, VIOLATED, adaptive, decide, working_precision, worst

pairs = st.tuples(st.fractions(), st.fractions()).map(sorted)


@given(pairs, pairs)
def test_verdict_is_decided_only_by_separated_enclosures(lhs, rhs):
    v = decide(lhs, rhs, certified=True).verdict
    if v == HOLDS:
        assert lhs[1] <= rhs[0]
    elif v == VIOLATED:
        assert lhs[0] > rhs[1]
    else:
        assert lhs[1] > rhs[0] and lhs[0] <= rhs[1]


@given(pairs, pairs)
def test_uncertified_values_never_decide(lhs, rhs):
    assert decide(lhs, rhs, certified=False).verdict == INCONCLUSIVE


def test_adaptive_doubles_until_decided():
    seen = []

    def evaluate(bits):
        seen.append(bits)
        width = F(1, 2 ** bits)
        return [decide((F(1, 10**30) - width, F(1, 10**30) + width), (F(2, 10**30), F(2, 10**30)), True)]

    verdicts, bits, capped = adaptive(evaluate, lambda vs: vs, 64)
    assert verdicts[0].verdict == HOLDS and not capped
    assert seen == [64, 128] and bits == 128


def test_adaptive_stops_at_the_cap():
    verdicts, bits, capped = adaptive(lambda b: [decide((0, 2), (1, 1), True)], lambda vs: vs, 64, max_bits=256)
    assert capped and bits == 256 and verdicts[0].verdict == INCONCLUSIVE


def _equal_sides(shrinks: bool):
    """lhs = rhs = 1e-30 exactly: narrow overlapping enclosures, shrinking with the bits or not."""
    seen = []

    def evaluate(bits):
        seen.append(bits)
        w = F(1, 2 ** bits) if shrinks else F(1, 10**50)
        return [decide((F(1, 10**30) - w, F(1, 10**30) + w), (F(1, 10**30) - w, F(1, 10**30) + w), True)]
    return evaluate, seen


def test_equality_case_is_pursued_while_the_enclosures_shrink():
    evaluate, seen = _equal_sides(shrinks=True)
    verdicts, bits, capped = adaptive(evaluate, lambda vs: vs, 64)
    assert verdicts[0].equality_case and capped
    assert seen == [64, 128, 256]  # up to EQUALITY_FACTOR x the start: 2^-256 relative


def test_equality_case_stops_when_the_enclosures_stop_shrinking():
    evaluate, seen = _equal_sides(shrinks=False)
    verdicts, bits, capped = adaptive(evaluate, lambda vs: vs, 64)
    assert verdicts[0].equality_case and capped and seen == [64, 128]


def test_a_tiny_violation_inside_the_equality_window_is_found():
    """lhs exceeds rhs by 1e-40 relative: narrow enough to look like an equality at 64 bits, but
    the widths shrink, so doubling goes on and separates them."""
    def evaluate(bits):
        w = F(1, 2 ** bits)
        return [decide((1 + F(1, 10**40) - w, 1 + F(1, 10**40) + w), (1 - w, 1 + w), True)]
    verdicts, bits, capped = adaptive(evaluate, lambda vs: vs, 64)
    assert verdicts[0].verdict == VIOLATED and not capped and bits == 256


def test_precision_grows_with_the_bound_exponent():
    assert working_precision(-10) < working_precision(-100) < working_precision(-1000)
    assert working_precision(-1000, 3) - working_precision(-1000) == 10  # 3 digits of scale = 10 bits


def test_worst():
    assert worst([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert worst([HOLDS, VIOLATED, INCONCLUSIVE]) == VIOLATED
    assert worst([HOLDS]) == HOLDS


def test_enclosures_without_finite_ends_are_pursued_to_the_cap():
    """[0, inf] against (-inf, inf) (a bracket and a bound not yet enclosed at low precision) both
    reach down to 0, but are not an equality case: more bits may make them finite."""
    assert not decide((F(0), math.inf), (-math.inf, math.inf), True).equality_case

    def evaluate(bits):
        if bits < 1024:
            return [decide((F(0), math.inf), (-math.inf, math.inf), True)]
        return [decide((F(0), F(1, 2)), (F(1), F(1)), True)]
    verdicts, bits, undecided = adaptive(evaluate, lambda vs: vs, 64)
    assert verdicts[0].verdict == HOLDS and bits == 1024 and undecided == ""


def test_the_reason_for_stopping_is_reported():
    _, _, why = adaptive(lambda b: [decide((0, 2), (1, 1), True)], lambda vs: vs, 64, max_bits=256)
    assert why == "undecided at the 256-bit cap"
    evaluate, _ = _equal_sides(shrinks=False)
    assert "stopped shrinking" in adaptive(evaluate, lambda vs: vs, 64)[2]
