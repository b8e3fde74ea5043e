"""
A guard in its own process that asks the gateway kit (and so the web page) for approval.

Usage: python _guard_process.py WS_URL TOKEN IDENTITY_DIR CWD COMMAND

The guard runs on a memory store; a bridge forwards each request the store announces to the
kit (``exec.approval.request`` over WebSocket, the approval id kept) and resolves the store
with the kit's decision: what a gateway approver does. Prints one JSON line when the guard
has decided, and runs the command only if it was authorised.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import anyio.abc

from openclaw_exec import ExecGuard, ExecPolicy
from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.adapters.websocket import (
    ApprovalRequester,
    GatewayClientOptions,
    ReconnectPolicy,
)
from openclaw_exec.protocol import ApprovalRecord, ApprovalRequested, Principal

GATEWAY = Principal(id="gateway-kit", display_name="gateway kit")


async def forward(
    store: MemoryApprovalStore, options: GatewayClientOptions, record: ApprovalRecord
) -> None:
    request = record.request
    left = max(1, request.expires_at_ms - store.now_ms())
    async with ApprovalRequester.connect(options) as requester:
        outcome = await requester.request_decision(
            request.command,
            argv=request.command_argv,
            cwd=request.cwd,
            agent_id=request.agent_id,
            session_key=request.session_key,
            timeout_ms=left,
            approval_id=request.id,
        )
    if outcome.decision is not None:
        await store.resolve(request.id, outcome.decision, approver=GATEWAY)


async def bridge(
    store: MemoryApprovalStore,
    options: GatewayClientOptions,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    async with store.subscribe() as events, anyio.create_task_group() as tg:
        task_status.started()
        async for event in events:
            if isinstance(event, ApprovalRequested):
                tg.start_soon(forward, store, options, event.record)


async def main(url: str, token: str, identity_dir: str, cwd: str, command: str) -> None:
    options = GatewayClientOptions(
        url=url,
        token=token,
        identity_path=Path(identity_dir) / "device.json",
        caps=(),
        reconnect=ReconnectPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.2),
    )
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(bridge, store, options)
        guard = ExecGuard(
            store=store, policy=ExecPolicy(security="allowlist", ask="always"), timeout_ms=60_000
        )
        print(json.dumps({"waiting": True}), flush=True)
        auth = await guard.authorize(command, cwd=cwd, session_key="web-test")
        print(
            json.dumps(
                {
                    "allowed": auth.allowed,
                    "decision": None if auth.decision is None else str(auth.decision),
                    "approvalId": auth.approval_id,
                }
            ),
            flush=True,
        )
        if auth.allowed:
            await anyio.run_process(["/bin/sh", "-c", command], cwd=auth.cwd)
        tg.cancel_scope.cancel()


if __name__ == "__main__":
    url, token, identity_dir, cwd, command = sys.argv[1:6]
    anyio.run(main, url, token, identity_dir, cwd, command)
