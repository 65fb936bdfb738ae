"""The ``rankcollapse`` command line: verify, check, residual, bound, derive, real-model.

Exit codes: 0 all good; 1 a theorem is violated; 3 something stays inconclusive; 2 usage or
input errors (a message naming the problem, no traceback, nothing written).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from fractions import Fraction
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rankcollapse.numerics.exact import decimal_string
from rankcollapse.numerics.instance import InstanceError, write_json_atomic
from rankcollapse.numerics.verdict import MAX_BITS

from . import parallel
from .errors import UsageError, check_writable as _check_writable

console = Console(soft_wrap=True)  # long paths and numbers stay on one line


def dec(q, rounding="nearest") -> str | None:
    """Real numbers in JSON: decimal strings with 17 significant digits (None stays null; an
    end without a finite enclosure is "inf" or "-inf")."""
    if q is None:
        return None
    if isinstance(q, float) and not math.isfinite(q):
        return str(q)
    return decimal_string(Fraction(q), 17, rounding)


def _json_out(path: str | None, obj) -> None:
    if path:
        write_json_atomic(path, obj)
        console.print(f"wrote {path}")


def _check_folder(path: str, option: str) -> None:
    """Fail before any work if ``path`` cannot be (or become) a writable directory."""
    p = Path(path)
    while not p.exists() and p != p.parent:  # the first existing ancestor decides
        p = p.parent
    if not p.is_dir():
        raise UsageError(f"{option} {path}: {p} exists and is not a directory")
    if not os.access(p, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {p} is not writable")


def _show(q, rounding: str) -> str:
    """An exact end for the tables: 4 significant digits, rounded outward, never 0 unless it
    is 0, any size (a float() of it could overflow or underflow)."""
    return str(q) if isinstance(q, float) else decimal_string(Fraction(q), 4, rounding)


def ascii_int(text: str) -> int:
    """argparse type: an integer in ASCII digits (int() would also read other Unicode digits)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text.strip()) or len(text.strip()) > 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer (ASCII digits, at most 20)")
    return int(text)


# -- verify -------------------------------------------------------------------------------
def cmd_verify(args) -> int:
    from .verify import audit, run_verify, print_table, report_json, exit_code

    _check_writable(args.json)
    _check_folder(args.out, "--out")
    problems = audit()
    if problems:  # a missing check must never look like a proof
        err = Console(stderr=True, soft_wrap=True)
        for problem in problems:
            err.print(f"[bold red]error:[/] {escape(problem)}", highlight=False)
        err.print("verify does not run while the claim catalogue is inconsistent (exit 1)")
        return 1
    results = run_verify(args.suite, args.seed, Path(args.out), console, jobs=args.jobs, scheduler=args.scheduler)
    print_table(results, console)
    _json_out(args.json, report_json(results, args.suite, args.seed))
    return exit_code(results)


# -- check --------------------------------------------------------------------------------
def cmd_check(args) -> int:
    from rankcollapse.numerics.certify import BOUND_NAMES, UndefinedLayerNorm, check_network
    from rankcollapse.numerics.instance import load_instance

    _check_writable(args.json)
    inst = load_instance(args.instance)
    with console.status(f"checking {inst.net.depth} layer(s) with {args.backend}"):
        try:
            report = check_network(inst.net, inst.X, backend=args.backend)
        except UndefinedLayerNorm as e:
            raise UsageError(f"{args.instance}: {e}") from None
    table = Table(title=f"{args.instance}: {args.backend}, {report.bits} bits, {report.seconds:.2f} s")
    table.add_column("layer", justify="right")
    table.add_column("r(X^l) in")
    for name in BOUND_NAMES:
        table.add_column(name)
    for r in report.layers:
        cells = []
        for name in BOUND_NAMES:
            b, v = r.bounds.get(name), r.verdicts.get(name)
            shown = f">= {_show(b[0], 'down')}" if b is not None and b[1] == math.inf else None
            cells.append("n/a" if b is None else f"{shown or _show(b[1], 'up')}  {v.verdict}")
        table.add_row(str(r.layer), f"[{_show(r.residual.lower, 'down')}, {_show(r.residual.upper, 'up')}]", *cells)
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")
    for r in report.layers:
        for k, v in r.verdicts.items():
            if v.verdict == "inconclusive" and args.backend != "float64":
                console.print(f"layer {r.layer} {k}: inconclusive: {v.reason}")
    sec33 = _sec33(inst, args.backend)
    m2 = _m2(inst, args.backend, report.bits)
    _json_out(args.json, {
        "format": "rankcollapse-check/1", "backend": args.backend, "bits": report.bits,
        "layers": [{"layer": r.layer, "residual_lower": dec(r.residual.lower, "down"),
                    "residual_upper": dec(r.residual.upper, "up"),
                    "bounds": {k: None if b is None else dec(b[0], "down") for k, b in r.bounds.items()},
                    "verdicts": {k: v.verdict for k, v in r.verdicts.items()},
                    "reasons": {k: v.reason for k, v in r.verdicts.items() if v.reason}} for r in report.layers],
        "sec3.3": sec33, "M2": m2})
    verdicts = [v.verdict for r in report.layers for k, v in r.verdicts.items() if k != "published"]
    verdicts += [row["verdict"] for row in m2 or ()]
    verdicts += ["inconclusive" for r in report.layers if r.residual.upper == math.inf]  # no enclosure
    return 1 if "violated" in verdicts else 3 if "inconclusive" in verdicts else 0


