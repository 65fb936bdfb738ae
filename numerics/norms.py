"""The norms of docs/theory.md §1, on matrices of any number context (enclosures in, enclosures out).

``||A||_1`` is the largest column sum of |a_ij|, ``||A||_inf`` the largest row sum, and the
paper's composite ``||A||_{1,inf} = sqrt(||A||_1 ||A||_inf)``, which is submultiplicative but
not a norm (see ``rankcollapse.proofs.norms``): never add composite values, add the two factors.

>>> from rankcollapse.numerics.context import get_context
>>> ctx = get_context("float64")
>>> A = ctx.array([[1, -2], [3, 4]])
>>> norm_1(ctx, A), norm_inf(ctx, A)
(6.0, 7.0)
>>> round(norm_composite(ctx, A) ** 2, 12)
42.0
"""

from __future__ import annotations

from .context import Context

__all__ = ["norm_1", "norm_inf", "norm_composite"]


def norm_1(ctx: Context, A):
    """Induced l1 norm: max column sum of absolute values."""
    return ctx.max(abs(A).sum(axis=0))


def norm_inf(ctx: Context, A):
    """Induced l-inf norm: max row sum of absolute values."""
    return ctx.max(abs(A).sum(axis=1))


def norm_composite(ctx: Context, A):
    """``sqrt(||A||_1 ||A||_inf)``."""
    return ctx.sqrt_nonneg(norm_1(ctx, A) * norm_inf(ctx, A))
