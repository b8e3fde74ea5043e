"""
A gateway on 127.0.0.1 with one approver: the #59882 seed scenario, working end to end.

Seed setting: a loopback gateway, token auth, ``ask: "always"``, and an exec client whose
device identity was first paired with ``operator.read`` (as ``openclaw status`` does on
OpenClaw 2026.4.1, which then locks the approval path with ``1008 pairing required``).
Here the same sequence works: the command waits, the approver sees it, approves, it runs.

Run it::

    python examples/gateway.py            # the whole demo, then exit
    python examples/gateway.py --deny     # the approver says no: nothing runs
    python examples/gateway.py --serve    # only the gateway, until Ctrl-C (prints its URL)

Needs the ``[websocket]`` extra (``pip install 'openclaw-exec[websocket]'``).
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import sys
import tempfile
from pathlib import Path

import anyio

from openclaw_exec.adapters.websocket import (
    ApprovalOperator,
    ApprovalPrompt,
    ApprovalRequester,
    FilePairingStore,
    GatewayClientOptions,
    GatewayKit,
    GatewayKitConfig,
    open_gateway_session,
)
from openclaw_exec.pairing import AuthConfig
from openclaw_exec.protocol import Decision

COMMAND = ["echo", "hello from an approved command"]


async def demo(state: Path, *, deny: bool, serve_only: bool) -> int:
    token = secrets.token_urlsafe(24)
    kit = GatewayKit(
        GatewayKitConfig(auth=AuthConfig(mode="token", token=token)),
        store=FilePairingStore(state / "gateway" / "devices"),
    )
    async with anyio.create_task_group() as tg:
        port = await tg.start(kit.serve)  # 127.0.0.1, a free port
        url = f"ws://127.0.0.1:{port}"
        print(f"gateway: listening on {url} (token auth, ask=always)")
        if serve_only:
            print(f"gateway: token {token}; Ctrl-C to stop")
            await anyio.sleep_forever()

        # The seed: the exec host's one identity is first paired with operator.read only.
        exec_identity = state / "exec-host" / "identity" / "device.json"
        reader = GatewayClientOptions(
            url=url, token=token, identity_path=exec_identity, scopes=("operator.read",), caps=()
        )
        async with open_gateway_session(reader) as session:
            print(f"exec host: paired with {list(session.hello.scopes)} (like `openclaw status`)")

        # The approver: a human at a terminal, played here by a callback.
        async def approver_ui(prompt: ApprovalPrompt) -> Decision:
            answer = Decision.DENY if deny else Decision.ALLOW_ONCE
            print(f"approver: {prompt.command!r} in {prompt.cwd} (ask={prompt.ask}) -> {answer}")
            return answer

        approver = ApprovalOperator(
            GatewayClientOptions(
                url=url,
                token=token,
                identity_path=state / "approver" / "identity" / "device.json",
                display_name="terminal approver",
            ),
            approver_ui,
        )
        await tg.start(approver.run)
        print("approver: connected, waiting for requests")

        # The exec host asks on the same identity, now for operator.approvals: the scope
        # upgrade OpenClaw 2026.4.1 refused with 1008. The kit upgrades a loopback client
        # holding the shared token silently, so the request reaches the approver.
        host = GatewayClientOptions(url=url, token=token, identity_path=exec_identity, caps=())
        async with ApprovalRequester.connect(host) as requester:
            print(f"exec host: asking to run {shlex.join(COMMAND)!r}; waiting for a decision")
            outcome = await requester.request_decision(
                shlex.join(COMMAND),
                argv=COMMAND,
                cwd=str(state),
                security="full",
                ask="always",
                agent_id="main",
                timeout_ms=60_000,
            )
        tg.cancel_scope.cancel()

    if outcome.decision not in (Decision.ALLOW_ONCE, Decision.ALLOW_ALWAYS):
        # No decision (timeout, no approver) falls back to askFallback: deny. Fail closed.
        print(f"exec host: not running it (decision: {outcome.decision})")
        return 1
    done = await anyio.run_process(COMMAND, cwd=state, check=False)
    print(f"exec host: ran it, exit {done.returncode}, output: {done.stdout.decode().strip()}")
    return done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deny", action="store_true", help="the approver answers deny")
    parser.add_argument("--serve", action="store_true", help="only run the gateway")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openclaw-exec-gateway-") as folder:
        try:
            return anyio.run(lambda: demo(Path(folder), deny=args.deny, serve_only=args.serve))
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
