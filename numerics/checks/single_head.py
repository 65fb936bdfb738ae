"""Numeric checks of the single-head claims: Lemma E1, Theorem E4 and the published Thm 2.2.

Each compares the certified bracket of ``r(X^l)`` with a bound on random pure single-head
networks (:func:`rankcollapse.numerics.strategies.single_head_cases`), in arb at the precision the bound
needs. See ``docs/single_head.md`` for the proof these checks accompany.
"""

from __future__ import annotations

from ..certify import bound_pairs
from ..strategies import single_head_cases
from ...proofs import single_head as claims
from . import NumericCheck, register

E1 = register(NumericCheck(
    claims.E1, lambda: single_head_cases(max_depth=1), bound_pairs("one_step"),
    {"quick": 40, "default": 200, "thorough": 2000},
    "r(SA(X)) against the one-step bound with the actual attention"))

E4 = register(NumericCheck(
    claims.E4, lambda: single_head_cases(max_depth=6), bound_pairs("E4"),
    {"quick": 8, "default": 40, "thorough": 400},
    "r(X^l) against the a-priori B_l at every layer of depth 1-6 networks"))

THM22 = register(NumericCheck(
    claims.THM22, lambda: single_head_cases(max_depth=3), bound_pairs("published"),
    {"quick": 40, "default": 200, "thorough": 2000},
    "r(X^l) against (4 beta s)^((3^l-1)/2) r(X)^(3^l) (gamma = 1) at every layer",
    steps=(claims.THM22.step("search"),)))
