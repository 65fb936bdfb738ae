"""``rankcollapse figures``: every figure of the docs, drawn from recorded data.

A figure is two halves (:class:`Figure`): ``compute`` measures its data with the toolkit (the
slow half: certified forward passes, LPs) and ``draw`` turns the data into a PNG. The data is
recorded beside the PNG as ``docs/figures/NAME.json`` (format ``rankcollapse-figure/1``: the
figure's ``caption`` and its ``series``), and the PNG carries the caption and a digest of that
data in its text chunks. So:

* ``rankcollapse figures`` redraws every PNG from the recorded data, in seconds;
* ``rankcollapse figures --recompute`` measures the data again first and records it;
* tests/test_figures.py recomputes the data (or, for the slow figures, its first series: every
  figure's series are computed in order from one seeded generator, so a prefix is exact) and
  fails when the recording, the PNG or the docs page's caption disagrees with the code.

The docs show a figure as ``![CAPTION](figures/NAME.png)`` with the recorded caption, so the
text and the figure say the same thing.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rankcollapse.numerics.exact import log10_abs

from .errors import UsageError

FORMAT = "rankcollapse-figure/1"

# matplotlib and rankcollapse.numerics.certify (SymPy proofs) take seconds to import: the figure
# functions import them when they run, so that ``rankcollapse --help`` (which registers this
# command) is fast.


def _pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def digest(data: dict) -> str:
    """sha256 of a recording's canonical JSON: the PNG drawn from it carries this."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _save(fig, ax, path: Path, data: dict, xlabel: str, ylabel: str, legend_size: int = 8, legend_loc: str = "best") -> None:
    """Label, title with the caption, lay out, write (with the caption and data digest as PNG
    text chunks) and close a figure: the same finish for every figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(data["caption"], fontsize=10)
    ax.legend(fontsize=legend_size, loc=legend_loc)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Title": data["caption"], "Description": f"rankcollapse-figure sha256 {digest(data)}"})
    _pyplot().close(fig)


def _minus_log10(q) -> float | None:
    return None if q <= 0 else -log10_abs(q)


# -- norms (docs/norms.md) ------------------------------------------------------------------
NORMS_PAIRS = 300


def composite_norm_data(series: int | None = None) -> dict:
    """Certified ratios ||AB|| / (||A|| ||B||) (claim N1: at most 1) and ||A + B|| / (||A|| +
    ||B||) (N2: sometimes above 1) for random small integer matrices, composite norm."""
    import numpy as np

    from rankcollapse.numerics.context import get_context
    from rankcollapse.numerics.norms import norm_composite

    ctx = get_context("arb")
    rng = np.random.default_rng(0)
    product, triangle = [], []
    with ctx.workprec(64):
        for _ in range(NORMS_PAIRS):
            n = int(rng.integers(2, 4))
            A, B = (ctx.array(rng.integers(-3, 4, size=(n, n)).astype(object)) for _ in range(2))
            a, b = norm_composite(ctx, A), norm_composite(ctx, B)
            if ctx.lo(a) <= 0 or ctx.lo(b) <= 0:  # a zero matrix: both ratios undefined
                continue
            for out, q in ((product, norm_composite(ctx, A @ B) / (a * b)), (triangle, norm_composite(ctx, A + B) / (a + b))):
                out.append([float(ctx.lo(q)), float(ctx.hi(q))])
    above = sum(lo > 1 for lo, _ in triangle)
    return {"caption": f"Not a norm: {above} of {len(triangle)} random pairs break the triangle inequality",
            "series": [{"name": "product", "ratios": product}, {"name": "triangle", "ratios": triangle}]}


def composite_norm_draw(data: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    labels = {"product": "||AB|| / (||A|| ||B||)  (N1: at most 1), upper ends",
              "triangle": "||A+B|| / (||A|| + ||B||)  (N2), lower ends"}
    for row in data["series"]:
        values = [hi if row["name"] == "product" else lo for lo, hi in row["ratios"]]
        ax.hist(values, bins=40, range=(0, 1.25), alpha=0.6, label=labels[row["name"]])
    ax.axvline(1, color="red", lw=1, label="1")
    _save(fig, ax, path, data, "ratio (composite norm ||.||_{1,inf})", "pairs of random 2x2, 3x3 integer matrices", legend_size=7,
          legend_loc="upper left")  # "best" is slow over many bars


# -- single head (docs/single_head.md) ------------------------------------------------------
def single_head_depth_data(series: int | None = None) -> dict:
    """Certified residual r(X^l) and the three bounds against depth, as -log10 (docs/theory.md §4)."""
    from rankcollapse.numerics.certify import check_network
    from rankcollapse.numerics.examples import contracting_single_head

    case = contracting_single_head(depth=6)
    report = check_network(case.net, case.X)
    rows = [{"name": "residual", "points": [[r.layer, _minus_log10(r.residual.upper)] for r in report.layers]}]
    for name in ("E4", "published", "one_step"):
        rows.append({"name": name, "points": [[r.layer, _minus_log10(r.bounds[name][0])]
                                              for r in report.layers if r.bounds.get(name)]})
    n, d = case.X.shape
    return {"caption": f"Pure single-head SAN, n = d = {d if n == d else f'{n}, d = {d}'}: certified in arb at {report.bits} bits",
            "series": rows}


def single_head_depth_draw(data: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {"residual": ("o-", "r(X^l), certified upper end"), "E4": ("s--", "Theorem E4 (a priori)"),
              "published": ("^:", "Thm 2.2, gamma = 1"), "one_step": ("x-.", "Lemma E1, one step")}
    for row in data["series"]:
        style, label = styles[row["name"]]
        ax.plot(*zip(*row["points"]), style, label=label)
    ax.set_yscale("log")
    _save(fig, ax, path, data, "layer l", "-log10 (larger = smaller residual)")


# -- paths (docs/paths.md) ------------------------------------------------------------------
def path_lengths_data(series: int | None = None) -> dict:
    """Share of paths of each length with skip connections, exact (rankcollapse.proofs.paths)."""
    from rankcollapse.numerics.checks.paths import ARCHITECTURES, length_table

    rows = []
    for name in ("BERT-base", "BERT-large", "GPT-2 XL", "GPT-3 175B")[:series]:
        L, H = ARCHITECTURES[name]
        t = length_table(L, H)
        rows.append({"name": name, "L": L, "H": H, "points": [[k / L, t["log10_share"][k]] for k in sorted(t["log10_share"])]})
    return {"caption": "With skip connections almost every path is long", "series": rows}


def path_lengths_draw(data: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for row in data["series"]:
        ax.plot(*zip(*row["points"]), label=f"{row['name']}: L={row['L']}, H={row['H']}")
    ax.set_ylim(-40, 1)
    _save(fig, ax, path, data, "path length k / L (k = number of attention heads on the path)",
          "log10 share of paths, C(L,k) H^k / (1+H)^L")


# -- multi-head (docs/multi_head.md) --------------------------------------------------------
GAMMA_HEADS = (1, 2, 3)


def gamma_needed_data(series: int | None = None) -> dict:
    """Per-layer gamma needed, r(X^l) / (4 beta H lam s r(X^(l-1))^3), on random networks."""
    import numpy as np

    from rankcollapse.numerics.checks.multi_head import gamma_needed as measure, random_network
    from rankcollapse.numerics.strategies import Case

    rng = np.random.default_rng(0)
    rows = []
    for H in GAMMA_HEADS[:series]:
        points = []
        for n in (2, 4, 8, 16):
            for ws in (0.25, 0.5, 1.0, 2.0):
                for _ in range(2):
                    net = random_network(rng, n, 4, H, 2, ws)
                    points += [[n, float(g.upper)] for g in measure(Case(rng.normal(size=(n, 4)), net))]
        rows.append({"H": H, "points": points})
    return {"caption": "The gamma one layer needs, on random networks (d = 4, 2 layers)", "series": rows}


def gamma_needed_draw(data: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for row, marker in zip(data["series"], "os^"):
        H = row["H"]
        ax.scatter([n * (1 + 0.06 * (H - 2)) for n, _ in row["points"]], [g for _, g in row["points"]],
                   marker=marker, s=14, alpha=0.6, label=f"H = {H} (random, certified upper ends)")
    ax.axhline(1, color="red", lw=1, label="published gamma = 1")
    ax.axhline(1 / 8, color="black", ls="--", lw=1, label="largest found adversarially: 1/8 (n = 2)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _save(fig, ax, path, data, "tokens n", "gamma needed by one layer", legend_size=7)


# -- skip (docs/skip.md) --------------------------------------------------------------------
SKIP_DEPTHS = (1, 2, 3, 4, 6, 8, 12)
SKIP_SCALES = (0.5, 1.0)


def skip_ratio_data(series: int | None = None) -> dict:
    """r(X^l) / r(X) with and without skip connections (random attention networks); one
    weight scale makes two series (with and without skips)."""
    from rankcollapse.numerics.checks.skip import skip_ratio_survey

    scales = SKIP_SCALES if series is None else SKIP_SCALES[:max(1, (series + 1) // 2)]
    rows = skip_ratio_survey(seed=0, trials=8, depths=SKIP_DEPTHS, weight_scales=scales)
    return {"caption": "Skip connections keep the residual (Claim 3.1 / E5, measured)",
            "series": [{"skip": r["skip"], "weight_scale": r["weight_scale"], "trials": r["trials"],
                        "quantiles": [[l, *r["quantiles"][l]] for l in SKIP_DEPTHS]} for r in rows]}


def skip_ratio_draw(data: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in data["series"]:
        depths, lo, mid, hi = zip(*r["quantiles"])
        label = f"{'with' if r['skip'] else 'without'} skip, weights N(0, {r['weight_scale']}^2/d)"
        line, = ax.plot(depths, mid, "-" if r["skip"] else "--", marker="o", label=label)
        ax.fill_between(depths, lo, hi, color=line.get_color(), alpha=0.15)
    ax.set_yscale("log")
    _save(fig, ax, path, data, "layer l", "r(X^l) / r(X)  (median, min-max band)", legend_size=7)


# -- LayerNorm (docs/layernorm.md) ----------------------------------------------------------
LN_SEEDS = (21, 33, 51)
LN_DEPTH = 48


def layernorm_equilibrium_data(series: int | None = None) -> dict:
    """rho = r / ||X||_{1,inf} over 48 layers for the sec3.3 witnesses, with and without
    LayerNorm; one seed makes two series."""
    from rankcollapse.numerics.checks.layernorm import rho_trajectory, seeded_case

    rows = []
    for seed in LN_SEEDS[:None if series is None else max(1, (series + 1) // 2)]:
        case = seeded_case(seed)
        for ln in (True, False):
            rows.append({"seed": seed, "position": case.net.layers[0].attention.layernorm.position, "layernorm": ln,
                         "rho_upper": [float(hi) for _, hi in rho_trajectory(case, LN_DEPTH, ln)]})
    return {"caption": "Same weights: LayerNorm stops the collapse (sec3.3 refuted)", "series": rows}


def layernorm_equilibrium_draw(data: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in data["series"]:
        ax.plot(range(len(r["rho_upper"])), [max(v, 1e-70) for v in r["rho_upper"]], "-" if r["layernorm"] else "--",
                label=f"seed {r['seed']} ({r['position']}-LN) {'with' if r['layernorm'] else 'without'} LayerNorm")
    ax.axhline(0.01, color="red", lw=1, label="threshold 1/100")
    ax.set_yscale("log")
    ax.set_ylim(1e-70, 3)
    _save(fig, ax, path, data, "layer l", "r(X^l) / ||X^l||_{1,inf}  (certified upper end)", legend_size=6)


# -- MLP (docs/mlp.md) ----------------------------------------------------------------------
MLP_ACTIVATIONS = ("relu", "gelu", "tanh")
MLP_WIDTHS = (1, 2, 4, 8, 16)


def mlp_ratio_data(series: int | None = None) -> dict:
    """Lemma E3's ratio r(f(Y)) / (lam r(Y)) on random MLPs (5 tokens, 3 features, Gaussian
    weights and biases), certified, against the hidden width; one series per activation."""
    import numpy as np

    from rankcollapse.numerics.checks.common import certified_verdict
    from rankcollapse.numerics.checks.mlp import mlp_case, mlp_pairs

    rng = np.random.default_rng(0)
    rows = []
    for act in MLP_ACTIVATIONS[:series]:
        points = []
        for k in MLP_WIDTHS:
            for _ in range(4):
                case = mlp_case(rng.normal(size=(5, 3)), rng.normal(size=(3, k)), rng.normal(size=(k, 3)), act,
                                rng.normal(size=k), rng.normal(size=3))
                v, _ = certified_verdict(mlp_pairs, case, 0.0)
                points.append([k, v.ratio, v.verdict])
        rows.append({"activation": act, "points": points})
    return {"caption": "Lemma E3 on random MLPs: r(f(Y)) / (lam r(Y)), certified", "series": rows}


def mlp_ratio_draw(data: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (row, marker) in enumerate(zip(data["series"], "os^")):
        ax.scatter([k * (1 + 0.08 * (i - 1)) for k, _, _ in row["points"]], [q for _, q, _ in row["points"]],
                   marker=marker, s=16, alpha=0.7, label=f"{row['activation']} (certified verdicts: "
                   f"{', '.join(sorted({v for _, _, v in row['points']}))})")
    ax.axhline(1, color="red", lw=1, label="Lemma E3's bound")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _save(fig, ax, path, data, "hidden width", "r(f(Y)) / (lam r(Y))", legend_size=7)


# -- the erratum (docs/erratum.md) ----------------------------------------------------------
ERRATUM_DELTAS = tuple(k / 8 for k in range(1, 21))  # 0.125 .. 2.5, exact in binary


def erratum_threshold_data(series: int | None = None) -> dict:
    """The published linear bound P_ij / pi_j - 1 <= 2 delta_i on the two-token family
    pi_2 = e^-40, logit row (0, delta): certified deviation, bound and verdict per delta."""
    import numpy as np
    import sympy

    from rankcollapse.numerics.checks import erratum as E
    from rankcollapse.numerics.checks.common import certified_verdict
    from rankcollapse.proofs.erratum import T_STAR

    points = []
    for delta in ERRATUM_DELTAS:
        v, _ = certified_verdict(E.nohyp_pairs, E.LogitCase(np.array([[0.0, delta]]), np.array([0.0, -40.0])), 0.0)
        points.append([delta, float(v.lhs[1]), float(v.rhs[0]), v.verdict])
    t_star = float(sympy.N(T_STAR, 17))
    return {"caption": f"The linear bound holds up to t* = {t_star:.4f}, and fails beyond (pi_2 = e^-40)",
            "series": [{"name": "two-token family", "t_star": t_star, "points": points}]}


def erratum_threshold_draw(data: dict, path: Path) -> None:
    plt = _pyplot()
    (row,) = data["series"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    deltas = [p[0] for p in row["points"]]
    ax.plot(deltas, [p[2] for p in row["points"]], "k--", label="published bound 2 delta")
    for verdict, marker, colour in (("holds", "o", "C2"), ("violated", "x", "C3")):
        pts = [(p[0], p[1]) for p in row["points"] if p[3] == verdict]
        if pts:
            ax.plot(*zip(*pts), marker, color=colour, linestyle="none",
                    label=f"P_12 / pi_2 - 1, certified: {verdict}")
    ax.axvline(row["t_star"], color="0.5", lw=1, label=f"t* = {row['t_star']:.4f} (e^t = 1 + 2t)")
    _save(fig, ax, path, data, "delta (spread of the logit row)", "deviation of P_12 from pi_2, relative")


@dataclass(frozen=True)
class Figure:
    """``compute(series)`` measures the data (all series, or the first ``series``: a prefix of
    the full computation, for tests); ``draw(data, path)`` writes the PNG from the data."""

    compute: Callable[..., dict]
    draw: Callable[[dict, Path], None]


# -- lower bounds (docs/lower_bounds.md) ---------------------------------------------------
TIGHT_RATE_CAPTION = "The cubic rate is tight"
TIGHT_RATE_LABELS = {"log10_lower": ("v", "lower bound, c = (1/2)(1 - t0^2/3)"),
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
            out.append({"x0": x0, "rows": tight_table(tight_pairs(ctx, tight_case(x0, 1, 1, 1, depth)))})
    return {"caption": TIGHT_RATE_CAPTION, "series": out}


def tight_rate_draw(data: dict, path: Path) -> None:
    """Plotted as -log10(value) / 3^l: a bound a^((3^l-1)/2) r^(3^l) tends to -log10(sqrt(a) r),
    so the same exponent 3^l shows as three curves that level off side by side (a different
    exponent would make them diverge)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for row, style in zip(data["series"], ("-", "--")):
        layers = [r["layer"] for r in row["rows"]]
        for key, (marker, label) in TIGHT_RATE_LABELS.items():
            ax.plot(layers, [-r[key] / 3**r["layer"] for r in row["rows"]], style, marker=marker, ms=4,
                    label=f"x0 = {row['x0']}: {label}")
    _save(fig, ax, path, data, "layer l", "-log10(value) / 3^l  (all three tend to a constant)", legend_size=6)


