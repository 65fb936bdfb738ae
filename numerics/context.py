"""Number contexts: one algorithm set over three kinds of numbers.

In the style of mpmath's contexts, every algorithm in ``numerics`` (networks, norms,
residuals, bounds) is written once against a :class:`Context` and runs unchanged on

* ``float64`` -- numpy doubles. Fast, for exploration only: it carries no error bound, so
  its verdicts are never ``holds`` or ``violated``.
* ``mpmath``  -- mpmath's interval context (``mpmath.iv``): every number is an interval with
  outward rounding. The pure-Python reference.
* ``arb``     -- python-flint ball arithmetic: every number is a midpoint with a rigorous
  radius. Certified and fast; the default for verdicts.

Matrices are numpy arrays: ``float64`` arrays for the float context, ``object`` arrays of
intervals or balls otherwise, so ``A @ B``, ``A + B``, ``abs(A)`` and ``A.sum(axis=0)`` mean the
same thing everywhere. What numpy cannot do elementwise on object arrays (``exp``, ``sqrt``,
max of enclosures, ...) is a context method.

Endpoints are returned as exact :class:`fractions.Fraction` so that verdicts compare exact
numbers, never rounded ones:

>>> ctx = get_context("arb")
>>> with ctx.workprec(64):
...     x = ctx.number("0.1")          # a decimal string is parsed exactly, then enclosed
>>> ctx.lo(x) <= Fraction(1, 10) <= ctx.hi(x)
True
>>> get_context("float64").certified, get_context("mpmath").certified, ctx.certified
(False, True, True)
"""

from __future__ import annotations

import contextlib
import functools
import math
from fractions import Fraction

import flint
import mpmath
import numpy as np
import scipy.special
from mpmath import iv

from .exact import to_fraction

__all__ = ["Context", "get_context", "BACKENDS"]


def _mpf_fraction(raw, infinity: float) -> Fraction | float:
    """Exact value of a raw mpmath number tuple (sign, mantissa, exponent, bits); an infinite
    or undefined endpoint becomes ``infinity`` (-inf for lower ends, +inf for upper ends)."""
    sign, man, exp, _ = raw
    if not man and exp:  # inf / nan carry no mantissa but a special exponent code
        return infinity
    val = Fraction(man) * (Fraction(2) ** exp)
    return -val if sign else val


class Context:
    """Interface shared by the three number kinds (see module docstring)."""

    name: str
    certified: bool

    def __init__(self):
        self._vec = {}

    def _map(self, fn_name, A):
        """Apply the scalar method ``fn_name`` entrywise (numpy has no ufunc for our types)."""
        f = self._vec.get(fn_name)
        if f is None:
            f = self._vec[fn_name] = np.frompyfunc(getattr(self, "_" + fn_name), 1, 1)
        return f(A)

    # -- construction ---------------------------------------------------------------
    def array(self, A) -> np.ndarray:
        """A matrix in this context from nested lists / numpy arrays of exact-readable entries."""
        A = np.asarray(A, dtype=object if not isinstance(A, np.ndarray) else None)
        if A.dtype == object:
            return np.frompyfunc(self.number, 1, 1)(A).astype(object)
        return self._from_float_array(A.astype(np.float64))

    def _from_float_array(self, A):
        return np.frompyfunc(self.number, 1, 1)(A.astype(object)).astype(object)

    # -- elementwise functions ------------------------------------------------------
    def exp(self, A):
        return self._map("exp", A)

    def sqrt(self, A):
        return self._map("sqrt", A)

    def log(self, A):
        return self._map("log", A)

    def expm1(self, A):
        return self._map("expm1", A)

    def tanh(self, A):
        return self._map("tanh", A)

    def erf(self, A):
        return self._map("erf", A)

    def relu(self, A):
        return self._map("relu", A)

    # -- enclosure helpers ----------------------------------------------------------
    def max(self, values):
        """An enclosure of the maximum of the (enclosed) values."""
        return functools.reduce(self._max2, np.ravel(values))

    def min(self, values):
        return -self.max(-np.asarray(values))

    def hull(self, a, b):
        """An enclosure of everything between the enclosures ``a`` and ``b``."""
        raise NotImplementedError

    def lo(self, x) -> Fraction:
        """Exact lower end of the enclosure of ``x`` (``-math.inf`` if it has none)."""
        raise NotImplementedError

    def hi(self, x) -> Fraction:
        """Exact upper end of the enclosure of ``x`` (``math.inf`` if it has none)."""
        raise NotImplementedError

    def to_float(self, A) -> np.ndarray:
        """Midpoints as doubles (for LPs and plots; never for verdicts)."""
        return np.vectorize(lambda v: float(self.mid_fraction(v)), otypes=[float])(A)

    def mid_fraction(self, x) -> Fraction:
        return (self.lo(x) + self.hi(x)) / 2

    def point(self, q: Fraction):
        """``q`` as a number of this context (an enclosure if q is not representable)."""
        return self.number(q)

    @contextlib.contextmanager
    def workprec(self, bits: int):
        yield

    @property
    def prec(self) -> int:
        return 53


