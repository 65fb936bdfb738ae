"""The machinery every numeric claim check shares: certified verdicts at a precision chosen
from the bound, and a Hypothesis-driven adversarial search that saves counterexamples.

A check is a function ``evaluate(ctx, case) -> [(lhs, rhs), ...]`` returning enclosures
(exact ``(lo, hi)`` pairs) of the two sides of each ``lhs <= rhs`` it asserts for one case.
:func:`certified_verdict` runs it in arb, first at 64 bits to learn the bound's size, then at
the precision that size needs, doubling while undecided. :func:`search` feeds it Hypothesis
examples, steers towards the largest ratio lhs/rhs (``hypothesis.target``), and on a
violation lets Hypothesis shrink it (at most :data:`SHRINK_EVALUATIONS` certified evaluations,
counted, not timed, so the result depends on the seed alone), re-checks the shrunk case at twice
the precision, and
saves it with :func:`save_case`: a network case as an instance file (docs/theory.md §6), any other case
(an :class:`ExactCase`, e.g. bare logit rows) as a ``rankcollapse-case/1`` file of its exact
values. :func:`load_case` reads either back, so every counterexample can be re-checked:

>>> from rankcollapse.numerics.checks.erratum import LogitCase, nohyp_pairs
>>> import tempfile
>>> case = LogitCase(np.array([[0.0, 2.0]]), np.array([0.0, -3.0]))
>>> path = save_case(Path(tempfile.mkdtemp()) / "nohyp.json", case)
>>> again = load_case(path)
>>> again.E, certified_verdict(nohyp_pairs, again, 0.0)[0].verdict
(array([[Fraction(0, 1), Fraction(2, 1)]], dtype=object), 'violated')
"""

from __future__ import annotations

import contextlib
import functools
import math
import pickle
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import seed as hyp_seed

from ..context import Context, get_context
from ..exact import exact_string, log10_abs
from ..instance import InstanceError, _Reader, instance_to_json, parse_instance, read_json, write_json_atomic
from ..verdict import HOLDS, INCONCLUSIVE, MAX_BITS, VIOLATED, Verdict, adaptive, decide, working_precision, worst

__all__ = ["certified_verdict", "search", "SearchResult", "scale_log10", "Evaluate", "ExactCase",
           "CASE_FORMAT", "CASE_TYPES", "save_case", "load_case"]

Evaluate = Callable[[Context, object], tuple]  # (ctx, case) -> [(lhs, rhs), ...]

EQUALITY_KEY = "equality cases"
VACUOUS = "nothing to compare (no layer this bound applies to)"
VACUOUS_KEY = "vacuous"

CASE_FORMAT = "rankcollapse-case/1"
# Hypothesis stops shrinking after 5 minutes of wall time (seen once on erratum.nohyp under load):
# a count keeps the result machine-independent. verify's shrinks take <= 50 evaluations today.
SHRINK_EVALUATIONS = 200
CASE_TYPES: dict[str, type] = {}  # class name -> ExactCase subclass, for load_case


