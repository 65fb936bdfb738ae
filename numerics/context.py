"""Number contexts: one algorithm set over four kinds of numbers.

In the style of mpmath's contexts, every algorithm in ``numerics`` (networks, norms,
residuals, bounds) is written once against a :class:`Context` and runs unchanged on

* ``float64`` -- numpy doubles. Fast, for exploration only: it carries no error bound, so
  its verdicts are never ``holds`` or ``violated``. ``longdouble`` is the same on numpy's
  extended type, whose exponent reaches ``1e-4932`` on x86-64 (values past the double range).
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

Exact data of an enclosure: ``ctx.mid_rad(x)`` is ``(m, e, r, f)`` (Python ints) with the
enclosure exactly ``[m 2^e - r 2^f, m 2^e + r 2^f]``, and ``ctx.mid_rad_dyadic(A)`` gives a whole
matrix as integer arrays over common exponents. Dyadic values become Fractions through
:func:`dyadic`, which skips Python's quadratic gcd (a 300 000-bit Fraction costs 0.2 s otherwise).

Traps this module avoids (``tests/test_backends.py`` tests each): ``flint.arb(0.1)`` encloses
the double nearest 1/10, not 1/10, so decimal strings go through ``Fraction`` -> ``fmpq``;
``float(ball)`` drops the radius, so doubles are only ever estimates (``to_float``: softmax
shifts, LP inputs, plots), never verdict inputs; Python comparisons of balls are "certainly
true" tests that return False when undecided, so decisions use the exact ends ``lo``/``hi``
and maxima use ``arb.max``; ``arb_mat.exp()`` is the matrix exponential, so elementwise
functions map the scalar one over the entries.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
from fractions import Fraction

import flint
import mpmath
import numpy as np
import scipy.special
from mpmath import iv

from .exact import to_fraction

__all__ = ["Context", "get_context", "BACKENDS", "dyadic"]


class _LowestTerms:
    """A numerator/denominator pair known to be in lowest terms. ``Fraction`` copies any
    ``numbers.Rational`` as it is, so ``Fraction(_LowestTerms(n, d))`` skips the gcd."""

    __slots__ = ("numerator", "denominator")

    def __init__(self, numerator: int, denominator: int):
        self.numerator, self.denominator = numerator, denominator


numbers.Rational.register(_LowestTerms)


def dyadic(man: int, exp: int) -> Fraction:
    """``man * 2^exp`` as an exact Fraction in time linear in the size of ``man``.

    >>> dyadic(12, -4), dyadic(-3, 2), dyadic(0, -7)
    (Fraction(3, 4), Fraction(-12, 1), Fraction(0, 1))
    """
    man, exp = int(man), int(exp)
    if exp >= 0 or not man:
        return Fraction(man << exp if man else 0)
    k = min((man & -man).bit_length() - 1, -exp)  # trailing zero bits of man that cancel
    man, exp = man >> k, exp + k
    return Fraction(man) if exp == 0 else Fraction(_LowestTerms(man, 1 << -exp))


# Exact ends are kept within 2^(+-_CAP_BITS) (about 5 million digits): balls far outside (arb's
# exponents are unbounded, e.g. a diverging bound) get the valid ends +-inf or +-2^-_CAP_BITS.
_CAP_BITS = 1 << 24


def _align(m: int, e: int, r: int, f: int, sign: int) -> Fraction | float:
    """``m 2^e + sign r 2^f``: exact, or a valid outward end for magnitudes beyond the cap."""
    if not (m or r):
        return Fraction(0)
    top = max(x + y.bit_length() for x, y in ((e, m), (f, r)) if y)  # |m 2^e +- r 2^f| < 2^top
    if top > _CAP_BITS:
        return sign * math.inf
    if top < -_CAP_BITS:
        return dyadic(sign, -_CAP_BITS)
    # a term more than _CAP_BITS below the other (e.g. a radius 2^-(10^400) on 1) is rounded
    # outward to that grid: an exact end of it would be a 10^400-bit integer
    lo = max(min(e, f), top - _CAP_BITS)
    return dyadic(_scaled(m, e - lo, sign) + _scaled(sign * r, f - lo, sign), lo)


def _scaled(v: int, k: int, direction: int) -> int:
    """``v 2^k`` rounded towards ``direction`` (+1 up, -1 down) to an integer."""
    return v << k if k >= 0 else v >> -k if direction < 0 else -((-v) >> -k)


def _dyadic_float(m: int, e: int) -> float:
    """A double near ``m 2^e`` (saturating to +-inf / 0): for estimates only."""
    extra = max(m.bit_length() - 64, 0)
    try:
        return math.ldexp(float(m >> extra if m >= 0 else -((-m) >> extra)), e + extra)
    except OverflowError:
        return math.copysign(math.inf, m)


def _tops(mans, exps):
    """``e + bit_length(m)`` per entry (``|m 2^e| < 2^top``) and the nonzero mask, as arrays."""
    bits = np.array(list(map(int.bit_length, mans)), dtype=object)
    return exps + bits, bits != 0


def _common_exponent(mans, exps, round_up_bits: int | None = None):
    """Integers ``m`` and one exponent ``E`` with ``man 2^exp = m 2^E`` (exactly), or, with
    ``round_up_bits``, ``m 2^E >= man 2^exp >= 0`` keeping that many bits below the largest value.
    Object arrays of Python ints in and out: numpy runs the per-entry loops."""
    tops, nonzero = _tops(mans, exps)
    if not nonzero.any():
        return np.zeros(len(mans), dtype=object), 0
    E = exps[nonzero].min()
    if round_up_bits is not None:
        E = max(E, tops[nonzero].max() - round_up_bits)
    shift = exps - E
    out, left = np.empty(len(mans), dtype=object), shift >= 0
    out[left] = mans[left] << shift[left]
    out[~left] = -((-mans[~left]) >> -shift[~left])  # ceil(m / 2^k): only ever taken for radii (m >= 0)
    return out, E


def _round_to_grid(mans, exps, rads, rexps, bits: int):
    """Midpoints ``m 2^e`` finer than ``2^g``, ``g = bits`` below the largest midpoint or radius,
    rounded down to multiples of ``2^g``; each rounded entry's radius grows by ``2^g``, more than
    the rounding; radii below ``2^g`` grow to ``2^g``. Without this, one entry 2^-10^8 next to
    entries near 1 makes 10^8-bit integers (and so do midpoints 2^-10^8 inside radii near 1, or
    radii 2^-10^8 on midpoints near 1: e^-(10^400) at 1024 bits)."""
    (top_m, nz_m), (top_r, nz_r) = _tops(mans, exps), _tops(rads, rexps)
    if not nz_m.any():
        return mans, exps, rads, rexps
    g = max(top_m[nz_m].max(), top_r[nz_r].max(initial=top_m[nz_m].max())) - bits
    if (exps[nz_m] >= g).all() and (top_r[nz_r] > g).all():
        return mans, exps, rads, rexps  # nothing finer than the grid (the usual case): no copy
    out = ([], [], [], [])
    for m, e, r, f in zip(mans, exps, rads, rexps):
        if m and e < g:
            m, e = m >> (g - e), g  # floor: the error is in [0, 2^g)
            if not r:
                r, f = 1, g
            elif f + r.bit_length() <= g:  # r 2^f <= 2^g: the sum is at most 2^(g+1)
                r, f = 2, g
            elif f >= g:
                r, f = (r << (f - g)) + 1, g
            else:  # g - f < bit_length(r): a bounded shift
                r = r + (1 << (g - f))
        elif r and f + r.bit_length() <= g:
            r, f = 1, g
        for lst, v in zip(out, (m, e, r, f)):
            lst.append(v)
    return _objects(*out)


def _floor_tiny(mans, exps, rads, rexps):
    """Entries below ``2^-_CAP_BITS`` (a ball 0 +- 2^-(10^400) after a saturated softmax) as
    the wider ``0 +- 2^-_CAP_BITS``, radii below it grown to it: exact integers over one
    exponent would otherwise need 10^400 bits."""
    (top_m, nz_m), (top_r, nz_r) = _tops(mans, exps), _tops(rads, rexps)
    if (top_m[nz_m] >= -_CAP_BITS).all() and (top_r[nz_r] >= -_CAP_BITS).all():
        return mans, exps, rads, rexps  # nothing that small (the usual case): no copy
    out = ([], [], [], [])
    for m, e, r, f in zip(mans, exps, rads, rexps):
        if m and e + abs(m).bit_length() < -_CAP_BITS:
            m, e, r, f = 0, 0, 1, (max(f + r.bit_length(), -_CAP_BITS) + 1 if r else -_CAP_BITS)
        elif r and f + r.bit_length() < -_CAP_BITS:
            r, f = 1, -_CAP_BITS
        for lst, v in zip(out, (m, e, r, f)):
            lst.append(v)
    return _objects(*out)


def _objects(*lists):
    """1-D object arrays of the values (Python ints, balls): ``np.array`` would pick int64 for
    small ints."""
    out = []
    for values in lists:
        a = np.empty(len(values), dtype=object)
        a[:] = values
        out.append(a)
    return out


def _mpf_parts(raw) -> tuple[int, int] | None:
    """Signed mantissa and exponent of a raw mpmath number tuple (sign, mantissa, exponent,
    bits); None for inf / nan (no mantissa but a special exponent code)."""
    sign, man, exp, bc = raw
    if not man and (exp or bc):
        return None
    return (-int(man) if sign else int(man)), int(exp)


class Context:
    """Interface shared by the number kinds (see module docstring)."""

    name: str
    certified: bool

    def __init__(self):
        self._vec = {}

    def _map(self, fn_name, *arrays):
        """Apply the scalar method ``fn_name`` entrywise, broadcasting (numpy has no ufunc for
        our types)."""
        f = self._vec.get((fn_name, len(arrays)))
        if f is None:
            f = self._vec[fn_name, len(arrays)] = np.frompyfunc(getattr(self, "_" + fn_name), len(arrays), 1)
        return f(*arrays)

    # -- construction ---------------------------------------------------------------
    def array(self, A) -> np.ndarray:
        """A matrix in this context from nested lists / numpy arrays of exact-readable entries."""
        A = np.asarray(A, dtype=object if not isinstance(A, np.ndarray) else None)
        if A.dtype == object or A.dtype.kind in "iu":  # integers beyond 2^53 are not doubles
            return np.frompyfunc(self.number, 1, 1)(A).astype(object)
        return self._from_float_array(A.astype(np.float64))

    def _from_float_array(self, A):
        return np.frompyfunc(self.number, 1, 1)(A.astype(object)).astype(object)

    # -- elementwise functions ------------------------------------------------------
    def exp(self, A):
        return self._map("exp", A)

    def sqrt(self, A):
        return self._map("sqrt", A)

    def expm1(self, A):
        return self._map("expm1", A)

    def tanh(self, A):
        return self._map("tanh", A)

    def erf(self, A):
        return self._map("erf", A)

    def relu(self, A):
        return self._map("relu", A)

    def heaviside(self, A):
        """ReLU's slope: 0 or 1, and [0, 1] for an enclosure that touches 0."""
        return self._map("heaviside", A)

    def pi(self):
        raise NotImplementedError

    # -- enclosure helpers ----------------------------------------------------------
    def max(self, values, axis: int | None = None):
        """An enclosure of the maximum of the (enclosed) values, or of each one along ``axis``."""
        if axis is None:
            return functools.reduce(self._max2, np.ravel(values))
        return np.frompyfunc(self._max2, 2, 1).reduce(np.asarray(values), axis=axis)

    def min(self, values, axis: int | None = None):
        return -self.max(-np.asarray(values), axis)

    def hull(self, a, b):
        """An enclosure of everything between the enclosures ``a`` and ``b`` (entrywise)."""
        return self._map("hull", a, b)

    def intersect(self, a, b):
        """The common part of two enclosures of the same numbers (entrywise)."""
        return self._map("intersect", a, b)

    def sqrt_nonneg(self, v):
        """``sqrt`` of a quantity known to be >= 0 whose enclosure may dip below 0: balls are
        symmetric, so arb's ``abs`` of a ball around 0 is ``[-w, w]`` and a product of balls
        ``[0, a] [0, b]`` reaches below 0; a plain sqrt of either is NaN."""
        if self.lo(v) >= 0:
            return self.sqrt(v)
        return self.hull(self.number(0), self.sqrt(self.number(max(self.hi(v), Fraction(0)))))

    def mid_rad(self, x) -> tuple[int, int, int, int]:
        """``(m, e, r, f)`` with the enclosure of ``x`` exactly ``[m 2^e - r 2^f, m 2^e + r 2^f]``
        (Python ints, ``r >= 0``). ValueError if the enclosure is not finite."""
        raise NotImplementedError

    def lo(self, x) -> Fraction:
        """Exact lower end of the enclosure of ``x`` (``-math.inf`` if it has none)."""
        parts = self._finite_parts(x)
        return -math.inf if parts is None else _align(*parts, -1)

    def hi(self, x) -> Fraction:
        """Exact upper end of the enclosure of ``x`` (``math.inf`` if it has none)."""
        parts = self._finite_parts(x)
        return math.inf if parts is None else _align(*parts, 1)

    def _finite_parts(self, x):
        try:
            return self.mid_rad(x)
        except ValueError:
            return None

    def mid_rad_dyadic(self, A, rad_bits: int = 64, mid_bits: int | None = None):
        """The matrix ``A`` as exact integer data: ``(M, E, Rad, Er)`` with object arrays of Python
        ints shaped like ``A``, the midpoints exactly ``M 2^E`` and the radii at most ``Rad 2^Er``
        (rounded up to ``rad_bits`` bits below the largest radius). ValueError on a non-finite
        entry. Memory: the dynamic range of the midpoints, in bits, per entry; ``mid_bits``
        caps it: midpoints finer than ``mid_bits`` below the largest are rounded down to that
        grid and the rounding joins their radii (still an enclosure of every entry)."""
        A = np.asarray(A)
        mm, me, rm, re = zip(*(self.mid_rad(v) for v in A.ravel())) if A.size else ((),) * 4
        return self._assemble(A.shape, mm, me, rm, re, rad_bits, mid_bits)

    @staticmethod
    def _assemble(shape, mm, me, rm, re, rad_bits, mid_bits=None):
        mm, me, rm, re = _floor_tiny(*_objects(mm, me, rm, re))
        if mid_bits is not None:
            mm, me, rm, re = _round_to_grid(mm, me, rm, re, mid_bits)
        M, E = _common_exponent(mm, me)
        Rad, Er = _common_exponent(rm, re, round_up_bits=rad_bits)
        return M.reshape(shape), E, Rad.reshape(shape), Er

    def to_float(self, A) -> np.ndarray:
        """Midpoints as doubles (softmax shifts, LP inputs, plots; never for verdicts)."""
        def one(v):
            parts = self._finite_parts(v)
            return math.nan if parts is None else _dyadic_float(parts[0], parts[1])
        return np.vectorize(one, otypes=[float])(A)

    def centers(self, A):
        """Exact numbers of this context (zero radius) inside the enclosures of ``A``: shifts that
        cancel mathematically (softmax rows) and leave function arguments as small as the data."""
        return self._map("center", A)

    def matmul(self, A, B):
        """``A @ B`` (an enclosure of the product for every choice of entries)."""
        return A @ B

    @contextlib.contextmanager
    def workprec(self, bits: int):
        yield

    @property
    def prec(self) -> int:
        return 53


