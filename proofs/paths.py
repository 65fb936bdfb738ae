"""Path decomposition (Thm 2.1): a self-attention network is a sum of single-head paths.

Layer l maps ``X -> sum_h P^l_h X W^l_h + 1 b_l^T``.  Multiplying out L layers, with the
attention matrices acting on the left and the weights on the right, gives one term per
choice of head in every layer: ``P^L_{h_L} ... P^1_{h_1} X W^1_{h_1} ... W^L_{h_L}``.  With
skip connections each layer also offers the identity (``h = 0``, ``P_0 = W_0 = I``), so
there are ``(1+H)^L`` paths, ``C(L,k) H^k`` of them of length k (k non-identity heads).

SymPy checks the expansion with noncommutative symbols for small L and H.  Biases stay of
the form ``1 c^T`` because every attention matrix is row-stochastic (``P 1 = 1``).

>>> path_counts(3, 2, skip=True)
{0: 1, 1: 6, 2: 12, 3: 8}
>>> path_length_shares(2, 1)
{0: 1/4, 1: 1/2, 2: 1/4}
>>> proves_path_counts({2: 4}, 2, 2, skip=False), proves_path_counts({2: 5}, 2, 2, skip=False)
(True, False)
"""

from __future__ import annotations

from functools import cache
from itertools import product

import sympy
from sympy import Add, Eq, Function, Mul, Rational, Sum, Symbol, binomial, ones

from .registry import Claim, Step, register
from .symbols import ONE, H, L, is_zero, l, n, softmax_rows, sym_matrix

ORDER = 4  # the family's place in the teaching order (docs, verify, derive)

__all__ = ["path_counts", "path_length_shares", "path_sum", "network", "proves_path_sum",
           "proves_path_counts"]

X_nc = Symbol("X", commutative=False)
ONE_nc = Symbol("1", commutative=False)  # the all-ones column


def _P(layer: int, head: int):
    return sympy.S.One if head == 0 else Symbol(f"P^{layer}_{head}", commutative=False)


def _W(layer: int, head: int):
    return sympy.S.One if head == 0 else Symbol(f"W^{layer}_{head}", commutative=False)


def _heads(H_: int, skip: bool) -> range:
    return range(0 if skip else 1, H_ + 1)


def _is_attention(factor) -> bool:
    return isinstance(factor, Symbol) and factor.name.startswith("P^")


@cache
def network(L_: int, H_: int, skip: bool, bias: bool = False) -> sympy.Expr:
    """Expanded output of L_ layers with H_ heads (noncommutative symbols)."""
    out = X_nc
    for layer in range(1, L_ + 1):
        out = sum(_P(layer, hd) * out * _W(layer, hd) for hd in _heads(H_, skip))
        if bias:
            out += ONE_nc * Symbol(f"b_{layer}", commutative=False)
    return sympy.expand(out)


def path_sum(L_: int, H_: int, skip: bool) -> sympy.Expr:
    """sum over paths (h_1..h_L) of P^L_{h_L} ... P^1_{h_1} X W^1_{h_1} ... W^L_{h_L}."""
    return Add(*(Mul(*(_P(k, hd) for k, hd in reversed(list(enumerate(path, 1)))), X_nc,
                     *(_W(k, hd) for k, hd in enumerate(path, 1)))
                 for path in product(_heads(H_, skip), repeat=L_)))


def proves_path_sum(candidate, L_: int, H_: int, skip: bool) -> bool:
    """True iff candidate equals the multiplied-out network exactly."""
    return sympy.expand(network(L_, H_, skip) - candidate) == 0


def path_counts(L_: int, H_: int, skip: bool) -> dict[int, int]:
    """Number of paths of each length: {L: H^L}, or {k: C(L,k) H^k} with skips."""
    if not skip:
        return {L_: H_**L_}
    return {k: int(binomial(L_, k)) * H_**k for k in range(L_ + 1)}


def path_length_shares(L_: int, H_: int) -> dict[int, Rational]:
    """With skips: the share C(L,k) H^k / (1+H)^L of paths that have length k."""
    return {k: Rational(count, (1 + H_)**L_) for k, count in path_counts(L_, H_, True).items()}


def proves_path_counts(counts: dict[int, int], L_: int, H_: int, skip: bool) -> bool:
    """True iff counts matches the terms of the expansion grouped by path length.

    Each path must appear exactly once (coefficient 1), so terms count paths.
    """
    found: dict[int, int] = {}
    for term in Add.make_args(network(L_, H_, skip)):
        coefficient, factors = term.args_cnc()
        if Mul(*coefficient) != 1:
            return False
        length = sum(map(_is_attention, factors))
        found[length] = found.get(length, 0) + 1
    return found == counts


_SIZES = [(L_, H_) for L_ in range(1, 4) for H_ in range(1, 4)]


def _expansion(skip: bool) -> bool:
    return all(proves_path_sum(path_sum(L_, H_, skip), L_, H_, skip) for L_, H_ in _SIZES)


def _counts() -> bool:
    return all(proves_path_counts(path_counts(L_, H_, skip), L_, H_, skip)
               for L_, H_ in _SIZES for skip in (False, True))


def _binomial_theorem() -> bool:
    """sum_k C(L,k) x^k = (1+x)^L for symbolic L and every x = 1/(1+u) in (0, 1).

    Both sides are polynomials of degree L in x agreeing on an interval, hence everywhere,
    in particular at x = H.  (SymPy's summation only closes the sum for |x| <= 1.)
    """
    k, u = Symbol("k", integer=True, nonnegative=True), Symbol("u", positive=True)
    x = 1 / (1 + u)
    total = sympy.summation(binomial(L, k) * x**k, (k, 0, L))
    return not total.has(Sum, sympy.Piecewise) and is_zero(total - (1 + x)**L)


