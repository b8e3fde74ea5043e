"""
A requester in its own process for the terminal tests, over a gateway (the kit or OpenClaw).

``python _terminal_requester.py URL TOKEN IDENTITY TIMEOUT_MS [--hold IDENTITY] COMMAND...``:
registers one exec approval request per command, one after the other (as OpenClaw's exec tool
does, ``twoPhase``), from its own device. Prints ``{"registered": id}`` when the gateway
accepts each one and ``{"id", "command", "decision"}`` once it is settled (``decision``
null: nobody answered before it expired). ``--hold IDENTITY`` first connects a silent
approver on that device (admin, approval caps), so the gateway keeps the requests pending
while no other approver is connected (it expires them at once otherwise).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator

import anyio

from openclaw_exec.adapters.websocket import (
    ApprovalOperator,
    ApprovalPrompt,
    ApprovalRegistration,
    ApprovalRequester,
    GatewayClientOptions,
    ReconnectPolicy,
)
from openclaw_exec.protocol import Decision

RECONNECT = ReconnectPolicy(max_attempts=5, initial_delay=0.2)


async def silent(_prompt: ApprovalPrompt) -> Decision | None:
    await anyio.sleep_forever()
    return None


@contextlib.asynccontextmanager
async def holding(url: str, token: str, identity: str | None) -> AsyncIterator[None]:
    if identity is None:
        yield
        return
    options = GatewayClientOptions(
        url=url, token=token, identity_path=identity, client_id="test", client_mode="test",
        scopes=("operator.approvals", "operator.admin"), caps=("exec-approvals",),
        reconnect=RECONNECT,
    )  # fmt: skip
    async with anyio.create_task_group() as tg:
        await tg.start(ApprovalOperator(options, silent).run)
        yield
        tg.cancel_scope.cancel()


async def main(  # noqa: PLR0917 (the command line, in order)
    url: str, token: str, identity: str, timeout_ms: int, hold: str | None, commands: list[str]
) -> None:
    options = GatewayClientOptions(
        url=url,
        token=token,
        identity_path=identity,
        scopes=("operator.approvals",),
        caps=(),
        reconnect=RECONNECT,
    )

    def registered(registration: ApprovalRegistration) -> None:
        print(json.dumps({"registered": registration.id}), flush=True)

    async with holding(url, token, hold), ApprovalRequester.connect(options) as requester:
        for command in commands:
            outcome = await requester.request_decision(
                command, cwd="/tmp", agent_id="main", session_key="agent:main:main",
                timeout_ms=timeout_ms, on_registered=registered,
            )  # fmt: skip
            decision = None if outcome.decision is None else outcome.decision.value
            line = {"id": outcome.id, "command": command, "decision": decision}
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    url, token, identity, timeout_ms, *rest = sys.argv[1:]
    hold = None
    if rest[:1] == ["--hold"]:
        hold, rest = rest[1], rest[2:]
    anyio.run(main, url, token, identity, int(timeout_ms), hold, rest)