class ExactCase:
    """Base of the cases that are not networks: dataclasses whose fields are (arrays of) exact
    numbers, doubles or Fractions. Each subclass is registered under its class name, so a saved
    case names its type and :func:`load_case` rebuilds it."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if CASE_TYPES.setdefault(cls.__name__, cls) is not cls:
            raise TypeError(f"two case types are named {cls.__name__}")

    def to_json(self) -> dict:
        """The case as JSON: every field as (nested lists of) exact decimal or ``p/q`` strings."""
        def strings(v):
            a = np.asarray(v, dtype=object)
            return exact_string(a.item()) if a.ndim == 0 else [strings(e) for e in a]
        return {"format": CASE_FORMAT, "type": type(self).__name__,
                **{f.name: strings(getattr(self, f.name)) for f in fields(self)}}

    @classmethod
    def from_json(cls, obj, source: str = "<case>"):
        """The case from :meth:`to_json`'s dict, every number an exact Fraction; errors name
        ``source`` and the field."""
        rd = _Reader(source)
        names = [f.name for f in fields(cls)]
        rd.keys(obj, "(top level)", {"format", "type", *names}, set())

        def numbers(v, path):
            if isinstance(v, list) and v and isinstance(v[0], list):
                return rd.matrix(v, path)
            return rd.vector(v, path, len(v)) if isinstance(v, list) else rd.number(v, path)
        return cls(**{name: numbers(obj[name], name) for name in names})


def save_case(path, case) -> Path:
    """Save a case exactly: a network case as an instance file, an :class:`ExactCase` as a
    ``rankcollapse-case/1`` file (:meth:`ExactCase.to_json`)."""
    if isinstance(case, ExactCase):
        obj = case.to_json()
    elif getattr(case, "net", None) is not None:
        obj = instance_to_json(case.X, case.net)
    else:
        raise TypeError(f"cannot save a {type(case).__name__}: neither a network case nor an ExactCase")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, obj)
    return path


def load_case(path):
    """The case a file of :func:`save_case` holds: a :class:`rankcollapse.numerics.instance.Instance` for an
    instance file, else the :class:`ExactCase` subclass it names."""
    obj = read_json(path)
    if isinstance(obj, dict) and obj.get("format") == CASE_FORMAT:
        kind = CASE_TYPES.get(obj.get("type"))
        if kind is None:
            raise InstanceError(f"{path}: type: unknown case type {obj.get('type')!r}; known: "
                                f"{', '.join(sorted(CASE_TYPES))}")
        return kind.from_json(obj, str(path))
    return parse_instance(obj, str(path))


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

    @functools.cache  # the 64-bit probe is often also the start
    def at(bits):
        with ctx.workprec(bits):
            pairs = evaluate(ctx, case)
        return [decide(lhs, rhs, certified=True) for lhs, rhs in pairs]

    sizes = [v.rhs[1] for v in at(64) if 0 < v.rhs[1] < math.inf]
    start = working_precision(min(map(log10_abs, sizes)), scale) if sizes else 2 * min_bits
    verdicts, bits, _ = adaptive(at, lambda vs: vs, max(start, min_bits), max_bits)
    if not verdicts:
        return Verdict(HOLDS, (0, 0), (0, 0), VACUOUS), bits
    return _critical(verdicts), bits


@dataclass
class SearchResult:
    verdict: str
    examples: int = 0
    counts: dict = field(default_factory=dict)
    worst_ratio: float | None = None
    counterexample: str | None = None  # path of the saved case (load_case reads it)
    detail: str = ""


class _Found(Exception):
    def __init__(self, case, bits):
        super().__init__("violated")
        self.case, self.bits = case, bits


@contextlib.contextmanager
def _without_local_constants():
    """Hypothesis 6.131 and later mix literals read from the source of every loaded module
    outside site-packages into the examples it draws, so the same seed would draw differently in
    a fresh clone, a worker that ran other tasks, or an editable install: switched off here
    through Hypothesis's internal hook (absent in the versions without the feature), so that a
    search depends on its seed alone."""
    try:
        from hypothesis.internal.conjecture import providers
        hook, cache, empty = providers._get_local_constants, providers.CONSTANTS_CACHE.cache, providers.Constants
    except (ImportError, AttributeError):
        yield
        return
    providers._get_local_constants = empty
    cache.clear()  # it holds the constants permitted per choice type, local ones included
    try:
        yield
    finally:
        providers._get_local_constants = hook
        cache.clear()


def search(strategy, evaluate: Evaluate, examples: int, seed: int, save_as: Path | None = None,
           max_bits: int = MAX_BITS) -> SearchResult:
    """Adversarial search for a case with ``lhs > rhs``; see the module docstring."""
    result = SearchResult(HOLDS)
    failing, found_at = {}, [0]  # violations seen (pickled case -> bits); examples at the first

    # report_multiple_bugs=False: after a first violation Hypothesis would otherwise look for
    # other bugs for up to 10 s of wall time, so the example count would depend on the machine
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.target, Phase.shrink], report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck))
    @hyp_seed(seed)
    @given(strategy)
    def run(case):
        key = pickle.dumps(case)
        if key not in failing:
            if failing and result.examples - found_at[0] >= SHRINK_EVALUATIONS:
                return  # shrinking past its budget: only the violations already seen still fail
            evaluated(case, key)
        if key in failing:  # one raise statement: Hypothesis tells failures apart by where they are raised
            raise _Found(case, failing[key])

    def evaluated(case, key):
        verdict, bits = certified_verdict(evaluate, case, scale_log10(case.X), max_bits)
        result.examples += 1
        kind = EQUALITY_KEY if verdict.equality_case else VACUOUS_KEY if verdict.reason == VACUOUS else verdict.verdict
        result.counts[kind] = result.counts.get(kind, 0) + 1
        ratio = verdict.ratio
        if ratio is not None and math.isfinite(ratio):
            result.worst_ratio = ratio if result.worst_ratio is None else max(result.worst_ratio, ratio)
            target(ratio)
        if verdict.verdict == VIOLATED:
            if not failing:
                found_at[0] = result.examples
            failing[key] = bits

    try:
        with _without_local_constants():
            run()
    except _Found as found:
        # docs/theory.md §5: a violation is re-checked at higher precision before it is reported.
        again, bits = certified_verdict(evaluate, found.case, scale_log10(found.case.X),
                                        2 * max_bits, min_bits=2 * found.bits)
        if again.verdict == HOLDS:  # two certified verdicts disagree: an enclosure is wrong
            raise RuntimeError(f"certified 'violated' at {found.bits} bits but 'holds' at {bits}: "
                               f"an enclosure is invalid ({found.case!r})")
        if again.verdict == VIOLATED:
            result.verdict = VIOLATED
            result.detail = (f"lhs in [{float(again.lhs[0]):.6g}, {float(again.lhs[1]):.6g}] > "
                             f"rhs in [{float(again.rhs[0]):.6g}, {float(again.rhs[1]):.6g}] at {bits} bits")
            if save_as is not None:
                result.counterexample = str(save_case(save_as, found.case))
            return result
        result.counts[INCONCLUSIVE] = result.counts.get(INCONCLUSIVE, 0) + 1
    # Equality cases (e.g. 0 = 0) and vacuous cases are reported but do not decide the claim; at
    # least one example must be certified for the claim to hold.
    decided = [k for k in result.counts if k not in (EQUALITY_KEY, VACUOUS_KEY)]
    result.verdict = worst(decided) if decided else INCONCLUSIVE
    return result
