"""
An approved command starts only in the folder that was checked (OpenClaw 2026.9.6's
``SYSTEM_RUN_DENIED: approval cwd changed before execution``).

While a human decides, a process that can rename folders could swap a folder on the
command's cwd path for a symlink (or for another folder). The path string bound to the
approval is unchanged, so without the check the approved command would start somewhere
nobody checked. Every case here swaps real folders and runs the real command with a
canary: a refused start must leave no trace anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from openclaw_exec._guard_cwd import cwd_drift, cwd_identity
from openclaw_exec._guard_effects import START_REFUSED
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.audit import AuditLog, read_audit_log
from openclaw_exec.guard import Authorization, ExecGuard, GuardReason, PendingApproval
from openclaw_exec.integrations import guarded_run, guarded_tool, run_authorized
from openclaw_exec.policy import ApprovalsFile, Ask, PolicyDefaults, Security
from openclaw_exec.protocol import ApprovalRecord, Decision

pytestmark = pytest.mark.anyio

ASK_ALWAYS = ApprovalsFile(
    defaults=PolicyDefaults(security=Security.FULL, ask=Ask.ALWAYS, ask_fallback=Security.DENY)
)
COMMAND = "touch canary"


def _world(tmp_path: Path) -> tuple[Path, Path]:
    """``ws/project`` (checked) and ``elsewhere`` (what a swap points it at)."""
    root = Path(os.path.realpath(tmp_path))
    project = root / "ws" / "project"
    project.mkdir(parents=True)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return project, elsewhere


def _to_symlink(project: Path, elsewhere: Path) -> None:
    project.rename(project.with_name("project.old"))
    project.symlink_to(elsewhere)


def _to_other_folder(project: Path, _elsewhere: Path) -> None:
    project.rename(project.with_name("project.old"))
    project.mkdir()


def _parent_to_symlink(project: Path, elsewhere: Path) -> None:
    ws = project.parent
    (elsewhere / "project").mkdir()
    ws.rename(ws.with_name("ws.old"))
    ws.symlink_to(elsewhere)


SWAPS: dict[str, Callable[[Path, Path], None]] = {
    "folder-to-symlink": _to_symlink,
    "folder-replaced": _to_other_folder,
    "parent-to-symlink": _parent_to_symlink,
}


def _no_canary(root: Path) -> None:
    assert not list(root.rglob("canary")), "the refused command ran"


@pytest.mark.parametrize("swap", SWAPS)
async def test_a_deferred_approval_does_not_start_in_a_swapped_folder(
    tmp_path: Path, swap: str
) -> None:
    project, elsewhere = _world(tmp_path)
    audit = AuditLog(tmp_path / "audit.jsonl")
    async with MemoryApprovalStore() as store:
        guard = ExecGuard(store=store, approvals_file=ASK_ALWAYS, audit=audit)
        pending = await guard.check(COMMAND, cwd=project, has_route=True)
        assert isinstance(pending, PendingApproval)
        # The handle survives a checkpoint with the folder's identity.
        pending = PendingApproval.from_dict(pending.to_dict())
        SWAPS[swap](project, elsewhere)
        auth = await guard.resume(pending, Decision.ALLOW_ONCE)
        assert isinstance(auth, Authorization)
        assert auth.allowed  # the human said yes to the command in that folder ...
        run = await run_authorized(guard, auth)
    assert not run.ran  # ... and it is not the folder there now
    assert run.authorization.reason == GuardReason.CWD_CHANGED
    assert "approval cwd changed before execution" in run.authorization.message
    _no_canary(tmp_path)
    records = list(read_audit_log(tmp_path / "audit.jsonl"))
    assert [r.kind for r in records][-1] == START_REFUSED
    assert records[-1].reason == GuardReason.CWD_CHANGED
    assert not records[-1].allowed
    assert run.authorization.audit == records[-1]


async def test_an_unchanged_folder_starts(tmp_path: Path) -> None:
    project, _ = _world(tmp_path)
    async with MemoryApprovalStore() as store:
        guard = ExecGuard(store=store, approvals_file=ASK_ALWAYS)
        pending = await guard.check(COMMAND, cwd=project, has_route=True)
        assert isinstance(pending, PendingApproval)
        auth = await guard.resume(PendingApproval.from_dict(pending.to_dict()), "allow-once")
        assert isinstance(auth, Authorization)
        run = await run_authorized(guard, auth)
    assert run.ok, run.authorization.message
    assert (project / "canary").is_file()


@pytest.mark.parametrize("swap", SWAPS)
async def test_guarded_run_does_not_start_in_a_folder_swapped_while_the_human_decides(
    tmp_path: Path, swap: str
) -> None:
    project, elsewhere = _world(tmp_path)

    def swap_then_allow(_record: ApprovalRecord) -> Decision:
        SWAPS[swap](project, elsewhere)  # between the check and the answer
        return Decision.ALLOW_ONCE

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, swap_then_allow).run)
        guard = ExecGuard(store=store, approvals_file=ASK_ALWAYS)
        run = await guarded_run(guard, COMMAND, cwd=project)
        tg.cancel_scope.cancel()
    assert run.authorization.decision is Decision.ALLOW_ONCE
    assert not run.ran
    assert run.authorization.reason == GuardReason.CWD_CHANGED
    _no_canary(tmp_path)


def test_a_folder_missing_at_the_check_must_still_be_missing(tmp_path: Path) -> None:
    missing = Path(os.path.realpath(tmp_path)) / "not-yet"
    assert cwd_drift(str(missing), cwd_identity(str(missing))) is None
    missing.mkdir()
    assert cwd_drift(str(missing), None) is not None


def test_the_identity_is_the_folders_own(tmp_path: Path) -> None:
    project, elsewhere = _world(tmp_path)
    where = str(project)
    identity = cwd_identity(where)
    assert identity is not None
    assert cwd_drift(where, identity) is None
    assert cwd_drift(where, cwd_identity(str(elsewhere))) is not None


@pytest.mark.parametrize(
    "raw",
    ["1:2:3", "x:1", "1:", ":1", "-1:2", "1:2 ", "\u0661:\u0662", "9" * 30 + ":" + "9" * 30, 12],
)
def test_a_malformed_cwd_identity_in_a_handle_is_refused(tmp_path: Path, raw: object) -> None:
    form = {
        "version": 1,
        "approvalId": "a1",
        "command": "true",
        "cwd": str(tmp_path),
        "agentId": None,
        "sessionKey": None,
        "createdAtMs": 1,
        "expiresAtMs": 2,
        "binding": {"argv": ["sh", "-c", "true"], "cwd": str(tmp_path)},
        "cwdIdentity": raw,
    }
    with pytest.raises(ValueError, match="cwdIdentity"):
        PendingApproval.from_dict(form)
    del form["cwdIdentity"]  # a handle from before the field: accepted, no identity
    assert PendingApproval.from_dict(form).cwd_identity is None


@pytest.mark.parametrize("swap", SWAPS)
async def test_a_guarded_tool_body_is_not_called_in_a_swapped_folder(
    tmp_path: Path, swap: str
) -> None:
    project, elsewhere = _world(tmp_path)
    calls: list[str] = []

    def swap_then_allow(_record: ApprovalRecord) -> Decision:
        SWAPS[swap](project, elsewhere)
        return Decision.ALLOW_ONCE

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, swap_then_allow).run)
        guard = ExecGuard(store=store, approvals_file=ASK_ALWAYS)

        @guarded_tool(guard, on_denied=lambda auth: auth)
        async def shell(command: str, cwd: str) -> object:
            calls.append(cwd)
            (Path(cwd) / "canary").touch()  # what a body that runs the command would do
            return None

        answer = await shell(COMMAND, str(project))
        tg.cancel_scope.cancel()
    assert calls == []
    assert isinstance(answer, Authorization)
    assert answer.decision is Decision.ALLOW_ONCE
    assert answer.reason == GuardReason.CWD_CHANGED
    _no_canary(tmp_path)
