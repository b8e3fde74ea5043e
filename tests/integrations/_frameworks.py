"""Shared set-up for the framework integration tests: a policy, programs, canary files."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    PolicyDefaults,
    Security,
)
from openclaw_exec.protocol import ApprovalRecord, Decision


def make_bin(tmp_path: Path) -> Path:
    """A folder with ``hello`` (allowlisted) and ``touchy`` (not: it needs a human)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    scripts = {"hello": 'echo "hello $*"', "touchy": 'touch "$1"'}
    for name, body in scripts.items():
        program = folder / name
        program.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        program.chmod(stat.S_IRWXU)
    return folder


def policy_file(bin_dir: Path, *, ask: Ask = Ask.ON_MISS) -> ApprovalsFile:
    """Allowlist ``hello``; everything else asks a human, and a timeout denies."""
    return ApprovalsFile(
        defaults=PolicyDefaults(security=Security.ALLOWLIST, ask=ask, ask_fallback=Security.DENY),
        agents={"*": AgentPolicy(allowlist=(AllowlistEntry(pattern=f"{bin_dir}/hello"),))},
    )


@asynccontextmanager
async def auto_approver(
    decide: Decision | Callable[[ApprovalRecord], Decision | None],
) -> AsyncIterator[MemoryApprovalStore]:
    """A memory store with an automatic approver answering every request."""
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, decide).run)
        yield store
        tg.cancel_scope.cancel()
