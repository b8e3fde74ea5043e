"""
A requester in its own process for the terminal tests, over a gateway (the kit or OpenClaw).

``python _terminal_requester.py URL TOKEN IDENTITY TIMEOUT_MS COMMAND...``: registers one exec
approval request per command, one after the other (as OpenClaw's exec tool does,
``twoPhase``), from its own device, and prints ``{"id", "command", "decision"}`` as JSON once
each is settled (``decision`` null: nobody answered before it expired).
"""

from __future__ import annotations

import json
import sys

import anyio

from openclaw_exec.adapters.websocket import (
    ApprovalRequester,
    GatewayClientOptions,
    ReconnectPolicy,
)


async def main(url: str, token: str, identity: str, timeout_ms: int, commands: list[str]) -> None:
    options = GatewayClientOptions(
        url=url,
        token=token,
        identity_path=identity,
        scopes=("operator.approvals",),
        caps=(),
        reconnect=ReconnectPolicy(max_attempts=5, initial_delay=0.2),
    )
    async with ApprovalRequester.connect(options) as requester:
        for command in commands:
            outcome = await requester.request_decision(
                command, cwd="/tmp", agent_id="main", session_key="agent:main:main",
                timeout_ms=timeout_ms,
            )  # fmt: skip
            decision = None if outcome.decision is None else outcome.decision.value
            line = {"id": outcome.id, "command": command, "decision": decision}
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    url, token, identity, timeout_ms, *commands = sys.argv[1:]
    anyio.run(main, url, token, identity, int(timeout_ms), commands)