FIGURES = {
    "composite_norm": Figure(composite_norm_data, composite_norm_draw),
    "single_head_depth": Figure(single_head_depth_data, single_head_depth_draw),
    "path_lengths": Figure(path_lengths_data, path_lengths_draw),
    "gamma_needed": Figure(gamma_needed_data, gamma_needed_draw),
    "skip_ratio": Figure(skip_ratio_data, skip_ratio_draw),
    "layernorm_equilibrium": Figure(layernorm_equilibrium_data, layernorm_equilibrium_draw),
    "mlp_ratio": Figure(mlp_ratio_data, mlp_ratio_draw),
    "erratum_threshold": Figure(erratum_threshold_data, erratum_threshold_draw),
    "tight_rate": Figure(tight_rate_data, tight_rate_draw),
}


# -- figures other commands make from their own reports ------------------------------------
# `rankcollapse real-model` and `rankcollapse experiment` write a JSON report and draw figures
# from it; measuring them again takes minutes to an hour. `rankcollapse figures` redraws them
# from the report recorded under docs/figures/ with the command's own plotting function, so a
# changed plotting function or an older report format shows up here (tests/test_figures.py).

def _realmodel_format() -> str:
    from rankcollapse.realmodel.report import FORMAT as REALMODEL_FORMAT

    return REALMODEL_FORMAT


