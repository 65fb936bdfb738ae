"""Timing of the residual bracket (numerics.residual): ``python benchmarks/bench_residual.py``.

For each size, two matrices in arb balls: ``random`` (standard normal doubles, exact) and
``rank1`` (rows ``1e6 v + 1e-300 N`` built in 1200-bit arb: a residual far below double
resolution under a large common row). Columns: seconds for the exact bracket, the cheap bracket
(``exact=False``) and the token-mean residual norm; the exact bracket's relative gap
``(upper - lower) / upper``; HiGHS calls (exact / cheap); Pareto vertices visited.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from numerics.context import get_context  # noqa: E402
from numerics.norms import norm_composite  # noqa: E402
from numerics.residual import residual_bracket, token_mean_residual  # noqa: E402

SIZES = [(8, 8), (32, 16), (128, 64), (128, 384)]
PREC = 1200


def matrices(ctx, n, d, rng):
    yield "random", ctx.array(rng.standard_normal((n, d)))
    common = ctx.array(np.repeat(1e6 * rng.standard_normal((1, d)), n, axis=0))
    yield "rank1", common + ctx.number("1e-300") * ctx.array(rng.standard_normal((n, d)))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=[f"{n}x{d}" for n, d in SIZES],
                        help="n x d sizes, e.g. 8x8 32x16")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ctx = get_context("arb")
    rng = np.random.default_rng(args.seed)
    print(f"{'case':<7}{'n x d':>9}{'exact s':>10}{'cheap s':>10}{'tmean s':>10}"
          f"{'rel gap':>11}{'LPs':>9}{'vertices':>10}{'r lower':>12}")
    with ctx.workprec(PREC):
        for size in args.sizes:
            n, d = map(int, size.split("x"))
            for case, X in matrices(ctx, n, d, rng):
                exact, t_exact = timed(lambda: residual_bracket(ctx, X))
                cheap, t_cheap = timed(lambda: residual_bracket(ctx, X, exact=False))
                _, t_tm = timed(lambda: norm_composite(ctx, token_mean_residual(ctx, X)))
                gap = float((exact.upper - exact.lower) / exact.upper)
                lps = f"{exact.n_lp}/{cheap.n_lp}"
                print(f"{case:<7}{size:>9}{t_exact:>10.3f}{t_cheap:>10.3f}{t_tm:>10.3f}{gap:>11.1e}"
                      f"{lps:>9}{len(exact.vertices):>10}{float(exact.lower):>12.4e}", flush=True)


if __name__ == "__main__":
    main()