class Float64Context(Context):
    """numpy doubles; :class:`LongDoubleContext` runs the same methods on another numpy float
    type (``dtype``)."""

    name = "float64"
    certified = False
    dtype = np.float64
    _scalar = float  # scalars as Python floats

    def _from_fraction(self, q: Fraction):
        return float(q)  # correctly rounded

    def number(self, v):
        if isinstance(v, (float, np.floating)) and self.dtype(v) == v:
            return self._scalar(v)  # exact
        return self._from_fraction(to_fraction(v))

    def _from_float_array(self, A):
        return A.astype(self.dtype, copy=False)  # no copy of doubles: nothing here writes into an array

    def array(self, A):
        A = np.asarray(A)
        if A.dtype == object or A.dtype.kind in "US":
            return np.vectorize(self.number, otypes=[self.dtype])(A).astype(self.dtype)
        return self._from_float_array(A)

    def _scalar_or_array(self, r):
        return self._scalar(r) if np.ndim(r) == 0 else r

    def exp(self, A):
        return self._scalar_or_array(np.exp(A))

    def sqrt(self, A):
        return self._scalar_or_array(np.sqrt(A))

    def tanh(self, A):
        return self._scalar_or_array(np.tanh(A))

    def expm1(self, A):
        return self._scalar_or_array(np.expm1(A))

    def hull(self, a, b):
        return (a + b) / 2  # no enclosures in float64: the midpoint is the estimate

    def erf(self, A):
        # SciPy's erf is a double function: arguments below 1e-150 take erf(x) = 2x/sqrt(pi) (exact
        # to 1e-300), which keeps their size in a wider type
        A = np.asarray(A)
        small = np.abs(A) < 1e-150
        out = scipy.special.erf(A.astype(np.float64, copy=False)).astype(self.dtype, copy=False)
        if small.any():
            out = np.where(small, A * (2 / self.sqrt(self.pi())), out)
        return self._scalar_or_array(out)

    def relu(self, A):
        return np.maximum(A, self.dtype(0))

    def heaviside(self, A):
        return np.heaviside(A, self.dtype(0.5))

    def pi(self):
        return self._scalar(self.dtype(4) * np.arctan(self.dtype(1)))

    def intersect(self, a, b):
        return a

    def max(self, values, axis: int | None = None):
        return self._scalar(np.max(values)) if axis is None else np.max(values, axis=axis)

    def min(self, values, axis: int | None = None):
        return self._scalar(np.min(values)) if axis is None else np.min(values, axis=axis)

    def mid_rad(self, x):
        x = self.dtype(x)
        if not np.isfinite(x):
            raise ValueError("no finite enclosure")
        num, den = x.as_integer_ratio()
        return num, 1 - den.bit_length(), 0, 0  # den is a power of two

    def lo(self, x):
        x = self.dtype(x)
        return Fraction(*x.as_integer_ratio()) if np.isfinite(x) else math.copysign(math.inf, x)

    hi = lo

    def mid_rad_dyadic(self, A, rad_bits: int = 64, mid_bits: int | None = None):
        v = np.asarray(A, dtype=self.dtype)
        if not np.isfinite(v).all():
            raise ValueError("non-finite entry")
        bits = np.finfo(self.dtype).nmant + 1
        mant, exp = np.frexp(v.ravel())
        man = np.ldexp(mant, bits)  # integers below 2^bits, exactly; as two int64 halves (64 > 63 bits)
        high = np.trunc(np.ldexp(man, -32))
        low = (man - np.ldexp(high, 32)).astype(np.int64)
        mans = (high.astype(np.int64).astype(object) * 2**32 + low.astype(object)).tolist()
        zeros = [0] * v.size
        return self._assemble(v.shape, mans, (exp - bits).tolist(), zeros, zeros, rad_bits, mid_bits)

    def to_float(self, A):
        return np.asarray(A, dtype=np.float64)

    def centers(self, A):
        return A


