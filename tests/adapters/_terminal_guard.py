"""
A guard in its own process for the terminal tests: ``python _terminal_guard.py``.

Reads one JSON request per line on stdin and authorises each concurrently (after its
``delay``) through a real :class:`ExecGuard` whose store forwards to the approvals socket
named in the request (:class:`SocketApprover`, one per socket, started on first use). Prints
one JSON line per result as it arrives (``{"tag", "command", "allowed", "decision", "reason",
"persisted"}``). One process serves a whole test module: starting Python is the slow part.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import anyio.to_thread

from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.adapters.unix_socket import SocketApprover
from openclaw_exec.guard import ExecGuard


async def main() -> None:
    stores: dict[str, MemoryApprovalStore] = {}

    async with anyio.create_task_group() as tg:

        async def store_for(socket: str, token: str) -> MemoryApprovalStore:
            if socket not in stores:
                stores[socket] = MemoryApprovalStore()
                await tg.start(SocketApprover(stores[socket], socket, token).run)
            return stores[socket]

        async def one(request: dict[str, Any], store: MemoryApprovalStore) -> None:
            guard = ExecGuard(
                store=store, approvals=request["approvals"], timeout_ms=request["timeout_ms"]
            )
            await anyio.sleep(request.get("delay", 0))
            auth = await guard.authorize(
                request["command"],
                cwd=request.get("cwd", "/tmp"),
                agent_id=request.get("agent", "main"),
                session_key=request.get("session"),
            )
            line = {
                "tag": request.get("tag"),
                "command": request["command"],
                "allowed": auth.allowed,
                "decision": None if auth.decision is None else auth.decision.value,
                "reason": auth.reason,
                "persisted": list(auth.persisted),
            }
            print(json.dumps(line), flush=True)

        while line := await anyio.to_thread.run_sync(sys.stdin.readline):
            request = json.loads(line)
            tg.start_soon(one, request, await store_for(request["socket"], request["token"]))
        tg.cancel_scope.cancel()


if __name__ == "__main__":
    anyio.run(main)
