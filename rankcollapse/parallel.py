"""Run independent tasks serially, on local processes, or on a Dask cluster, with one result
order whatever the executor: a report for a given seed is the same for every ``--jobs``.

``map_tasks(fn, items, jobs, scheduler)`` returns ``[fn(item) for item in items]``. ``fn`` and the
items must be picklable (a module-level function, plain data): each task carries everything
it needs (its seed included), so no task depends on which worker ran it or when.

>>> map_tasks(pow, [(2, 3), (3, 2)], jobs=1, star=True)
[8, 9]

Local processes start from a fork server (a fresh process that imported ``fn``'s module once),
not by forking the caller: a caller's threads (a progress bar, HiGHS's or PyTorch's thread
pools) would be copied mid-state into the workers. On Dask every worker must run one thread:
mpmath's and python-flint's working precision is per process, so two tasks in threads of one
process would change each other's precision (``map_tasks`` refuses a cluster whose workers
have more).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

__all__ = ["map_tasks", "default_jobs", "add_arguments"]


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes >= 1, got {text!r}")
    return jobs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--jobs N`` and ``--scheduler ADDRESS``, for every command that runs :func:`map_tasks`."""
    parser.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                        help=f"local worker processes (default: all cores, here {default_jobs()})")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run on a Dask distributed cluster instead (e.g. tcp://host:8786; "
                             "workers with one thread each); needs the 'cluster' extra")


def _star(fn, args):
    return fn(*args)


def map_tasks(fn: Callable, items: Iterable, jobs: int | None = None, scheduler: str | None = None,
              star: bool = False, on_done: Callable[[int], None] | None = None) -> list:
    """``[fn(item) ...]`` in item order (``fn(*item)`` with ``star``). ``jobs=1`` runs in this
    process; ``jobs > 1`` on that many local processes; ``scheduler`` (an address such as
    ``tcp://host:8786``) on a Dask distributed cluster. ``on_done(k)`` is called as task ``k``
    finishes (for progress bars), in completion order."""
    items = list(items)
    call = (lambda item: fn(*item)) if star else fn
    if scheduler is not None:
        return _on_dask(fn, items, scheduler, star, on_done)
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1 or len(items) <= 1:
        out = []
        for k, item in enumerate(items):
            out.append(call(item))
            if on_done:
                on_done(k)
        return out
    from concurrent.futures import as_completed

    results = [None] * len(items)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([fn.__module__])  # ignored once the server runs: then workers import
    with ProcessPoolExecutor(max_workers=min(jobs, len(items)), mp_context=context) as pool:
        futures = {(pool.submit(_star, fn, item) if star else pool.submit(fn, item)): k
                   for k, item in enumerate(items)}
        for future in as_completed(futures):
            k = futures[future]
            results[k] = future.result()
            if on_done:
                on_done(k)
    return results


def _on_dask(fn, items, scheduler, star, on_done):
    try:
        from distributed import Client, as_completed
    except ImportError:
        from .errors import UsageError
        raise UsageError("--scheduler needs the 'cluster' extra: python3 -m pip install -e \".[cluster]\"") from None
    with Client(scheduler) as client:
        threads = client.nthreads()
        if any(t != 1 for t in threads.values()):
            from .errors import UsageError
            raise UsageError(f"--scheduler {scheduler}: every Dask worker must run one thread (dask worker "
                             f"--nthreads 1): precision is per process; workers have {sorted(set(threads.values()))}")
        futures = [client.submit(_star, fn, item, pure=False) if star else client.submit(fn, item, pure=False)
                   for item in items]
        index = {f.key: k for k, f in enumerate(futures)}
        for future in as_completed(futures):
            if on_done:
                on_done(index[future.key])
        return client.gather(futures)
