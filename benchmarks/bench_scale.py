"""Speed and scale in one run: ``python benchmarks/bench_scale.py`` (issue 15).

(1) The exact residual bracket (``residual_bracket``, arb balls at 1200 bits, standard normal
    doubles): wall and CPU seconds, how much of it is reading the matrix (``ctx.mid_rad_dyadic``,
    exact midpoints), HiGHS calls and the relative gap ``(upper - lower) / upper``; side by side
    with the previous algorithm (constraint generation on the dual through ``scipy.linprog``),
    which is the ``numerics/residual.py`` of commit ``OLD_COMMIT`` loaded from git, run on the
    same matrices. Without git the figures recorded when the change was made are printed,
    labelled as recorded.
(2) Certified checks per second (``check_network``: arb forward pass, exact residual brackets,
    every bound and verdict at every layer, precision raised while undecided) against float64
    forward passes per second of the same networks: the ratio is the cost of certification.
(3) ``rankcollapse verify --suite quick`` wall time with ``--jobs 1`` and ``--jobs 2``
    (subprocesses), and whether their JSON reports are identical.

Every table states the load average it ran under (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rankcollapse.numerics import examples  # noqa: E402
from rankcollapse.numerics.certify import check_network  # noqa: E402
from rankcollapse.numerics.context import get_context  # noqa: E402
from rankcollapse.numerics.network import forward  # noqa: E402
from rankcollapse.numerics.residual import MID_GUARD_BITS, residual_bracket  # noqa: E402

OLD_COMMIT = "ee390c8"  # residual.py before the windowed primal LP
PREC = 1200
SIZES = ["32x16", "128x64", "128x384", "128x768"]
OLD_SIZES = ["32x16", "128x64", "128x384"]  # the old path takes minutes beyond
# measured with the old path before the change, 128 x 384 random: issue 15 (idle / loaded), and
# this work's first measurement (under cProfile, load average 1.7)
RECORDED_OLD = {"128x384": "4.7 s idle, 9.5 s loaded (issue 15); 35.7 s, 15 LPs, gap 2.6e-15 (load 1.7, profiled)"}


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def old_residual():
    """The previous ``residual.py`` as a module, or None without git."""
    try:
        src = subprocess.run(["git", "show", f"{OLD_COMMIT}:numerics/residual.py"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("residual_old")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(src.replace("from .context import", "from rankcollapse.numerics.context import"),
                 f"{OLD_COMMIT}:numerics/residual.py", "exec"), module.__dict__)
    return module


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def gap(b) -> float:
    return float((b.upper - b.lower) / b.upper) if b.upper else 0.0


def residual_table(sizes, old_sizes, seed: int) -> None:
    print(f"\n(1) exact residual bracket, arb {PREC} bits, standard normal   [{load()}]")
    old = old_residual()
    print(f"{'n x d':>8} | {'new wall s':>10} {'cpu s':>7} {'read s':>7} {'LPs':>4} {'gap':>8} | "
          f"{'old wall s':>10} {'cpu s':>7} {'LPs':>4} {'gap':>8} | {'speed-up':>8}")
    ctx = get_context("arb")
    rng = np.random.default_rng(seed)
    with ctx.workprec(PREC):
        for size in sizes:
            n, d = map(int, size.split("x"))
            X = ctx.array(rng.standard_normal((n, d)))
            _, read, _ = timed(lambda: ctx.mid_rad_dyadic(X, mid_bits=PREC + MID_GUARD_BITS))
            new, wall, cpu = timed(lambda: residual_bracket(ctx, X))
            cells = f"{size:>8} | {wall:>10.3f} {cpu:>7.3f} {read:>7.3f} {new.n_lp:>4} {gap(new):>8.1e} | "
            if old is not None and size in old_sizes:
                ob, owall, ocpu = timed(lambda: old.residual_bracket(ctx, X))
                assert ob.lower <= new.upper and new.lower <= ob.upper  # both enclose r(X)
                cells += f"{owall:>10.3f} {ocpu:>7.3f} {ob.n_lp:>4} {gap(ob):>8.1e} | {owall / wall:>7.1f}x"
            else:
                cells += f"{'-':>10} {'-':>7} {'-':>4} {'-':>8} | {'-':>8}"
            print(cells, flush=True)
    if old is None:
        for size, text in RECORDED_OLD.items():
            print(f"  old path, recorded (git unavailable): {size}: {text}")
    print(f"  old = numerics/residual.py at {OLD_COMMIT} (dual constraint generation, scipy.linprog); "
          "'read s' (exact midpoints of the arb matrix) is part of both")


def certification_table(repeat: int) -> None:
    print(f"\n(2) certified check_network against float64 forward passes, same networks   [{load()}]")
    print(f"{'instance':<28} {'checks/s':>9} {'bits':>6} {'float64 passes/s':>17} {'ratio':>8}")
    f64 = get_context("float64")
    cases = {"deep_single_head(6)": examples.deep_single_head(6), "multi_head()": examples.multi_head(),
             "attention_mlp()": examples.attention_mlp(), "contracting_single_head()": examples.contracting_single_head()}
    for name, case in cases.items():
        X64 = f64.array(case.X)
        report, t_cert, _ = min((timed(lambda: check_network(case.net, case.X)) for _ in range(repeat)), key=lambda r: r[1])
        _, t_f64, _ = min((timed(lambda: forward(case.net, X64, f64)) for _ in range(10 * repeat)), key=lambda r: r[1])
        print(f"{name:<28} {1 / t_cert:>9.1f} {report.bits:>6} {1 / t_f64:>17.0f} {t_cert / t_f64:>7.0f}x", flush=True)


def verify_table(suite: str, jobs) -> None:
    print(f"\n(3) rankcollapse verify --suite {suite}, wall clock   [{load()}]")
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in jobs:
            out, report = Path(tmp) / "out", Path(tmp) / f"report-{n}.json"  # one --out: reports name its files
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "rankcollapse", "verify", "--suite", suite, "--jobs", str(n),
                                   "--out", str(out), "--json", str(report)], cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            reports[n] = json.loads(report.read_text()) if report.exists() else None
            base = min(reports)
            print(f"  --jobs {n}: {seconds:8.1f} s  (exit code {proc.returncode})"
                  + ("" if n == base else f"  report identical to --jobs {base}: {reports[n] == reports[base]}"),
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=SIZES, help="n x d sizes for (1)")
    parser.add_argument("--old-sizes", nargs="*", default=OLD_SIZES, help="sizes of (1) also run with the old path")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many certified checks in (2)")
    parser.add_argument("--suite", default="quick", help="verify suite for (3)")
    parser.add_argument("--jobs", type=int, nargs="*", default=[1, 2], help="--jobs values for (3); none skips it")
    parser.add_argument("--sections", default="123", help="which tables, e.g. 1 or 23")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if "1" in args.sections:
        residual_table(args.sizes, args.old_sizes, args.seed)
    if "2" in args.sections:
        certification_table(args.repeat)
    if "3" in args.sections and args.jobs:
        verify_table(args.suite, args.jobs)


if __name__ == "__main__":
    main()
