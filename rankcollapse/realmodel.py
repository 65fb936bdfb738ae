"""Rank collapse in a real pretrained transformer: the paper's Section 4 on all-MiniLM-L6-v2.

``rankcollapse real-model`` runs a 6-layer BERT (see :mod:`rankcollapse.numerics.bert`) on English passages
(``data/english.txt``) and measures, layer by layer,

* ``ratio_token_mean`` = ``||X^l - 1 mean(X^l)^T||_{1,inf} / ||X^l||_{1,inf}`` (the paper's
  measure, between 1 and 2 times the next one: docs/real_model.md proves it), and
* ``ratio_exact`` = ``r(X^l) / ||X^l||_{1,inf}`` with the exact composite residual (one LP
  family per matrix, so only on the first ``--exact-sequences`` sequences),

for the four variants of the paper's Figure 2 (pure attention, attention + MLP, attention + skip,
full), with pretrained weights and at BERT's random initialisation. It also measures the residual
of products of attention matrices along random paths (Thm 2.1) and how far the explicit bounds
(docs/theory.md §4) are from what the pretrained weights do.

Everything runs in float64: this is an experiment, not a certificate (docs/theory.md §5).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources

import numpy as np

from rankcollapse.numerics import bert
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.exact import decimal_string
from rankcollapse.numerics.network import attention_probs, forward, forward_split, layer_forward
from rankcollapse.numerics.norms import norm_composite

from .errors import UsageError

__all__ = ["register", "run_experiment", "load_passages", "report_json", "main"]

FORMAT = "rankcollapse-realmodel/2"  # /2: bounds entries count their sequences
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
INITS = ("pretrained", "random")
PATH_LENGTHS = range(1, 7)
ctx = get_context("float64")


# -- inputs ---------------------------------------------------------------------------------

def load_passages() -> list[str]:
    """The packaged passages: paragraphs separated by blank lines, '#' lines are comments."""
    text = (resources.files("rankcollapse") / "data" / "english.txt").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


def token_ids(sequences: int, tokens: int) -> list[np.ndarray]:
    """The first ``sequences`` passages as exactly ``tokens`` ids each ([CLS] ... [SEP]), so no
    padding is needed and every sequence has the same n."""
    passages = load_passages()
    if not 1 <= sequences <= len(passages):
        raise UsageError(f"--sequences must be between 1 and {len(passages)}, got {sequences}")
    tok = bert.load_tokenizer(tokens)
    ids = [np.array(tok.encode(p).ids) for p in passages[:sequences]]
    short = [i for i, x in enumerate(ids) if len(x) < tokens]
    if short:
        raise UsageError(f"--tokens {tokens}: passage(s) {short} are shorter than that")
    return ids


# -- measurements ---------------------------------------------------------------------------

def residual_ratios(X, exact: bool) -> tuple[float, float]:
    """``(token-mean ratio, exact ratio or nan)`` of one matrix."""
    from rankcollapse.numerics.residual import r_float, token_mean_residual

    size = float(norm_composite(ctx, X))
    # r and the token-mean residual are shift invariant, and subtracting a row is exact once the
    # rows are close (Sterbenz): so near collapse we measure the computed matrix, not the
    # rounding of its column means.
    token_mean = float(norm_composite(ctx, token_mean_residual(ctx, X - X[0]))) / size
    return token_mean, (r_float(X) / size if exact else math.nan)


@dataclass
class Curves:
    """One variant at one initialisation: ratios[sequence, layer] (nan = not computed)."""

    name: str
    init: str
    token_mean: np.ndarray
    exact: np.ndarray


@dataclass
class Experiment:
    sequences: int
    tokens: int
    exact_sequences: int
    seed: int
    curves: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)     # init -> {length: [(token_mean, exact), ...]}
    bounds: dict = field(default_factory=dict)
    seconds: float = 0.0


def _collapse_curves(config, state, init, ids, exact_sequences, advance) -> list[Curves]:
    nets = {name: bert.variant(config, state, name) for name in bert.VARIANTS}
    shape = (len(ids), config.layers + 1)
    tm = {name: np.full(shape, math.nan) for name in nets}
    ex = {name: np.full(shape, math.nan) for name in nets}
    for s, x in enumerate(ids):
        X0 = bert.embed(config, state, x)
        first = residual_ratios(X0, exact=s < exact_sequences)  # layer 0 is shared by all variants
        for name, net in nets.items():
            tm[name][s, 0], ex[name][s, 0] = first
            for l, Xl in enumerate(forward(ctx, net, X0)[1:], start=1):
                tm[name][s, l], ex[name][s, l] = residual_ratios(Xl, exact=s < exact_sequences)
            advance()
    return [Curves(name, init, tm[name], ex[name]) for name in nets]


def _attention_paths(config, state, ids, samples, exact_samples, rng, advance) -> dict:
    """Residual ratios of ``P_path = P^{l_k}_{h_k} ... P^{l_1}_{h_1}`` (Thm 2.1) in the full
    model: k distinct layers l_1 < ... < l_k and a head per layer, drawn at random, on a random
    sequence, as in the paper's path experiment."""
    net = bert.variant(config, state, "full")
    # P^l_h is computed on the actual input of layer l in the full model.
    inputs = [forward(ctx, net, bert.embed(config, state, x))[:-1] for x in ids]
    out = {}
    for k in PATH_LENGTHS:
        rows = []
        for i in range(samples):
            s = rng.integers(len(ids))
            P = np.eye(len(ids[s]))
            for l in sorted(rng.choice(config.layers, size=k, replace=False)):
                head = net.layers[l].attention.heads[rng.integers(config.heads)]
                P = attention_probs(ctx, inputs[s][l], head, config.d_qk) @ P
            rows.append(residual_ratios(P, exact=i < exact_samples))
            advance()
        out[k] = rows
    return out


