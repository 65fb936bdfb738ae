"""``rankcollapse experiment paths|circle``: the command line of the training experiments.

Imported at CLI start-up: nothing here imports torch (or the experiment modules) until a run
starts, so ``rankcollapse --help`` stays fast and works without the ``experiments`` extra.
"""

from __future__ import annotations

import argparse
import importlib.util

from ..errors import UsageError
from ..parallel import add_arguments
from .tasks import TASKS  # torch-free

__all__ = ["register", "INSTALL"]

INSTALL = 'python3 -m pip install -e ".[experiments]"'


def _torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="reduced sizes that train in seconds (not the paper's)")
    p.add_argument("--json", metavar="FILE", help="write the report (rankcollapse-experiment/1)")
    p.add_argument("--plot", metavar="FILE", help="write the figure (PNG)")
    p.add_argument("--seed", type=int, default=0, help="data, initialisation, training order and path draws (default 0)")
    add_arguments(p)  # --jobs, --scheduler: where the independent pieces run; results do not depend on it


def _check(args) -> None:
    from ..cli import _check_writable

    if not _torch_available():
        raise UsageError(f"rankcollapse experiment needs PyTorch; install the experiments extra: {INSTALL}")
    if args.seed < 0:
        raise UsageError(f"--seed must be nonnegative, got {args.seed}")
    _check_writable(args.json, "--json")
    _check_writable(args.plot, "--plot")


class _Bars:
    """Rich progress bars on stderr: ``bars(label, total)`` adds one and returns its advance()."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, transient=True)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, label: str, total: int):
        task = self.progress.add_task(label, total=total)
        if self.console.is_terminal:
            return lambda: self.progress.advance(task)

        def advance():  # stderr to a log file: a live bar draws nothing there, so one line per step
            self.progress.advance(task)
            done = self.progress.tasks[task]
            self.console.print(f"{label} {done.completed:.0f}/{total} {done.elapsed:.0f} s", highlight=False)

        return advance


def _finish(args, experiment: str, task: str, run: dict, table, plot) -> int:
    from ..cli import _json_out, console
    from .report import report

    console.print(table)
    _json_out(args.json, report(experiment, task, run))
    if args.plot:
        plot(args.plot)
        console.print(f"wrote {args.plot}")
    return 0


def cmd_paths(args) -> int:
    _check(args)
    overrides = {}
    for option, field, value in (("--epochs", "epochs", args.epochs), ("--train-data", "n_train", args.train_data)):
        if value is not None and value < 1:
            raise UsageError(f"{option} must be at least 1, got {value}")
        if value is not None:
            overrides[field] = value
    if args.task == "memorization" and args.train_data is not None:
        from .tasks import settings, text_tokens

        available = len(text_tokens()) // settings(args.task, args.quick).seq_len
        if args.train_data > available:
            raise UsageError(f"--train-data {args.train_data}: the shipped text holds {available} memorisation sequences")
    from .paths import run_paths
    from .report import paths_table, plot_paths

    with _Bars() as bars:
        run = run_paths(args.task, args.quick, args.seed, args.jobs, bars, scheduler=args.scheduler, **overrides)
    return _finish(args, "paths", args.task, run, paths_table(args.task, run),
                   lambda path: plot_paths(args.task, run, path))


def cmd_circle(args) -> int:
    _check(args)
    if args.all and (args.skip or args.mlp):
        raise UsageError("--all runs pure, skip and mlp; do not combine it with --skip or --mlp")
    if args.repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {args.repeats}")
    if args.skip and args.mlp:
        raise UsageError("choose one of --skip and --mlp (or --all)")
    from ..parallel import map_tasks
    from .circle import PAPER, QUICK, run_variant
    from .report import circle_table, plot_circle

    variants = ["pure", "skip", "mlp"] if args.all else ["skip" if args.skip else "mlp" if args.mlp else "pure"]
    s = QUICK if args.quick else PAPER
    with _Bars() as bars:
        items = [(v, s, args.seed + k, not args.no_inner_skip) for k in range(args.repeats) for v in variants]
        advance = bars("runs", len(items))
        rows = map_tasks(run_variant, items, jobs=args.jobs, scheduler=args.scheduler, star=True,
                         on_done=lambda k: advance())
    run = {"settings": {"quick": args.quick, "seed": args.seed, "repeats": args.repeats,
                        "inner_skip": not args.no_inner_skip, **s.as_dict()},
           "results": {"variants": rows}}
    return _finish(args, "circle", "circle", run, circle_table(run), lambda path: plot_circle(run, path))


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``experiment`` (with ``paths`` and ``circle``) to the ``rankcollapse`` command line."""
    p = subparsers.add_parser("experiment", help="the paper's training experiments (PyTorch: the experiments extra)",
                              description=f"Train the paper's small models (needs PyTorch: {INSTALL}).")
    sub = p.add_subparsers(dest="experiment", required=True)
    a = sub.add_parser("paths", help="accuracy of sums of random paths against path length (Section 4.2)")
    a.add_argument("--task", choices=TASKS, required=True)
    a.add_argument("--epochs", type=int, metavar="N",
                   help="train N epochs instead of the task's number (recorded in the settings)")
    a.add_argument("--train-data", type=int, metavar="N",
                   help="N training sequences instead of the task's number (recorded in the settings)")
    _common(a)
    a.set_defaults(func=cmd_paths)
    c = sub.add_parser("circle", help="one attention layer applied recurrently to points of a circle")
    c.add_argument("--skip", action="store_true", help="skip connection around the recurrence (official --circle_skip)")
    c.add_argument("--mlp", action="store_true", help="add the MLP block (official --do_mlp)")
    c.add_argument("--all", action="store_true", help="run pure, skip and mlp (the paper's three rows)")
    c.add_argument("--no-inner-skip", action="store_true",
                   help="drop the attention sublayer's own skip (LN(F(X)) instead of the official LN(F(X) + X))")
    c.add_argument("--repeats", type=int, default=1,
                   help="train each variant with seeds SEED, SEED+1, ... (default 1); the plot shows SEED")
    _common(c)
    c.set_defaults(func=cmd_circle)
    return p
