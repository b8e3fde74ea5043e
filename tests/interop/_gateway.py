"""
Start and stop a real OpenClaw gateway on 127.0.0.1 for interop tests.

Follows ``gateway-interop.md``: a throwaway ``HOME`` (and state dir, and temp dir, since
OpenClaw always logs under the system temp folder), token auth, loopback bind, a free port,
``OPENCLAW_NO_RESPAWN=1`` so there is one gateway process. The gateway runs in its own
session (process group); 2026.9.6 also starts a spawn broker in *another* process group, so
stopping signals the group and then every descendant recorded before the signal.

Readiness: the port opens (1-3 s on 2026.4.1, 5-20 s on 2026.9.6 on a busy 2-core machine),
then a device-less ``connect`` is retried until ``hello-ok`` (2026.9.6 answers
``UNAVAILABLE`` + close 1013 while its sidecars start).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

if TYPE_CHECKING:
    from _oracle import OpenClawInstall

__all__ = [
    "ADMIN",
    "APPROVALS",
    "GatewayStartError",
    "RunningGateway",
    "approver_scopes",
    "free_port",
    "start_gateway",
]

TOKEN = "interop-test-token-0123456789"


class GatewayStartError(RuntimeError):
    """The gateway did not become ready; the message ends with its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    """Every live descendant of *pid* (from /proc), children before grandchildren."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = children.get(todo.pop(0), [])
        out.extend(kids)
        todo.extend(kids)
    return out


@attrs.define
class RunningGateway:
    """A real OpenClaw gateway started by :func:`start_gateway`."""

    install: OpenClawInstall
    port: int
    token: str
    home: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    startup_seconds: float = 0.0

    @property
    def version(self) -> str:
        """The OpenClaw version."""
        return self.install.version

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>``."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def state_dir(self) -> Path:
        """The gateway's ``OPENCLAW_STATE_DIR``."""
        return self.home / ".openclaw"

    def env(self) -> dict[str, str]:
        """The environment the gateway (and its CLI) runs with."""
        return _environment(self.home)

    def cli(
        self, *args: str, timeout: float = 60.0, home: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """
        Run ``openclaw <args>`` as the gateway's own user (same HOME and config).

        With *home* (see :meth:`client_home`), run it as another local user of the same
        gateway: its own CLI identity, the same port and token.
        """
        return subprocess.run(  # noqa: PLW1510 - callers look at returncode and output
            [str(self.install.node), str(self.install.entry), *args],
            env=_environment(home or self.home),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(home or self.home),
        )

    def client_home(self, path: Path) -> Path:
        """A fresh HOME whose OpenClaw config points at this gateway (for CLI runs)."""
        state = path / ".openclaw"
        state.mkdir(parents=True, mode=0o700)
        (path / "tmp").mkdir(mode=0o700)
        config = {
            "gateway": {
                "mode": "local",
                "port": self.port,
                "auth": {"mode": "token", "token": self.token},
            },
            "update": {"checkOnStart": False},
        }
        (state / "openclaw.json").write_text(json.dumps(config, indent=2))
        return path

    def devices(self) -> dict[str, Any]:
        """``openclaw devices list --json`` (pending and paired devices)."""
        done = self.cli("devices", "list", "--json", "--url", self.url, "--token", self.token)
        if done.returncode != 0:
            msg = f"openclaw devices list failed ({done.returncode}): {done.stderr}{done.stdout}"
            raise RuntimeError(msg)
        result: dict[str, Any] = json.loads(done.stdout[done.stdout.index("{") :])
        return result

    def call(self, method: str, params: dict[str, Any], *, timeout: float = 60.0) -> Any:
        """``openclaw gateway call METHOD --params JSON --json``; the parsed answer."""
        done = self.cli(
            "gateway",
            "call",
            method,
            "--params",
            json.dumps(params),
            "--json",
            "--url",
            self.url,
            "--token",
            self.token,
            "--timeout",
            str(int(timeout * 1000)),
            timeout=timeout + 30,
        )
        if done.returncode != 0:
            msg = f"openclaw gateway call {method} failed ({done.returncode}): "
            msg += done.stderr + done.stdout
            raise RuntimeError(msg)
        return json.loads(done.stdout[done.stdout.index("{") :])

    def log_tail(self, lines: int = 40) -> str:
        """The last *lines* of the gateway's console log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the gateway's group and its recorded descendants; SIGKILL what is left."""
        if self.proc.poll() is not None:
            return
        family = _descendants(self.proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout)
        deadline = time.monotonic() + 5
        for pid in family:
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _environment(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENCLAW_", "NODE_", "npm_")) and k not in {"HOME", "TMPDIR"}
    }
    env.update(
        HOME=str(home),
        OPENCLAW_STATE_DIR=str(home / ".openclaw"),
        OPENCLAW_NO_RESPAWN="1",
        OPENCLAW_DISABLE_BONJOUR="1",
        TMPDIR=str(home / "tmp"),
        NO_COLOR="1",
    )
    return env


def _write_config(home: Path, port: int, token: str, version: str) -> None:
    state = home / ".openclaw"
    state.mkdir(parents=True, mode=0o700)
    (home / "tmp").mkdir(mode=0o700)
    config = {
        "gateway": {
            "mode": "local",
            "bind": "loopback",
            "port": port,
            "auth": {"mode": "token", "token": token},
        },
        "tools": {"exec": {"host": "gateway", "security": "full", "ask": "always"}},
        "update": {"checkOnStart": False},
        "discovery": {"mdns": {"mode": "off"}},
    }
    (state / "openclaw.json").write_text(json.dumps(config, indent=2))
    if not version.startswith("2026.4."):
        # 2026.9.6 migrates this file into state/openclaw.sqlite at start-up with a "no-replace"
        # rename that overlay file systems lack, and then refuses to start (exit 78). The approval
        # routing under test does not read it, so only the 2026.4.x gateways get the file.
        return
    approvals = {
        "version": 1,
        "defaults": {"security": "full", "ask": "always", "askFallback": "deny"},
        "agents": {},
    }
    (state / "exec-approvals.json").write_text(json.dumps(approvals, indent=2))


def _probe(url: str, token: str) -> str | None:
    """One device-less operator connect; ``None`` on ``hello-ok``, else why not."""
    try:
        with connect(url, open_timeout=5, close_timeout=1, max_size=None) as ws:
            challenge = json.loads(ws.recv(timeout=5))
            if challenge.get("event") != "connect.challenge":
                return f"unexpected first frame {challenge!r}"
            params = {
                "minProtocol": 3,
                "maxProtocol": 4,
                "client": {"id": "test", "version": "probe", "platform": "linux", "mode": "test"},
                "role": "operator",
                "scopes": [],
                "auth": {"token": token},
            }
            ws.send(
                json.dumps(
                    {"type": "req", "id": str(uuid.uuid4()), "method": "connect", "params": params}
                )
            )
            answer = json.loads(ws.recv(timeout=10))
    except (OSError, ConnectionClosed, TimeoutError) as e:
        return f"{type(e).__name__}: {e}"
    if answer.get("ok") and answer.get("payload", {}).get("type") == "hello-ok":
        return None
    return f"connect answered {answer.get('error')!r}"


def start_gateway(
    install: OpenClawInstall,
    workdir: Path,
    *,
    token: str = TOKEN,
    timeout: float = 120.0,
) -> RunningGateway:
    """
    Start OpenClaw's gateway in a throwaway HOME under *workdir* and wait until it is ready.

    Raises:
        GatewayStartError: it exited or was not ready within *timeout* (the gateway is stopped).
    """
    port = free_port()
    home = workdir / f"openclaw-{install.version}-{port}"
    _write_config(home, port, token, install.version)
    log_path = home / "gateway.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(install.node),
                str(install.entry),
                "gateway",
                "run",
                "--bind",
                "loopback",
                "--port",
                str(port),
                "--auth",
                "token",
                "--token",
                token,
                "--allow-unconfigured",
                "--verbose",
            ],
            env=_environment(home),
            cwd=str(home),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    gateway = RunningGateway(
        install=install, port=port, token=token, home=home, proc=proc, log_path=log_path
    )
    deadline = started + timeout
    why = "port not open"
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                why = f"exited with {proc.returncode}"
                break
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                if s.connect_ex(("127.0.0.1", port)) != 0:
                    time.sleep(0.2)
                    continue
            why = _probe(gateway.url, token) or ""
            if not why:
                gateway.startup_seconds = time.monotonic() - started
                return gateway
            time.sleep(0.5)
    except BaseException:
        gateway.stop()
        raise
    gateway.stop()
    msg = (
        f"OpenClaw {install.version} gateway on port {port} not ready after "
        f"{time.monotonic() - started:.1f} s ({why}); log tail:\n{gateway.log_tail()}"
    )
    raise GatewayStartError(msg)


APPROVALS = "operator.approvals"
ADMIN = "operator.admin"


def approver_scopes(version: str) -> tuple[str, ...]:
    """
    What an approver asks for: 2026.9.6 shows another device's approvals only to admins.

    (``gateway-interop.md`` §4.1: an approval client there needs ``caps: ["exec-approvals"]``
    and ``operator.admin``, or the requester's own device id.)
    """
    return (APPROVALS,) if version.startswith("2026.4.") else (APPROVALS, ADMIN)