def _row_stochastic() -> bool:
    """softmax_rows(Z) 1 = 1 for a symbolic 3x3 Z."""
    Z = sym_matrix("z", 3, 3)
    return is_zero(softmax_rows(Z) * ones(3, 1) - ones(3, 1))


def _absorb(term):
    """Apply P 1 = 1: drop attention factors standing directly left of the ones column."""
    coefficient, factors = term.args_cnc()
    kept: list = []
    for factor in factors:
        if factor == ONE_nc:
            while kept and _is_attention(kept[-1]):
                kept.pop()
        kept.append(factor)
    return Mul(*coefficient, *kept)


def proves_bias_propagation(L_: int, H_: int, skip: bool) -> bool:
    """With biases, output = path sum + 1 b_total^T after P 1 = 1.

    b_total^T = sum_l b_l^T prod_{m > l} (sum_h W^m_h), with W^m_0 = I under skips.
    """
    paths, bias_terms = [], []
    for term in Add.make_args(network(L_, H_, skip, bias=True)):
        term = _absorb(term)
        (bias_terms if term.has(ONE_nc) else paths).append(term)
    if any(term.args_cnc()[1][0] != ONE_nc for term in bias_terms):
        return False  # some bias did not reduce to the form 1 c^T
    b_total = sum(Symbol(f"b_{layer}", commutative=False)
                  * Mul(*(sum(_W(m, hd) for hd in _heads(H_, skip))
                          for m in range(layer + 1, L_ + 1)))
                  for layer in range(1, L_ + 1))
    return (proves_path_sum(Add(*paths), L_, H_, skip)
            and sympy.expand(Add(*bias_terms) - ONE_nc * b_total) == 0)


def _bias() -> bool:
    return all(proves_bias_propagation(L_, H_, skip)
               for L_, H_ in _SIZES if H_ <= 2 for skip in (False, True))


_path = Symbol("p")
_P_path = Function("P_path", commutative=False)
_W_path = Function("W_path", commutative=False)
_SAN_nc = Function("SAN", commutative=False)
_b_total = Symbol("b^T", commutative=False)
_k = Symbol("k", integer=True, nonnegative=True)

THM21 = register(Claim(
    id="thm2.1",
    title="Thm 2.1: path decomposition",
    source="Dong, Cordonnier & Loukas, ICML 2021, Thm 2.1 (docs/theory.md §3)",
    kind="theorem",
    family="paths",
    hypotheses=(
        "layer l: X -> sum_h P^l_h X W^l_h + 1 b_l^T with row-stochastic P^l_h",
        "p ranges over the H^L paths (h_1..h_L) in [H]^L; P_path(p) = P^L_{h_L} ... P^1_{h_1}, "
        "W_path(p) = W^1_{h_1} ... W^L_{h_L}",
        "with skip connections h_l in {0..H}, P_0 = W_0 = I: (1+H)^L paths",
    ),
    statement=Eq(_SAN_nc(X_nc), Sum(_P_path(_path) * X_nc * _W_path(_path), (_path, 1, H**L))
                 + ONE_nc * _b_total),
    steps=(
        Step("Step 1", "Multiply out the layers (no skip): one term per path (shown for "
             "L = H = 2).",
             Eq(_SAN_nc(X_nc), path_sum(2, 2, False)),
             "proved", "SymPy: noncommutative expansion equals the path sum for L, H <= 3",
             proof=lambda: _expansion(skip=False)),
        Step("Step 2", "With skip connections the identity is one more head per layer "
             "(shown for L = 2, H = 1).",
             Eq(_SAN_nc(X_nc), path_sum(2, 1, True)),
             "proved", "SymPy: noncommutative expansion equals the path sum for L, H <= 3",
             proof=lambda: _expansion(skip=True)),
        Step("Step 3", "Count the paths: H^L without skips, C(L,k) H^k of length k with them.",
             Eq(Symbol("N_k"), binomial(L, _k) * H**_k),
             "proved", "SymPy: terms of the expansion grouped by length for L, H <= 3",
             proof=_counts),
        Step("Step 4", "The lengths add up to all (1+H)^L paths (binomial theorem).",
             Eq(Sum(binomial(L, _k) * H**_k, (_k, 0, L)), (1 + H)**L),
             "proved", "SymPy summation for symbolic L on x in (0, 1), then the polynomial "
             "identity principle",
             proof=_binomial_theorem),
        Step("Step 5", "Attention matrices are row-stochastic: P 1 = 1.",
             Eq(sympy.MatrixSymbol("P", n, n) * ONE, ONE, evaluate=False),
             "proved", "SymPy: row sums of a symbolic 3x3 softmax",
             proof=_row_stochastic),
        Step("Step 6", "A bias 1 b_l^T multiplied by later P's stays 1 b^T W...: the total is "
             "the path sum plus 1 b_total^T.",
             Eq(_b_total, Sum(Symbol("b_l^T", commutative=False)
                              * Symbol("W^{>l}", commutative=False), (l, 1, L))),
             "proved", "SymPy: expansion with biases, P 1 = 1 applied, for L <= 3, H <= 2, "
             "with and without skips; W^{>l} = prod_{m>l} sum_h W^m_h",
             proof=_bias),
    ),
    notes="path_counts and path_length_shares give the exact counts and length shares.",
))
