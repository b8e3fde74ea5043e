"""
Where the guard does its work: on the calling thread when it is a few system calls, in a
worker thread otherwise, with the same answers either way (asyncio + trio).

A small approvals file and a short command with the real resolver are handled inline; a
large file, a long command or a custom resolver go to a worker thread; the sandbox's
backends are never probed when the sandbox is off; and ``authorize`` stays cancellable.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from openclaw_exec import _guard_checking as checking_module
from openclaw_exec import guard as guard_module
from openclaw_exec.analysis import OsResolver
from openclaw_exec.guard import ExecGuard

TRUE = os.path.realpath(shutil.which("true") or "/bin/true")
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}


def _write(path: Path, *, padding: int = 0) -> None:
    document: dict[str, Any] = {
        "version": 1,
        "defaults": {"security": "allowlist", "ask": "off", "askFallback": "deny"},
        "agents": {
            "main": {
                "allowlist": [{"pattern": TRUE}]
                + [{"pattern": f"/opt/pad{i:06d}/bin/tool"} for i in range(padding)]
            }
        },
    }
    path.write_text(json.dumps(document))
    path.chmod(0o600)


class _Hops:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = anyio.to_thread.run_sync

        async def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await real(*args, **kwargs)

        monkeypatch.setattr(anyio.to_thread, "run_sync", counting)


@pytest.mark.anyio
async def test_an_allowlisted_decision_needs_no_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "exec-approvals.json"
    _write(path)
    guard = ExecGuard(approvals=path, audit=tmp_path / "audit.jsonl")
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed  # stamps the use
    hops = _Hops(monkeypatch)
    probed: list[object] = []
    monkeypatch.setattr(guard_module.ExecGuard, "sandbox_backends", property(probed.append))
    auth = await guard.authorize("true", cwd=str(tmp_path), env=ENV)
    assert auth.allowed, auth.message
    assert auth.audit is not None  # recorded as before
    assert hops.count == 0
    assert probed == []  # sandbox off: no backend is even made
    # A miss is decided inline too, and denied as before.
    denied = await guard.authorize("ls", cwd=str(tmp_path), env=ENV)
    assert not denied.allowed
    assert denied.audit is not None


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["large file", "long command", "custom resolver"])
async def test_the_rest_goes_to_a_worker_thread_with_the_same_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    path = tmp_path / "exec-approvals.json"
    _write(path, padding=9000 if shape == "large file" else 0)
    if shape == "large file":
        assert path.stat().st_size > checking_module._INLINE_FILE_BYTES
    resolver = OsResolver() if shape == "custom resolver" else None
    guard = ExecGuard(approvals=path, resolver=resolver, audit=tmp_path / "audit.jsonl")
    command = (
        "true " + "x" * checking_module._INLINE_COMMAND_CHARS if shape == "long command" else "true"
    )
    assert (await guard.authorize(command, cwd=str(tmp_path), env=ENV)).allowed
    hops = _Hops(monkeypatch)
    auth = await guard.authorize(command, cwd=str(tmp_path), env=ENV)
    assert auth.allowed, auth.message
    assert hops.count >= 1
    # And the file is still read on every decision: an edit is seen at once.
    _write(path, padding=9000 if shape == "large file" else 0)
    text = path.read_text().replace(TRUE, TRUE + "-not")
    path.write_text(text)
    assert not (await guard.authorize(command, cwd=str(tmp_path), env=ENV)).allowed


@pytest.mark.anyio
async def test_authorize_is_still_cancellable(tmp_path: Path) -> None:
    path = tmp_path / "exec-approvals.json"
    _write(path)
    guard = ExecGuard(approvals=path, audit=tmp_path / "audit.jsonl")
    with anyio.CancelScope() as scope:
        scope.cancel()
        await guard.authorize("true", cwd=str(tmp_path), env=ENV)
    assert scope.cancelled_caught
    assert not (tmp_path / "audit.jsonl").exists()  # cancelled before anything was decided
