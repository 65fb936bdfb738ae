"""Tables, JSON reports and figures of the experiments (figures laid out as the paper's)."""

from __future__ import annotations

import numpy as np
from rich.table import Table

__all__ = ["FORMAT", "report", "training_changes", "paths_table", "circle_table", "plot_paths", "plot_circle"]

FORMAT = "rankcollapse-experiment/1"


def report(experiment: str, task: str, run: dict) -> dict:
    """The JSON report: ``{"format", "experiment", "task", "settings", "results"}`` (plain JSON
    numbers: these are float64 measurements, not certified values)."""
    return {"format": FORMAT, "experiment": experiment, "task": task, **run}


def training_changes(task: str, settings: dict) -> str:
    """What ``--train-data`` / ``--epochs`` changed from the task's own size ("" for none), for
    titles and captions: such a run must not pass for the paper-size one."""
    from .tasks import settings as task_settings

    own = task_settings(task, settings["quick"])
    return ", ".join(f"{settings[field]} {what}" for field, what in (("n_train", "training sequences"), ("epochs", "epochs"))
                     if settings[field] != getattr(own, field))


def paths_table(task: str, run: dict) -> Table:
    res = run["results"]
    n_paths = sorted({row["n_paths"] for row in res["paths"]})
    table = Table(title=f"{task}: token accuracy of sums of random paths (mean ± std over "
                        f"{run['settings']['repeats']} draws)")
    table.add_column("path length", justify="right")
    for m in n_paths:
        table.add_column(f"{m} paths", justify="right")
    table.add_column(f"residual at path end ({n_paths[0]} paths, token mean)", justify="right")
    for k in range(run["settings"]["arch"]["depth"] + 1):
        rows = {row["n_paths"]: row for row in res["paths"] if row["length"] == k}
        table.add_row(str(k), *(f"{rows[m]['accuracy_mean']:.3f} ± {rows[m]['accuracy_std']:.3f}" for m in n_paths),
                      f"{rows[n_paths[0]]['residual_token_mean'][-1]:.3g}")
    full, chance = res["full_model"], res["chance"]
    table.caption = (f"whole model {full['accuracy']:.3f}; chance: majority per position {chance['majority']:.3f}, "
                     f"uniform {chance['uniform']:.3f}; training {res['seconds']['training']:.0f} s "
                     f"({res['seconds']['training_cpu']:.0f} CPU s), "
                     f"total {res['seconds']['total']:.0f} s")
    return table


def circle_table(run: dict) -> Table:
    table = Table(title="circle: distance between the two tokens along the recurrent trajectory")
    for col in ("variant", "seed", "first", "middle", "last", "residual (token mean), last",
                "train loss / zero-output loss", "s"):
        table.add_column(col, justify="right")
    for v in run["results"]["variants"]:
        gap = v["token_gap"]
        table.add_row(v["variant"], str(v["seed"]), *(f"{gap[k]:.2g}" for k in (0, len(gap) // 2, -1)),
                      f"{v['residual_token_mean'][-1]:.2g}",
                      f"{v['train_loss'][-1] / v['zero_predictor_loss']:.2g}", f"{v['seconds']:.0f}")
    return table


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_paths(task: str, run: dict, path: str) -> None:
    """Left: accuracy against path length for each number of summed paths (error bars: std over
    draws), the whole model and the two chance levels as computed horizontal lines, as the
    paper's Figure 4. Right: the token-mean residual ratio at the end of the paths."""
    plt = _pyplot()
    res = run["results"]
    depth = run["settings"]["arch"]["depth"]
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 2]})
    n_paths = sorted({row["n_paths"] for row in res["paths"]})
    for i, m in enumerate(n_paths):
        rows = sorted((row for row in res["paths"] if row["n_paths"] == m), key=lambda r: r["length"])
        x = np.array([r["length"] for r in rows]) + (i - (len(n_paths) - 1) / 2) * 0.08
        ax.errorbar(x, [r["accuracy_mean"] for r in rows], yerr=[r["accuracy_std"] for r in rows],
                    marker="o", capsize=3, label=f"{m} paths")
        ax_r.plot([r["length"] for r in rows], [r["residual_token_mean"][-1] for r in rows], marker="o",
                  label=f"{m} paths")
    ax.axhline(res["full_model"]["accuracy"], color="k", linestyle="--", label="entire model")
    ax.axhline(res["chance"]["majority"], color="0.5", linestyle=":", label="majority per position")
    ax.axhline(res["chance"]["uniform"], color="0.7", linestyle="-.", label="uniform guess")
    ax.set_xticks(range(depth + 1))
    ax.set_xlabel("path length")
    ax.set_ylabel("token accuracy")
    changes = training_changes(task, run["settings"])
    ax.set_title(f"{task}: sums of random paths" + (" (quick)" if run["settings"]["quick"] else "")
                 + (f"\n{changes}" if changes else ""))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax_r.set_yscale("log")
    ax_r.set_xticks(range(depth + 1))
    ax_r.set_xlabel("path length")
    ax_r.set_ylabel("||X - 1 mean^T|| / ||X||  (composite norm)")
    ax_r.set_title("residual at the end of a path (token mean)")
    ax_r.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_circle(run: dict, path: str) -> None:
    """Top: one panel per variant (the first seed), the two tokens' trajectories over the
    training circle, as the official ``run_circle.py`` draws them (limits +-0.56). Bottom: the
    distance between the two tokens against the step, one line per seed."""
    plt = _pyplot()
    from .circle import circle_points

    runs = run["results"]["variants"]
    names = list(dict.fromkeys(v["variant"] for v in runs))
    fig, axes = plt.subplots(2, len(names), figsize=(max(4 * len(names), 5.5), 7.6), squeeze=False,
                             gridspec_kw={"height_ratios": [4, 2.6]})
    ring = circle_points(400, run["settings"]["radius"])
    for ax, ax_gap, name in zip(axes[0], axes[1], names):
        first = next(v for v in runs if v["variant"] == name and v["seed"] == run["settings"]["seed"])
        traj = np.array(first["trajectory"])
        ax.plot(*np.vstack([ring, ring[:1]]).T, color="0.85", linewidth=4, zorder=0)
        for t, colour in ((0, "C0"), (1, "C1")):
            ax.plot(traj[:, t, 0], traj[:, t, 1], color=colour, linewidth=1, marker=".", markersize=3,
                    label=f"sequence {t + 1}")
            ax.plot(*traj[0, t], marker="o", color=colour, markersize=8)
        ax.set_xlim(-0.56, 0.56)
        ax.set_ylim(-0.56, 0.56)
        ax.set_aspect("equal")
        inner = "" if first["inner_skip"] else ", no inner skip"
        ax.set_title(f"{name}{inner} (seed {first['seed']}): final gap {first['token_gap'][-1]:.2g}", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        for v in (v for v in runs if v["variant"] == name):
            ax_gap.plot(np.maximum(v["token_gap"], 1e-12), label=f"seed {v['seed']}")
        ax_gap.set_yscale("log")
        ax_gap.set_ylim(1e-9, 2)
        ax_gap.set_xlabel("step")
        ax_gap.set_ylabel("distance between the tokens")
        ax_gap.grid(alpha=0.3)
        ax_gap.legend(fontsize=7)
    fig.suptitle(f"one attention layer applied {len(traj)} times, hidden {run['settings']['hidden']}"
                 + (" (quick)" if run["settings"]["quick"] else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
