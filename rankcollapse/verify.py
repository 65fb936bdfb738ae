"""``rankcollapse verify``: every registered claim, proved and tested.

For each claim of :mod:`proofs` (in registry order): run the SymPy proofs of its steps, then
its numeric check (:mod:`rankcollapse.numerics.checks`) -- an adversarial Hypothesis search whose every
verdict is certified. A claim's verdict:

* ``violated``  -- a symbolic step fails, or the search finds a certified counterexample
  (saved under ``--out``: an instance file for a network, else a case file of exact values;
  :func:`rankcollapse.numerics.checks.common.load_case` reads either);
* ``inconclusive`` -- some example could not be decided, or a published claim has no check;
* ``holds``     -- everything proved or certified.
"""

from __future__ import annotations

import time
from fractions import Fraction
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress
from rich.table import Table

from rankcollapse import proofs
from rankcollapse.parallel import map_tasks
from rankcollapse.numerics.checks import audit, checks_for
from rankcollapse.numerics.checks.common import ExactCase, load_case, search
from rankcollapse.numerics.exact import decimal_string
from rankcollapse.numerics.verdict import HOLDS, INCONCLUSIVE, VIOLATED, worst

__all__ = ["ClaimResult", "run_verify", "print_table", "report_json", "exit_code", "audit"]

SEEDS_PER_CLAIM = 1000  # claim k searches with seed + k * this, so claims do not share examples


@dataclass
class ClaimResult:
    claim: proofs.Claim
    verdict: str
    examples: int
    worst_ratio: float | None
    counterexample: str | None
    detail: str
    seconds: float


def _checks(claim) -> list[tuple[str, int]]:
    """The claim's own search, then the numeric spot-checks of its steps (e.g. "E1:Step 4"), as
    ``("search", k)``: the k-th of ``checks_for(claim)``, which a worker finds from the claim's
    registry id (audit() has made sure that every numeric step has a check)."""
    return [("search", k) for k in range(len(checks_for(claim)))]


def _task(kind: str, name: str, index: int, suite: str, seed: int, out: str):
    """One unit of work, run wherever the executor puts it: the symbolic steps of claim ``name``
    (the labels that fail), or its ``index``-th numeric search (its :class:`SearchResult`). Everything it
    depends on, the seed included, is in its arguments. Returns ``(result, seconds)``."""
    t0 = time.perf_counter()
    if kind == "steps":
        result = [step.label for step, ok in proofs.check_steps(proofs.get(name)) if ok is False]
    else:
        check = checks_for(proofs.get(name))[index]
        result = search(check.strategy(), check.evaluate, check.examples[suite], seed,
                            save_as=Path(out) / f"{check.name.replace(':', '-').replace(' ', '')}.json")
    return result, time.perf_counter() - t0


def _claim_result(claim, failed, searches, seconds) -> ClaimResult:
    if failed:
        return ClaimResult(claim, VIOLATED, 0, None, None, f"symbolic step(s) failed: {', '.join(failed)}", seconds)
    if not searches:
        verdict = HOLDS if claim.kind == "theorem" else INCONCLUSIVE
        detail = ("every step proved symbolically or assumed" if claim.kind == "theorem"
                  else "no numeric check")
        return ClaimResult(claim, verdict, 0, None, None, detail, seconds)
    details = [f"{check.what}: " + (res.detail or ", ".join(f"{k} {v}" for k, v in sorted(res.counts.items())))
               for check, res in searches]
    results = [res for _, res in searches]
    ratios = [r.worst_ratio for r in results if r.worst_ratio is not None]
    return ClaimResult(claim, worst(r.verdict for r in results), sum(r.examples for r in results),
                       max(ratios) if ratios else None, next((r.counterexample for r in results if r.counterexample), None),
                       "; ".join(details), seconds)


