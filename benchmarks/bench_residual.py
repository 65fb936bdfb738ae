"""Timing of the residual bracket (rankcollapse.numerics.residual): ``python benchmarks/bench_residual.py``.

For each size, two matrices in arb balls: ``random`` (standard normal doubles, exact) and
``rank1`` (rows ``1e6 v + 1e-300 N`` built in 1200-bit arb: a residual far below double
resolution under a large common row). Columns: seconds for the exact bracket (LPs), the fast
bracket (``exact=False``, no LP) and the token-mean residual norm; the relative gaps
``(upper - lower) / upper`` of both brackets; HiGHS calls of the exact one; Pareto vertices
it visited. ``--no-exact SIZE...`` skips the LPs at those sizes. ``bench_scale.py`` compares the
exact path with the previous one.

Then the fast bracket of doubles (float64 context, as ``rankcollapse real-model`` calls it, BLAS
on one thread as there) before and after side by side: ``residual.py`` of each commit in
``FAST_BEFORE`` (L-BFGS before its stopping rules were tuned; Hedge certificates) loaded from git
against the current one, on the 56 MiniLM layer outputs of
``bench_scale.minilm_matrices`` (128 x 384; skipped with a note without the model) and on
``--gaussian`` standard normal 128 x 384 matrices: per matrix CPU ms (``time.process_time``) and
the relative width ``(upper - lower) / upper``, as mean, median, worst and count over 1 % and over
0.4 %, with the ratios of the CPU means and medians and the load average. Issue 12's target:
<= 40 ms CPU and <= 1 % (0.4 % per bracket, so that the ratio of two stays within 1 %).
``--fast-only`` skips the arb table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rankcollapse.numerics.context import get_context  # noqa: E402
from rankcollapse.numerics.norms import norm_composite  # noqa: E402
from rankcollapse.numerics.residual import residual_bracket, token_mean_residual  # noqa: E402
from bench_scale import minilm_matrices, old_residual  # noqa: E402

FAST_BEFORE = {"5b5e253": "L-BFGS, untuned stops", "87105cd": "Hedge"}  # residual.py of these commits

SIZES = ["8x8", "32x16", "128x64", "128x384"]
PREC = 1200
HEADER = (f"{'case':<7}{'n x d':>9}{'exact s':>10}{'fast s':>9}{'tmean s':>9}{'exact gap':>11}"
          f"{'fast gap':>10}{'LPs':>5}{'vertices':>10}{'r lower':>12}")


def matrices(ctx, n, d, rng):
    yield "random", ctx.array(rng.standard_normal((n, d)))
    common = ctx.array(np.repeat(1e6 * rng.standard_normal((1, d)), n, axis=0))
    yield "rank1", common + ctx.number("1e-300") * ctx.array(rng.standard_normal((n, d)))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def gap(b) -> float:
    return float((b.upper - b.lower) / b.upper) if b.upper else 0.0


def rows(sizes, seed: int = 0, no_exact=()):
    """One dict per (size, case): the columns of the table (``exact`` entries None if skipped)."""
    ctx = get_context("arb")
    rng = np.random.default_rng(seed)
    with ctx.workprec(PREC):
        for size in sizes:
            n, d = map(int, size.split("x"))
            for case, X in matrices(ctx, n, d, rng):
                fast, t_fast = timed(lambda: residual_bracket(ctx, X, exact=False))
                _, t_tm = timed(lambda: norm_composite(ctx, token_mean_residual(ctx, X)))
                exact, t_exact = (None, None) if size in no_exact else timed(lambda: residual_bracket(ctx, X))
                yield {"case": case, "size": size, "exact": exact, "t_exact": t_exact, "fast": fast,
                       "t_fast": t_fast, "t_tmean": t_tm}


def format_row(r) -> str:
    e = r["exact"]
    cells = ("-", "-", "-", "-") if e is None else (f"{r['t_exact']:.3f}", f"{gap(e):.1e}", str(e.n_lp), str(len(e.vertices)))
    return (f"{r['case']:<7}{r['size']:>9}{cells[0]:>10}{r['t_fast']:>9.3f}{r['t_tmean']:>9.3f}{cells[1]:>11}"
            f"{gap(r['fast']):>10.1e}{cells[2]:>5}{cells[3]:>10}{float(r['fast'].lower):>12.4e}")


def fast_summary(label, runs) -> str:
    cpu = np.array([c for c, _ in runs]) * 1000
    width = np.array([w for _, w in runs])
    return (f"  {label:<8} cpu ms mean {cpu.mean():6.1f}  median {np.median(cpu):6.1f}  worst {cpu.max():6.1f} | "
            f"width median "
            f"{np.median(width):7.3%}  worst {width.max():7.3%} | > 1 %: {int((width > 0.01).sum()):2d}  "
            f"> 0.4 %: {int((width > 0.004).sum()):2d} of {len(runs)}")


def fast_table(gaussian: int, seed: int) -> None:
    """The fast bracket of doubles before and after, side by side (see the module docstring)."""
    from rankcollapse.realmodel.measure import one_blas_thread

    befores = {commit: old_residual(commit) for commit in FAST_BEFORE}
    f64 = get_context("float64")
    rng = np.random.default_rng(seed)
    cases = {"gaussian": {i: rng.standard_normal((128, 384)) for i in range(gaussian)}}
    minilm = minilm_matrices()
    if minilm is not None:
        cases["MiniLM"] = minilm
    paths = [("after", residual_bracket)] + [(commit, m.residual_bracket) for commit, m in befores.items() if m]
    with one_blas_thread():
        for case, mats in cases.items():
            print(f"\nfast bracket of doubles, {case} 128 x 384, {len(mats)} matrices "
                  f"[load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}]", flush=True)
            cpus = {}
            for label, fn in paths:
                runs = []
                for X in mats.values():
                    t0 = time.process_time()
                    b = fn(f64, X, exact=False)
                    runs.append((time.process_time() - t0, gap(b)))
                cpus[label] = np.array([c for c, _ in runs])
                print(fast_summary(label, runs) + (f"  ({FAST_BEFORE[label]})" if label in FAST_BEFORE else ""),
                      flush=True)
            for label in list(cpus)[1:]:
                print(f"  CPU after / {label}: mean {cpus['after'].mean() / cpus[label].mean():.2f}, "
                      f"median {np.median(cpus['after']) / np.median(cpus[label]):.2f}")
    for commit, m in befores.items():
        if m is None:
            print(f"  (before: git show {commit} unavailable)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=SIZES, help="n x d sizes, e.g. 8x8 32x16")
    parser.add_argument("--no-exact", nargs="*", default=[], metavar="SIZE", help="sizes without the LP bracket")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gaussian", type=int, default=16,
                        help="standard normal 128 x 384 matrices for the fast table")
    parser.add_argument("--fast-only", action="store_true", help="only the fast bracket table")
    args = parser.parse_args()
    fast_table(args.gaussian, args.seed)
    if args.fast_only:
        return
    print()
    print(HEADER)
    for r in rows(args.sizes, args.seed, args.no_exact):
        print(format_row(r), flush=True)


if __name__ == "__main__":
    main()
