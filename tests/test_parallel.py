"""--jobs and --scheduler: the same report whatever runs the tasks (rankcollapse.parallel, verify)."""

import math

import pytest

from rankcollapse.cli import main
from rankcollapse.parallel import map_tasks
from rankcollapse.verify import report_json, run_verify

# fast claims that still run searches: a violated published claim (a saved counterexample), a
# theorem with its own search, and one whose checks are symbolic only
ONLY = {"N1", "erratum.nohyp", "erratum"}


def test_map_tasks_keeps_item_order_and_reports_each_task_once():
    done = []
    # later items finish first (smaller numbers), yet come back in item order
    items = [(3000 - 400 * k) for k in range(7)]
    assert map_tasks(math.factorial, items, jobs=2, on_done=done.append) == [math.factorial(v) for v in items]
    assert sorted(done) == list(range(7))


@pytest.fixture(scope="module")
def out(quick_verify):
    return quick_verify.out  # one directory: reports name the saved files


@pytest.fixture(scope="module")
def serial(quick_verify):
    return quick_verify.report(ONLY)  # run with jobs=1, shared with the other tests (conftest.py)


def test_verify_report_is_the_same_for_one_and_two_processes(out, serial):
    parallel = report_json(run_verify("quick", 0, out, only=ONLY, jobs=2), "quick", 0)
    assert serial == parallel
    verdicts = {c["id"]: c["verdict"] for c in serial["claims"]}
    assert verdicts["erratum.nohyp"] == "violated" and verdicts["N1"] == "holds"
    assert all(c["examples"] > 0 for c in serial["claims"])


def test_verify_on_a_dask_cluster_matches_the_serial_report(out, serial):
    distributed = pytest.importorskip("distributed", reason="the 'cluster' extra (distributed) is not installed")
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        on_dask = report_json(run_verify("quick", 0, out, only=ONLY, scheduler=cluster.scheduler_address),
                              "quick", 0)
    assert on_dask == serial


def test_a_dask_worker_with_two_threads_is_refused(capsys):
    distributed = pytest.importorskip("distributed", reason="the 'cluster' extra (distributed) is not installed")
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster:
        assert main(["verify", "--suite", "quick", "--scheduler", cluster.scheduler_address]) == 2
    assert "one thread" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["0", "-3", "two"])
def test_bad_jobs_is_a_usage_error(jobs, capsys, tmp_path):
    assert main(["verify", "--jobs", jobs, "--json", str(tmp_path / "r.json")]) == 2
    assert "--jobs" in capsys.readouterr().err and not (tmp_path / "r.json").exists()