def run_verify(suite: str, seed: int, out: Path, console=None, only=None, jobs: int | None = 1,
               scheduler: str | None = None) -> list[ClaimResult]:
    """Every claim (or those in ``only``), in registry order. The symbolic steps of each claim
    and each of its searches are separate tasks for :func:`rankcollapse.parallel.map_tasks`
    (``jobs`` local processes, ``None`` for all cores, or a Dask ``scheduler``); the ``k``-th
    claim of the registry searches with seed ``seed + k * SEEDS_PER_CLAIM`` wherever its tasks
    run and whichever claims run with it, so the report is the same for every executor and a
    claim's row the same with or without ``only``. ``seconds`` of a claim is the sum of its tasks' times."""
    registry = proofs.all_claims()
    claims = [c for c in registry if only is None or c.id in only]
    tasks, owner = [], []
    for k, claim in enumerate(claims):
        claim_seed = seed + registry.index(claim) * SEEDS_PER_CLAIM  # as in the full run, whatever ``only`` is
        for kind, index in [("steps", -1), *_checks(claim)]:
            tasks.append((kind, claim.id, index, suite, claim_seed, str(out)))
            owner.append(k)
    with Progress(console=console, transient=True, disable=console is None) as progress:
        bar = progress.add_task("verifying", total=len(tasks))

        def done(i):
            progress.update(bar, advance=1, description=f"{tasks[i][1]} done")

        outputs = map_tasks(_task, tasks, jobs=jobs, scheduler=scheduler, star=True, on_done=done)
    results = []
    for k, claim in enumerate(claims):
        mine = [(task, out) for task, out, o in zip(tasks, outputs, owner) if o == k]
        (_, (failed, _)), searches = mine[0], mine[1:]
        results.append(_claim_result(
            claim, failed, [(checks_for(claim)[index], res) for (_, _, index, *_), (res, _) in searches],
            sum(t for _, (_, t) in mine)))
    return results


_STYLE = {HOLDS: "green", VIOLATED: "bold red", INCONCLUSIVE: "yellow"}


def print_table(results, console) -> None:
    rows = [(r.claim.id, r.claim.kind, r.verdict, str(r.examples),
             "-" if r.worst_ratio is None else f"{r.worst_ratio:.4g}", f"{r.seconds:.1f}") for r in results]
    table = Table(title="rankcollapse verify", expand=True)
    for k, col in enumerate(("id", "kind", "verdict", "examples", "worst ratio", "seconds")):
        # every column but the title keeps its full width on a narrow terminal or a pipe (80
        # columns): a verdict cut to "inconclusi…" would be worse than a cut title
        table.add_column(col, justify="right" if col in ("examples", "worst ratio", "seconds") else "left",
                         no_wrap=True, min_width=max([len(col)] + [len(row[k]) for row in rows]))
    table.add_column("title", overflow="ellipsis", no_wrap=True, ratio=1)
    for r, (cid, kind, verdict, *numbers) in zip(results, rows):
        table.add_row(cid, kind, f"[{_STYLE[r.verdict]}]{verdict}[/]", *numbers, r.claim.title)
    console.print(table)
    for r in results:
        if r.counterexample:
            how = ("rankcollapse.numerics.checks.common.load_case and certified_verdict with the check's evaluate"
                   if isinstance(load_case(r.counterexample), ExactCase)  # not a network
                   else f"`rankcollapse check {r.counterexample}`")
            console.print(f"{r.claim.id}: counterexample saved to {r.counterexample}; re-check it with {how}")


def report_json(results, suite: str, seed: int) -> dict:
    return {"format": "rankcollapse-report/1", "suite": suite, "seed": seed, "claims": [
        {"id": r.claim.id, "title": r.claim.title, "source": r.claim.source, "kind": r.claim.kind,
         "verdict": r.verdict, "examples": r.examples,
         "worst_ratio": None if r.worst_ratio is None else decimal_string(Fraction(r.worst_ratio), 17),
         "counterexample": r.counterexample, "detail": r.detail} for r in results]}


def exit_code(results) -> int:
    """1 if a theorem is violated, 3 if a theorem is undecided, else 0 (published findings do
    not change the exit code)."""
    theorems = [r.verdict for r in results if r.claim.kind == "theorem"]
    return 1 if VIOLATED in theorems else 3 if INCONCLUSIVE in theorems else 0