def _experiment_format() -> str:
    from rankcollapse.experiments.report import FORMAT as EXPERIMENT_FORMAT

    return EXPERIMENT_FORMAT


def realmodel_experiment(data: dict):
    """The :class:`rankcollapse.realmodel.measure.Experiment` a real-model report was written
    from, as far as the plots read it (17-digit decimals give back the doubles exactly; null, a
    ratio below the double range or a bracket not computed, is nan as in the run)."""
    from fractions import Fraction

    from rankcollapse.realmodel.measure import Curves, Experiment, Value

    def num(v) -> float:
        return float("nan") if v is None else float(v)

    def value(token_mean, r_ratio) -> Value:
        exact = None if token_mean is None else Fraction(token_mean)
        return Value(math.nan if exact is None else float(exact) if float(exact) or not exact else exact,
                     None if r_ratio is None else (Fraction(r_ratio[0]), Fraction(r_ratio[1])))

    exp = Experiment(data["model"], data["architecture"], data["sequences"], data["tokens"], data["bracket_sequences"],
                     data["seed"], jobs=data["jobs"], seconds=float(data["seconds"]))
    for v in data["variants"]:
        values = [[value(layer["token_mean"][s], layer["r_ratio"][s]) for layer in v["layers"]]
                  for s in range(data["sequences"])]
        exp.curves.append(Curves(v["name"], v["init"], values))
    for p in data["paths"]:  # the plot reads the token-mean ratio of each path (r only as a spread)
        exp.paths.setdefault(p["init"], {})[p["length"]] = [(num(x), num(None)) for x in p["values_token_mean"]]
    return exp


