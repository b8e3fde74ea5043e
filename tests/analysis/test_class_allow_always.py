"""
Bypass class: what "allow always" persists, and what it then admits (issue #12, class 9).

Through :class:`~openclaw_exec.guard.ExecGuard` with a real approvals file: a human answers
``allow-always`` once, then the agent sends something else. As in OpenClaw 2026.9.6 a grant
is the executable's real path plus a cwd-bound hash of its exact arguments
(``sha256:cwd-argv:v1:``), so other arguments, another folder, a repointed symlink or a
program that did not exist at grant time ask again. A command naming a program that does
not exist persists nothing (4.1 saved ``./nonexistent-tool``, which a file created later
then matched). Each follow-up shape plants the canary with real bash and dash and must not
run without a human; the controls re-run exactly what was granted without asking.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import anyio
import attrs
import pytest
from _canary import SCRIPT, Shape, assert_real, build

from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.guard import ExecGuard
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    ExecPolicy,
    Security,
    cwd_bound_arg_pattern,
)
from openclaw_exec.protocol import Decision

pytestmark = pytest.mark.anyio

POLICY = ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS, ask_fallback=Security.DENY)
HARMLESS = "#!/bin/sh\ntrue\n"
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


@attrs.frozen
class Case:
    """A grant, what changes afterwards, and the follow-up that must ask."""

    grant: str | None
    attack: str
    files: Mapping[str, str | None] = attrs.field(factory=dict)
    after: dict[str, str] = attrs.field(factory=dict)  # files written after the grant
    links: dict[str, str] = attrs.field(factory=dict)  # symlinks made before the grant
    relink: dict[str, str] = attrs.field(factory=dict)  # symlinks repointed after it
    grant_cwd: str = "."
    attack_cwd: str = "."
    path: str = BASE_PATH  # PATH, with {root} for the temp folder
    attack_path: str | None = None
    old_entries: tuple[str, ...] = ()  # path-only allow-always entries already in the file
    note: str = ""


T = {"tool": SCRIPT}
CASES = [
    Case("./tool a", "./tool b", T, note="other argument"),
    Case("./tool a", "./tool a b", T, note="extra argument"),
    Case("./tool a", "./tool", T, note="fewer arguments"),
    Case("./tool", "./tool a", T, note="arguments added"),
    Case("./tool 'a b'", "./tool a b", T, note="argument split"),
    Case("./tool a b", "./tool 'a b'", T, note="arguments joined"),
    Case("./tool ''", "./tool", T, note="empty argument dropped"),
    Case("./tool a", "../tool a", {**T, "sub": None}, attack_cwd="sub", note="other folder"),
    Case("./tool a", "env ./tool b", T, note="behind env"),
    Case("timeout 5 ./tool a", "timeout 5 ./tool b", T, note="behind timeout"),
    Case("sh -c './tool a'", "./tool b", T, note="granted from a payload"),
    Case("./tool a && ./tool c", "./tool b", T, note="granted from a chain"),
    Case("./missing", "./missing", {}, after={"missing": SCRIPT}, note="created after"),
    Case("./missing a", "./missing a", {}, after={"missing": SCRIPT}, note="created, args"),
    Case("bin/missing", "bin/missing", {"bin": None}, after={"bin/missing": SCRIPT}),
    Case(
        "./tool a; ./missing",
        "./missing",
        T,
        after={"missing": SCRIPT},
        note="a chain with a missing program persists nothing",
    ),
    Case(
        "./link a",
        "./link a",
        {"good": HARMLESS, "evil": SCRIPT},
        links={"link": "good"},
        relink={"link": "evil"},
        note="symlink repointed after the grant",
    ),
    Case(
        "tool a",
        "tool b",
        {"bin/tool": SCRIPT},
        path="{root}/bin:" + BASE_PATH,
        note="PATH lookup, other argument",
    ),
    Case(
        "tool a",
        "tool a",
        {"bin/tool": HARMLESS, "bin2/tool": SCRIPT},
        path="{root}/bin:" + BASE_PATH,
        attack_path="{root}/bin2:{root}/bin:" + BASE_PATH,
        note="another tool earlier in PATH",
    ),
    Case(None, "./tool b", T, old_entries=("tool",), note="4.1's path-only grant is inactive"),
    Case(None, "./tool", T, old_entries=("tool",), note="4.1's grant, no arguments"),
]


def _store(root: Path, old: tuple[str, ...]) -> ApprovalsStore:
    store = ApprovalsStore(root / "state" / "exec-approvals.json")
    entries = tuple(
        AllowlistEntry(pattern=str((root / name).resolve()), source="allow-always") for name in old
    )
    store.update(lambda _f: ApprovalsFile(agents={"main": AgentPolicy(allowlist=entries)}))
    return store


def _real(path: Path) -> Path:
    return path.resolve()


def _realpath(path: str) -> str:
    return os.path.realpath(path)


def _env(root: Path, path: str) -> dict[str, str]:
    return {"PATH": path.replace("{root}", str(root)), "HOME": str(root / "home")}


def _build(root: Path, case: Case) -> None:
    build(Shape("true", files=case.files), root)
    for link, target in case.links.items():
        (root / link).symlink_to(target)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.note or c.attack) for c in CASES])
async def test_follow_up_asks_again(case: Case, tmp_path: Path) -> None:
    root = _real(tmp_path)
    _build(root, case)
    store = _store(root, case.old_entries)
    env = _env(root, case.path)
    async with MemoryApprovalStore() as approvals, anyio.create_task_group() as tg:
        approver = AutoApprover(approvals, Decision.ALLOW_ALWAYS)
        await tg.start(approver.run)
        guard = ExecGuard(store=approvals, approvals=store, policy=POLICY)
        with anyio.fail_after(20):
            if case.grant is not None:
                first = await guard.authorize(case.grant, cwd=str(root / case.grant_cwd), env=env)
                assert first.allowed, first.message
                assert first.approval_id is not None
            for rel, content in case.after.items():
                (root / rel).write_text(content)
                (root / rel).chmod(0o755)
            for link, target in case.relink.items():
                (root / link).unlink()
                (root / link).symlink_to(target)
            attack_env = _env(root, case.attack_path or case.path)
            asked_before = len(approver.results)
            second = await guard.authorize(
                case.attack, cwd=str(root / case.attack_cwd), env=attack_env
            )
        # A human was asked again (the auto-approver answered): no grant admitted it.
        assert second.approval_id is not None, case.note
        assert len(approver.results) == asked_before + 1
        tg.cancel_scope.cancel()
    # The follow-up really runs the planted program, with bash and with dash.
    assert_real(Shape(case.attack, env=attack_env), root / case.attack_cwd)


async def test_a_missing_program_persists_nothing(tmp_path: Path) -> None:
    root = _real(tmp_path)
    store = _store(root, ())
    env = _env(root, BASE_PATH)
    async with MemoryApprovalStore() as approvals, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(approvals, Decision.ALLOW_ALWAYS).run)
        guard = ExecGuard(store=approvals, approvals=store, policy=POLICY)
        with anyio.fail_after(20):
            auth = await guard.authorize("./nonexistent-tool --flag", cwd=str(root), env=env)
        assert auth.allowed
        assert auth.persisted == ()
        tg.cancel_scope.cancel()
    loaded = store.load()
    assert loaded is not None
    assert loaded.agents["main"].allowlist == ()


CONTROLS = [
    ("./tool a", {"tool": HARMLESS}),
    ("./tool", {"tool": HARMLESS}),
    ("./tool 'a b' ''", {"tool": HARMLESS}),
    ("env ./tool a", {"tool": HARMLESS}),
    ("./tool a | ./tool2 b", {"tool": HARMLESS, "tool2": HARMLESS}),
]


@pytest.mark.parametrize(("command", "files"), CONTROLS)
async def test_the_granted_command_runs_again_without_asking(
    command: str, files: dict[str, str], tmp_path: Path
) -> None:
    root = _real(tmp_path)
    _build(root, Case(None, command, files))
    store = _store(root, ())
    env = _env(root, BASE_PATH)
    async with MemoryApprovalStore() as approvals, anyio.create_task_group() as tg:
        approver = AutoApprover(approvals, Decision.ALLOW_ALWAYS)
        await tg.start(approver.run)
        guard = ExecGuard(store=approvals, approvals=store, policy=POLICY)
        with anyio.fail_after(20):
            first = await guard.authorize(command, cwd=str(root), env=env)
            second = await guard.authorize(command, cwd=str(root), env=env)
        assert first.allowed
        assert first.persisted
        assert second.allowed
        assert second.approval_id is None
        assert len(approver.results) == 1
        tg.cancel_scope.cancel()
    loaded = store.load()
    assert loaded is not None
    for entry in loaded.agents["main"].allowlist:
        assert entry.source == "allow-always"
        assert entry.pattern == _realpath(entry.pattern)
        assert entry.arg_pattern is not None
        assert entry.arg_pattern.startswith("sha256:cwd-argv:v1:")
    if command == "./tool a":
        entry = loaded.agents["main"].allowlist[0]
        assert entry.pattern == str(root / "tool")
        assert entry.arg_pattern == cwd_bound_arg_pattern(["./tool", "a"], str(root))


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20
