"""Hypothesis profiles: ``ci`` (default: derandomised, bounded) and ``thorough`` (long local
runs: ``HYPOTHESIS_PROFILE=thorough python -m pytest``), and the session's shared quick-suite
verify runs (``quick_verify``)."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class QuickVerify:
    """``verify --suite quick --seed 0``, run claim by claim on demand and kept for the whole
    session: a claim's row does not depend on which claims run with it (run_verify), so the
    tests that need quick-suite verdicts (tests/test_parallel.py, tests/test_erratum.py,
    tests/test_pages.py) share one run per claim."""

    def __init__(self, out):
        self.out = out  # counterexample files (reports name them)
        self._results = {}

    def results(self, ids) -> list:
        """The ClaimResults of ``ids``, in registry order."""
        from rankcollapse import proofs
        from rankcollapse.verify import run_verify

        missing = {i for i in ids if i not in self._results}
        if missing:
            self._results.update((r.claim.id, r) for r in run_verify("quick", 0, self.out, only=missing, jobs=1))
        return [self._results[c.id] for c in proofs.all_claims() if c.id in set(ids)]

    def report(self, ids) -> dict:
        from rankcollapse.verify import report_json

        return report_json(self.results(ids), "quick", 0)


@pytest.fixture(scope="session")
def quick_verify(tmp_path_factory):
    return QuickVerify(tmp_path_factory.mktemp("verify-quick"))
