"""
Deferred approvals under any interleaving: one request, one outcome (memory store).

The machine (:mod:`openclaw_exec.testing.outcome_machine`) runs a real guard over a real
store on asyncio and on trio; the Redis store runs it in ``tests/redis_store``. A few
examples in the default run, many behind ``slow``.
"""

from __future__ import annotations

import pytest

from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.testing.outcome_machine import GRACE_MS, run_outcome_machine


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_memory_store_gives_one_outcome_per_request(backend: str) -> None:
    run_outcome_machine(
        lambda clock: MemoryApprovalStore(clock=clock, grace_ms=GRACE_MS),
        backend=backend,
        persistent=False,  # a new memory store knows nothing: every old id is refused
        max_examples=15,
        steps=25,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_memory_store_gives_one_outcome_per_request_many(backend: str) -> None:
    run_outcome_machine(
        lambda clock: MemoryApprovalStore(clock=clock, grace_ms=GRACE_MS),
        backend=backend,
        persistent=False,
        max_examples=300,
        steps=50,
    )
