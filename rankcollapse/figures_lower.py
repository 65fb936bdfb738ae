"""Figures of the lower-bound claims (``rankcollapse figures --only tight_rate``), in the
compute/draw split of :mod:`rankcollapse.figures` (whose helpers they use)."""

from __future__ import annotations

from pathlib import Path

from .figures import _pyplot, _save

CAPTION = "The cubic rate is tight"
LABELS = {"log10_lower": ("v", "lower bound, c = (1/2)(1 - t0^2/3)"),
          "log10_r": ("o", "r(X^l), certified"),
          "log10_upper": ("^", "upper bound (gamma = 1/8, LB2)")}


def tight_rate_data(series: int | None = None, depth: int = 10) -> dict:
    """LB1: the certified r(X^l) of the two-token family X = [x0; -x0] (W_Q = W_K = W_V = 1)
    between its explicit lower bound c^((3^l-1)/2) r^(3^l) and LB2's upper bound
    (|vw|/2)^((3^l-1)/2) r^(3^l), to depth 10, as log10 values (far below the double range)."""
    from rankcollapse.numerics.checks.lower_bounds import tight_case, tight_pairs, tight_table
    from rankcollapse.numerics.context import get_context

    ctx = get_context("arb")
    out = []
    for x0 in ("1/2", "1/8")[:series]:
        with ctx.workprec(256):
            out.append({"x0": x0, "rows": tight_table(tight_pairs(tight_case(x0, 1, 1, 1, depth), ctx))})
    return {"caption": CAPTION, "series": out}


def tight_rate_draw(data: dict, path: Path) -> None:
    """Plotted as -log10(value) / 3^l: a bound a^((3^l-1)/2) r^(3^l) tends to -log10(sqrt(a) r),
    so the same exponent 3^l shows as three curves that level off side by side (a different
    exponent would make them diverge)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for row, style in zip(data["series"], ("-", "--")):
        layers = [r["layer"] for r in row["rows"]]
        for key, (marker, label) in LABELS.items():
            ax.plot(layers, [-r[key] / 3**r["layer"] for r in row["rows"]], style, marker=marker, ms=4,
                    label=f"x0 = {row['x0']}: {label}")
    _save(fig, ax, path, data, "layer l", "-log10(value) / 3^l  (all three tend to a constant)", legend_size=6)