def _e4_log10(constants, n: int, d_qk: int, log10_B0: float) -> list:
    """Theorem E4's ``log10 B_l`` in log space (mpmath), ``None`` once it is not representable.

    Same recursion as :func:`rankcollapse.numerics.bounds.apriori_bounds` (``B_l = lam 4 Gamma beta H s
    B^3``, ``Gamma = sqrt(n)/2 phi(2 s kappa B^2)``), which evaluates it in a number context and
    overflows here: on the pretrained weights ``log10 B_1`` is about 5e5 and ``log B_2`` has about
    10^6 digits. The per-layer
    constants come from :func:`rankcollapse.numerics.bounds.layer_constants`.
    """
    import mpmath

    with mpmath.workdps(30):
        s = 1 / mpmath.sqrt(d_qk)
        logB, out = mpmath.mpf(log10_B0) * mpmath.log(10), []
        for kappa, beta, H, lam in constants:
            if logB is None or logB > 10**9:  # then t = 2 s kappa B^2 has over 10^9 digits
                logB = None
            else:
                t = 2 * s * kappa * mpmath.exp(2 * logB)
                # log phi(t) = log((e^t - 1)/t), stable for every t > 0
                log_phi = t + mpmath.log(-mpmath.expm1(-t)) - mpmath.log(t)
                logB = (mpmath.log(lam * 4 * beta * H * s * mpmath.sqrt(n) / 2) + log_phi + 3 * logB)
            out.append(None if logB is None else logB / mpmath.log(10))
    return out


