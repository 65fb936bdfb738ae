"""Numeric checks of the claims, one module per claim family (the same names as in ``proofs``).

Each module registers :class:`NumericCheck` objects in :data:`CHECKS` under the claim id of
``proofs``; ``rankcollapse verify`` runs them with :func:`rankcollapse.numerics.checks.common.search`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["NumericCheck", "CHECKS", "register"]


@dataclass(frozen=True)
class NumericCheck:
    claim: str
    strategy: Callable[[], object]      # () -> Hypothesis strategy of cases
    evaluate: Callable                  # (case, ctx) -> [(lhs, rhs), ...]
    examples: dict                      # suite name -> number of examples
    what: str                           # one line: what is compared with what


CHECKS: dict[str, NumericCheck] = {}


def register(check: NumericCheck) -> NumericCheck:
    CHECKS[check.claim] = check
    return check


from . import norms, single_head, multi_head, mlp, skip, layernorm, erratum, paths  # noqa: E402,F401  (registration on import)
from . import lower_bounds, gradients, masks  # noqa: E402,F401,I001
