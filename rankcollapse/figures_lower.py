"""Figures of the lower-bound claims (``rankcollapse figures --only tight_rate``), in the style of
:mod:`rankcollapse.figures` (whose helpers they use)."""

from __future__ import annotations

from pathlib import Path

from .figures import _pyplot, _save


def tight_rate(path: Path, depth: int = 10) -> None:
    """LB1: the certified r(X^l) of the two-token family between its explicit lower bound
    c^((3^l-1)/2) r^(3^l) and LB2's upper bound (|vw|/2)^((3^l-1)/2) r^(3^l), to depth 10.

    Plotted as -log10(value) / 3^l: a bound a^((3^l-1)/2) r^(3^l) tends to -log10(sqrt(a) r), so
    the same exponent 3^l shows as three curves that level off side by side (a different
    exponent would make them diverge)."""
    from rankcollapse.numerics.checks.lower_bounds import tight_case, tight_pairs, tight_table
    from rankcollapse.numerics.context import get_context

    plt = _pyplot()
    ctx = get_context("arb")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for x0, style in (("1/2", "-"), ("1/8", "--")):
        with ctx.workprec(256):
            rows = tight_table(tight_pairs(tight_case(x0, 1, 1, 1, depth), ctx))
        layers = [row["layer"] for row in rows]
        for key, marker, label in (("log10_lower", "v", "lower bound, c = (1/2)(1 - t0^2/3)"),
                                   ("log10_r", "o", "r(X^l), certified"),
                                   ("log10_upper", "^", "upper bound (gamma = 1/8, LB2)")):
            ax.plot(layers, [-row[key] / 3**row["layer"] for row in rows], style, marker=marker, ms=4,
                    label=f"x0 = {x0}: {label}")
    _save(fig, ax, path, "layer l", "-log10(value) / 3^l  (all three tend to a constant)",
          title="Cubic rate is tight: X = [x0; -x0], W_Q = W_K = W_V = 1, arb", legend_size=6)
