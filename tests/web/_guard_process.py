"""
A guard in its own process that asks the gateway kit (and so the web page) for approval.

Usage: python _guard_process.py WS_URL TOKEN IDENTITY_DIR CWD COMMAND

``open_guard`` with a :class:`GatewayApprover`: each request the guard registers is asked of
the kit over WebSocket under its own approval id (the one approver contract). Prints one
JSON line before asking and one when the guard has decided; runs the command (with
``guarded_run``) only if it was authorised.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio

from openclaw_exec import ExecPolicy, open_guard
from openclaw_exec.adapters.web import GatewayApprover
from openclaw_exec.adapters.websocket import GatewayClientOptions, ReconnectPolicy


async def main(url: str, token: str, identity_dir: str, cwd: str, command: str) -> None:
    approver = GatewayApprover(
        GatewayClientOptions(
            url=url,
            token=token,
            identity_path=Path(identity_dir) / "device.json",
            caps=(),
            reconnect=ReconnectPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.2),
        )
    )
    policy = ExecPolicy(security="allowlist", ask="always")
    async with open_guard(policy=policy, approver=approver, timeout_ms=60_000) as guard:
        print(json.dumps({"waiting": True}), flush=True)
        auth = await guard.authorize(command, cwd=cwd, session_key="web-test")
        decision = None if auth.decision is None else str(auth.decision)
        print(json.dumps({"allowed": auth.allowed, "decision": decision}), flush=True)
        if auth.allowed:
            await anyio.run_process(["/bin/sh", "-c", command], cwd=auth.cwd)


if __name__ == "__main__":
    url, token, identity_dir, cwd, command = sys.argv[1:6]
    anyio.run(main, url, token, identity_dir, cwd, command)