def realmodel_slice(data: dict, layers: int = 2, variant: str = "pure-attention", init: str = "pretrained") -> list[float]:
    """The token-mean ratios of sequence 0 at layers 0..``layers`` of one variant, measured now
    at the report's settings (its model folder or, for the MiniLM name, the weights package;
    its token count and seed) with the run's own pieces: seconds, where the whole run takes
    minutes, so tests/test_figures.py can check a recorded report against the code."""
    from rankcollapse.numerics import architectures as arch
    from rankcollapse.numerics.checkpoint import MINILM_NAME
    from rankcollapse.numerics.network import forward_split
    from rankcollapse.realmodel import measure

    model = measure.open_model(None if data["model"] == MINILM_NAME else data["model"])
    (ids,) = measure.token_ids(model, 1, data["tokens"])
    with measure.one_blas_thread():
        config, state, blocks = measure._blocks(model.folder, init, data["seed"])
        net = arch.variant(config, blocks[:layers], variant)
        return [measure.ratios(Z, False).token_mean for Z in forward_split(measure.ctx, net, arch.embed(config, state, ids))]


def _model_short(data: dict) -> str:
    """The model folder's last part, and its architecture where that differs."""
    short = data["model"].rstrip("/").split("/")[-1]
    return short if short == data["architecture"] else f"{short} ({data['architecture']})"