def _m2(inst, backend: str, bits: int) -> list[dict] | None:
    """M2 (docs/masks.md) where its hypothesis holds (X^l = P^l X^(l-1)): the observed per-layer
    contraction of diam next to the rate delta(P^l), certified per layer (None elsewhere)."""
    from rankcollapse.numerics.checks.masks import contraction_table, m2_applies
    from rankcollapse.numerics.context import get_context
    from rankcollapse.numerics.strategies import Case

    if not m2_applies(inst.net):
        return None
    ctx = get_context(backend)
    with ctx.workprec(bits):
        rows = contraction_table(ctx, Case(inst.X, inst.net))
    table = Table(title="M2: diam(X^l) <= delta(P^l) diam(X^(l-1)) (W_V = I: exponential collapse under any mask)")
    for name in ("layer", "observed diam(X^l)/diam(X^(l-1))", "rate delta(P^l)", "verdict"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(str(row["layer"]), f"{row['observed']:.6g}", f"{row['rate']:.6g}",
                      row["verdict"] + (f" ({row['reason']})" if row["reason"] else ""))
    console.print(table)
    return [{k: row[k] for k in ("layer", "observed", "rate", "verdict", "reason")} for row in rows]


def _sec33(inst, backend: str) -> dict | None:
    """sec3.3 (LayerNorm plays no role) re-checked on a network with LayerNorm: printed, and
    its JSON (None without LayerNorm). A published claim: its verdict leaves the exit code."""
    from rankcollapse.numerics.checks.layernorm import THRESHOLD, sec33_check
    from rankcollapse.numerics.strategies import Case

    net = inst.net
    if not any(l.attention.layernorm is not None or (l.mlp is not None and l.mlp.layernorm is not None)
               for l in net.layers):
        return None
    with console.status("sec3.3: the same stack without LayerNorm"):
        rep = sec33_check(Case(inst.X, net), backend)
    ends = lambda e: None if e is None else [dec(e[0], "down"), dec(e[1], "up")]  # noqa: E731
    shown = lambda e: "[no finite enclosure]" if e is None else f"[{_show(e[0], 'down')}, {_show(e[1], 'up')}]"  # noqa: E731
    verdict = None if rep.verdict is None else rep.verdict.verdict
    console.print(f"sec3.3 at depth {rep.depth} ({rep.bits} bits): rho = r(X^L)/||X^L||_(1,inf) without LayerNorm "
                  f"in {shown(rep.rho_without)}, with LayerNorm in {shown(rep.rho_with)}; claim: rho <= 1/100 with "
                  f"LayerNorm if without: {verdict or 'nothing claimed'}" + (f" ({rep.reason})" if rep.reason else ""))
    return {"depth": rep.depth, "threshold": dec(THRESHOLD), "bits": rep.bits,
            "rho_without_layernorm": ends(rep.rho_without), "rho_with_layernorm": ends(rep.rho_with),
            "verdict": verdict, "reason": rep.reason}


# -- residual -----------------------------------------------------------------------------
def cmd_residual(args) -> int:
    from rankcollapse.numerics.context import get_context
    from rankcollapse.numerics.matrices import read_matrix
    from rankcollapse.numerics.norms import norm_composite
    from rankcollapse.numerics.residual import residual_bracket, token_mean_residual

    if not 2 <= args.bits <= MAX_BITS:
        raise UsageError(f"--bits must be between 2 and {MAX_BITS} (2^18), got {args.bits}")
    _check_writable(args.json)
    X = read_matrix(args.file)
    ctx = get_context("arb")
    with ctx.workprec(args.bits):
        Xc = ctx.array(X)
        b = residual_bracket(ctx, Xc)
        tm = norm_composite(ctx, token_mean_residual(ctx, Xc))
    console.print(f"r(X) in [{decimal_string(b.lower, 17, 'down')}, {decimal_string(b.upper, 17, 'up')}]"
                  f"  ({b.n_lp} LPs, {b.seconds:.3f} s)")
    # an enclosure computed at --bits: both ends, never one end shown as the value
    console.print(f"token-mean residual ||X - 1 mean^T||_(1,inf) in [{dec(ctx.lo(tm), 'down')}, {dec(ctx.hi(tm), 'up')}]")
    _json_out(args.json, {"r_lower": dec(b.lower, "down"), "r_upper": dec(b.upper, "up"),
                          "r_token_mean": dec(ctx.hi(tm), "up"), "r_token_mean_lower": dec(ctx.lo(tm), "down")})
    return 0


# -- bound --------------------------------------------------------------------------------
# published_closed_form works with the digits of 3^L: 4 s at L = 10^4, minutes at 10^5.
MAX_DEPTH = 10**4


def cmd_bound(args) -> int:
    from rankcollapse.numerics.bounds import published_closed_form

    if args.depth > MAX_DEPTH:
        raise UsageError(f"--depth {args.depth} is too large: the largest supported depth is {MAX_DEPTH}")
    _check_writable(args.json)
    try:
        res = published_closed_form(args.depth, args.heads, args.beta, args.gamma, args.dqk, args.r0,
                                    args.lam, args.eps)
    except ValueError as e:
        raise UsageError(str(e)) from None
    for key in ("value", "log10", "a", "sqrt_a_r0", "contracts", "depth_to_eps"):
        console.print(f"{key:>12}: {res[key]}")
    _json_out(args.json, res)
    return 0


# -- derive -------------------------------------------------------------------------------
SUPPORT = ("general", "fixed-size", "numeric", "assumed")


def support_counts(claim) -> str:
    """How a claim's steps are backed: proved for every size, proved on fixed sizes only,
    numeric spot-check, assumed (``Step.kind_of_support``)."""
    kinds = [step.kind_of_support for step in claim.steps]
    return "Step support: " + ", ".join(f"{kinds.count(k)} {k}" for k in SUPPORT)


def cmd_derive(args) -> int:
    from rankcollapse import proofs

    try:
        claim = proofs.get(args.claim)
    except KeyError:
        ids = ", ".join(c.id for c in proofs.all_claims())
        raise UsageError(f"unknown claim {args.claim!r}; known: {ids}") from None
    console.print(claim.render(latex=args.latex), markup=False, highlight=False)
    console.print(("% " if args.latex else "") + support_counts(claim), markup=False, highlight=False)
    from rankcollapse.numerics.checks import checks_for  # numeric steps are backed from numerics

    for check in checks_for(claim):
        console.print(f"numeric check {check.name}: {check.what}", markup=False, highlight=False)
    if args.check:
        for step, ok in proofs.check_steps(claim):
            mark = {True: "proved", False: "FAILED", None: step.status}[ok]
            console.print(f"  {step.label}: {mark}", markup=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rankcollapse", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="prove and test every registered claim")
    v.add_argument("--suite", choices=("quick", "default", "thorough"), default="default")
    v.add_argument("--seed", type=ascii_int, default=0)
    v.add_argument("--json", metavar="FILE")
    v.add_argument("--out", default="rankcollapse-out", help="where counterexample files are saved")
    parallel.add_arguments(v)
    v.set_defaults(func=cmd_verify)

    c = sub.add_parser("check", help="certified per-layer residuals, bounds and verdicts of an instance file")
    c.add_argument("instance")
    c.add_argument("--backend", choices=("arb", "mpmath", "float64"), default="arb")
    c.add_argument("--json", metavar="FILE")
    c.set_defaults(func=cmd_check)

    r = sub.add_parser("residual", help="certified bracket of r(X) for a matrix file")
    r.add_argument("file")
    r.add_argument("--bits", type=ascii_int, default=256, help=f"working precision in bits (2 to {MAX_BITS})")
    r.add_argument("--json", metavar="FILE")
    r.set_defaults(func=cmd_residual)

    b = sub.add_parser("bound", help="the published-form bound in mpmath")
    b.add_argument("--depth", type=ascii_int, required=True)
    b.add_argument("--heads", type=ascii_int, default=1)
    for name in ("beta", "gamma", "dqk", "r0"):
        b.add_argument(f"--{name}", required=name != "gamma", default="1" if name == "gamma" else None)
    b.add_argument("--lam", default="1")
    b.add_argument("--eps", default="1e-100", help="target for the depth-to-eps figure")
    b.add_argument("--json", metavar="FILE")
    b.set_defaults(func=cmd_bound)

    d = sub.add_parser("derive", help="a claim's statement and derivation steps")
    d.add_argument("claim")
    d.add_argument("--latex", action="store_true")
    d.add_argument("--check", action="store_true", help="also run the symbolic proofs of the steps")
    d.set_defaults(func=cmd_derive)

    from . import figures
    from .experiments import command as experiment
    from .realmodel import command as realmodel_command

    figures.register(sub)
    realmodel_command.register(sub)
    experiment.register(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed the usage error
        return int(e.code or 0)
    try:
        return args.func(args)
    except (UsageError, InstanceError) as e:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(e))}", highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
