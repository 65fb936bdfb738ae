"""``rankcollapse experiment``: the torch SAN, its conversion, path sums, the circle, the CLI.

Tiny models only (the whole file takes well under a minute and a half on a loaded machine);
the paper-size runs are documented in docs/experiments.md. Tests that train need PyTorch
(the ``experiments`` extra) and skip with that reason without it.
"""

import json
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from rankcollapse.cli import main
from rankcollapse.experiments import command

needs_torch = pytest.mark.skipif(not command._torch_available(),
                                 reason="PyTorch is not installed (the experiments extra)")


def test_help_does_not_import_torch():
    code = "import sys, rankcollapse.cli as c; c.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_torch_the_command_says_which_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(command, "_torch_available", lambda: False)
    target = tmp_path / "out.json"
    assert main(["experiment", "paths", "--task", "sort", "--quick", "--json", str(target)]) == 2
    assert ".[experiments]" in capsys.readouterr().err and not target.exists()


@needs_torch
@pytest.mark.parametrize("argv, message", [
    (["paths", "--task", "sort", "--jobs", "0"], "--jobs: expected a whole number of processes >= 1"),
    (["paths", "--task", "sort", "--seed", "-1"], "--seed must be nonnegative"),
    (["paths", "--task", "sort", "--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["paths", "--task", "memorization", "--train-data", "999"], "--train-data 999: the shipped text holds"),
    (["circle", "--skip", "--mlp"], "choose one of --skip and --mlp"),
    (["circle", "--all", "--skip"], "do not combine it"),
    (["circle", "--repeats", "0"], "--repeats must be at least 1"),
])
def test_bad_options_exit_2_before_training(argv, message, capsys):
    assert main(["experiment", *argv, "--quick"]) == 2
    assert message in capsys.readouterr().err


def test_unknown_task_and_unwritable_outputs_exit_2(tmp_path, capsys):
    assert main(["experiment", "paths", "--task", "parity"]) == 2
    if command._torch_available():
        assert main(["experiment", "paths", "--task", "sort", "--plot", str(tmp_path)]) == 2
        assert "--plot" in capsys.readouterr().err


def test_progress_into_a_log_file_is_one_line_per_step(capsys):
    """A live bar draws nothing into a file; there each step is a line (label, count, seconds)."""
    with command._Bars() as bars:
        advance = bars("training", 3)
        advance()
        advance()
    lines = [line for line in capsys.readouterr().err.splitlines() if line]  # the bar's exit ends a line
    assert len(lines) == 2, lines
    assert re.fullmatch(r"training 1/3 \d+ s", lines[0]) and re.fullmatch(r"training 2/3 \d+ s", lines[1]), lines


def test_memorization_text_windows():
    from rankcollapse.experiments.tasks import PAPER, memorization_data, text_tokens

    s = PAPER["memorization"]
    ids, labels, vocab = memorization_data(np.random.default_rng(0), s.n_train, s.seq_len)
    words = text_tokens()
    assert ids.shape == (500, 9) and set(np.unique(labels)) == {0, 1} and ids.max() < vocab
    assert [sorted(set(words))[i] for i in ids[1]] == words[9:18]          # disjoint consecutive windows
    with pytest.raises(ValueError, match="at most 528 sequences of 9"):
        memorization_data(np.random.default_rng(0), 529, 9)


@needs_torch
@pytest.mark.parametrize("arch_kw", [dict(vocab=7, positions=5), dict(ffn2=True, mlp=True),
                                     dict(inner_skip=False)])
def test_network_conversion_matches_torch(arch_kw):
    """The Network built from the weights computes what the torch model computes (float64)."""
    import torch

    from rankcollapse.experiments.models import SAN, classifier, seed_everything, to_network
    from rankcollapse.experiments.tasks import Architecture
    from rankcollapse.experiments.paths import ctx
    from rankcollapse.numerics.network import forward

    seed_everything(0)
    model = SAN(Architecture(hidden=8, heads=2, depth=2, labels=3, **arch_kw)).double().eval()
    with torch.no_grad():  # move every parameter away from its initial zeros/ones
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
        inputs = torch.tensor([[1, 4, 0, 6, 2]]) if model.arch.vocab else torch.randn(1, 5, 2, dtype=torch.float64)
        X0, expected = model.embed(inputs)[0].numpy(), model(inputs)[0].numpy()
    W, b = classifier(model)
    ours = forward(ctx, to_network(model), X0)[-1] @ W.T + b
    assert np.abs(ours - expected).max() < 1e-10


@needs_torch
def test_pad_token_is_never_trained_and_the_classifier_reads_dropout():
    """As the official SAN: no gradient reaches the pad token's embedding (sorting's digit 0),
    and while training the classifier sees the last layer's output through dropout."""
    import torch

    from rankcollapse.experiments.models import SAN, seed_everything
    from rankcollapse.experiments.tasks import QUICK

    seed_everything(0)
    model = SAN(QUICK["sort"].arch)
    inputs = torch.tensor([[0, 3, 0, 7, 1, 1, 9, 0]])
    assert model.tokens.weight[0].abs().min() > 0                      # drawn like the other rows
    model(inputs).sum().backward()
    grad = model.tokens.weight.grad
    assert grad[0].abs().max() == 0 and grad[3].abs().max() > 0
    model.classifier.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    seen = []
    model.train()
    model(inputs)
    model.eval()
    model(inputs)
    zeros = [float((X == 0).float().mean()) for X in seen]
    assert zeros[0] > 0.03 and zeros[1] == 0                          # about 10 % dropped while training


@needs_torch
def test_path_draws_and_residuals_along_paths():
    """Path draws have the requested length; a length-0 sum is the embedding alone, and every
    path reports one residual per state (--jobs: test_reports_are_identical_whatever_jobs)."""
    import torch

    from rankcollapse.experiments.models import SAN, classifier, seed_everything, to_network
    from rankcollapse.experiments.tasks import Architecture
    from rankcollapse.experiments.paths import evaluate_length, sample_path

    rng = np.random.default_rng(0)
    assert all(sum(h > 0 for h in sample_path(rng, 6, 3, k)) == k and max(sample_path(rng, 6, 3, k)) <= 3
               for k in range(7))
    seed_everything(1)
    model = SAN(Architecture(hidden=8, heads=2, depth=3, labels=4, vocab=6, positions=4)).double().eval()
    with torch.no_grad():
        X0s = model.embed(torch.as_tensor(rng.integers(6, size=(6, 4)))).numpy()
    labels = rng.integers(4, size=(6, 4))
    net, (W, b) = to_network(model), classifier(model)
    serial = [evaluate_length(net, W, b, X0s, labels, k, 3, 2, 5) for k in range(4)]
    assert serial[0]["residual_token_mean"] == pytest.approx(
        [np.mean([np.abs(X - X.mean(0)).sum(0).max() ** 0.5 * np.abs(X - X.mean(0)).sum(1).max() ** 0.5
                  / (np.abs(X).sum(0).max() * np.abs(X).sum(1).max()) ** 0.5 for X in X0s])])
    assert [len(r["residual_token_mean"]) for r in serial] == [1, 2, 3, 4]


def _without_seconds(report):
    if isinstance(report, dict):
        return {k: _without_seconds(v) for k, v in report.items() if k != "seconds"}
    return [_without_seconds(v) for v in report] if isinstance(report, list) else report


@needs_torch
def test_reports_are_identical_whatever_jobs(tmp_path, monkeypatch):
    """A whole ``experiment paths`` and ``circle --all`` report (training included; wall times
    aside) is the same with --jobs 1 and --jobs 2, on tiny sizes; --epochs and --train-data
    reach the training and are recorded."""
    from rankcollapse.experiments import circle, tasks

    s = tasks.QUICK["sort"]
    monkeypatch.setitem(tasks.QUICK, "sort", replace(s, arch=replace(s.arch, hidden=8, depth=2), n_eval=12, repeats=1))
    monkeypatch.setattr(circle, "QUICK", replace(circle.QUICK, epochs=1, points=200, steps=20))
    runs = {}
    for jobs in ("1", "2"):
        for argv in (["paths", "--task", "sort", "--epochs", "2", "--train-data", "60"], ["circle", "--all"]):
            out = tmp_path / f"{argv[0]}{jobs}.json"
            assert main(["experiment", *argv, "--quick", "--jobs", jobs, "--json", str(out)]) == 0
            runs[argv[0], jobs] = _without_seconds(json.loads(out.read_text()))
    assert runs["paths", "1"] == runs["paths", "2"] and runs["circle", "1"] == runs["circle", "2"]
    paths = runs["paths", "1"]
    assert (paths["settings"]["epochs"], paths["settings"]["n_train"], len(paths["results"]["train_loss"])) == (2, 60, 2)
    assert [v["variant"] for v in runs["circle", "1"]["results"]["variants"]] == ["pure", "skip", "mlp"]


@needs_torch
def test_quick_sort_run_learns_and_short_paths_beat_long_ones(tmp_path):
    """The one CLI run: the quick sorting model beats chance by a margin, sums of length-1 paths
    beat sums of the longest paths, and the JSON and the figure are written."""
    out, fig = tmp_path / "sort.json", tmp_path / "sort.png"
    assert main(["experiment", "paths", "--task", "sort", "--quick", "--jobs", "1",
                 "--json", str(out), "--plot", str(fig)]) == 0
    report = json.loads(out.read_text())
    assert {k: report[k] for k in ("format", "experiment", "task")} == \
        {"format": "rankcollapse-experiment/1", "experiment": "paths", "task": "sort"}
    res = report["results"]
    acc = {row["length"]: row["accuracy_mean"] for row in res["paths"]}
    assert res["full_model"]["accuracy"] == res["full_model"]["accuracy_torch"]
    assert res["full_model"]["accuracy"] > res["chance"]["majority"] + 0.3
    assert acc[1] > max(acc[3], res["chance"]["majority"]) + 0.15
    ends = [row["residual_token_mean"][-1] for row in sorted(res["paths"], key=lambda r: r["length"])]
    assert ends[-1] < 0.1 * ends[0]                                  # long paths are close to rank 1
    assert fig.stat().st_size > 10_000


@needs_torch
def test_circle_pure_attention_collapses_and_skip_does_not():
    """Seed 0 of a short training: the pure model's two tokens merge, the skip model's stay
    apart. Whether pure attention collapses depends on the seed at the paper's size too
    (docs/experiments.md), so the seed is pinned; a broken attention, skip recurrence or
    trajectory still fails it."""
    from rankcollapse.experiments.circle import PAPER, run_variant

    s = replace(PAPER, epochs=4, lr=3e-4, steps=100)
    pure, skip = run_variant("pure", s, 0), run_variant("skip", s, 0)
    assert pure["token_gap"][0] == pytest.approx(0.6, rel=1e-5) == skip["token_gap"][0]
    assert pure["token_gap"][-1] < 1e-3 and pure["residual_token_mean"][-1] < 1e-3
    assert skip["token_gap"][-1] > 0.5 and skip["residual_token_mean"][-1] > 0.5
    assert max(pure["train_loss"][-1], skip["train_loss"][-1]) < 0.1 * pure["zero_predictor_loss"]


def test_a_path_run_as_its_own_network_is_that_network():
    """``path_forward`` without the full pass's attention (the experiment's path) equals the
    forward pass of the network made of the path's heads alone, biases included; with a
    LayerNorm after each step it equals the same network with post-LN."""
    from rankcollapse.numerics.checks.multi_head import random_network
    from rankcollapse.numerics.checks.paths import path_forward
    from rankcollapse.numerics.context import get_context
    from rankcollapse.numerics.network import Attention, Layer, LayerNorm, Network, forward

    ctx, rng = get_context("float64"), np.random.default_rng(3)
    net = random_network(rng, 4, 3, 2, 3, weight_scale=1.0)
    X = rng.normal(size=(4, 3))
    path = (2, 0, 1)
    for ln in (None, LayerNorm(position="post", eps=1e-12)):
        sub = Network(net.d_qk, tuple(Layer(Attention((layer.attention.heads[h - 1],), layer.attention.b_O, layernorm=ln))
                                      for layer, h in zip(net.layers, path) if h))
        states = path_forward(ctx, net, path, ctx.array(X), bias=True, layernorm=ln)
        assert len(states) == 3
        assert np.abs(states[-1] - forward(ctx, sub, X)[-1]).max() < 1e-12
    with_bias, without = (path_forward(ctx, net, path, ctx.array(X), bias=b)[-1] for b in (True, False))
    assert np.abs(with_bias - without).max() > 1e-3  # the network has biases: a dropped one would show
