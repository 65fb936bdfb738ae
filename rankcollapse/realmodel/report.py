"""The real-model experiment's JSON report and tables."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from rankcollapse.numerics.architectures import BOUNDS_NOT_APPLICABLE
from rankcollapse.numerics.exact import decimal_string

from .measure import FLOAT64_FLOOR, INITS, Experiment

FORMAT = "rankcollapse-realmodel/3"  # /3: model, architecture, per-sequence ratios and r brackets


def _dec(v) -> str | None:
    """A real number as a decimal string with 17 significant digits (None / nan -> null)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float | int | np.floating):
        return decimal_string(Fraction(float(v)), 17)
    import mpmath  # E4's log10 values can be far beyond the double range

    return mpmath.nstr(v, 17, min_fixed=-6, max_fixed=17)


def _spread(values) -> dict:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return {"mean": None, "std": None, "quartiles": None, "count": 0}
    return {"mean": _dec(v.mean()), "std": _dec(v.std()),
            "quartiles": [_dec(q) for q in np.percentile(v, [25, 50, 75])], "count": int(len(v))}


def _mean_log10(values):
    """Mean of log10 values (in mpmath: E4's exceed doubles); None for no values."""
    import mpmath

    return sum(map(mpmath.mpf, values)) / len(values) if values else None


def report_json(exp: Experiment) -> dict:
    variants = []
    for c in exp.curves:
        layers = []
        for l in range(c.token_mean.shape[1]):
            values = c.token_mean[:, l]
            below = int(np.isnan(values).sum())
            # a ratio below the double range counts as 0 in the mean (off by < 1e-290)
            tm = _spread(np.nan_to_num(values)) if below < len(values) else _spread([])
            lo, hi = c.bracket[:, l, 0], c.bracket[:, l, 1]
            done = ~np.isnan(lo)
            layers.append({"layer": l, "ratio_token_mean": tm["mean"],
                           "token_mean_std": tm["std"], "token_mean_quartiles": tm["quartiles"],
                           "token_mean": [_dec(v) for v in values],  # null: below the double range
                           "below_double_range": below,
                           # r(X^l)/||X^l|| enclosed, per sequence (null: not computed)
                           "r_ratio": [[_dec(a), _dec(b)] if ok else None for a, b, ok in zip(lo, hi, done)],
                           "token_mean_over_r_max": (_dec(float(np.max(values[done] / lo[done])))
                                                     if done.any() and (lo[done] > 0).all() else None),
                           "float64_floor": bool(below or np.nanmean(values) < FLOAT64_FLOOR)})
        variants.append({"name": c.name, "init": c.init, "layers": layers})
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
                           "sequences": len(pairs)}
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
        for l in range(curves[0].token_mean.shape[1]):
            cells = []
            for c in curves:
                values = c.token_mean[:, l]
                below = int(np.isnan(values).sum())
                cell = "< 1e-290" if below == len(values) else f"{np.nan_to_num(values).mean():.3g}"
                if 0 < below < len(values):
                    cell += f" ({below} < 1e-290)"
                if not np.isnan(c.bracket[0, l, 0]):
                    cell += f" [{c.bracket[0, l, 0]:.4g}, {c.bracket[0, l, 1]:.4g}]"
                cells.append(cell)
            table.add_row(str(l), *cells)
        console.print(table)
    if exp.bounds is None:
        console.print(f"explicit bounds: n/a ({BOUNDS_NOT_APPLICABLE[exp.architecture]})")
        console.print(f"{exp.seconds:.1f} s")
        return
    table = Table(title="explicit bounds on the pretrained pure-attention layers: log10(bound / observed)")
    for col in ("layer", "one-step (E2)", "a priori (E4)", "published (gamma = 1)"):
        table.add_column(col, justify="right")
    for entry in report_json(exp)["bounds"]["layers"]:
        cells = []
        for name in ("one_step", "E4", "published"):
            v, k = entry[name]["log10_bound_over_observed"], entry[name]["sequences"]
            cell = "n/a" if v is None else _short(v)
            cells.append(cell + (f" ({k} of {exp.sequences} sequences)" if k < exp.sequences else ""))
        table.add_row(str(entry["layer"]), *cells)
    console.print(table)
    console.print(f"{exp.seconds:.1f} s")


def _short(decimal: str) -> str:
    import mpmath  # E4's values overflow doubles

    return mpmath.nstr(mpmath.mpf(decimal), 4)