def _explicit_bounds(config, state, ids, advance) -> list[dict]:
    """docs/theory.md §4 on the pretrained weights, per layer and sequence, as log10 values.

    * ``one_step`` (Lemma E2): the attention sublayer of layer l (its LayerNorm removed, since
      the lemma is about ``SA`` alone) at the actual input ``X^{l-1}`` of the pure-attention
      variant, with x = the token mean; observed ``r(SA_l(X^{l-1}))``.
    * ``E4`` (a priori) and ``published`` (Cor 2.3 with gamma = 1 and one beta for all layers,
      as stated): the theory's SAN (no skip, no MLP, no LayerNorm) from ``X^0``, with
      ``B_0 = r0`` = the token-mean residual of ``X^0``; observed ``r(X^l)`` in that SAN.

    "Observed" is the token-mean residual, an upper bound within a factor 2 of r (see
    docs/real_model.md), so log10(bound / observed) understates the gap by at most 0.31; the
    published form raises that same r0 to 3^l, so it can overstate its own bound by up to
    3^l log10(r0 / r(X^0)) (docs/real_model.md gives the measured size). The observed value is
    read from the split's residual part, so it is a measurement far below the float64 floor
    of a whole matrix; None where that part is exactly 0 in doubles.
    """
    from rankcollapse.numerics.bounds import layer_constants, one_step_bound, published_closed_form

    pure = bert.variant(config, state, "pure-attention")
    san = bert.network(config, state, skip=False, mlp=False, layernorm=False)
    constants = [layer_constants(ctx, layer) for layer in san.layers]  # (kappa, beta_E2, beta_pub, H, lam)
    beta_published = max(c[2] for c in constants)
    rows = {l: {"one_step": [], "one_step_observed": [], "E4": [], "published": [], "san_observed": []}
            for l in range(1, config.layers + 1)}
    for x in ids:
        X0 = bert.embed(config, state, x)
        # splits (rankcollapse.numerics.network.Split): their residual parts stay accurate far below the
        # float64 floor, except where a LayerNorm (pure-attention variant) rounds them to 0
        pure_inputs, san_outputs = forward_split(ctx, pure, X0), forward_split(ctx, san, X0)
        r0 = _residual_norm(X0)
        e4 = _e4_log10([(k, b, H, lam) for k, b, _, H, lam in constants], len(x), config.d_qk,
                       math.log10(r0))
        for l, row in rows.items():
            Z, layer = pure_inputs[l - 1], san.layers[l - 1]
            bound = one_step_bound(ctx, Z, Z.R.mean(axis=0), layer, config.d_qk)  # x = token mean
            row["one_step"].append(math.log10(bound) if bound > 0 else None)
            row["one_step_observed"].append(_log10_residual(layer_forward(ctx, Z, layer, config.d_qk)))
            row["E4"].append(e4[l - 1])
            row["published"].append(float(published_closed_form(
                l, config.heads, beta_published, "1", config.d_qk, r0)["log10"]))
            row["san_observed"].append(_log10_residual(san_outputs[l]))
        advance()
    return [{"layer": l, **row} for l, row in rows.items()]


# A relative residual below this is float64 rounding noise, not a measurement (docs/theory.md §5): the
# entries are O(||X||_max) and each carries a relative rounding error of about 1e-16 times the
# number of terms summed into it.
FLOAT64_FLOOR = 1e-12


def _residual_norm(X) -> float:
    """The token-mean residual norm (measured as in :func:`residual_ratios`)."""
    return residual_ratios(X, exact=False)[0] * float(norm_composite(ctx, X))


def _log10_residual(Z) -> float | None:
    """log10 of the token-mean residual norm of a split, from its residual part alone (accurate
    relative to itself); None where the rows are exactly equal."""
    from rankcollapse.numerics.residual import token_mean_residual

    value = float(norm_composite(ctx, token_mean_residual(ctx, Z.R)))
    return math.log10(value) if value > 0 else None


def run_experiment(sequences: int = 32, tokens: int = 128, exact_sequences: int = 1,
                   path_samples: int = 64, seed: int = 0, progress=None) -> Experiment:
    """The whole measurement. ``progress(total)`` returns an ``advance()`` callback (or None)."""
    if exact_sequences < 0 or path_samples < 1:
        raise UsageError("--exact-sequences must be >= 0 and --path-samples >= 1")
    start = time.perf_counter()
    try:
        config, pretrained = bert.load_pretrained()
        if not 2 <= tokens <= config.max_position:  # [CLS] and [SEP] take two
            raise UsageError(f"--tokens must be between 2 and {config.max_position}, got {tokens}")
        ids = token_ids(sequences, tokens)
    except bert.ModelUnavailable as e:
        raise UsageError(str(e)) from None
    states = {"pretrained": pretrained, "random": bert.random_state(config, seed)}
    exact_paths = min(exact_sequences, path_samples)
    total = len(states) * (len(bert.VARIANTS) * sequences + len(PATH_LENGTHS) * path_samples) + sequences
    advance = progress(total) if progress else (lambda: None)
    exp = Experiment(sequences, tokens, min(exact_sequences, sequences), seed)
    rng = np.random.default_rng(seed)
    for init, state in states.items():
        exp.curves += _collapse_curves(config, state, init, ids, exact_sequences, advance)
        exp.paths[init] = _attention_paths(config, state, ids, path_samples, exact_paths, rng, advance)
    exp.bounds = {"weights": "pretrained", "layers": _explicit_bounds(config, pretrained, ids, advance)}
    exp.seconds = time.perf_counter() - start
    return exp


