"""
``openclaw-exec approve --gateway`` in a real pseudo-terminal against real OpenClaw gateways.

The approver CLI runs in a pty, connected to OpenClaw 2026.4.1 / 2026.9.6 as an approval
client (``caps: exec-approvals``; ``--admin`` where 2026.9.6 shows other devices' requests
only to admins); a requester on another device registers a request the way OpenClaw's exec
tool does; the human's key reaches the requester as the gateway's decision. On 2026.9.6 a
request registered before the approver started (held pending by another approver) is shown
too: ``exec.approval.list`` at connect.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from _terminal_pty import HERE, Tty, child_env, next_outcome

if TYPE_CHECKING:
    from pathlib import Path

    from ._gateway import RunningGateway

pytestmark = [pytest.mark.interop]


def test_the_terminal_answers_a_real_openclaw_gateway(
    openclaw_gateway: RunningGateway, tmp_path: Path
) -> None:
    gateway = openclaw_gateway
    is96 = gateway.version.startswith("2026.9.")
    token_file = tmp_path / "gateway-token"
    token_file.write_text(gateway.token)
    token_file.chmod(0o600)
    args = ["--gateway", gateway.url, "--gateway-token-file", str(token_file)]
    args += ["--identity", str(tmp_path / "approver" / "device.json")]
    if is96:
        args.append("--admin")
    tty = Tty(args, rows=30, cols=120)
    requester = None
    try:
        tty.wait_for(f"0 pending | gateway {gateway.url}", timeout=60)
        requester = subprocess.Popen(
            [sys.executable, str(HERE / "_terminal_requester.py"), gateway.url, gateway.token,
             str(tmp_path / "requester" / "device.json"), "60000", "echo from-openclaw"],
            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        text = tty.wait_for("echo from-openclaw", timeout=60)
        assert re.search(r">\s+[01]:\d\d\s+\S{8}\s+main/agent:main:main\s+echo", text), text
        assert "offered: allow-once" in text  # what the gateway's allowedDecisions say
        tty.press("o")
        assert requester.stdout is not None
        assert next_outcome(requester.stdout)["decision"] == "allow-once"
        assert requester.wait(timeout=30) == 0
        tty.wait_for("0 pending")
        tty.press("q")
        assert tty.finish() == 0
    finally:
        tty.kill()
        if requester is not None:
            if requester.poll() is None:
                requester.kill()
            requester.communicate()  # closes its pipes
    assert tty.raw.endswith(b"approve: 1 answered, 0 expired, 0 left unanswered\r\n")


def test_a_request_pending_before_the_terminal_started_is_listed(
    gateway96: RunningGateway, tmp_path: Path
) -> None:
    gateway = gateway96
    token_file = tmp_path / "gateway-token"
    token_file.write_text(gateway.token)
    token_file.chmod(0o600)
    requester = subprocess.Popen(
        [sys.executable, str(HERE / "_terminal_requester.py"), gateway.url, gateway.token,
         str(tmp_path / "requester" / "device.json"), "60000",
         "--hold", str(tmp_path / "holder" / "device.json"), "echo listed-before"],
        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    tty = None
    try:
        assert requester.stdout is not None
        registered = json.loads(requester.stdout.readline())["registered"]
        tty = Tty(
            ["--gateway", gateway.url, "--gateway-token-file", str(token_file), "--admin",
             "--identity", str(tmp_path / "approver" / "device.json")],
            rows=30, cols=120,
        )  # fmt: skip
        text = tty.wait_for("echo listed-before", timeout=60)
        assert registered[:8] in text
        tty.press("d")
        outcome = next_outcome(requester.stdout)
        assert outcome == {"id": registered, "command": "echo listed-before", "decision": "deny"}
        tty.press("q")
        assert tty.finish() == 0
    finally:
        if tty is not None:
            tty.kill()
        if requester.poll() is None:
            requester.kill()
        requester.communicate()
