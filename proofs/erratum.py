"""The erratum: the technical lemma's upper bound on P_ij needs a hypothesis.

With ``delta_i = max_{j,j'} |E_ij - E_ij'|`` the ratio ``P_ij / pi_j`` lies in
``[e^{-delta_i}, e^{delta_i}]`` (E1 Step 2).  The lower bound ``pi_j (1 - delta_i) <= P_ij``
follows from ``e^{-t} >= 1 - t``, always.  The upper bound ``P_ij <= pi_j (1 + 2 delta_i)``
needs ``e^t <= 1 + 2t``, which holds exactly on ``[0, t*]``, t* the positive root of
``e^t = 1 + 2t``:

    t* = -1/2 - W_{-1}(-e^{-1/2}/2) ~ 1.25643  (Lambert W, lower branch).

The published lemma states the upper bound without the hypothesis (claim
``erratum.nohyp``); a two-token example refutes it exactly.

>>> T_STAR.evalf(6)
1.25643
>>> proves_root(T_STAR), proves_root(sympy.Rational(1256, 1000))
(True, False)
"""

from __future__ import annotations

from functools import cache

import sympy
from sympy import And, Implies, LambertW, Le, Lt, Matrix, Rational, Symbol, exp, log

from .registry import Claim, Step, register
from .single_head import proves_ratio_bound
from .symbols import is_zero, nonneg_on_halfline, softmax_rows

ORDER = 8  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["T_STAR", "proves_root", "violates_upper_bound", "nohyp_counterexample"]

T_STAR = -Rational(1, 2) - LambertW(-exp(-Rational(1, 2)) / 2, -1)
t = Symbol("t", nonnegative=True)
_gap = exp(t) - 1 - 2 * t  # convex, zero at 0 and at t*


def _apply_lambert_definition(expr):
    """Rewrite e^{+-W(z)} with the defining identity W(z) e^{W(z)} = z."""
    for w in expr.atoms(LambertW):
        z = w.args[0]
        expr = expr.xreplace({exp(-w): w / z, exp(w): z / w})
    return expr


def proves_root(t_expr) -> bool:
    """True iff t_expr > 0 solves e^t = 1 + 2t: exactly (Lambert W identity) and to 50 digits.

    SymPy's assumptions must confirm t_expr > 0, which rules out the other root t = 0 in
    every disguise (e.g. -1/2 - W_0(-e^{-1/2}/2), which is 0).
    """
    value = sympy.expand(_gap.subs(t, t_expr), power_exp=True)
    exact = is_zero(_apply_lambert_definition(value))
    numeric = bool(abs(value.evalf(50)) < sympy.Float(10)**-45)
    return exact and numeric and sympy.sympify(t_expr).is_positive is True


def _lower_bound() -> bool:
    """e^{-delta} >= 1 - delta for delta >= 0, so P_ij >= pi_j e^{-delta} >= pi_j (1 - delta)."""
    dl = Symbol("delta", nonnegative=True)
    return nonneg_on_halfline(exp(-dl) - (1 - dl), dl)


def _closed_form_root() -> bool:
    """t* solves e^t = 1 + 2t, is ~1.2564, and is the only positive root (g convex, g(0) = 0)."""
    digits = abs(T_STAR.evalf(50) - sympy.Float("1.2564", 50)) < sympy.Float("5e-5", 50)
    convex = sympy.diff(_gap, t, 2).is_positive is True
    return proves_root(T_STAR) and bool(digits) and convex and _gap.subs(t, 0) == 0


def _window() -> bool:
    """e^t <= 1 + 2t on [0, t*] and e^t > 1 + 2t beyond.

    g = e^t - 1 - 2t is convex with g(0) = g(t*) = 0, so g <= 0 between its roots (a convex
    function lies below its chords); g'(t*) = e^{t*} - 2 = 2 t* - 1 > 0 and g' increases,
    so g > 0 for t > t*.
    """
    slope_at_root = sympy.diff(_gap, t).subs(t, T_STAR)
    slope_identity = is_zero(_apply_lambert_definition(
        sympy.expand(slope_at_root - (2 * T_STAR - 1), power_exp=True)))
    return _closed_form_root() and slope_identity and bool(2 * T_STAR - 1 > 0)


def _rounded_hypothesis() -> bool:
    """The erratum's rounded 1.256 is inside the window: e^1.256 < 1 + 2 * 1.256, 1.256 < t*."""
    rounded = Rational(1256, 1000)
    return bool(exp(rounded) < 1 + 2 * rounded) and bool(rounded < T_STAR)


