"""Numeric checks of the claims, one module per claim family (the same names as in ``proofs``).

A :class:`NumericCheck` holds the :class:`~rankcollapse.proofs.registry.Claim` object it tests
and the ``numeric`` steps it backs (step objects of that claim), so nothing is tied together by
a string. Every module of this package is discovered and imported; its :func:`register` calls
fill :data:`CHECKS`. :func:`audit` lists what does not fit together (a numeric step of a claim
without a check, a check of a claim that is not registered); ``rankcollapse verify`` refuses to
run while it lists anything.

>>> from rankcollapse import proofs
>>> [c.what[:22] for c in checks_for(proofs.get("E1"))]
['r(SA(X)) against the o', '||Q R||_inf against c ', '||Q R W_V|| in each no']
>>> audit()
[]
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from ...proofs.registry import Claim, Step, all_claims

__all__ = ["NumericCheck", "CHECKS", "register", "checks_for", "audit"]


@dataclass(frozen=True)
class NumericCheck:
    claim: Claim
    strategy: Callable[[], object]      # () -> Hypothesis strategy of cases
    evaluate: Callable                  # (ctx, case) -> [(lhs, rhs), ...]
    examples: dict                      # suite name -> number of examples
    what: str                           # one line: what is compared with what
    steps: tuple[Step, ...] = ()        # the claim's steps this check backs (numeric, or spot-checked)

    @property
    def name(self) -> str:
        """``<claim id>`` or ``<claim id>:<step labels>`` (file names and reports)."""
        return self.claim.id + "".join(f":{step.label}" for step in self.steps if step.label != "search")

    def __hash__(self):
        return id(self)


CHECKS: list[NumericCheck] = []


def register(check: NumericCheck) -> NumericCheck:
    if not isinstance(check.claim, Claim):
        raise TypeError(f"a numeric check tests a Claim object, got {check.claim!r}")
    for step in check.steps:
        # a numeric step, or a proved one that keeps a spot-check next to its proof
        if not any(step is s for s in check.claim.steps) or step.status == "assumed":
            raise ValueError(f"{check.claim.id}: {step.label!r} is not a numeric or proved step of this claim")
    CHECKS.append(check)
    return check


def checks_for(claim: Claim) -> list[NumericCheck]:
    """The checks of a claim: its own search first, then the step checks in step order."""
    def key(check):
        own = not check.steps or check.steps[0].label == "search"
        return -1 if own else next(i for i, s in enumerate(claim.steps) if s is check.steps[0])
    return sorted((c for c in CHECKS if c.claim is claim), key=key)


def audit(claims=None, checks=None) -> list[str]:
    """What does not fit: every numeric step needs a check, every check a registered claim."""
    claims = all_claims() if claims is None else claims
    checks = CHECKS if checks is None else checks
    problems = [f"check {c.name!r} ({c.what}) tests a claim that is not registered"
                for c in checks if not any(c.claim is claim for claim in claims)]
    backed = {id(step) for c in checks for step in c.steps}
    problems += [f"{claim.kind} {claim.id}: numeric step {step.label!r} has no numeric check"
                 for claim in claims for step in claim.steps
                 if step.status == "numeric" and id(step) not in backed]
    return problems


for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