class Float64Context(Context):
    name = "float64"
    certified = False

    def number(self, v):
        return float(to_fraction(v)) if not isinstance(v, float) else v

    def _from_float_array(self, A):
        return A

    def array(self, A):
        A = np.asarray(A)
        if A.dtype == object or A.dtype.kind in "US":
            return np.vectorize(self.number, otypes=[float])(A).astype(np.float64)
        return A.astype(np.float64)

    @staticmethod
    def _scalar_or_array(r):
        return float(r) if np.ndim(r) == 0 else r

    def exp(self, A):
        return self._scalar_or_array(np.exp(A))

    def sqrt(self, A):
        return self._scalar_or_array(np.sqrt(A))

    def log(self, A):
        return self._scalar_or_array(np.log(A))

    def tanh(self, A):
        return self._scalar_or_array(np.tanh(A))

    def expm1(self, A):
        return self._scalar_or_array(np.expm1(A))

    def hull(self, a, b):
        return (a + b) / 2  # no enclosures in float64: the midpoint is the estimate

    def erf(self, A):
        return self._scalar_or_array(scipy.special.erf(A))

    def relu(self, A):
        return np.maximum(A, 0.0)

    def max(self, values):
        return float(np.max(values))

    def min(self, values):
        return float(np.min(values))

    def lo(self, x):
        return Fraction(float(x)) if math.isfinite(x) else math.copysign(math.inf, x)

    hi = lo

    def to_float(self, A):
        return np.asarray(A, dtype=np.float64)


class MpmathContext(Context):
    """mpmath interval arithmetic (``mpmath.iv``), precision in bits via ``workprec``."""

    name = "mpmath"
    certified = True

    def number(self, v):
        if isinstance(v, iv.mpf):
            return v
        if isinstance(v, float):
            return iv.mpf(v)  # a double is exact in binary
        q = to_fraction(v)
        return iv.mpf(q.numerator) / q.denominator if q.denominator != 1 else iv.mpf(q.numerator)

    @contextlib.contextmanager
    def workprec(self, bits: int):
        old = iv.prec
        iv.prec = int(bits)
        try:
            yield
        finally:
            iv.prec = old

    @property
    def prec(self):
        return iv.prec

    _exp = staticmethod(iv.exp)
    _expm1 = staticmethod(iv.expm1)
    _sqrt = staticmethod(iv.sqrt)
    _log = staticmethod(iv.log)

    @staticmethod
    def hull(a, b):
        return iv.mpf([min(a.a, b.a), max(a.b, b.b)])

    @staticmethod
    def _tanh(x):
        # mpmath.iv has no tanh; this form is monotone in x, so it encloses tightly.
        return 1 - 2 / (iv.exp(2 * x) + 1)

    @staticmethod
    def _erf(x):
        # mpmath.iv has no erf. erf is increasing, so evaluate the endpoints with 32 guard bits
        # and widen each by 2^(8-prec) relative: far above mp.erf's few-ulp error.
        bits = iv.prec
        with mpmath.workprec(bits + 32):
            lo, hi = mpmath.erf(x.a), mpmath.erf(x.b)
            pad = mpmath.ldexp(1, 8 - bits)
            return iv.mpf([lo - abs(lo) * pad - mpmath.ldexp(1, -bits - 32),
                           hi + abs(hi) * pad + mpmath.ldexp(1, -bits - 32)])

    @staticmethod
    def _relu(x):
        return iv.mpf([max(x.a, 0), max(x.b, 0)])

    @staticmethod
    def _max2(x, y):
        return iv.mpf([max(x.a, y.a), max(x.b, y.b)])

    # the raw endpoint tuples: converting through mpmath.mpf would round to mp.prec
    def lo(self, x):
        return _mpf_fraction(self.number(x)._mpi_[0], -math.inf)

    def hi(self, x):
        return _mpf_fraction(self.number(x)._mpi_[1], math.inf)

    def point(self, q):
        return self.number(q)


class ArbContext(Context):
    """python-flint ``arb`` balls, precision in bits via ``workprec``."""

    name = "arb"
    certified = True

    def number(self, v):
        if isinstance(v, flint.arb):
            return v
        if isinstance(v, (float, int)):
            return flint.arb(v)  # exact for doubles and ints
        q = to_fraction(v)
        # arb("0.1") would also work; a fmpq goes through one exact rational division.
        return flint.arb(flint.fmpq(q.numerator, q.denominator))

    @contextlib.contextmanager
    def workprec(self, bits: int):
        old = flint.ctx.prec
        flint.ctx.prec = int(bits)
        try:
            yield
        finally:
            flint.ctx.prec = old

    @property
    def prec(self):
        return flint.ctx.prec

    _exp = staticmethod(flint.arb.exp)
    _expm1 = staticmethod(flint.arb.expm1)
    _sqrt = staticmethod(flint.arb.sqrt)
    _log = staticmethod(flint.arb.log)
    _tanh = staticmethod(flint.arb.tanh)
    _erf = staticmethod(flint.arb.erf)

    @staticmethod
    def _relu(x):
        return x.max(0)

    @staticmethod
    def hull(a, b):
        return a.union(b)

    @staticmethod
    def _max2(x, y):
        return x.max(y)

    def to_float(self, A):
        return np.vectorize(lambda v: float(v.mid()), otypes=[float])(A)

    @staticmethod
    def _exact(x) -> Fraction:
        man, exp = x.man_exp()
        return Fraction(int(man)) * (Fraction(2) ** int(exp))

    # from the exact midpoint and radius: lower()/upper() would round at the current precision
    def lo(self, x):
        x = self.number(x)
        return self._exact(x.mid()) - self._exact(x.rad()) if x.is_finite() else -math.inf

    def hi(self, x):
        x = self.number(x)
        return self._exact(x.mid()) + self._exact(x.rad()) if x.is_finite() else math.inf


BACKENDS = {"float64": Float64Context, "mpmath": MpmathContext, "arb": ArbContext}


@functools.cache
def get_context(name: str) -> Context:
    """The shared context object for a backend name (``float64``, ``mpmath`` or ``arb``)."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}") from None
