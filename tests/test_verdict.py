"""Three-valued verdicts and the precision rule (THEORY 5)."""

from fractions import Fraction as F

from hypothesis import given, strategies as st

from numerics.verdict import HOLDS, INCONCLUSIVE, VIOLATED, adaptive, decide, working_precision, worst

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


def test_precision_grows_with_the_bound_exponent():
    assert working_precision(-10) < working_precision(-100) < working_precision(-1000)
    assert working_precision(-1000, 3) - working_precision(-1000) == 10  # 3 digits of scale = 10 bits


def test_worst():
    assert worst([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert worst([HOLDS, VIOLATED, INCONCLUSIVE]) == VIOLATED
    assert worst([HOLDS]) == HOLDS