P_ij, pi_j, delta_i = sympy.symbols("P_ij pi_j delta_i", positive=True)
_t_star = Symbol("t^*", positive=True)  # display name for T_STAR
ERRATUM = register(Claim(
    id="erratum",
    title="Corrected technical lemma: bounds on P_ij relative to pi_j",
    source="official repo issue #1 (2023), reconstructed in docs/theory.md §3",
    kind="theorem",
    family="erratum",
    hypotheses=("P = softmax_rows(1 r^T + E), pi = softmax(r) (E1 Step 1)",
                "delta_i = max_{j,j'} |E_ij - E_ij'|",
                "t* = -1/2 - W_{-1}(-e^{-1/2}/2), the positive root of e^t = 1 + 2t"),
    statement=And(Le(pi_j * (1 - delta_i), P_ij),
                  Implies(Lt(delta_i, _t_star), Le(P_ij, pi_j * (1 + 2 * delta_i)))),
    steps=(
        Step("Step 1", "P_ij / pi_j = e^{E_ij}/Z_i lies in [e^{-delta_i}, e^{delta_i}].",
             And(Le(exp(-delta_i), P_ij / pi_j), Le(P_ij / pi_j, exp(delta_i))),
             "proved", "as E1 Step 2 (SymPy)", proof=proves_ratio_bound),
        Step("Step 2", "e^{-t} >= 1 - t gives the lower bound, with no hypothesis.",
             Le(pi_j * (1 - delta_i), P_ij),
             "proved", "SymPy: e^{-t} - 1 + t vanishes at 0 with nonnegative derivative",
             proof=_lower_bound),
        Step("Step 3", "The positive root of e^t = 1 + 2t in closed form.",
             And(sympy.Eq(_t_star, T_STAR), sympy.Eq(exp(_t_star), 1 + 2 * _t_star)),
             "proved", "SymPy: exact via W e^W = z, 50 digits, uniqueness by convexity",
             proof=_closed_form_root),
        Step("Step 4", "e^t <= 1 + 2t exactly on [0, t*], so delta_i < t* gives "
             "P_ij <= pi_j e^{delta_i} <= pi_j (1 + 2 delta_i).",
             Implies(Lt(delta_i, _t_star), Le(P_ij, pi_j * (1 + 2 * delta_i))),
             "proved", "convex function below its chord (standard); SymPy: roots, convexity, "
             "slope 2t* - 1 > 0 at t*",
             proof=_window),
        Step("Step 5", "The erratum's rounded hypothesis delta_i < 1.256 suffices.",
             Lt(Rational(1256, 1000), _t_star),
             "proved", "SymPy: e^1.256 < 3.512 and 1.256 < t*",
             proof=_rounded_hypothesis),
    ),
    notes="docs/theory.md §3 quotes the hypothesis as delta_i < 1.256; the toolkit certifies with the "
          "exact t* = 1.25643..., of which 1.256 is a safe rounding down.",
))


# ---------------------------------------------------------------- without the hypothesis
def _two_token_row(p, dl) -> Matrix:
    """Attention row softmax(log pi + E_i) for pi = (1 - p, p), E_i = (0, delta)."""
    return softmax_rows(Matrix([[log(1 - p), log(p) + dl]]))


def violates_upper_bound(p, dl) -> bool:
    """Exactly decide P_i2 > pi_2 (1 + 2 delta) in the two-token example."""
    return bool(_two_token_row(p, dl)[1] - p * (1 + 2 * dl) > 0)


@cache
def nohyp_counterexample() -> tuple[Matrix, Matrix, sympy.Expr, sympy.Expr, sympy.Expr]:
    """First (pi, E_i, delta, P_i2, pi_2 (1 + 2 delta)) that violates the unconditional bound.

    delta increases over (1, 3/2, 2, 3) and pi_2 decreases over (1/2, 1/10, 1/100, 1/1000).
    """
    for dl in (1, Rational(3, 2), 2, 3):
        for p in (Rational(1, 2), Rational(1, 10), Rational(1, 100), Rational(1, 1000)):
            if violates_upper_bound(p, dl):
                P_i2 = sympy.simplify(_two_token_row(p, dl)[1])
                return (Matrix([[1 - p, p]]), Matrix([[0, dl]]), sympy.sympify(dl), P_i2,
                        p * (1 + 2 * dl))
    raise LookupError("no two-token counterexample in the grid")


def _counterexample() -> bool:
    pi, _, dl, P, bound = nohyp_counterexample()
    return violates_upper_bound(pi[1], dl) and bool(dl > T_STAR) and bool(P > bound)


def _sharp() -> bool:
    """For every delta > t* the bound fails: P_i2/pi_2 -> e^delta as pi_2 -> 0 (limit)."""
    p, dl = Symbol("p", positive=True), Symbol("delta", positive=True)
    ratio = _two_token_row(p, dl)[1] / p
    return is_zero(sympy.limit(ratio, p, 0, "+") - exp(dl)) and _window()


ERRATUM_NOHYP = register(Claim(
    id="erratum.nohyp",
    title="Published technical lemma: upper bound on P_ij without a hypothesis",
    source="Dong, Cordonnier & Loukas, ICML 2021, appendix lemma (as described in the "
           "official repo issue #1; docs/theory.md §3)",
    kind="published",
    family="erratum",
    hypotheses=("P = softmax_rows(1 r^T + E), pi = softmax(r)",
                "delta_i = max_{j,j'} |E_ij - E_ij'|, no bound on delta_i"),
    statement=Le(P_ij, pi_j * (1 + 2 * delta_i)),
    steps=(
        Step("Step 1", "Two tokens, pi = (1 - p, p), E_i = (0, delta): search a small grid "
             "and verify a violation exactly.",
             sympy.Gt(*nohyp_counterexample()[3:], evaluate=False),
             "proved", "SymPy: exact comparison on the found instance (delta = 3/2 > t*, "
             "p = 1/100)", proof=_counterexample),
        Step("Step 2", "The hypothesis is sharp: P_i2/pi_2 -> e^delta as pi_2 -> 0, and "
             "e^delta > 1 + 2 delta for every delta > t*.",
             sympy.Eq(sympy.Limit(P_ij / pi_j, pi_j, 0), exp(delta_i)),
             "proved", "SymPy: limit of the two-token ratio, and erratum Step 4",
             proof=_sharp),
        Step("search", "Search attention layers for violations of the unconditional bound.",
             None, "numeric", "refuted in general (Step 1); the search looks for violations "
             "realised by actual layers E = s R W R^T"),
    ),
    notes="Refuted: the unconditional upper bound is false (exact counterexample in Step 1, "
          "and it fails for every delta_i > t* once pi_j is small enough). The kind stays "
          "'published': this is a finding about the published statement. Step 1's pi and E "
          "are arbitrary; whether a layer realises them is the numeric search's question.",
))
