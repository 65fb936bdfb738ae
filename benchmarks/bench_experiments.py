"""Where the time of ``rankcollapse experiment paths`` goes, on one thread: ``python benchmarks/bench_experiments.py``
(issue 13).

(1) Data: generating the task's training set (the convex hull's labels are one Qhull call per
    set of points).
(2) Training: ``--steps`` optimiser steps of the paper-size model (exactly the training loop's
    work: batch gather, forward with dropout, cross-entropy, backward, Adam), CPU and wall
    milliseconds per step split into gather / forward / backward / optimiser, and the
    projection to the paper's number of steps.
(3) Path evaluation: one path length with the paper's 20 paths on ``--sequences`` test
    sequences (float64 ``path_forward``), per sequence and path, projected to the paper's
    evaluation (an overestimate: the first 16 sequences also measure residuals along paths,
    which the run does on 16 of its 200-300).

The figures recorded in docs/experiments.md before this benchmark existed (0.7 s per convex
hull step, wall time at a load average near 10 under ``nice``) are printed next to the measured
ones. Every table states the load average it ran under (the machine may be shared): compare CPU
columns across machines, wall columns only on idle cores.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rankcollapse.experiments import tasks as T  # noqa: E402

RECORDED_WALL_PER_STEP = {"convex-hull": 0.7}  # docs/experiments.md before issue 13's profile (load ~10)


class Clock:
    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def profile_training(task: str, steps: int) -> dict:
    import torch

    from rankcollapse.experiments.models import SAN, seed_everything
    from rankcollapse.experiments.paths import _inputs

    s = T.PAPER[task]
    clock = Clock()
    s_data, tx, ty, ex, ey = T.make_data(task, s, 0)
    data_wall, data_cpu = clock.lap()
    seed_everything(0)
    model = SAN(s_data.arch)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    X, Y = _inputs(s_data.arch, tx), torch.as_tensor(ty, dtype=torch.long)
    phases = np.zeros((4, 2))  # gather, forward, backward, optimiser x (wall, cpu)
    model.train()
    order = torch.arange(len(X))
    for k in range(steps):
        start = (k * s.batch) % (len(X) - s.batch + 1)
        clock.lap()
        idx = order[start:start + s.batch]
        xb, yb = X[idx], Y[idx]
        phases[0] += clock.lap()
        loss = torch.nn.functional.cross_entropy(model(xb).reshape(-1, s.arch.labels), yb.reshape(-1))
        phases[1] += clock.lap()
        opt.zero_grad()
        loss.backward()
        phases[2] += clock.lap()
        opt.step()
        float(loss.detach())
        phases[3] += clock.lap()
    per_step = phases / steps * 1e3
    paper_steps = s.epochs * math.ceil(s.n_train / s.batch)
    return {"task": task, "data": (data_wall, data_cpu), "per_step": per_step, "paper_steps": paper_steps,
            "model": model.eval(), "settings": s_data, "eval": (ex, ey)}


def profile_evaluation(run: dict, sequences: int) -> tuple[float, float, int]:
    import torch

    from rankcollapse.experiments.models import classifier, to_network
    from rankcollapse.experiments.paths import _inputs, evaluate_length

    s, (ex, ey) = run["settings"], run["eval"]
    with torch.no_grad():
        model = run["model"].double()
        inputs = _inputs(s.arch, ex[:sequences])
        X0s = model.embed(inputs if s.arch.vocab else inputs.double()).numpy()
    net, (W, b) = to_network(model), classifier(model)
    length, n_paths = s.arch.depth // 2, max(s.n_paths)
    clock = Clock()
    evaluate_length(net, W, b, X0s, ey[:sequences], length, n_paths, 1, 0)
    wall, cpu = clock.lap()
    # per sequence and path draw; the paper's evaluation: every length, each n_paths, s.repeats draws
    draws = (s.arch.depth + 1) * s.repeats
    per_seq_draw = np.array([wall, cpu]) / sequences / n_paths  # per path
    projected = per_seq_draw * s.n_eval * draws * sum(s.n_paths)
    return per_seq_draw * 1e3, projected, length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps profiled per task (default 200)")
    parser.add_argument("--sequences", type=int, default=20, help="test sequences for the path evaluation (default 20)")
    parser.add_argument("--tasks", nargs="+", default=["convex-hull", "sort"], choices=["convex-hull", "sort"])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} at start; one thread (seed_everything)")
    print(f"\n{'task':<12} {'steps':>6} | ms/step wall  cpu | gather  forward  backward  optimiser (cpu ms) "
          f"| paper steps  projected training cpu | recorded wall/step")
    runs = []
    for task in args.tasks:
        run = profile_training(task, args.steps)
        runs.append(run)
        (wall, cpu) = run["per_step"].sum(axis=0)
        split = "  ".join(f"{run['per_step'][i, 1]:7.2f}" for i in range(4))
        recorded = RECORDED_WALL_PER_STEP.get(task)
        recorded = f"{recorded * 1e3:.0f} ms ({recorded * 1e3 / wall:.0f}x today's wall)" if recorded else "-"
        print(f"{task:<12} {args.steps:>6} | {wall:12.1f} {cpu:5.1f} | {split}      "
              f"| {run['paper_steps']:>11}  {run['paper_steps'] * cpu / 1e3 / 60:10.1f} min         | {recorded}")
    print(f"\n{'task':<12} | data: training set wall s  cpu s")
    for run in runs:
        print(f"{run['task']:<12} | {run['data'][0]:25.2f} {run['data'][1]:5.2f}")
    print(f"\n{'task':<12} | path length | ms per sequence and path wall  cpu | projected paper evaluation wall min  cpu min")
    for run in runs:
        (wall, cpu), projected, length = profile_evaluation(run, args.sequences)
        print(f"{run['task']:<12} | {length:>11} | {wall:31.3f} {cpu:5.3f} | {projected[0] / 60:35.1f} {projected[1] / 60:7.1f}")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