# -- output ---------------------------------------------------------------------------------

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
            tm, ex = _spread(c.token_mean[:, l]), _spread(c.exact[:, l])
            # ratio_exact averages fewer sequences than ratio_token_mean: compare per sequence
            paired = c.token_mean[:, l] / c.exact[:, l]
            paired = paired[np.isfinite(paired)]
            layers.append({"layer": l, "ratio_token_mean": tm["mean"], "ratio_exact": ex["mean"],
                           "token_mean_std": tm["std"], "token_mean_quartiles": tm["quartiles"],
                           "exact_std": ex["std"], "exact_quartiles": ex["quartiles"],
                           "exact_count": ex["count"],
                           "token_mean_over_exact_max": _dec(paired.max()) if len(paired) else None,
                           "float64_floor": bool(np.nanmean(c.token_mean[:, l]) < FLOAT64_FLOOR)})
        variants.append({"name": c.name, "init": c.init, "layers": layers})
    paths = [{"init": init, "length": k, "samples": len(rows),
              "token_mean": _spread([r[0] for r in rows]), "exact": _spread([r[1] for r in rows]),
              "values_token_mean": [_dec(r[0]) for r in rows]}
             for init, by_length in exp.paths.items() for k, rows in by_length.items()]
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
    return {"format": FORMAT, "model": MODEL_NAME, "sequences": exp.sequences, "tokens": exp.tokens,
            "exact_sequences": exp.exact_sequences, "seed": exp.seed, "seconds": _dec(exp.seconds),
            "variants": variants, "paths": paths,
            "bounds": {"weights": exp.bounds["weights"], "variant": "pure-attention", "layers": bounds}}


def print_report(exp: Experiment, console) -> None:
    from rich.table import Table

    for init in INITS:
        curves = [c for c in exp.curves if c.init == init]
        table = Table(title=f"{init}: ||res(X^l)||/||X^l|| (token mean; exact r in brackets), "
                            f"mean over {exp.sequences} sequences of {exp.tokens} tokens")
        table.add_column("layer", justify="right")
        for c in curves:
            table.add_column(c.name, justify="right")
        for l in range(curves[0].token_mean.shape[1]):
            cells = []
            for c in curves:
                cell = f"{np.mean(c.token_mean[:, l]):.3g}"
                if not np.isnan(c.exact[:, l]).all():
                    cell += f" [{np.nanmean(c.exact[:, l]):.3g}]"
                cells.append(cell)
            table.add_row(str(l), *cells)
        console.print(table)
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


STYLE = {"pure-attention": ("C3", "o"), "attention+mlp": ("C1", "s"),
         "attention+skip": ("C2", "^"), "full": ("C0", "D")}


