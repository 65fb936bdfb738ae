"""Path-length effectiveness (the paper's Section 4.2), on a trained SAN.

After training, the network's weights become a :class:`~rankcollapse.numerics.network.Network`
(float64) and predictions are made from sums of sampled paths, as in the official code with
``--no_sub_path``: a path of length k picks k of the L layers at random and one random head in
each (the other layers are skipped: the identity path through their skip connections). Along
a path, each chosen head maps ``Y -> LN((P Y W_V + 1 b_V^T) W_O + 1 b_O^T)`` with its attention
``P`` recomputed on the path's own state and a LayerNorm without gain or bias (the official
code's ``no_sub_path`` branch); this is
:func:`rankcollapse.numerics.checks.paths.path_forward`, whose fixed-attention form is the Thm
2.1 term the ``thm2.1`` check sums. The prediction is the classifier applied to
``LN(sum over n_paths paths of their last states)``. Along each path, the residual of every
state is measured as the token-mean ratio ``||X - 1 mean(X)^T||_{1,inf} / ||X||_{1,inf}`` (on the
first :data:`RESIDUAL_SEQUENCES` evaluation sequences: it costs as much as the paths themselves).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from rankcollapse.numerics.checks.paths import path_forward
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import LayerNorm, forward, layer_norm
from rankcollapse.numerics.norms import norm_composite
from rankcollapse.numerics.residual import token_mean_residual
from rankcollapse.parallel import map_tasks

from . import tasks as T

__all__ = ["token_mean_ratio", "train", "sample_path", "evaluate_length", "full_accuracy", "chance", "run_paths"]

ctx = get_context("float64")
PATH_LN = LayerNorm(position="post", eps=1e-12)  # the path evaluation's LayerNorm: no gain, no bias
RESIDUAL_SEQUENCES = 16  # residuals along paths are measured on the first 16 evaluation sequences (cost)


def _inputs(arch, A):
    import torch

    return torch.as_tensor(A, dtype=torch.long if arch.vocab else torch.float32)


def train(s: T.Settings, tx, ty, seed: int, advance=lambda: None):
    """The trained model and its mean training loss per epoch (cross-entropy over tokens)."""
    import torch

    from .models import SAN, seed_everything

    seed_everything(seed)
    model = SAN(s.arch)
    X, Y = _inputs(s.arch, tx), torch.as_tensor(ty, dtype=torch.long)
    n, steps = len(X), math.ceil(len(X) / s.batch)
    if s.optimizer == "adamw-linear":
        opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: max(0.0, 1 - k / (steps * s.epochs)))
    else:
        opt = torch.optim.Adam(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(s.milestones), gamma=T.LR_GAMMA)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(s.epochs):
        order = torch.randperm(n, generator=generator) if s.shuffle else torch.arange(n)
        total = 0.0
        for start in range(0, n, s.batch):
            idx = order[start:start + s.batch]
            logits = model(X[idx])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, s.arch.labels), Y[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if s.optimizer == "adamw-linear":
                sched.step()
            total += float(loss.detach()) * len(idx)
        if s.optimizer != "adamw-linear":
            sched.step()
        losses.append(total / n)
        advance()
    return model.eval(), losses


def sample_path(rng, depth: int, heads: int, length: int) -> tuple[int, ...]:
    """A random head (1..H) in each layer, then ``depth - length`` layers, chosen uniformly, set to
    0 (the identity), as the official ``create_path``."""
    path = rng.integers(1, heads + 1, size=depth)
    path[rng.choice(depth, size=depth - length, replace=False)] = 0
    return tuple(int(h) for h in path)


def token_mean_ratio(X) -> float:
    """``||X - 1 mean(X)^T||_{1,inf} / ||X||_{1,inf}`` (0 for X = 0)."""
    size = float(norm_composite(ctx, X))
    return float(norm_composite(ctx, token_mean_residual(ctx, X))) / size if size else 0.0


def _accuracy(W, b, outputs, labels) -> float:
    pred = np.array([np.argmax(Y @ W.T + b, axis=1) for Y in outputs])
    return float((pred == labels).mean())


def evaluate_length(net, W, b, X0s, labels, length: int, n_paths: int, repeats: int, seed: int) -> dict:
    """Accuracy of sums of ``n_paths`` random paths of one length (``repeats`` independent draws,
    the same paths for every sequence of a draw), and the token-mean residual ratio at each
    step along the paths (mean over draws, paths and the first :data:`RESIDUAL_SEQUENCES`
    sequences)."""
    rng = np.random.default_rng([seed, length, n_paths])
    heads = len(net.layers[0].attention.heads)
    measured = min(RESIDUAL_SEQUENCES, len(X0s))
    accuracy, residual = [], np.zeros(length + 1)
    for _ in range(repeats):
        paths = [sample_path(rng, net.depth, heads, length) for _ in range(n_paths)]
        outputs = []
        for i, X0 in enumerate(X0s):
            total = 0
            for path in paths:
                states = path_forward(ctx, net, path, X0, bias=True, layernorm=PATH_LN)
                if i < measured:
                    residual += [token_mean_ratio(Z) for Z in states]
                total = total + states[-1]
            outputs.append(layer_norm(ctx, total, PATH_LN))
        accuracy.append(_accuracy(W, b, outputs, labels))
    return {"length": length, "n_paths": n_paths, "accuracy": accuracy,
            "accuracy_mean": float(np.mean(accuracy)), "accuracy_std": float(np.std(accuracy)),
            "residual_token_mean": (residual / (repeats * n_paths * measured)).tolist(),
            "residual_sequences": measured}


def full_accuracy(net, W, b, X0s, labels) -> float:
    """The whole trained network, run by :func:`rankcollapse.numerics.network.forward` in float64."""
    return _accuracy(W, b, [forward(ctx, net, X0)[-1] for X0 in X0s], labels)


def chance(train_labels, eval_labels, classes: int) -> dict:
    """Two input-blind baselines, computed: uniform guessing (``1/classes``) and the best constant
    guess per position (the training labels' majority there; ties to the smaller label)."""
    majority = np.array([np.bincount(col, minlength=classes).argmax() for col in np.asarray(train_labels).T])
    return {"uniform": 1 / classes, "majority": float((np.asarray(eval_labels) == majority).mean())}


def run_paths(task: str, quick: bool, seed: int, jobs: int | None, progress, scheduler: str | None = None,
              **overrides) -> dict:
    """Train, evaluate the whole model and every (length, n_paths); ``progress(label, total)``
    returns an ``advance()`` callback; ``overrides`` replace fields of the task's settings
    (``epochs``, ``n_train``)."""
    import torch

    from .models import classifier, to_network

    start, start_cpu = time.perf_counter(), time.process_time()
    s, tx, ty, ex, ey = T.make_data(task, replace(T.settings(task, quick), **overrides), seed)
    model, losses = train(s, tx, ty, seed, progress("training", s.epochs))
    # training runs in this process, so its CPU time is this process's (the evaluation may not be)
    trained, trained_cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        model = model.double()
        inputs = _inputs(s.arch, ex) if s.arch.vocab else _inputs(s.arch, ex).double()
        X0s = model.embed(inputs).numpy()
        torch_accuracy = float((model(inputs).argmax(-1).numpy() == ey).mean())
    net, (W, b) = to_network(model), classifier(model)
    items = [(net, W, b, X0s, ey, k, m, s.repeats, seed) for m in s.n_paths for k in range(s.arch.depth + 1)]
    advance = progress("paths", len(items))
    rows = map_tasks(evaluate_length, items, jobs=jobs, scheduler=scheduler, star=True, on_done=lambda k: advance())
    return {"settings": {"quick": quick, "seed": seed, **s.as_dict()},
            "results": {"chance": chance(ty, ey, s.arch.labels),
                        "full_model": {"accuracy": full_accuracy(net, W, b, X0s, ey), "accuracy_torch": torch_accuracy},
                        "train_loss": losses, "paths": rows,
                        "seconds": {"training": trained - start, "training_cpu": trained_cpu - start_cpu,
                                    "total": time.perf_counter() - start}}}
