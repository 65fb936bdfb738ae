"""Multi-head attention: Lemma E2 and the published Cor 2.3.

With H heads the output residual is ``sum_h Q_h R W_h`` (E1 Step 3 per head, ``W_h =
W_V,h W_O,h``).  Because the composite norm is not subadditive (claim N2), the heads are
summed in ``||.||_1`` and ``||.||_inf`` separately and the geometric mean is taken last.
Bounding each sum by H times its largest term gives the factor-H form with

    beta = sqrt( max_h ||W_QK,h||_1 ||W_h||_1 * max_h ||W_QK,h||_1 ||W_h||_inf ),

which can be larger than Cor 2.3's per-head composite ``max_h ||W_QK,h||_1 ||W_h||_{1,inf}``:
the published form with that beta is therefore not implied by this proof.

>>> heads = [(1, 4, 1), (1, 1, 4)]      # (||W_QK,h||_1, ||W_h||_1, ||W_h||_inf)
>>> beta_per_head(heads), beta_E2(heads)
(2, 4)
"""

from __future__ import annotations

import sympy
from sympy import IndexedBase, Le, MatrixSymbol, Sum, exp, sqrt

from .registry import Claim, Step, register
from .single_head import closed_form_B, proves_published_matches_E4, proves_value_centering
from .symbols import (SA, SAN, H, L, Norm1, NormC, NormInf, R, X, beta, d, d_qk, gamma, h,
                      a, is_zero, lam, n, phi, pi_max, r, s, stochastic_matrix)

ORDER = 3  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["beta_E2", "beta_per_head"]


def beta_E2(heads) -> sympy.Expr:
    """E2's beta from per-head (||W_QK,h||_1, ||W_h||_1, ||W_h||_inf)."""
    return sqrt(sympy.Max(*(k * w1 for k, w1, _ in heads))
                * sympy.Max(*(k * winf for k, _, winf in heads)))


def beta_per_head(heads) -> sympy.Expr:
    """Cor 2.3's beta: max_h ||W_QK,h||_1 ||W_h||_{1,inf}."""
    return sympy.Max(*(k * sqrt(w1 * winf) for k, w1, winf in heads))


def _two_heads_centre() -> bool:
    """Output of two heads minus its centre is sum_h (P_h - 1 pi_h^T) R W_h."""
    return proves_value_centering([stochastic_matrix("p", 3), stochastic_matrix("q", 3)])


def _geometric_mean_of_sums() -> bool:
    """sqrt((R_1 sum_h a_h)(R_inf sum_h b_h)) = ||R||_{1,inf} sqrt(sum_h a_h sum_h b_h), H = 3."""
    R1, Rinf = sympy.symbols("R_1 R_inf", positive=True)
    a_h, b_h = sympy.symbols("a1:4", positive=True), sympy.symbols("b1:4", positive=True)
    return is_zero(sqrt(sum(R1 * x for x in a_h) * sum(Rinf * y for y in b_h))
                   - sqrt(R1 * Rinf) * sqrt(sum(a_h) * sum(b_h)))


def _factor_H_form() -> bool:
    """From the sums to 4 gamma beta H s ||R||^3.

    (i) sum_{h<=H} x_h <= H max x for any H: with x_h = M - u_h, u_h >= 0, the gap is
    sum_h u_h >= 0.  (ii) c_h = e^{2 eps_h} - 1 = 2 s kappa_h ||R||^2 phi(2 eps_h), and phi is
    increasing, so c_h ||W_h||_p <= 2 s ||R||^2 phi(2 eps) max_h kappa_h ||W_h||_p.
    (iii) the resulting product is exactly 4 gamma beta H s ||R||^3.
    """
    M, u = sympy.Symbol("M", positive=True), IndexedBase("u", nonnegative=True)
    sum_le_H_max = sympy.simplify(H * M - Sum(M - u[h], (h, 1, H)).doit()).is_nonnegative is True
    k, R1, Rinf, m1, minf = sympy.symbols("kappa_h R_1 R_inf m_1 m_inf", positive=True)
    R2 = R1 * Rinf  # ||R||_{1,inf}^2
    eps_h = s * k * R2
    c_h = is_zero(exp(2 * eps_h) - 1 - (2 * s * k * R2 * phi(2 * eps_h)).rewrite(exp))
    phi_e = sympy.Symbol("phi_eps", positive=True)  # phi(2 eps), eps = max_h eps_h
    sum_1 = H * n * pi_max * 2 * s * R2 * phi_e * m1
    sum_inf = H * 2 * s * R2 * phi_e * minf
    gamma_ = sqrt(n * pi_max) * phi_e / 2
    beta_ = sqrt(m1 * minf)
    product = is_zero(sqrt(R2) * sqrt(sum_1 * sum_inf) - 4 * gamma_ * beta_ * H * s * sqrt(R2)**3)
    return sum_le_H_max and c_h and product


BETA_GAP_INSTANCE = ((1, 4, 1), (1, 1, 4))  # two heads, transposed shapes of ||W_h||


def _beta_comparison() -> bool:
    """kappa sqrt(w1 winf) = sqrt((kappa w1)(kappa winf)) <= E2's beta; strict on an instance."""
    k, w1, winf = sympy.symbols("kappa w_1 w_inf", positive=True)
    per_head_is_mean = is_zero(k * sqrt(w1 * winf) - sqrt((k * w1) * (k * winf)))
    strict = beta_per_head(BETA_GAP_INSTANCE) < beta_E2(BETA_GAP_INSTANCE)
    return per_head_is_mean and bool(strict)


