"""Shared test configuration: hypothesis profiles and anyio backends."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from _oracle import Oracle, find_oracle, skip_or_fail

# "ci" bounds every property test so the whole suite stays well under 10 minutes on
# 2 cores; "dev" is quicker still; "thorough" is for a long local fuzz run:
#   HYPOTHESIS_PROFILE=thorough pytest -m "slow or not slow"
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "thorough", max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test on asyncio and on trio."""
    return str(request.param)


# --- OpenClaw oracle (differential tests; scripts/setup-openclaw.sh installs it) ---------------
# Skipped with a reason when Node 24 / OpenClaw are absent locally; a failure when CI=true.


@pytest.fixture(scope="session")
def oracle41() -> Oracle:
    """OpenClaw 2026.4.1's own exec-approval functions (see tests/_oracle.py)."""
    oracle = find_oracle("2026.4.1")
    if oracle is None:
        skip_or_fail("Node 24 + OpenClaw 2026.4.1")
    assert oracle is not None
    return oracle


@pytest.fixture(scope="session")
def oracle96() -> Oracle:
    """OpenClaw 2026.9.6's own exec-approval functions (see tests/_oracle.py)."""
    oracle = find_oracle("2026.9.6")
    if oracle is None:
        skip_or_fail("Node 24 + OpenClaw 2026.9.6")
    assert oracle is not None
    return oracle
