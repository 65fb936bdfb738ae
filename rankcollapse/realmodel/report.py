"""The real-model experiment's JSON report and tables."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import numpy as np

from rankcollapse.numerics.architectures import BOUNDS_NOT_APPLICABLE
from rankcollapse.numerics.exact import decimal_string

from .measure import FLOAT64_FLOOR, INITS, Experiment

# /4: every sequence's r bracket (outward-rounded decimals) and how many are wider than 1 %; the
# values below the double range as numbers: computed in balls (counted in "in_balls") or, since
# 2026-12-02 and in the same shape, in long doubles (the other values below 1e-290)
FORMAT = "rankcollapse-realmodel/4"


def _dec(v, rounding: str = "nearest") -> str | None:
    """A real number as a decimal string with 17 significant digits (None / nan -> null; an
    infinite end, e.g. a certified bound beyond 2^(2^24) rounded outward, -> "inf" / "-inf")."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float | int | np.floating | Fraction):
        return decimal_string(Fraction(v), 17, rounding)
    import mpmath  # E4's log10 values can be far beyond the double range

    return mpmath.nstr(v, 17, min_fixed=-6, max_fixed=17)


def _spread(values) -> dict:
    """Mean, standard deviation and quartiles (numpy's linear interpolation) of real numbers,
    exactly (Fractions: values below the double range count as what they are)."""
    import mpmath

    v = [Fraction(x) for x in values if not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return {"mean": None, "std": None, "quartiles": None, "count": 0}
    var = statistics.pvariance(v)
    quartiles = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else [v[0]] * 3
    return {"mean": _dec(sum(v) / len(v)),
            "std": _dec(mpmath.sqrt(mpmath.mpf(var.numerator) / var.denominator)),
            "quartiles": [_dec(q) for q in quartiles], "count": len(v)}


def _layer_entry(c, l: int) -> dict:
    values = [row[l] for row in c.values]
    tm = _spread([v.token_mean for v in values])
    brackets = [v.r_ratio for v in values]
    done = [b for b in brackets if b is not None]
    measured = [v for v in values if not (isinstance(v.token_mean, float) and math.isnan(v.token_mean))]
    ratio = [Fraction(v.token_mean) / v.r_ratio[0] for v in measured if v.r_ratio is not None and v.r_ratio[0] > 0]
    widths = [(b[1] - b[0]) / b[1] for b in done if b[1] > 0]
    return {"layer": l, "ratio_token_mean": tm["mean"],
            "token_mean_std": tm["std"], "token_mean_quartiles": tm["quartiles"],
            "token_mean": [_dec(v.token_mean) for v in values],  # null: below the double range, not computed
            # computed in balls (arb) from the layer before: the doubles cannot hold them
            "in_balls": sum(v.balls for v in values),
            # below the double range and not computed (past the long double's range, or its platform's
            # long double is a double)
            "below_double_range": len(values) - len(measured),
            # r(X^l)/||X^l|| enclosed, per sequence (null: not computed), ends rounded outward
            "r_ratio": [[_dec(b[0], "down"), _dec(b[1], "up")] if b else None for b in brackets],
            "r_ratio_wide": sum(v.wide for v in values),  # brackets wider than 1 %
            "r_ratio_max_width": _dec(max(widths), "up") if widths else None,
            "token_mean_over_r_max": _dec(max(ratio), "up") if ratio and len(ratio) == len(done) else None,
            "float64_floor": len(measured) < len(values) or sum(Fraction(v.token_mean) for v in measured)
            < FLOAT64_FLOOR * len(measured)}


def _mean_log10(values):
    """Mean of log10 values (in mpmath: E4's exceed doubles); None for no values."""
    import mpmath

    return sum(map(mpmath.mpf, values)) / len(values) if values else None


def _verdict(verdicts, name: str) -> dict:
    """The certified verdict on sequence 0 (balls) of ``r(...) <= bound``, or "not computed"."""
    if verdicts is None:
        return {"verdict": "not computed", "reason": "certified verdicts need --verdicts (balls, slow)",
                "r": None, "bound": None}
    v = verdicts[name]
    return {"verdict": v.verdict, "reason": v.reason, "r": [_dec(v.lhs[0], "down"), _dec(v.lhs[1], "up")],
            "bound": [_dec(v.rhs[0], "down"), _dec(v.rhs[1], "up")]}


def report_json(exp: Experiment) -> dict:
    variants = [{"name": c.name, "init": c.init, "layers": [_layer_entry(c, l) for l in range(len(c.values[0]))]}
                for c in exp.curves]
    paths = [{"init": init, "length": k, "samples": len(rows),
              "token_mean": _spread([r[0] for r in rows]), "r_upper": _spread([r[1] for r in rows]),
              "values_token_mean": [_dec(r[0]) for r in rows]}
             for init, by_length in exp.paths.items() for k, rows in by_length.items()]
    report = {"format": FORMAT, "model": exp.model, "architecture": exp.architecture,
              "sequences": exp.sequences, "tokens": exp.tokens, "bracket_sequences": exp.bracket_sequences,
              "seed": exp.seed, "jobs": exp.jobs, "seconds": _dec(exp.seconds),
              "variants": variants, "paths": paths, "bounds": None}
    if exp.bounds is None:  # not applicable to the architecture (BOUNDS_NOT_APPLICABLE)
        return report
    bounds = []
    for row in exp.bounds["layers"]:
        entry = {"layer": row["layer"]}
        for name, observed in (("one_step", "one_step_observed"), ("E4", "san_observed"),
                               ("published", "san_observed")):
            # the sequences with both numbers: E4 is not representable from layer 3, and a
            # residual can be exactly 0 in doubles (LayerNorm rounding, or underflow past 1e-308)
            pairs = [(b, o) for b, o in zip(row[name], row[observed]) if b is not None and o is not None]
            b, o = _mean_log10([p[0] for p in pairs]), _mean_log10([p[1] for p in pairs])
            entry[name] = {"log10_bound": _dec(b), "log10_observed": _dec(o),
                           "log10_bound_over_observed": None if b is None else _dec(b - o),
                           "sequences": len(pairs), **_verdict(row["verdicts"], name)}
        bounds.append(entry)
    report["bounds"] = {"weights": exp.bounds["weights"], "variant": "pure-attention", "layers": bounds}
    return report


def print_report(exp: Experiment, console) -> None:
    from rich.table import Table

    for init in INITS:
        curves = [c for c in exp.curves if c.init == init]
        table = Table(title=f"{exp.model} ({exp.architecture}), {init}: ||res(X^l)||/||X^l|| (token mean; "
                            f"r(X^l)/||X^l|| in brackets, sequence 0), mean over {exp.sequences} sequences "
                            f"of {exp.tokens} tokens")
        table.add_column("layer", justify="right")
        for c in curves:
            table.add_column(c.name, justify="right")
        for l in range(len(curves[0].values[0])):
            cells = []
            for c in curves:
                entry = _layer_entry(c, l)
                cell = "n/a" if entry["ratio_token_mean"] is None else _short(entry["ratio_token_mean"])
                if entry["in_balls"]:
                    cell += f" ({entry['in_balls']} in balls)"
                in_long = sum(row[l].long_double and not math.isnan(row[l].token_mean) for row in c.values)
                if in_long:
                    cell += f" ({in_long} in long doubles)"
                if entry["below_double_range"]:
                    cell += f" ({entry['below_double_range']} below doubles, not computed)"
                if entry["r_ratio"][0]:
                    cell += f" [{_short(entry['r_ratio'][0][0])}, {_short(entry['r_ratio'][0][1])}]"
                if entry["r_ratio_wide"]:
                    cell += f" ({entry['r_ratio_wide']} brackets > 1 % wide)"
                cells.append(cell)
            table.add_row(str(l), *cells)
        console.print(table)
    if exp.bounds is None:
        console.print(f"explicit bounds: n/a ({BOUNDS_NOT_APPLICABLE[exp.architecture]})")
        console.print(f"{exp.seconds:.1f} s")
        return
    table = Table(title="explicit bounds on the pretrained pure-attention layers: log10(bound / observed) "
                        "(float64, mean over sequences)" + (", after the verdict certified in balls on "
                                                            "sequence 0" if exp.bounds["layers"][0]["verdicts"]
                                                            else "; certified verdicts: --verdicts"))
    for col in ("layer", "one-step (E2)", "a priori (E4)", "published (gamma = 1)"):
        table.add_column(col, justify="right")
    for entry in report_json(exp)["bounds"]["layers"]:
        cells = []
        for name in ("one_step", "E4", "published"):
            v, k = entry[name]["log10_bound_over_observed"], entry[name]["sequences"]
            cell = ("" if entry[name]["verdict"] == "not computed" else entry[name]["verdict"] + " ") + \
                ("n/a" if v is None else _short(v))
            cells.append(cell + (f" ({k} of {exp.sequences} sequences)" if k < exp.sequences else ""))
        table.add_row(str(entry["layer"]), *cells)
    console.print(table)
    console.print(f"{exp.seconds:.1f} s")


def _short(decimal: str) -> str:
    import mpmath  # E4's values overflow doubles

    return mpmath.nstr(mpmath.mpf(decimal), 4)
