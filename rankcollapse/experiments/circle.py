"""The circle experiment (official ``run_circle.py``): one attention layer applied recurrently.

Data: 1000 points ``p_i = 0.3 (cos 2 pi i/1000, sin 2 pi i/1000)``. Example ``i`` (0..498) is the
sequence of two tokens ``(p_i, p_(i+499))``, nearly opposite on the circle, and its target the
next points ``(p_(i+1), p_(i+500))``. The model is the official SAN with one layer of 2 heads,
hidden 32, points embedded by ``Linear(2, 32)`` + LayerNorm, a linear read-out of 2 numbers
per token; squared error summed over the batch; Adam, lr 1e-5, 70 epochs of sequential batches
of 30. Variants: ``pure`` (the official default), ``skip`` (``--circle_skip``) and ``mlp``
(``--do_mlp``).

As the official code does, *every* variant's attention sublayer is ``LN(attention(X) + X)``
(BERT's post-LN around a skip connection); ``skip`` adds a second skip around the recurrence:
the state is the running sum of the model's outputs, and training feeds the sum of the batch
and the previous batch. The trajectory drawn is the model's output at each step (for ``skip``,
the increments), again as the official code.

Collapse is measured on the trajectory: the distance between the two tokens at each step,
and the token-mean ratio ``||X - 1 mean^T||_{1,inf} / ||X||_{1,inf}`` of the plotted points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from .paths import token_mean_ratio
from .tasks import Architecture

__all__ = ["VARIANTS", "CircleSettings", "PAPER", "QUICK", "circle_points", "circle_data", "run_variant"]

VARIANTS = ("pure", "skip", "mlp")


@dataclass(frozen=True)
class CircleSettings:
    hidden: int = 32
    heads: int = 2
    points: int = 1000
    radius: float = 0.3
    epochs: int = 70
    batch: int = 30
    lr: float = 1e-5
    steps: int = 300            # recurrent applications (--n_eval_data)

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


PAPER = CircleSettings()
# 8 epochs at 10x the learning rate: about the paper's final training loss in a ninth of the steps
QUICK = replace(PAPER, epochs=8, lr=1e-4)


def circle_points(count: int, radius: float) -> np.ndarray:
    theta = 2 * np.pi * np.arange(count) / count
    return radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)


def circle_data(s: CircleSettings):
    """``(inputs, targets)``, each (points//2 - 1, 2 tokens, 2 coordinates)."""
    p = circle_points(s.points, s.radius)
    half = s.points // 2 - 1
    i = np.arange(half)
    return np.stack([p[i], p[i + half]], axis=1), np.stack([p[i + 1], p[i + 1 + half]], axis=1)


def run_variant(variant: str, s: CircleSettings, seed: int, inner_skip: bool = True) -> dict:
    """Train one variant and apply it ``s.steps`` times from the first example."""
    import torch

    from .models import SAN, seed_everything

    start = time.perf_counter()
    seed_everything(seed)
    model = SAN(Architecture(hidden=s.hidden, heads=s.heads, depth=1, labels=2, mlp=variant == "mlp",
                             inner_skip=inner_skip))
    inputs, targets = (torch.as_tensor(a, dtype=torch.float32) for a in circle_data(s))
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    losses = []
    model.train()
    for _ in range(s.epochs):
        previous, total = torch.zeros(s.batch, 2, 2), 0.0
        for k in range(0, len(inputs), s.batch):
            X, Y = inputs[k:k + s.batch], targets[k:k + s.batch]
            fed = X + previous[: len(X)] if variant == "skip" else X
            loss = ((model(fed) - Y) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            previous, total = X, total + float(loss.detach())
        losses.append(total / len(inputs))
    model.eval()
    state = inputs[:1]
    plotted = [state[0].numpy()]
    with torch.no_grad():
        for _ in range(s.steps - 1):
            out = model(state)
            state = state + out if variant == "skip" else out
            plotted.append(out[0].numpy())
    traj = np.array(plotted, dtype=np.float64)  # (steps, 2 tokens, 2)
    gap = np.linalg.norm(traj[:, 0] - traj[:, 1], axis=1)
    ratio = [token_mean_ratio(T) for T in traj]
    return {"variant": variant, "seed": seed, "inner_skip": inner_skip, "trajectory": traj.tolist(), "token_gap": gap.tolist(),
            "residual_token_mean": ratio, "train_loss": losses,
            "zero_predictor_loss": float((targets.numpy() ** 2).sum() / len(inputs)),
            "seconds": time.perf_counter() - start}
