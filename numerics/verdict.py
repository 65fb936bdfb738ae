"""Three-valued verdicts (docs/theory.md §5) and the working-precision rule.

A claim ``lhs <= rhs`` is

* ``holds``     when the certified upper end of lhs is <= the certified lower end of rhs,
* ``violated``  when the certified lower end of lhs is > the certified upper end of rhs,
* ``inconclusive`` otherwise -- including every comparison made in float64, which carries no
  error bound and is for exploration only.

Endpoints are exact Fractions, so no rounding happens in the comparison itself.

>>> from fractions import Fraction as F
>>> decide((F(1), F(2)), (F(3), F(4)), certified=True).verdict
'holds'
>>> decide((F(1), F(3)), (F(2), F(4)), certified=True).verdict
'inconclusive'
>>> decide((F(5), F(6)), (F(3), F(4)), certified=False).verdict   # float64 never decides
'inconclusive'
>>> Verdict(HOLDS, (F(1), F(1)), (F(1, 10**400), F(1, 10**400))).ratio    # no float overflow
inf
>>> working_precision(bound_log10=-1000, scale_log10=2)           # bits for a 1e-1000 bound
3393
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterable, TypeVar

from .exact import log10_abs

T = TypeVar("T")

__all__ = ["HOLDS", "VIOLATED", "INCONCLUSIVE", "EQUALITY_CASE", "EQUALITY_FACTOR", "Verdict", "decide",
           "working_precision", "adaptive", "worst"]

HOLDS, VIOLATED, INCONCLUSIVE = "holds", "violated", "inconclusive"
GUARD_BITS = 64
MAX_BITS = 1 << 18


EQUALITY_CASE = "both sides agree to working precision (an equality case enclosures cannot decide)"
EQUALITY_RTOL = Fraction(1, 2**30)  # the residual LP's certificates are tight to ~1e-14 relative


@dataclass(frozen=True)
class Verdict:
    verdict: str
    lhs: tuple[Fraction, Fraction]   # exact ends; an end may be +-math.inf (no finite enclosure)
    rhs: tuple[Fraction, Fraction]
    reason: str = ""

    @property
    def equality_case(self) -> bool:
        """Undecided because both sides are equal to working precision: both enclosures reach
        down to 0 (e.g. r = 0 = bound), or both are narrow and overlap (e.g. an equality
        ||AB|| = ||A|| ||B||). More bits cannot separate equal numbers. (A reason may go on
        after :data:`EQUALITY_CASE` with what sets the width.)"""
        return self.reason.startswith(EQUALITY_CASE)

    @property
    def width(self):
        """The wider of the two enclosures (``math.inf`` for an infinite end)."""
        if any(isinstance(v, float) for v in (*self.lhs, *self.rhs)):  # +-inf: Fraction - inf
            return math.inf                                               # would go through float
        return max(self.lhs[1] - self.lhs[0], self.rhs[1] - self.rhs[0])

    @property
    def ratio(self) -> float | None:
        """Observed / bound at the midpoints (a float summary for reports; not a verdict)."""
        if any(isinstance(v, float) for v in (*self.lhs, *self.rhs)):  # an infinite end
            return None
        lhs, rhs = (self.lhs[0] + self.lhs[1]) / 2, (self.rhs[0] + self.rhs[1]) / 2
        if rhs == 0:
            return None if lhs == 0 else math.inf
        if lhs == 0:
            return 0.0
        q = lhs / rhs
        if abs(log10_abs(q)) < 300:
            return float(q)
        sign = 1 if q > 0 else -1  # math.copysign(.., q) would convert the huge q to a float
        return sign * (math.inf if log10_abs(q) > 0 else 0.0)


def decide(lhs, rhs, certified: bool) -> Verdict:
    """Verdict on ``lhs <= rhs`` from enclosures ``(lo, hi)`` with exact ends."""
    exact = lambda v: v if isinstance(v, float) else Fraction(v)  # noqa: E731  (keeps +-inf)
    lhs, rhs = tuple(map(exact, lhs)), tuple(map(exact, rhs))
    if not certified:
        return Verdict(INCONCLUSIVE, lhs, rhs, "float64 carries no error bound (exploration only)")
    if lhs[1] <= rhs[0]:
        return Verdict(HOLDS, lhs, rhs)
    if lhs[0] > rhs[1]:
        return Verdict(VIOLATED, lhs, rhs)
    finite = not any(isinstance(v, float) for v in (*lhs, *rhs))  # +-inf: more bits may help
    if finite and (lhs[0] <= 0 and rhs[0] <= 0 or _narrow(lhs) and _narrow(rhs)):
        return Verdict(INCONCLUSIVE, lhs, rhs, EQUALITY_CASE)
    return Verdict(INCONCLUSIVE, lhs, rhs, "the enclosures of both sides overlap")


def _narrow(enc) -> bool:
    lo, hi = enc
    return hi - lo <= EQUALITY_RTOL * max(abs(lo), abs(hi))


def working_precision(bound_log10: float, scale_log10: float = 0.0, guard_bits: int = GUARD_BITS) -> int:
    """Bits for a forward pass whose residual is compared with a bound of size 10^bound_log10
    on top of entries of size 10^scale_log10: the residual must survive the cancellation of
    the O(scale) common row, with ``guard_bits`` to spare (docs/theory.md §5)."""
    digits = max(0.0, scale_log10 - bound_log10)
    return max(53, math.ceil(digits * math.log2(10)) + guard_bits)


EQUALITY_FACTOR = 4  # equality cases are pursued up to this multiple of the start precision


def adaptive(evaluate: Callable[[int], T], verdicts_of: Callable[[T], Iterable[Verdict]],
             start_bits: int, max_bits: int = MAX_BITS) -> tuple[T, int, str]:
    """Run ``evaluate(bits)`` at doubling precision until none of its verdicts is inconclusive
    or ``max_bits`` is reached. Returns the last result, its bits, and why something is still
    undecided (``""`` when everything is decided).

    When everything undecided is an equality case, doubling goes on only while it helps: it
    stops once no undecided enclosure got at least twice narrower (its width is then set by
    something other than the precision, e.g. the residual LP's certificates), and at
    ``EQUALITY_FACTOR`` times the start precision (sides equal to ``2^-(4 start)`` relative
    are as good as equal; more bits cannot separate equal numbers)."""
    bits, previous = min(start_bits, max_bits), None
    while True:
        result = evaluate(bits)
        verdicts = list(verdicts_of(result))
        undecided = [i for i, v in enumerate(verdicts) if v.verdict == INCONCLUSIVE]
        widths = [v.width for v in verdicts]
        stuck = previous is not None and len(previous) == len(widths) and all(
            2 * widths[i] > previous[i] for i in undecided)
        if not undecided:
            return result, bits, ""
        if all(verdicts[i].equality_case for i in undecided):
            if stuck:
                return result, bits, f"equality case at {bits} bits: the enclosures stopped shrinking"
            if bits >= EQUALITY_FACTOR * start_bits:
                return result, bits, f"equality case at {bits} bits ({EQUALITY_FACTOR}x the start precision)"
        if bits >= max_bits:
            return result, bits, f"undecided at the {max_bits}-bit cap"
        bits, previous = min(2 * bits, max_bits), widths


def worst(verdicts) -> str:
    """The combined verdict of several checks: violated > inconclusive > holds."""
    names = {v if isinstance(v, str) else v.verdict for v in verdicts}
    return VIOLATED if VIOLATED in names else INCONCLUSIVE if INCONCLUSIVE in names else HOLDS
