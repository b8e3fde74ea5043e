"""Deny rules through ExecGuard: nobody is asked, nothing is persisted, the audit names the rule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anyio
import pytest

from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.audit import read_audit_log
from openclaw_exec.guard import ExecGuard
from openclaw_exec.policy import DenyRule, ExecPolicy, Security
from openclaw_exec.protocol import Decision

pytestmark = pytest.mark.anyio

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
TOUCH = shutil.which("touch", path="/usr/bin:/bin")


def _approvals(tmp_path: Path) -> ApprovalsStore:
    path = tmp_path / "exec-approvals.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "defaults": {"security": "full", "ask": "always", "askFallback": "full"},
                "agents": {
                    "*": {"deny": [{"pattern": "touch", "id": "no-touch"}]},
                    "main": {"allowlist": [{"pattern": "*"}, {"pattern": TOUCH}]},
                },
            }
        )
    )
    return ApprovalsStore(path)


@pytest.mark.parametrize(
    "command", ["touch x", "env touch x", "bash -c 'touch x'", "echo x | xargs touch"]
)
async def test_a_denied_command_is_never_asked_nor_run(tmp_path: Path, command: str) -> None:
    approvals = _approvals(tmp_path)
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        approver = AutoApprover(store, Decision.ALLOW_ALWAYS)
        await tg.start(approver.run)
        guard = ExecGuard(store=store, approvals=approvals, audit=tmp_path / "audit.jsonl")
        with anyio.fail_after(10):
            auth = await guard.authorize(command, cwd=str(tmp_path), env=ENV, agent_id="main")
        assert not auth.allowed
        assert auth.reason == "deny-rule"
        assert auth.verdict is not None
        assert auth.verdict.rule == "agents.*.deny[0]"
        assert auth.approval_id is None
        assert approver.results == []
        tg.cancel_scope.cancel()
    record = list(read_audit_log(tmp_path / "audit.jsonl"))[-1]
    assert record.reason == "deny-rule"
    assert '"no-touch"' in record.details["message"]
    assert approvals.load() == _approvals(tmp_path).load()  # nothing persisted


async def test_an_uncertain_command_is_asked_and_a_timeout_never_runs_it(tmp_path: Path) -> None:
    approvals = _approvals(tmp_path)
    guard = ExecGuard(store=None, approvals=approvals)
    auth = await guard.authorize("ls $(pwd)", cwd=str(tmp_path), env=ENV, agent_id="main")
    assert not auth.allowed
    assert auth.no_route
    assert auth.verdict is not None
    assert any(t.startswith("deny-rules: ") for t in auth.verdict.triggers)


async def test_requested_policy_cannot_lift_a_rule(tmp_path: Path) -> None:
    approvals = _approvals(tmp_path)
    guard = ExecGuard(approvals=approvals, policy=ExecPolicy(security=Security.FULL))
    auth = await guard.authorize("nice touch x", cwd=str(tmp_path), env=ENV, agent_id="ops")
    assert auth.reason == "deny-rule"
    assert DenyRule(pattern="touch", id="no-touch") in approvals.load().agents["*"].deny  # type: ignore[union-attr]
