"""The machinery every numeric claim check shares: certified verdicts at a precision chosen
from the bound, and a Hypothesis-driven adversarial search that saves counterexamples.

A check is a function ``evaluate(case, ctx) -> [(lhs, rhs), ...]`` returning enclosures
(exact ``(lo, hi)`` pairs) of the two sides of each ``lhs <= rhs`` it asserts for one case.
:func:`certified_verdict` runs it in arb, first at 64 bits to learn the bound's size, then at
the precision that size needs, doubling while undecided. :func:`search` feeds it Hypothesis
examples, steers towards the largest ratio lhs/rhs (``hypothesis.target``), and on a
violation lets Hypothesis shrink it, re-checks the shrunk case at twice the precision, and
saves it as an instance file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import seed as hyp_seed

from ..context import Context, get_context
from ..exact import log10_abs
from ..instance import save_instance
from ..verdict import HOLDS, INCONCLUSIVE, MAX_BITS, VIOLATED, Verdict, adaptive, decide, working_precision, worst

__all__ = ["certified_verdict", "search", "SearchResult", "scale_log10", "Evaluate"]

Evaluate = Callable[[object, Context], tuple]


def scale_log10(X) -> float:
    """log10 of the largest |entry| (at least 1): the size of what cancels in a residual."""
    big = max((abs(float(v)) for v in np.ravel(X)), default=1.0)
    return math.log10(max(big, 1.0))


def _critical(verdicts: list[Verdict]) -> Verdict:
    """The verdict that decides a list: a violation, else an undecided one, else the largest ratio."""
    for name in (VIOLATED, INCONCLUSIVE):
        hit = [v for v in verdicts if v.verdict == name]
        if hit:
            return hit[0]
    return max(verdicts, key=lambda v: -math.inf if v.ratio is None else v.ratio)


def certified_verdict(evaluate: Evaluate, case, scale: float, max_bits: int = MAX_BITS,
                      min_bits: int = 64) -> tuple[Verdict, int]:
    """The verdict on every ``lhs <= rhs`` pair of ``case``, in arb at adaptive precision."""
    ctx = get_context("arb")

    def at(bits):
        with ctx.workprec(bits):
            pairs = evaluate(case, ctx)
        return [decide(lhs, rhs, certified=True) for lhs, rhs in pairs]

    sizes = [v.rhs[1] for v in at(64) if 0 < v.rhs[1] < math.inf]
    start = working_precision(min(map(log10_abs, sizes)), scale) if sizes else 2 * min_bits
    verdicts, bits, _ = adaptive(at, lambda vs: vs, max(start, min_bits), max_bits)
    if not verdicts:
        return Verdict(HOLDS, (0, 0), (0, 0), "no layer this bound applies to"), bits
    return _critical(verdicts), bits


@dataclass
class SearchResult:
    verdict: str
    examples: int = 0
    counts: dict = field(default_factory=dict)
    worst_ratio: float | None = None
    counterexample: str | None = None  # path of the saved instance
    detail: str = ""


EQUALITY_KEY = "equality cases"


class _Found(Exception):
    def __init__(self, case, verdict):
        super().__init__("violated")
        self.case, self.verdict = case, verdict


def search(strategy, evaluate: Evaluate, examples: int, seed: int, save_as: Path | None = None,
           max_bits: int = MAX_BITS) -> SearchResult:
    """Adversarial search for a case with ``lhs > rhs``; see the module docstring."""
    result = SearchResult(HOLDS)

    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.target, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @hyp_seed(seed)
    @given(strategy)
    def run(case):
        verdict, _ = certified_verdict(evaluate, case, scale_log10(case.X), max_bits)
        result.examples += 1
        key = EQUALITY_KEY if verdict.equality_case else verdict.verdict
        result.counts[key] = result.counts.get(key, 0) + 1
        ratio = verdict.ratio
        if ratio is not None and math.isfinite(ratio):
            result.worst_ratio = ratio if result.worst_ratio is None else max(result.worst_ratio, ratio)
            target(ratio)
        if verdict.verdict == VIOLATED:
            raise _Found(case, verdict)

    try:
        run()
    except _Found as found:
        # THEORY 5: a violation is re-checked at higher precision before it is reported.
        again, bits = certified_verdict(evaluate, found.case, scale_log10(found.case.X),
                                        2 * max_bits, min_bits=256)
        if again.verdict == VIOLATED:
            result.verdict = VIOLATED
            result.detail = (f"lhs in [{float(again.lhs[0]):.6g}, {float(again.lhs[1]):.6g}] > "
                             f"rhs in [{float(again.rhs[0]):.6g}, {float(again.rhs[1]):.6g}] at {bits} bits")
            if save_as is not None and getattr(found.case, "net", None) is not None:
                save_as.parent.mkdir(parents=True, exist_ok=True)
                result.counterexample = str(save_instance(save_as, found.case.X, found.case.net))
            return result
        result.counts[INCONCLUSIVE] = result.counts.get(INCONCLUSIVE, 0) + 1
    # Equality cases (e.g. 0 = 0) are reported but do not decide the claim; at least one example
    # must be certified for the claim to hold.
    decided = [k for k in result.counts if k != EQUALITY_KEY]
    result.verdict = worst(decided) if decided else INCONCLUSIVE
    return result
