"""Shared notation and the few proof tactics every family uses.

The symbols follow the paper (docs/theory.md §1): ``n`` tokens, ``d`` features, ``d_qk``
the query/key width, ``L`` layers, ``H`` heads, ``s = 1/sqrt(d_qk)``.  Matrix-valued
quantities that only appear in *statements* are SymPy ``MatrixSymbol`` objects, and the
norms and the residual ``r`` are printable functions of them; the *proofs* work on small
explicit matrices of scalar symbols instead, where SymPy can compute.

``phi(t) = (e^t - 1)/t`` with ``phi(0) = 1`` is the function through which the softmax
enters every bound (docs/theory.md §4, Step 7).

>>> phi(0)
1
>>> phi(t).rewrite(sympy.exp)
(exp(t) - 1)/t
>>> sympy.sstr(NormC(R)**3)
'||R||_{1,inf}**3'
>>> nonneg_on_halfline(t * sympy.exp(t) - sympy.exp(t) + 1, t)
True
"""

from __future__ import annotations

import sympy
from sympy import Function, Matrix, MatrixSymbol, OneMatrix, Symbol

# Dimensions and counts.
n, d, d_qk, L, H = sympy.symbols("n d d_qk L H", positive=True, integer=True)
l = Symbol("l", positive=True, integer=True)  # layer index
h = Symbol("h", positive=True, integer=True)  # head index
# Constants of the bounds.
beta, gamma, lam, kappa, a = sympy.symbols("beta gamma lambda kappa a", positive=True)
s = Symbol("s", positive=True)
S_DEF = sympy.Eq(s, 1 / sympy.sqrt(d_qk))
r0 = Symbol("r_0", nonnegative=True)  # r(X), the input residual
B = Symbol("B", nonnegative=True)
B0 = Symbol("B_0", positive=True)
eps = Symbol("epsilon", positive=True)
delta = Symbol("delta", nonnegative=True)
t = Symbol("t", nonnegative=True)
pi_max = Symbol("pi_max", positive=True)

# Matrices that appear in statements.
X = MatrixSymbol("X", n, d)
X_L = MatrixSymbol("X_L", n, d)  # output of layer L
R = MatrixSymbol("R", n, d)  # X - 1 x^T
W_QK = MatrixSymbol("W_QK", d, d)
W_V = MatrixSymbol("W_V", d, d)
ONE = OneMatrix(n, 1)  # the all-ones n-vector

r = Function("r", nonnegative=True)  # r(X) = ||res(X)||_{1,inf}
SA = Function("SA")
SAN = Function("SAN")


def _norm(name: str, plain: str, tex: str) -> type[Function]:
    """A printable, nonnegative ``||M||_sub`` of a matrix expression (statements only)."""

    def _sympystr(self, printer):
        return f"||{printer._print(self.args[0])}||_{plain}"

    def _latex(self, printer, exp=None):
        body = rf"\left\|{printer._print(self.args[0])}\right\|_{{{tex}}}"
        return f"{body}^{{{exp}}}" if exp else body

    return type(name, (Function,), {
        "nargs": 1, "is_real": True, "is_nonnegative": True,
        "_sympystr": _sympystr, "_latex": _latex,
    })


Norm1 = _norm("Norm1", "1", "1")
NormInf = _norm("NormInf", "inf", r"\infty")
NormC = _norm("NormC", "{1,inf}", r"1,\infty")


class phi(Function):
    """phi(t) = (e^t - 1)/t, continuously extended by phi(0) = 1."""

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.S.One
        if arg.is_Float:
            return (sympy.exp(arg) - 1) / arg
        return None

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return (sympy.exp(arg) - 1) / arg

    def _eval_evalf(self, prec):
        # Function's default would look up mpmath.phi, which is the golden ratio.
        return self.rewrite(sympy.exp)._eval_evalf(prec)


def sym_matrix(name: str, rows: int, cols: int) -> Matrix:
    """Explicit rows x cols matrix of real scalar symbols name_ij (1-based)."""
    return Matrix(rows, cols, lambda i, j: Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def stochastic_matrix(name: str, size: int) -> Matrix:
    """Generic row-stochastic size x size matrix: the last column makes each row sum to 1."""
    free = sym_matrix(name, size, size - 1)
    return free.row_join(Matrix(size, 1, lambda i, _: 1 - sum(free.row(i))))


def softmax_rows(M: Matrix) -> Matrix:
    """Row-wise softmax of an explicit matrix."""
    return Matrix(M.rows, M.cols, lambda i, j: sympy.exp(M[i, j])
                  / sum(sympy.exp(M[i, k]) for k in range(M.cols)))


def is_zero(expr) -> bool:
    """True iff SymPy reduces expr (scalar or explicit matrix) to exactly 0.

    Expanding (including exp(a + b) = exp(a) exp(b)) and cancelling settle most
    identities cheaply; simplify is the fallback.
    """
    if isinstance(expr, sympy.MatrixBase):
        return all(is_zero(entry) for entry in expr)
    expanded = sympy.expand(expr, power_exp=True)
    return expanded == 0 or sympy.cancel(expanded) == 0 or sympy.simplify(expanded) == 0


def same_log(lhs, rhs) -> bool:
    """True iff log(lhs) = log(rhs) after expanding logs (positive power products)."""
    return is_zero(sympy.expand_log(sympy.log(lhs) - sympy.log(rhs), force=True))


def nonneg_on_halfline(g, var, depth: int = 3) -> bool:
    """Prove g(var) >= 0 for all var >= 0.

    Either SymPy's assumptions decide g >= 0 outright, or g(0) >= 0 and g' >= 0 on the
    half-line (recursively, at most ``depth`` derivatives).  Returns False when this
    tactic cannot prove it, which includes every g that is negative somewhere.
    """
    x = sympy.Dummy("x", nonnegative=True)
    g = g.subs(var, x)
    if g.is_nonnegative:
        return True
    if depth == 0 or g.subs(x, 0).is_nonnegative is not True:
        return False
    return nonneg_on_halfline(sympy.diff(g, x), x, depth - 1)
