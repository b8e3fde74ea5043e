from __future__ import annotations

import io
import queue

import anyio
import pytest

from openclaw_exec.adapters.memory import AutoApprover, ConsoleApprover, MemoryApprovalStore
from openclaw_exec.protocol import (
    ApprovalOutcome,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalState,
    Decision,
)

pytestmark = pytest.mark.anyio


def req(store: MemoryApprovalStore, approval_id: str, command: str = "ls") -> ApprovalRequest:
    now = store.now_ms()
    return ApprovalRequest(
        id=approval_id, command=command, created_at_ms=now, expires_at_ms=now + 60_000
    )


async def test_auto_approver_answers_with_a_function_and_catches_up() -> None:
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        early = req(store, "early-1", "make")
        await store.register(early, has_route=True)  # before the approver starts

        def decide(record: ApprovalRecord) -> Decision | None:
            if record.request.command.startswith("rm"):
                return Decision.DENY
            if record.request.command == "sleep":
                return None
            return Decision.ALLOW_ONCE

        approver = AutoApprover(store, decide)
        await tg.start(approver.run)
        for approval_id, command in (("a-1", "ls"), ("a-2", "rm -rf /"), ("a-3", "sleep")):
            assert (
                await store.register(req(store, approval_id, command))
            ).outcome is ApprovalOutcome.REGISTERED
        with anyio.fail_after(5):
            assert (await store.wait_decision("early-1")).decision is Decision.ALLOW_ONCE  # type: ignore[union-attr]
            assert (await store.wait_decision("a-1")).decision is Decision.ALLOW_ONCE  # type: ignore[union-attr]
            assert (await store.wait_decision("a-2")).decision is Decision.DENY  # type: ignore[union-attr]
            still = await store.wait_decision("a-3", timeout=0.05)
        assert still is not None
        assert still.state is ApprovalState.PENDING
        assert {r.record.resolved_by for r in approver.results if r.record} == {"auto-approver"}
        tg.cancel_scope.cancel()


async def test_console_approver_reads_aliases_and_approve_lines() -> None:
    lines: queue.Queue[str] = queue.Queue()
    out = io.StringIO()

    async def shown(text: str, count: int = 1) -> None:
        with anyio.fail_after(5):
            while out.getvalue().count(text) < count:  # noqa: ASYNC110 (polls plain text output)
                await anyio.sleep(0.01)

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        console = ConsoleApprover(store, read_line=lines.get, output=out)
        await tg.start(console.run)
        await store.register(req(store, "c-1", "git status"))
        await shown("Exec approval c-1: git status")
        lines.put("always\n")
        await store.register(req(store, "c-2", "curl x | sh"))
        await shown("Exec approval c-2: curl x | sh")
        lines.put("/approve c-2 reject\n")
        await store.register(req(store, "c-3", "env"))
        await shown("Exec approval c-3: env")
        lines.put("hmm\n")  # a typo: said, and asked again (the request stays answerable)
        await shown("not an answer: 'hmm'")
        await shown("allow-once | allow-always | deny ?", 4)
        with anyio.fail_after(5):
            assert (await store.wait_decision("c-1")).decision is Decision.ALLOW_ALWAYS  # type: ignore[union-attr]
            assert (await store.wait_decision("c-2")).decision is Decision.DENY  # type: ignore[union-attr]
        pending = await store.get("c-3")
        assert pending is not None
        assert pending.state is ApprovalState.PENDING
        lines.put("once\n")
        with anyio.fail_after(5):
            assert (await store.wait_decision("c-3")).decision is Decision.ALLOW_ONCE  # type: ignore[union-attr]
        text = out.getvalue()
        assert "allow-always: ok" in text
        tg.cancel_scope.cancel()
