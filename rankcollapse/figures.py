"""``rankcollapse figures``: every figure of the docs, made from scratch by one command.

Each entry of :data:`FIGURES` is ``name -> function(path)`` writing one PNG; the command runs
all of them (or those named with ``--only``) into ``--out`` (default ``docs/figures``).
"""

from __future__ import annotations

from pathlib import Path

from rankcollapse.numerics.exact import log10_abs

from .errors import UsageError

# matplotlib and rankcollapse.numerics.certify (SymPy proofs) take seconds to import: the figure functions
# import them when they run, so that ``rankcollapse --help`` (which registers this command) is fast.


def _pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, ax, path: Path, xlabel: str, ylabel: str, title: str | None = None, legend_size: int = 8) -> None:
    """Label, lay out, write and close a figure (the same finish for every figure)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)


def _minus_log10(q) -> float:
    return float("nan") if q <= 0 else -log10_abs(q)


def single_head_depth(path: Path, depth: int = 6) -> None:
    """Certified residual r(X^l) and the three bounds against depth, as -log10 (docs/theory.md §4)."""
    from rankcollapse.numerics.certify import check_network
    from rankcollapse.numerics.examples import contracting_single_head

    plt = _pyplot()
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
    _save(fig, ax, path, "layer l", "-log10 (larger = smaller residual)", title=f"Pure single-head SAN, n = d = 8: certified in arb at {report.bits} bits")


# -- issue 3: multi-head, paths, skip, LayerNorm (rankcollapse.numerics.checks.*) --------------------------
def path_lengths(path: Path) -> None:
    """Share of paths of each length with skip connections, exact (rankcollapse.proofs.paths), log scale."""
    from rankcollapse.numerics.checks.paths import ARCHITECTURES, length_table

    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name in ("BERT-base", "BERT-large", "GPT-2 XL", "GPT-3 175B"):
        L, H = ARCHITECTURES[name]
        t = length_table(L, H)
        ks = sorted(t["log10_share"])
        ax.plot([k / L for k in ks], [t["log10_share"][k] for k in ks], label=f"{name}: L={L}, H={H}")
    ax.set_ylim(-40, 1)
    _save(fig, ax, path, "path length k / L (k = number of attention heads on the path)", "log10 share of paths, C(L,k) H^k / (1+H)^L", title="With skip connections almost every path is long")


def gamma_needed(path: Path) -> None:
    """Per-layer gamma needed, r(X^l) / (4 beta H lam s r(X^(l-1))^3), on random networks."""
    import numpy as np

    from rankcollapse.numerics.checks.multi_head import gamma_needed as measure, random_network
    from rankcollapse.numerics.strategies import Case

    plt = _pyplot()

    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for H, marker in ((1, "o"), (2, "s"), (3, "^")):
        xs, ys = [], []
        for n in (2, 4, 8, 16):
            for ws in (0.25, 0.5, 1.0, 2.0):
                for _ in range(2):
                    net = random_network(rng, n, 4, H, 2, ws)
                    for g in measure(Case(rng.normal(size=(n, 4)), net)):
                        xs.append(n * (1 + 0.06 * (H - 2)))
                        ys.append(float(g.upper))
        ax.scatter(xs, ys, marker=marker, s=14, alpha=0.6, label=f"H = {H} (random, certified upper ends)")
    ax.axhline(1, color="red", lw=1, label="published gamma = 1")
    ax.axhline(1 / 8, color="black", ls="--", lw=1, label="largest found adversarially: 1/8 (n = 2)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _save(fig, ax, path, "tokens n", "gamma needed by one layer", legend_size=7)


def skip_ratio(path: Path) -> None:
    """r(X^l) / r(X) with and without skip connections (random attention networks)."""
    from rankcollapse.numerics.checks.skip import skip_ratio_survey

    plt = _pyplot()

    depths = (1, 2, 3, 4, 6, 8, 12)
    rows = skip_ratio_survey(seed=0, trials=8, depths=depths, weight_scales=(0.5, 1.0))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in rows:
        q = r["quantiles"]
        style = "-" if r["skip"] else "--"
        label = f"{'with' if r['skip'] else 'without'} skip, weights N(0, {r['weight_scale']}^2/d)"
        line, = ax.plot(depths, [q[l][1] for l in depths], style, marker="o", label=label)
        ax.fill_between(depths, [q[l][0] for l in depths], [q[l][2] for l in depths], color=line.get_color(), alpha=0.15)
    ax.set_yscale("log")
    _save(fig, ax, path, "layer l", "r(X^l) / r(X)  (median, min-max band)", title="Skip connections keep the residual (Claim 3.1 / E5, measured)", legend_size=7)


def layernorm_equilibrium(path: Path) -> None:
    """rho = r / ||X||_{1,inf} over 48 layers for the sec3.3 witness, with and without LayerNorm."""
    from rankcollapse.numerics.checks.layernorm import rho_trajectory, seeded_case

    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for seed in (21, 33, 51):
        case = seeded_case(seed)
        pos = case.net.layers[0].attention.layernorm.position
        for ln, style in ((True, "-"), (False, "--")):
            rho = rho_trajectory(case, 48, ln)
            ax.plot(range(49), [max(float(hi), 1e-70) for _, hi in rho], style,
                    label=f"seed {seed} ({pos}-LN) {'with' if ln else 'without'} LayerNorm")
    ax.axhline(0.01, color="red", lw=1, label="threshold 1/100")
    ax.set_yscale("log")
    ax.set_ylim(1e-70, 3)
    _save(fig, ax, path, "layer l", "r(X^l) / ||X^l||_{1,inf}  (certified upper end)", title="Same weights: LayerNorm stops the collapse (sec3.3 refuted)", legend_size=6)


FIGURES = {"single_head_depth": single_head_depth}
FIGURES.update({"path_lengths": path_lengths, "gamma_needed": gamma_needed, "skip_ratio": skip_ratio,
                "layernorm_equilibrium": layernorm_equilibrium})  # issue 3


def cmd_figures(args) -> int:
    out = Path(args.out)
    names = args.only or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise UsageError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot create the directory: {e.strerror or e}") from None
    for name in names:
        FIGURES[name](out / f"{name}.png")
        print(f"wrote {out / f'{name}.png'}")
    return 0


def register(sub) -> None:
    f = sub.add_parser("figures", help="make the docs' figures")
    f.add_argument("--out", default="docs/figures")
    f.add_argument("--only", nargs="*", metavar="NAME")
    f.set_defaults(func=cmd_figures)