def realmodel_caption(data: dict) -> str:
    return (f"{_model_short(data)}: residual ratio per layer, "
            f"{data['sequences']} sequences of {data['tokens']} tokens")


def realmodel_draw(data: dict, path: Path) -> None:
    from rankcollapse.realmodel.plots import plot_curves

    plot_curves(realmodel_experiment(data), str(path))


def realmodel_paths_caption(data: dict) -> str:
    samples = sorted({p["samples"] for p in data["paths"]})
    return f"{_model_short(data)}: products of attention matrices along {'/'.join(map(str, samples))} random paths per length"


def realmodel_paths_draw(data: dict, path: Path) -> None:
    from rankcollapse.realmodel.plots import plot_paths

    plot_paths(realmodel_experiment(data), str(path))


def experiment_caption(data: dict) -> str:
    settings = data["settings"]
    quick = ", quick" if settings["quick"] else ""
    if data["experiment"] == "circle":
        variants = list(dict.fromkeys(v["variant"] for v in data["results"]["variants"]))
        inner = "" if settings["inner_skip"] else ", no inner skip"
        return f"circle: {', '.join(variants)}{inner}, hidden {settings['hidden']}, {settings['repeats']} seeds{quick}"
    from rankcollapse.experiments.report import training_changes

    changes = training_changes(data["task"], settings)
    return (f"{data['task']}: token accuracy of sums of random paths, {settings['repeats']} draws{quick}"
            + (f", {changes}" if changes else ""))


