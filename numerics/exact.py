"""Exact numbers: reading entries exactly and writing decimal strings without losing digits.

Every parameter and input entry is kept as an exact value (a double, or a
:class:`~fractions.Fraction` read from a decimal string), so that each backend can enclose
it at its own precision. Reports write real numbers as decimal strings.

>>> decimal_string(Fraction(1, 8))
'0.125'
>>> decimal_string(Fraction(1, 3), digits=5, rounding="up")
'0.33334'
>>> decimal_string(Fraction(-1, 3), digits=5, rounding="up")
'-0.33333'
>>> decimal_string(Fraction(2, 10**1200), digits=3)
'2e-1200'
>>> exact_decimal(Fraction(3, 1024)), exact_decimal(0.1)
('0.0029296875', '0.1000000000000000055511151231257827021181583404541015625')
>>> exact_string(0.5), exact_string(Fraction(-1, 3))
('0.5', '-1/3')
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

__all__ = ["to_fraction", "decimal_string", "exact_decimal", "exact_string", "log10_abs", "exact_array",
           "MAX_EXPONENT"]


# Largest decimal exponent a string may have: Fraction("1e-999999999") would build 10^999999999
# (it hangs); 10^(10^6) takes a fraction of a second.
MAX_EXPONENT = 10**6
# Only ASCII decimal syntax (or p/q, as exact_string writes): Python's Fraction and int also
# accept other Unicode digits and underscores, which would slip past the exponent check.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?|[+-]?[0-9]+/[0-9]+")


def _shown(s: str) -> str:
    return repr(s if len(s) <= 60 else s[:25] + "..." + s[-25:])


def _check_syntax(s: str) -> None:
    """ValueError (naming ``s``) unless ``s`` is an ASCII decimal number (``-1.5e-3``) or ratio
    (``-1/3``) whose decimal exponent is at most :data:`MAX_EXPONENT` in size: reading a larger
    one exactly would not finish."""
    m = _NUMBER.fullmatch(s)
    if m is None:
        raise ValueError(f"{_shown(s)} is not a finite decimal number (ASCII digits, e.g. -1.5e-3, or a ratio p/q)")
    digits = (m.group(1) or "").lstrip("+-").lstrip("0")
    if len(digits) > len(str(MAX_EXPONENT)) or (digits and int(digits) > MAX_EXPONENT):
        raise ValueError(f"{_shown(s)}: exponent too large (|exponent| must be at most {MAX_EXPONENT})")


def to_fraction(v) -> Fraction:
    """Exact value of a decimal string, int, float, Fraction or numpy scalar.

    A string must be ASCII decimal syntax or a ratio ``p/q``; one whose decimal exponent exceeds
    :data:`MAX_EXPONENT` in size is a ValueError.

    >>> to_fraction("1e-3"), to_fraction(0.5), to_fraction("-2.25")
    (Fraction(1, 1000), Fraction(1, 2), Fraction(-9, 4))
    >>> to_fraction("1e-999999999")
    Traceback (most recent call last):
    ...
    ValueError: '1e-999999999': exponent too large (|exponent| must be at most 1000000)
    >>> to_fraction("1e\u0669")                      # an Arabic-Indic digit nine
    Traceback (most recent call last):
    ...
    ValueError: '1e\u0669' is not a finite decimal number (ASCII digits, e.g. -1.5e-3, or a ratio p/q)
    """
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, bool):
        raise TypeError(f"cannot read {v!r} as a number")
    if isinstance(v, str):
        v = v.strip()
        _check_syntax(v)
        try:
            return Fraction(v)
        except ZeroDivisionError:
            raise ValueError(f"{_shown(v)} has a zero denominator") from None
        except ValueError as e:  # e.g. more digits than int() converts (sys.get_int_max_str_digits)
            raise ValueError(f"{_shown(v)}: {e}") from None
    if isinstance(v, (int, float)):
        return Fraction(v)
    raise TypeError(f"cannot read {v!r} as an exact number")


def exact_array(A) -> np.ndarray:
    """An object array of Fractions from nested lists of readable entries."""
    return np.frompyfunc(to_fraction, 1, 1)(np.asarray(A, dtype=object)).astype(object)


def log10_abs(q: Fraction) -> float:
    """log10 |q| for any size of exact number (math.log10 handles big ints; q != 0)."""
    return math.log10(abs(q.numerator)) - math.log10(q.denominator)


# Beyond this size (about 1e+-19700) exact Fraction arithmetic on powers of ten takes seconds to
# minutes; a few rounded digits come from mpmath instead (outward, with a margin).
_BIG_BITS = 1 << 16


def decimal_string(q: Fraction, digits: int = 17, rounding: str = "nearest") -> str:
    """``q`` as a decimal string: exact when it terminates within ``digits`` significant digits,
    otherwise rounded to ``digits`` significant digits (``up``/``down`` = towards +inf/-inf).

    Numbers below 1e-6 or from 1e17 on use scientific notation. Beyond about ``1e+-19700``
    (numerator or denominator over 2^16 bits) and up to 40 digits, the digits are computed in
    mpmath and rounded outward past its error (``up``/``down`` stay valid ends, possibly one unit
    of the last digit wider), and nothing is called exact.
    """
    if q == 0:
        return "0"
    sign = "-" if q < 0 else ""
    a = abs(q)
    direction = {"nearest": 0, "up": 1 if not sign else -1, "down": -1 if not sign else 1}[rounding]
    if digits <= 40 and max(a.numerator.bit_length(), a.denominator.bit_length()) > _BIG_BITS:
        m, e, exact = _big_digits(a, digits, direction)
    else:
        m, e, exact = _exact_digits(a, digits, direction)
    if m == 10**digits:  # rounding carried into a new digit
        m //= 10
        e += 1
    mant = str(m).rstrip("0") if exact else str(m)
    if -6 <= e < 17:
        point = e + 1
        if point <= 0:
            return sign + "0." + "0" * (-point) + mant
        if point >= len(mant):
            return sign + mant + "0" * (point - len(mant))
        return sign + mant[:point] + "." + mant[point:]
    return sign + mant[0] + ("." + mant[1:] if len(mant) > 1 else "") + f"e{e:+d}".replace("+", "")


def _exact_digits(a: Fraction, digits: int, direction: int) -> tuple[int, int, bool]:
    """``(m, e, exact)``: ``a ~ m 10^(e - digits + 1)`` with ``10^(digits-1) <= m <= 10^digits``."""
    e = math.floor(log10_abs(a))
    # log10 in floating point can be off by one at exact powers of ten; correct it exactly.
    if a >= Fraction(10) ** (e + 1):
        e += 1
    elif a < Fraction(10) ** e:
        e -= 1
    scaled = a / Fraction(10) ** (e - digits + 1)  # in [10^(digits-1), 10^digits)
    if scaled.denominator == 1:
        return scaled.numerator, e, True
    return {0: round(scaled), 1: math.ceil(scaled), -1: math.floor(scaled)}[direction], e, False


def _big_digits(a: Fraction, digits: int, direction: int) -> tuple[int, int, bool]:
    """As :func:`_exact_digits` for huge numerators or denominators, in mpmath at ``digits`` + 20
    digits; directed rounding steps past the relative error (a few units of 2^-prec)."""
    import mpmath

    with mpmath.workdps(digits + 20):
        v = mpmath.mpf(a.numerator) / mpmath.mpf(a.denominator)
        e = int(mpmath.floor(mpmath.log10(v)))
        scaled = v / mpmath.power(10, e - digits + 1)
        if scaled >= 10**digits:  # log10 off by one near a power of ten
            e, scaled = e + 1, scaled / 10
        elif scaled < 10 ** (digits - 1):
            e, scaled = e - 1, scaled * 10
        margin = 1 + mpmath.mpf(2) ** (16 - mpmath.mp.prec)
        m = int({0: mpmath.nint(scaled), 1: mpmath.ceil(scaled * margin), -1: mpmath.floor(scaled / margin)}[direction])
    if m < 10 ** (digits - 1):  # the margin stepped below 10^(digits-1): one digit more, same value
        m, e = m * 10, e - 1
    return m, e, False


def exact_decimal(v) -> str:
    """The exact decimal expansion of a terminating number (any double, any decimal string).

    Raises ValueError for a number whose expansion does not terminate (e.g. 1/3).
    """
    q = to_fraction(v)
    den, twos, fives = q.denominator, 0, 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise ValueError(f"{q} has no terminating decimal expansion")
    return decimal_string(q, digits=max(1, len(str(abs(q.numerator))) + max(twos, fives)))


def exact_string(v) -> str:
    """``v`` exactly as a string :func:`to_fraction` reads back: its decimal expansion when that
    terminates, else ``"p/q"``."""
    q = to_fraction(v)
    try:
        return exact_decimal(q)
    except ValueError:
        return f"{q.numerator}/{q.denominator}"
