"""
Approvers that never take the agent down and never stop prompting (issue #13, "Approvers").

The console approver is driven through a real pseudo-terminal (pexpect), on asyncio and trio.
"""

from __future__ import annotations

import io
import logging
import sys
import textwrap
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.protocol import ApprovalRecord, ApprovalRequest, Decision

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[2]


def req(store: MemoryApprovalStore, approval_id: str, command: str = "ls") -> ApprovalRequest:
    now = store.now_ms()
    return ApprovalRequest(
        id=approval_id, command=command, created_at_ms=now, expires_at_ms=now + 60_000
    )


# ---------------------------------------------------------------------- AutoApprover


@pytest.mark.anyio
async def test_auto_approver_accepts_async_callbacks() -> None:
    async def decide(record: ApprovalRecord) -> Decision | None:
        await anyio.sleep(0.01)
        return Decision.DENY if "rm" in record.request.command else Decision.ALLOW_ONCE

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, decide).run)
        await store.register(req(store, "a-1", "ls"))
        await store.register(req(store, "a-2", "rm -rf /"))
        with anyio.fail_after(5):
            first = await store.wait_decision("a-1")
            second = await store.wait_decision("a-2")
        assert first is not None
        assert second is not None
        assert (first.decision, second.decision) == (Decision.ALLOW_ONCE, Decision.DENY)
        tg.cancel_scope.cancel()


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["raises", "raises-async", "nonsense", "nonsense-async"])
async def test_a_broken_callback_denies_and_is_logged(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    def plain(record: ApprovalRecord) -> Decision | None:
        if kind == "raises":
            raise RuntimeError("boom")
        return "allow-once"  # type: ignore[return-value]

    async def coroutine(record: ApprovalRecord) -> Decision | None:
        await anyio.lowlevel.checkpoint()
        if kind == "raises-async":
            raise RuntimeError("boom")
        return 42  # type: ignore[return-value]

    decide = coroutine if kind.endswith("async") else plain
    caplog.set_level(logging.ERROR, logger="openclaw_exec.approvers")
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        approver = AutoApprover(store, decide)
        await tg.start(approver.run)
        for n in range(3):  # the approver survives and keeps answering
            await store.register(req(store, f"b-{n}"))
            with anyio.fail_after(5):
                record = await store.wait_decision(f"b-{n}")
            assert record is not None
            assert record.decision is Decision.DENY
        assert len(approver.errors) == 3
        assert "denying" in caplog.text
        tg.cancel_scope.cancel()


# ---------------------------------------------------------------------- ConsoleApprover on a pty

SCRIPT = textwrap.dedent(
    """
    import sys

    import anyio

    from openclaw_exec.adapters.memory import ConsoleApprover, MemoryApprovalStore
    from openclaw_exec.protocol import ApprovalRequest


    async def main() -> None:
        async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
            await tg.start(ConsoleApprover(store).run)

            def req(approval_id, life_ms, command):
                now = store.now_ms()
                return ApprovalRequest(
                    id=approval_id, command=command, created_at_ms=now,
                    expires_at_ms=now + life_ms,
                )

            await store.register(req("typo0001-x", 60_000, "make typo"))
            print("RESULT1", (await store.wait_decision("typo0001-x")).decision, flush=True)
            await store.register(req("expire02-x", 1_500, "make expire"))
            await store.register(req("nextreq3-x", 60_000, "make next"))
            print("RESULT2", (await store.wait_decision("expire02-x")).state, flush=True)
            print("RESULT3", (await store.wait_decision("nextreq3-x")).decision, flush=True)
            tg.cancel_scope.cancel()
        print("LEFT THE TASK GROUP", flush=True)


    anyio.run(main, backend=sys.argv[1])
    """
)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_console_approver_on_a_terminal(tmp_path: Path, backend: str) -> None:
    script = tmp_path / "console.py"
    script.write_text(SCRIPT)
    child = pexpect.spawn(
        sys.executable,
        [str(script), backend],
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        encoding="utf-8",
        timeout=10,
    )
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        # 1. A typo is said and asked again; the request is not left pending.
        child.expect("Exec approval typo0001: make typo")
        child.expect_exact("allow-once | allow-always | deny ?")
        child.sendline("nope")
        child.expect("not an answer: 'nope'")
        child.expect_exact("allow-once | allow-always | deny ?")
        child.sendline("allow")
        child.expect("allow-once: ok")
        child.expect("RESULT1 allow-once")
        # 2. An expired prompt is noticed, and the next request is shown without any input.
        child.expect("Exec approval expire02: make expire")
        child.expect("expire02: expired without an answer")
        child.expect("Exec approval nextreq3: make next")
        child.expect_exact("allow-once | allow-always | deny ?")
        child.sendline("deny")
        child.expect("deny: ok")
        child.expect("RESULT3 deny")
        # 3. Cancelled while waiting on stdin, the process still exits at once.
        child.expect("LEFT THE TASK GROUP")
        child.expect(pexpect.EOF, timeout=5)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, seen.getvalue()
    assert "RESULT2 expired" in seen.getvalue()  # printed whenever the expiry lands
