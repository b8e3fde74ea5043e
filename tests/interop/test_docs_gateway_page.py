"""
``docs/openclaw-gateway.md``, executed: its config, start command, example and CLI call.

For each OpenClaw version the test writes the page's ``openclaw.json`` into a throwaway
HOME, runs the page's start command with ``bash`` (only the port changed to a free one),
runs the page's Python example and compares its output with the page's, then runs the
page's ``devices list`` command. A page that drifts from the real gateway fails here.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _oracle import find_openclaw, skip_or_fail

from ._gateway import RunningGateway, _probe, free_port

pytestmark = pytest.mark.interop

PAGE = Path(__file__).resolve().parents[2] / "docs" / "openclaw-gateway.md"
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
PORT = "18789"
SRC = Path(__file__).resolve().parents[2] / "src"


def _blocks() -> list[tuple[str, str, str]]:
    """(language, body, prose after it) for every fenced block of the page."""
    text = PAGE.read_text(encoding="utf-8")
    found = list(FENCE.finditer(text))
    return [
        (
            m.group(1),
            m.group(2),
            text[m.end() : found[i + 1].start() if i + 1 < len(found) else len(text)],
        )
        for i, m in enumerate(found)
    ]


def _one(lang: str, needle: str) -> tuple[int, str]:
    hits = [
        (i, body) for i, (kind, body, _) in enumerate(_blocks()) if kind == lang and needle in body
    ]
    assert len(hits) == 1, f"expected one {lang} block with {needle!r} in {PAGE.name}"
    return hits[0]


def _token() -> str:
    """Run the page's token command; what it exports is what the gateway gets."""
    _, make = _one("bash", "export OPENCLAW_GATEWAY_TOKEN=")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", make + 'printf %s "$OPENCLAW_GATEWAY_TOKEN"'],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def test_the_page_has_what_the_test_runs() -> None:
    """The pieces exist, and the token command makes a fresh long secret (no gateway needed)."""
    first, second = _token(), _token()
    assert len(first) >= 32
    assert first != second
    _one("json", '"gateway"')
    _one("bash", "gateway run")
    _one("bash", "devices list")
    index, _ = _one("python", "ApprovalOperator")
    assert _blocks()[index][2].strip() == "It prints:"
    assert _blocks()[index + 1][0] == "text"


@pytest.mark.parametrize("version", ["2026.9.6", "2026.4.1"])
def test_the_page_runs_against_a_real_gateway(version: str, tmp_path: Path) -> None:
    install = find_openclaw(version)
    if install is None:
        skip_or_fail(f"Node 24 + OpenClaw {version}")
    assert install is not None
    port = str(free_port())
    home = tmp_path / "home"
    (home / ".openclaw").mkdir(parents=True, mode=0o700)
    (home / "tmp").mkdir(mode=0o700)
    _, config_text = _one("json", '"gateway"')
    config = json.loads(config_text)
    config["gateway"]["port"] = int(port)
    (home / ".openclaw" / "openclaw.json").write_text(json.dumps(config, indent=2))
    token = _token()

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENCLAW_", "NODE_", "npm_")) and k not in {"HOME", "TMPDIR"}
    }
    env.update(
        HOME=str(home),
        TMPDIR=str(home / "tmp"),  # OpenClaw always logs under the temp folder
        OPENCLAW=str(install.package),
        PATH=f"{install.node.parent}{os.pathsep}{env.get('PATH', '')}",
        NO_COLOR="1",
        OPENCLAW_GATEWAY_TOKEN=token,
    )
    _, start = _one("bash", "gateway run")
    log_path = home / "gateway.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", start.replace(PORT, port)],
            env=env,
            cwd=str(home),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    gateway = RunningGateway(
        install=install, port=int(port), token=token, home=home, proc=proc, log_path=log_path
    )
    try:
        _wait_ready(gateway)
        index, example = _one("python", "ApprovalOperator")
        expected = _blocks()[index + 1][1]
        work = tmp_path / "client"
        work.mkdir()
        done = subprocess.run(
            [sys.executable, "-c", example],
            env={
                **os.environ,
                "PYTHONPATH": str(SRC),
                "OPENCLAW_GATEWAY_URL": f"ws://127.0.0.1:{port}",
                "OPENCLAW_GATEWAY_TOKEN": token,
            },
            cwd=str(work),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:] + gateway.log_tail()
        assert done.stdout == expected
        approver_id = json.loads((work / "approver" / "device.json").read_text())["deviceId"]
        exec_host_id = json.loads((work / "exec-host" / "device.json").read_text())["deviceId"]

        _, listing = _one("bash", "devices list")
        devices = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", listing.replace(PORT, port)],
            env=env,
            cwd=str(home),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert devices.returncode == 0, devices.stderr + devices.stdout
        answer = json.loads(devices.stdout[devices.stdout.index("{") :])
        paired = {row["deviceId"]: row for row in answer.get("paired") or []}
        assert "operator.admin" in json.dumps(paired[approver_id])
        # As the page says: 2026.9.6 skipped pairing for the gateway-client/backend exec host.
        assert (exec_host_id in paired) is version.startswith("2026.4.")
    finally:
        gateway.stop()


def _wait_ready(gateway: RunningGateway, timeout: float = 150.0) -> None:
    deadline = time.monotonic() + timeout
    why = "port not open"
    while time.monotonic() < deadline:
        if gateway.proc.poll() is not None:
            pytest.fail(f"gateway exited {gateway.proc.returncode}:\n{gateway.log_tail()}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", gateway.port)) != 0:
                time.sleep(0.3)
                continue
        why = _probe(gateway.url, gateway.token) or ""
        if not why:
            return
        time.sleep(0.5)
    pytest.fail(f"gateway not ready after {timeout} s ({why}):\n{gateway.log_tail()}")
