"""The real-model figures (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np

from .measure import FLOAT64_FLOOR, INITS, Experiment

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
            layers = np.arange(c.token_mean.shape[1])
            # the measured values, however small; a mean of 0 (every sequence below what doubles
            # hold) has no place on a log axis and is left out, not drawn at a floor
            tm = c.token_mean  # values below the double range: 0 (in balls) or nan (not computed)
            mean = np.nanmean(tm, axis=0)
            mean = np.where(mean > 0, mean, np.nan)
            ax.plot(layers, mean, color=colour, marker=marker, label=c.name)
            q1, q3 = np.nanpercentile(tm, [25, 75], axis=0)
            ax.fill_between(layers, np.where(q1 > 0, q1, np.nan), np.where(q3 > 0, q3, np.nan),
                            color=colour, alpha=0.2)
            upper = np.array([[float(v.r_ratio[1]) if v.r_ratio else np.nan for v in row] for row in c.values])
            if not np.isnan(upper).all():
                ex = np.nanmean(upper, axis=0)
                ax.plot(layers, np.where(ex > 0, ex, np.nan), color=colour, marker=marker, linestyle="none",
                        markerfacecolor="none", markersize=10)
        ax.axhline(FLOAT64_FLOOR, color="0.6", linestyle=":", linewidth=1, zorder=0)
        ax.set_yscale("log")
        ax.set_title(f"{init} ({exp.model.rstrip('/').split('/')[-1]}, {exp.architecture})")
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(r"$\|res(X^l)\|_{1,\infty} / \|X^l\|_{1,\infty}$")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.text(0.5, 0.01, f"lines: token-mean residual over {exp.sequences} sequences (band: quartiles); "
             f"open markers: r (bracket's upper end), mean over the first {exp.bracket_sequences}\n"
             f"dotted: 1e-12, where a whole matrix of doubles would stop (the split pass goes below); "
             f"values below the double range (in the JSON) are left out", ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
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
        data = [[r[0] for r in rows if r[0] > 0] for rows in by_length.values()]
        pos = np.array(list(by_length)) + (i - 0.5) * width
        box = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True, manage_ticks=False)
        for patch in box["boxes"]:
            patch.set_facecolor(f"C{i}")
            patch.set_alpha(0.5)
        ax.plot([], [], color=f"C{i}", linewidth=8, alpha=0.5, label=f"{init} (full model)")
    ax.set_xticks(sorted({k for by_length in exp.paths.values() for k in by_length}))
    ax.set_yscale("log")
    ax.set_xlabel("path length k (attention matrices multiplied)")
    ax.set_ylabel(r"$\|res(P_{path})\|_{1,\infty} / \|P_{path}\|_{1,\infty}$")
    ax.set_title("products of attention matrices along random paths")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
