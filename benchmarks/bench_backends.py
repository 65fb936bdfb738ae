"""Backends and precision: ``python benchmarks/bench_backends.py [--max-depth 12] [--verify quick]``.

Prints side-by-side tables (the numbers in ``docs/performance.md`` come from this script):

(b) depth scaling of ``check_network`` (arb) on ``rankcollapse.numerics.examples.deep_single_head``: the
    bits it settles on, the digits of the smallest bound it certifies (the one-step bound at
    the last layer), the bits a whole-matrix forward pass would need for that bound (docs/theory.md §5:
    ``digits + log10(scale)`` plus 64 guard bits), its total time (all adaptive runs), and the
    time of one pass at the final precision, per layer;
(a) the certified forward pass (``forward_split``) in arb and in mpmath intervals, same
    network: at the bits of (b), and at the whole-matrix bits of (b) up to ``--mpmath-max-bits``;
(c) residual brackets at 8x8 ... 128x384 (``benchmarks/bench_residual.py``);
(d) wall times of ``python -m rankcollapse verify --suite quick|default`` (``--verify``).

``--sections`` picks tables (``--sections d --verify all`` times the suites alone).

Every table states the load average before it: the machine is shared, timings are wall clock
(best of ``--repeat`` where a pass takes under a second).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_residual  # noqa: E402
from rankcollapse.numerics.certify import bound_pairs, check_network  # noqa: E402
from rankcollapse.numerics.context import get_context  # noqa: E402
from rankcollapse.numerics.examples import deep_single_head  # noqa: E402
from rankcollapse.numerics.exact import log10_abs  # noqa: E402
from rankcollapse.numerics.checks.common import scale_log10  # noqa: E402
from rankcollapse.numerics.network import forward_split  # noqa: E402
from rankcollapse.numerics.verdict import working_precision  # noqa: E402


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > 1.0:  # long passes are stable enough; do not triple them
            break
    return min(times)


def depth_scaling(depths, repeat):
    """Table (b); returns {depth: (bits, whole-matrix bits)}."""
    print(f"\n(b) check_network depth scaling, deep_single_head, arb   [{load()}]")
    print(f"{'depth':>5}{'bits':>6}{'digits':>9}{'whole-matrix bits':>19}{'verdicts':>10}{'total s':>9}"
          f"{'pass s':>8}{'s/layer':>9}")
    ctx, bits_of = get_context("arb"), {}
    for depth in depths:
        case = deep_single_head(depth=depth)
        report = check_network(case.net, case.X)
        digits = -min(log10_abs(v.rhs[0]) for r in report.layers[1:] for v in r.verdicts.values() if v.rhs[0] > 0)
        whole = working_precision(-digits, scale_log10(case.X))
        verdicts = {v.verdict for r in report.layers[1:] for v in r.verdicts.values()}
        with ctx.workprec(report.bits):  # one pass at the final precision: forward, brackets, bounds
            t_pass = best_time(lambda: bound_pairs("one_step")(ctx, case), repeat)
        print(f"{depth:>5}{report.bits:>6}{digits:>9.0f}{whole:>19}{'/'.join(sorted(verdicts)):>10}"
              f"{report.seconds:>9.2f}{t_pass:>8.3f}{t_pass / depth:>9.4f}", flush=True)
        bits_of[depth] = (report.bits, whole)
    return bits_of


def backends(bits_of, repeat, mpmath_max_bits):
    """Table (a); returns [(depth, bits, ratio)]."""
    print(f"\n(a) certified forward pass (forward_split), deep_single_head   [{load()}]")
    print(f"{'depth':>5}{'bits':>9}{'':>14}{'arb s':>10}{'mpmath s':>10}{'ratio':>8}")
    ratios = []
    for depth in (4, 6, 8, 10):
        if depth not in bits_of:
            continue
        case = deep_single_head(depth=depth)
        for bits, label in zip(bits_of[depth], ("check_network", "whole-matrix")):
            if bits > mpmath_max_bits:
                continue
            times = {}
            for name in ("arb", "mpmath"):
                ctx = get_context(name)
                with ctx.workprec(bits):
                    times[name] = best_time(lambda: forward_split(ctx, case.net, case.X), repeat)
            ratio = times["mpmath"] / times["arb"]
            print(f"{depth:>5}{bits:>9}{label:>14}{times['arb']:>10.4f}{times['mpmath']:>10.4f}{ratio:>8.1f}",
                  flush=True)
            ratios.append((depth, bits, ratio))
    return ratios


def residuals(sizes, no_exact):
    """Table (c); returns [(size, case, exact s, fast s)]."""
    print(f"\n(c) residual brackets, arb at {bench_residual.PREC} bits   [{load()}]")
    print(bench_residual.HEADER)
    out = []
    for r in bench_residual.rows(sizes, no_exact=no_exact):
        print(bench_residual.format_row(r), flush=True)
        out.append((r["size"], r["case"], r["t_exact"], r["t_fast"]))
    return out


def verify_times(suites):
    """Table (d); returns {suite: seconds}."""
    print(f"\n(d) python -m rankcollapse verify   [{load()}]")
    times = {}
    for suite in suites:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "rankcollapse", "verify", "--suite", suite, "--out", out],
                                  cwd=ROOT, capture_output=True, text=True)
            times[suite] = time.perf_counter() - t0
        print(f"  --suite {suite:<8} {times[suite]:8.1f} s   (exit code {proc.returncode})", flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-depth", type=int, default=12, help="deepest network of (a) and (b)")
    parser.add_argument("--mpmath-max-bits", type=int, default=40_000,
                        help="skip the (a) comparison above this precision (mpmath: minutes at 262 144 bits)")
    parser.add_argument("--sizes", nargs="*", default=bench_residual.SIZES, help="residual sizes for (c)")
    parser.add_argument("--no-exact", nargs="*", default=[], metavar="SIZE", help="sizes of (c) without LPs")
    parser.add_argument("--verify", choices=("none", "quick", "all"), default="all",
                        help="(d): none, the quick suite, or quick and default (minutes)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sections", default="abcd", help="which tables to print, e.g. 'c' or 'ab'")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {load()}")

    bits_of = depth_scaling(range(2, args.max_depth + 1), args.repeat) if set("ab") & set(args.sections) else {}
    ratios = backends(bits_of, args.repeat, args.mpmath_max_bits) if "a" in args.sections else []
    res = residuals(args.sizes, args.no_exact) if "c" in args.sections else []
    suites = {"none": [], "quick": ["quick"], "all": ["quick", "default"]}[args.verify]
    verify = verify_times(suites) if "d" in args.sections else {}

    print(f"\nsummary   [{load()}]")
    for depth, bits, ratio in ratios:
        print(f"  forward pass, depth {depth:>2} ({bits} bits): arb {ratio:.1f}x faster than mpmath")
    for size, case, t_exact, t_fast in res:
        if t_exact is not None:
            print(f"  residual {size:>8} {case:<6}: fast bracket {t_exact / t_fast:6.1f}x faster than the exact one")
    for suite, seconds in verify.items():
        print(f"  verify --suite {suite}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
