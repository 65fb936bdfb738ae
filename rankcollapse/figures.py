"""``rankcollapse figures``: every figure of the docs, made from scratch by one command.

Each entry of :data:`FIGURES` is ``name -> function(path)`` writing one PNG; the command runs
all of them (or those named with ``--only``) into ``--out`` (default ``docs/figures``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from numerics.certify import check_network  # noqa: E402
from numerics.examples import contracting_single_head  # noqa: E402
from numerics.exact import log10_abs  # noqa: E402

from .errors import UsageError  # noqa: E402


def _minus_log10(q) -> float:
    return float("nan") if q <= 0 else -log10_abs(q)


def single_head_depth(path: Path, depth: int = 6) -> None:
    """Certified residual r(X^l) and the three bounds against depth, as -log10 (THEORY 4)."""
    case = contracting_single_head(depth=depth)
    report = check_network(case.net, case.X)
    layers = [r.layer for r in report.layers]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(layers, [_minus_log10(r.residual.upper) for r in report.layers], "o-", label="r(X^l), certified upper end")
    for name, style in (("E4", "s--"), ("published", "^:"), ("one_step", "x-.")):
        pts = [(r.layer, _minus_log10(r.bounds[name][0])) for r in report.layers if r.bounds.get(name)]
        ax.plot(*zip(*pts), style, label={"E4": "Theorem E4 (a priori)", "published": "Thm 2.2, gamma = 1",
                                          "one_step": "Lemma E1, one step"}[name])
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("-log10 (larger = smaller residual)")
    ax.set_title(f"Pure single-head SAN, n = d = 8: certified in arb at {report.bits} bits")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


FIGURES = {"single_head_depth": single_head_depth}


def cmd_figures(args) -> int:
    out = Path(args.out)
    names = args.only or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise UsageError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        FIGURES[name](out / f"{name}.png")
        print(f"wrote {out / f'{name}.png'}")
    return 0


def register(sub) -> None:
    f = sub.add_parser("figures", help="make the docs' figures")
    f.add_argument("--out", default="docs/figures")
    f.add_argument("--only", nargs="*", metavar="NAME")
    f.set_defaults(func=cmd_figures)