max_h = sympy.Function("max_h", nonnegative=True)  # display only
c_h, pim_h = IndexedBase("c")[h], IndexedBase("pi_max")[h]
W_h, W_QKh = MatrixSymbol("W_h", d, d), MatrixSymbol("W_QK,h", d, d)
SUM_1 = Sum(n * c_h * pim_h * Norm1(W_h), (h, 1, H))
SUM_INF = Sum(c_h * NormInf(W_h), (h, 1, H))

E2 = register(Claim(
    id="E2",
    title="Lemma E2: one multi-head attention layer",
    source="docs/theory.md §4 (explicit)",
    kind="theorem",
    family="multi_head",
    hypotheses=(
        "X = 1 x^T + R; per head h: P_h, pi_h, Q_h = P_h - 1 pi_h^T, eps_h, "
        "c_h = max_i (e^{delta_h,i} - 1) as in Lemma E1",
        "W_h = W_V,h W_O,h, SA(X) = sum_h P_h X W_h + 1 b^T",
        "factor-H form: beta = sqrt(max_h ||W_QK,h||_1 ||W_h||_1 * max_h ||W_QK,h||_1 "
        "||W_h||_inf), gamma = sqrt(n pi_max) phi(2 eps)/2, eps = max_h eps_h",
    ),
    statement=Le(r(SA(X)), NormC(R) * sqrt(SUM_1 * SUM_INF)),
    steps=(
        Step("Step 1", "Per head, centring leaves Q_h R W_h (E1 Step 3 with W_V := W_h).",
             None, "proved", "SymPy: identity for two generic row-stochastic 3x3 heads",
             proof=_two_heads_centre),
        Step("Step 2", "Per-head bounds ||Q_h R||_inf <= c_h ||R||_inf and ||Q_h R||_1 <= "
             "n c_h pi_h,max ||R||_1.",
             None, "assumed", "E1 Steps 2-4 applied to head h (E1 Step 2 proved, Step 4 "
             "spot-checked as E1:Step 4)"),
        Step("Step 3", "Sum over heads in ||.||_1 and ||.||_inf separately (not in the "
             "composite, N2), then take the geometric mean.",
             Le(r(SA(X)), NormC(R) * sqrt(SUM_1 * SUM_INF)),
             "proved", "triangle inequality and submultiplicativity of each induced norm "
             "(standard); SymPy checks the geometric-mean algebra for H = 3",
             proof=_geometric_mean_of_sums),
        Step("Step 4", "Bound each sum by H times its largest term: the factor-H form.",
             Le(r(SA(X)), 4 * gamma * beta * H * s * NormC(R)**3),
             "proved", "SymPy: sum <= H max for symbolic H, c_h via phi, and the final "
             "identity; phi increasing is E1 Step 7",
             proof=_factor_H_form),
        Step("Step 5", "Cor 2.3's per-head composite beta is at most E2's beta and can be "
             "strictly smaller, so the factor-H form with it is not implied.",
             Le(max_h(Norm1(W_QKh) * NormC(W_h)),
                sqrt(max_h(Norm1(W_QKh) * Norm1(W_h)) * max_h(Norm1(W_QKh) * NormInf(W_h)))),
             "proved", "SymPy: per-head value is a geometric mean of the two maximised "
             "quantities (so <=, each factor is at most its max); exact instance 2 < 4",
             proof=_beta_comparison),
    ),
    notes="Whether the per-head composite beta suffices is left to the adversarial search "
          "(cor2.3:search).",
))


COR23_BOUND = (4 * gamma * beta * H / sqrt(d_qk))**((3**L - 1) / 2) * r(X)**(3**L)
COR23 = register(Claim(
    id="cor2.3",
    title="Cor 2.3 (multi-head)",
    source="Dong, Cordonnier & Loukas, ICML 2021, Cor 2.3 (transcribed, docs/theory.md §3)",
    kind="published",
    family="multi_head",
    hypotheses=("||W_QK,h^l||_1 ||W_h^l||_{1,inf} <= beta for every head h and layer l, "
                "W_h = W_V,h W_O,h",
                "gamma = 1 (the value the toolkit tests)"),
    statement=Le(r(SAN(X)), COR23_BOUND),
    steps=(
        Step("Step 1", "With gamma := Gamma the published bound is the closed form of E4's "
             "recurrence, a = 4 gamma beta H lam s with lam = 1, s = 1/sqrt(d_qk).",
             sympy.Eq(COR23_BOUND, closed_form_B(a, r(X), L)),
             "proved", "SymPy: equal logarithms of the two closed forms",
             proof=lambda: proves_published_matches_E4(COR23_BOUND, {lam: 1})),
        Step("Step 2", "The per-head composite beta can be smaller than the beta E2 needs.",
             None, "proved", "as E2 Step 5", proof=_beta_comparison),
        Step("search", "Adversarial search for violations with gamma = 1 and the per-head "
             "composite beta.",
             Le(r(SAN(X)), COR23_BOUND.subs(gamma, 1)),
             "numeric", "not implied by E2 (Step 2); tested by exact-precision search"),
    ),
    notes="The transcriptions do not say whether W_O is inside beta; the toolkit uses "
          "W_h = W_V,h W_O,h and the per-head composite beta max_h ||W_QK,h||_1 "
          "||W_h||_{1,inf}, with gamma = 1.",
))