class LongDoubleContext(Float64Context):
    """numpy's ``longdouble``: on x86-64 Linux the x87 80-bit format, whose 15-bit exponent
    reaches down to ``3.4e-4932`` (doubles stop at ``2.2e-308``) with a 64-bit significand.
    Uncertified like float64. It carries a split pass past the double range at a fiftieth of a
    ball's cost. Where the platform's ``longdouble`` is only a double (``np.finfo`` tells: macOS
    on ARM, Windows) it is float64 under another name."""

    name = "longdouble"
    dtype = _scalar = np.longdouble

    def _from_fraction(self, q: Fraction):
        # numerator and denominator cut to their top 64 bits (exact in the type), one rounded
        # division, then the power of two: a relative error near 2^-62, for any exponent
        n, d = q.numerator, q.denominator
        a, b = max(abs(n).bit_length() - 64, 0), max(d.bit_length() - 64, 0)
        return np.ldexp(self.dtype(n >> a) / self.dtype(d >> b), a - b)

    def _from_float_array(self, A):
        # doubles (weights) stay doubles: exact, promoted where they meet long doubles, and
        # ready for BLAS in matmul
        return A.astype(np.float64 if A.dtype.kind == "f" and A.dtype.itemsize <= 8 else self.dtype, copy=False)

    def matmul(self, A, B):
        """``A @ B`` with a double product's accuracy over the long double's range: each row of
        ``A`` and column of ``B`` scaled by a power of two into ``[1/2, 1)`` (exactly; doubles as
        they are), rounded to doubles (2^-53), multiplied by BLAS, and scaled back. numpy's
        own loops for long doubles take 30 times as long. Entries 2^-1074 below their row's
        (column's) largest are flushed: far below the product's rounding unless its large
        terms cancel."""
        A, B = np.asarray(A), np.asarray(B)
        if A.ndim != 2 or B.ndim != 2 or not (A.size and B.size):
            return A @ B
        (Ad, ea), (Bd, eb) = self._doubles(A), self._doubles(B.T)
        return np.ldexp((Ad @ Bd.T).astype(self.dtype), ea + eb.T)

    def _doubles(self, M):
        """``(D, e)`` with ``M = D 2^e`` (``e`` per row), ``D`` in doubles. The last long-double
        matrix's answer is kept (the same object: the split pass never writes into its arrays):
        a layer multiplies its input by every head's three weights, and scaling long doubles
        costs more than the product."""
        if M.dtype == np.float64:
            return M, np.zeros((M.shape[0], 1), dtype=np.int64)
        last = self._last
        if last is not None and last[0] is M:
            return last[1:]
        e = np.frexp(np.abs(M).max(axis=1, keepdims=True))[1]
        self._last = (M, np.ldexp(M, -e).astype(np.float64), e)
        return self._last[1:]

    _last = None


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

    @staticmethod
    def _sqrt(x):
        # iv.sqrt raises ComplexResult for an interval reaching below 0; arb's sqrt is NaN there:
        # both mean "no finite enclosure at this precision" (e.g. a LayerNorm variance near 0)
        return iv.sqrt(x) if x.a >= 0 else iv.mpf(["-inf", "inf"])

    @staticmethod
    def _hull(a, b):
        return iv.mpf([min(a.a, b.a), max(a.b, b.b)])

    @staticmethod
    def _intersect(a, b):
        return iv.mpf([max(a.a, b.a), min(a.b, b.b)])

    @staticmethod
    def _heaviside(x):
        return iv.mpf(1) if x.a > 0 else iv.mpf(0) if x.b < 0 else iv.mpf([0, 1])

    def pi(self):
        return iv.pi

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

    @staticmethod
    def _center(x):
        return iv.mpf(x.a)  # an exact endpoint: the shift need not be the middle, only exact

    # the raw endpoint tuples: converting through mpmath.mpf would round to mp.prec
    def _end(self, x, which: int, infinity: float):
        parts = _mpf_parts(self.number(x)._mpi_[which])
        return infinity if parts is None else _align(*parts, 0, 0, 1 if which else -1)

    def lo(self, x):
        return self._end(x, 0, -math.inf)

    def hi(self, x):
        return self._end(x, 1, math.inf)

    def mid_rad(self, x):
        a, b = (_mpf_parts(t) for t in self.number(x)._mpi_)
        if a is None or b is None:
            raise ValueError("no finite enclosure")
        (a, ea), (b, eb) = a, b
        e0 = min(ea, eb)
        a, b = a << (ea - e0), b << (eb - e0)
        return a + b, e0 - 1, b - a, e0 - 1  # [a, b] 2^e0 = (a + b) 2^(e0-1) +- (b - a) 2^(e0-1)


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
    _tanh = staticmethod(flint.arb.tanh)
    _erf = staticmethod(flint.arb.erf)

    @staticmethod
    def _relu(x):
        return x.max(0)

    @staticmethod
    def _hull(a, b):
        return a.union(b)

    @staticmethod
    def _intersect(a, b):
        if a.is_nan() or b.is_nan():  # NaN (e.g. tanh of a wide ball) encloses nothing useful
            return b if a.is_nan() else a
        return a.intersection(b)

    @staticmethod
    def _heaviside(x):
        return flint.arb(1) if x > 0 else flint.arb(0) if x < 0 else flint.arb(0.5, 0.5)  # [0, 1]

    def pi(self):
        return flint.arb.pi()

    def _from_float_array(self, A):
        # arb(double) is exact; one constructor call per entry, without number()'s dispatch
        # (weights of a deep layer in balls: 0.8 s of a 5 s layer went there)
        return _objects([flint.arb(v) for v in A.ravel().tolist()])[0].reshape(A.shape)

    @staticmethod
    def _max2(x, y):
        return x.max(y)

    def to_float(self, A):
        return np.vectorize(lambda v: float(v.mid()), otypes=[float])(A)

    @staticmethod
    def _center(x):
        return x.mid()

    # from the exact midpoint and radius: lower()/upper() would round at the current precision
    def mid_rad(self, x):
        x = self.number(x)
        if not x.is_finite():
            raise ValueError("no finite enclosure")  # cheap: lo/hi use this as control flow
        (m, e), (r, f) = x.mid().man_exp(), x.rad().man_exp()
        return int(m), int(e), int(r), int(f)

    def mid_rad_dyadic(self, A, rad_bits: int = 64, mid_bits: int | None = None):
        flat = [self.number(v) for v in np.ravel(A)]
        if not all(v.is_finite() for v in flat):
            raise ValueError("non-finite entry")
        mids = [v.mid().man_exp() for v in flat]
        rads = [v.rad().man_exp() for v in flat]
        return self._assemble(np.shape(A), [int(m) for m, _ in mids], [int(e) for _, e in mids],
                              [int(r) for r, _ in rads], [int(f) for _, f in rads], rad_bits, mid_bits)

    def matmul(self, A, B):
        """One ``arb_mat`` product: C loops and one rounding per entry (``arb_dot``) instead of
        numpy's object loop of separately rounded products and sums."""
        A, B = np.asarray(A), np.asarray(B)
        if A.ndim != 2 or B.ndim != 2 or A.dtype != object or B.dtype != object or not (A.size and B.size):
            return A @ B
        C = flint.arb_mat(A.tolist()) * flint.arb_mat(B.tolist())
        return np.array(C.entries(), dtype=object).reshape(A.shape[0], B.shape[1])


BACKENDS = {"float64": Float64Context, "longdouble": LongDoubleContext, "mpmath": MpmathContext, "arb": ArbContext}


@functools.cache
def get_context(name: str) -> Context:
    """The shared context object for a backend name (``float64``, ``mpmath`` or ``arb``)."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}") from None