def experiment_draw(data: dict, path: Path) -> None:
    from rankcollapse.experiments.report import plot_circle, plot_paths

    run = {"settings": data["settings"], "results": data["results"]}
    plot_circle(run, str(path)) if data["experiment"] == "circle" else plot_paths(data["task"], run, str(path))


@dataclass(frozen=True)
class Report:
    """A figure drawn from another command's report ``docs/figures/SOURCE.json``: ``format()``
    is the format that command writes now, ``fields`` the top-level keys the drawing reads,
    ``caption(data)`` the page's caption, ``draw`` the command's plotting function applied to
    the recorded report, ``command`` how to record it."""

    source: str
    format: Callable[[], str]
    fields: tuple
    caption: Callable[[dict], str]
    draw: Callable[[dict, Path], None]
    command: str


_REAL = "rankcollapse real-model --jobs 2 --json docs/figures/real_model.json (docs/real_model.md)"
_ARCH = "python benchmarks/bench_realmodel.py architectures DIR (docs/real_model.md)"
_REAL_FIELDS = ("model", "architecture", "sequences", "tokens", "bracket_sequences", "seed", "jobs", "seconds",
                "variants", "paths")
_EXPERIMENT_FIELDS = ("experiment", "task", "settings", "results")
REPORTS = {
    "real_model": Report("real_model", _realmodel_format, _REAL_FIELDS, realmodel_caption, realmodel_draw, _REAL),
    "real_model_paths": Report("real_model", _realmodel_format, _REAL_FIELDS, realmodel_paths_caption,
                               realmodel_paths_draw, _REAL),
    **{f"real_model_{a}": Report(f"real_model_{a}", _realmodel_format, _REAL_FIELDS, realmodel_caption, realmodel_draw,
                                 _ARCH)
       for a in ("bert", "albert", "gpt2", "xlnet", "roberta", "distilbert")},
    **{f"experiment_{n}": Report(f"experiment_{n}", _experiment_format, _EXPERIMENT_FIELDS, experiment_caption,
                                 experiment_draw, "rankcollapse experiment ... --json (docs/experiments.md)")
       for n in ("sort", "sort_run_sh", "convex_hull", "convex_hull_quick", "memorization", "circle",
                 "circle_no_inner_skip")},
}