def plot_curves(exp: Experiment, path: str) -> None:
    """The paper's Figure 2 layout: one panel per initialisation, the four variants' mean
    token-mean ratio (band: quartiles over sequences), exact-r ratios as open markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, init in zip(axes, INITS):
        for c in (c for c in exp.curves if c.init == init):
            colour, marker = STYLE[c.name]
            # rounding noise below the floor is drawn at the floor, so the log axis stays readable
            tm = np.maximum(c.token_mean, FLOAT64_FLOOR / 10)
            layers = np.arange(tm.shape[1])
            ax.plot(layers, tm.mean(axis=0), color=colour, marker=marker, label=c.name)
            q1, q3 = np.percentile(tm, [25, 75], axis=0)
            ax.fill_between(layers, q1, q3, color=colour, alpha=0.2)
            if not np.isnan(c.exact).all():
                ex = np.maximum(np.nanmean(c.exact, axis=0), FLOAT64_FLOOR / 10)
                ax.plot(layers, ex, color=colour, marker=marker, linestyle="none", markerfacecolor="none",
                        markersize=10)
        ax.axhspan(FLOAT64_FLOOR / 20, FLOAT64_FLOOR, color="0.85", zorder=0)
        ax.set_yscale("log")
        ax.set_title(f"{init} ({MODEL_NAME.split('/')[1]})")
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(r"$\|res(X^l)\|_{1,\infty} / \|X^l\|_{1,\infty}$")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.text(0.5, 0.01, f"lines: token-mean residual over {exp.sequences} sequences (band: quartiles); "
             f"open markers: exact r on the first {exp.exact_sequences}; grey: float64 rounding floor",
             ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_paths(exp: Experiment, path: str) -> None:
    """Box plot of the residual ratio of attention-path products against path length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.35
    for i, (init, by_length) in enumerate(exp.paths.items()):
        data = [np.maximum([r[0] for r in rows], FLOAT64_FLOOR / 10) for rows in by_length.values()]
        pos = np.array(list(by_length)) + (i - 0.5) * width
        box = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True, manage_ticks=False)
        for patch in box["boxes"]:
            patch.set_facecolor(f"C{i}")
            patch.set_alpha(0.5)
        ax.plot([], [], color=f"C{i}", linewidth=8, alpha=0.5, label=f"{init} (full model)")
    ax.set_xticks(list(PATH_LENGTHS))
    ax.set_yscale("log")
    ax.set_xlabel("path length k (attention matrices multiplied)")
    ax.set_ylabel(r"$\|res(P_{path})\|_{1,\infty} / \|P_{path}\|_{1,\infty}$")
    ax.set_title("products of attention matrices along random paths")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- command line ---------------------------------------------------------------------------

def cmd_real_model(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rankcollapse.numerics.instance import write_json_atomic

    from .cli import _check_writable

    for option in ("json", "plot", "paths_plot"):
        _check_writable(getattr(args, option), "--" + option.replace("_", "-"))
    console = Console()
    with Progress(TextColumn("real model"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        def progress(total):
            task = bar.add_task("", total=total)
            return lambda: bar.advance(task)

        exp = run_experiment(args.sequences, args.tokens, args.exact_sequences, args.path_samples,
                             args.seed, progress)
    print_report(exp, console)
    if args.json:
        write_json_atomic(args.json, report_json(exp))
        console.print(f"wrote {args.json}")
    for target, plot in ((args.plot, plot_curves), (args.paths_plot, plot_paths)):
        if target:
            plot(exp, target)
            console.print(f"wrote {target}")
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``real-model`` to the ``rankcollapse`` command line."""
    p = subparsers.add_parser(
        "real-model", help="rank collapse in pretrained all-MiniLM-L6-v2 (the paper's Section 4)",
        description=__doc__.split("\n")[0] + f" Needs: {bert.INSTALL_COMMAND}")
    p.add_argument("--json", metavar="FILE", help="write the measurements (rankcollapse-realmodel/2)")
    p.add_argument("--plot", metavar="FILE", help="the Figure-2-style plot (PNG)")
    p.add_argument("--paths-plot", metavar="FILE", help="box plot of attention-path residuals (PNG)")
    p.add_argument("--sequences", type=int, default=32, help="passages to run (default 32)")
    p.add_argument("--tokens", type=int, default=128, help="tokens per passage (default 128)")
    p.add_argument("--exact-sequences", type=int, default=1,
                   help="sequences (and path samples per length) that also get the exact r: "
                        "LPs taking up to a minute per matrix (default 1)")
    p.add_argument("--path-samples", type=int, default=64, help="random paths per length (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random initialisation and path sampling")
    p.set_defaults(func=cmd_real_model)
    return p


def main(argv=None) -> int:
    """``python -m rankcollapse.realmodel [options]`` = ``rankcollapse real-model [options]``."""
    from .cli import main as cli_main

    return cli_main(["real-model", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
