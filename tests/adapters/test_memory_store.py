from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.testing.store_contract import ApprovalStoreContract


class TestMemoryStoreContract(ApprovalStoreContract):
    def make_store(self, *, grace_ms: int) -> AbstractAsyncContextManager[ApprovalStore]:
        return MemoryApprovalStore(grace_ms=grace_ms)