def _read_json(path: Path, when_missing: str, kind: str):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: {when_missing}") from None
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: not a readable JSON {kind}: {e}") from None


def load_report(folder: Path, name: str) -> dict:
    """The recorded report a :data:`REPORTS` figure is drawn from; missing, malformed or in an
    older format than its command writes now is a UsageError naming the file."""
    report = REPORTS[name]
    path = folder / f"{report.source}.json"
    data = _read_json(path, f"no recorded report for figure {name}; record it with {report.command}", "report")
    expected = report.format()
    if not isinstance(data, dict) or data.get("format") != expected:
        found = data.get("format") if isinstance(data, dict) else None
        raise UsageError(f"{path}: format {found!r}, but the command now writes {expected!r}: "
                         f"record it again with {report.command}")
    missing = [key for key in report.fields if key not in data]
    if missing:
        raise UsageError(f"{path}: missing field(s) {', '.join(map(repr, missing))}")
    return data


def stamp(path: Path, caption: str, data: dict) -> None:
    """Write the caption and the report's digest into a PNG another command's plot drew (its
    savefig takes no metadata), as :func:`_save` does for the figures here."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    with Image.open(path) as image:
        image.load()
    info = PngInfo()
    info.add_text("Software", image.text.get("Software", ""))  # matplotlib's version, as in _save's PNGs
    info.add_text("Title", caption)
    info.add_text("Description", f"rankcollapse-figure sha256 {digest(data)}")
    image.save(path, pnginfo=info)


def draw_report(name: str, data: dict, path: Path) -> None:
    report = REPORTS[name]
    report.draw(data, path)
    stamp(path, report.caption(data), data)


def record(name: str, data: dict) -> dict:
    return {"format": FORMAT, "name": name, **data}


def load_recording(path: Path, name: str) -> dict:
    """A recording ``NAME.json``; a missing or malformed one is a UsageError naming the file."""
    data = _read_json(path, f"no recorded data for figure {name}; make it with --recompute", "recording")
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("name") != name:
        raise UsageError(f"{path}: expected format {FORMAT!r} for figure {name!r}")
    for key in ("caption", "series"):
        if key not in data:
            raise UsageError(f"{path}: missing field {key!r}")
    return data


def cmd_figures(args) -> int:
    out = Path(args.out)
    names = args.only or [*FIGURES, *REPORTS]
    unknown = [n for n in names if n not in FIGURES and n not in REPORTS]
    if unknown:
        raise UsageError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join([*FIGURES, *REPORTS])}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    source = Path(args.data) if args.data else out
    # read every recording before writing anything: a bad one leaves all figures as they were;
    # the other commands' reports are never remeasured here (--recompute redraws them)
    data = {n: load_report(source, n) for n in names if n in REPORTS}
    if not args.recompute:
        data |= {n: load_recording(source / f"{n}.json", n) for n in names if n in FIGURES}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot create the directory: {e.strerror or e}") from None
    for name in names:
        if name in REPORTS:
            draw_report(name, data[name], out / f"{name}.png")
            print(f"wrote {out / f'{name}.png'} (from {source / REPORTS[name].source}.json)")
            continue
        if args.recompute:
            data[name] = record(name, FIGURES[name].compute())
            (out / f"{name}.json").write_text(json.dumps(data[name], indent=1) + "\n")
            print(f"wrote {out / f'{name}.json'}")
        FIGURES[name].draw(data[name], out / f"{name}.png")
        print(f"wrote {out / f'{name}.png'}")
    return 0


def register(sub) -> None:
    f = sub.add_parser("figures", help="draw the docs' figures from their recorded data")
    f.add_argument("--out", default="docs/figures", help="where the PNGs (and with --recompute the data) go")
    f.add_argument("--data", help="where the recorded NAME.json files are (default: --out)")
    f.add_argument("--recompute", action="store_true",
                   help="measure the data again and record it first (minutes); the real-model and experiment "
                        "figures are redrawn from their commands' reports, never remeasured here")
    f.add_argument("--only", nargs="*", metavar="NAME")
    f.set_defaults(func=cmd_figures)
