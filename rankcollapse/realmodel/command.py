"""``rankcollapse real-model``: the command line of the real-model experiment.

Only argparse at import time (``rankcollapse --help`` stays fast); the measurement, report and
plot modules load when the command runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from rankcollapse.errors import check_writable
from rankcollapse.parallel import add_arguments

def cmd_real_model(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rankcollapse.numerics.instance import write_json_atomic
    from rankcollapse.parallel import default_jobs

    from .measure import run_experiment
    from .plots import plot_curves, plot_paths
    from .report import print_report, report_json

    for option in ("json", "plot", "paths_plot"):
        check_writable(getattr(args, option), "--" + option.replace("_", "-"))
    if importlib.util.find_spec("threadpoolctl") is None:  # a warning, not an error: the results are the same
        print("warning: threadpoolctl is not installed, so every worker's BLAS starts its own threads: about 7x "
              "slower (python3 -m pip install threadpoolctl, in the realmodel extra)", file=sys.stderr)
    console = Console()
    with Progress(TextColumn("real model"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True)) as bar:
        def progress(total):
            task = bar.add_task("", total=total)
            return lambda: bar.advance(task)

        exp = run_experiment(args.model, args.sequences, args.tokens, args.input_ids, args.bracket_sequences,
                             args.path_samples, args.seed, args.jobs or default_jobs(), progress,
                             args.path_brackets, args.scheduler, args.balls_sequences, args.verdicts)
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
        "real-model", help="rank collapse in a real transformer checkpoint (the paper's Section 4)",
        description="The paper's Section 4 (Figure 2) on a real transformer: docs/real_model.md.")
    p.add_argument("--model", metavar="DIR",
                   help="a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json "
                        "when present): bert, roberta, albert, distilbert, gpt2 or xlnet (default: the "
                        "all-MiniLM-L6-v2 weights package)")
    p.add_argument("--input-ids", metavar="FILE",
                   help='token ids instead of the packaged text: JSON {"input_ids": [[...], ...]}, '
                        "sequences of equal length")
    p.add_argument("--json", metavar="FILE", help="write the measurements (rankcollapse-realmodel/4)")
    p.add_argument("--plot", metavar="FILE", help="the Figure-2-style plot (PNG)")
    p.add_argument("--paths-plot", metavar="FILE", help="box plot of attention-path residuals (PNG)")
    p.add_argument("--sequences", type=int, default=32, help="passages to run (default 32)")
    p.add_argument("--tokens", type=int, default=128, help="tokens per passage (default 128)")
    p.add_argument("--bracket-sequences", type=int, default=None, metavar="N",
                   help="only the first N sequences get a bracket of r at every layer (exact for the "
                        "computed doubles or long doubles; in balls where the values are), about 40 ms per "
                        "128 x 384 matrix (default: every sequence)")
    p.add_argument("--balls-sequences", type=int, default=None, metavar="N",
                   help="the first N sequences get their values below the double range (1e-290) "
                        "certified in arb balls, 5-12 s per MiniLM layer; the others compute them in "
                        "long doubles (uncertified like the doubles, 0.1-0.2 s per layer, down to "
                        "1e-4914 on x86-64) and count what lies below that as not computed, never as 0 "
                        "(default: rankcollapse.realmodel.measure.BALLS_SEQUENCES, 0)")
    p.add_argument("--verdicts", action="store_true",
                   help="certified verdicts (holds / violated / inconclusive, in balls) of the explicit bounds "
                        "on sequence 0, next to the float64 margins: about 2 min on MiniLM with 2 cores")
    p.add_argument("--path-brackets", type=int, default=0, metavar="K",
                   help="attention-path samples per length that also get an r bracket (default 0)")
    p.add_argument("--path-samples", type=int, default=64, help="random paths per length (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random initialisation and path sampling")
    add_arguments(p)  # --jobs, --scheduler: the results do not depend on them
    p.set_defaults(func=cmd_real_model)
    return p

