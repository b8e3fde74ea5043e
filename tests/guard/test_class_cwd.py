"""
Issue #12 class 5: the working directory is resolved through the real filesystem once, and
that folder is the one checked and the one run in.

A cwd such as ``w/sym/..`` is ``w`` as text but, to the kernel, the parent of wherever ``sym``
points. Each shape puts an allowlisted ``tool`` in the textual folder and a canary-planting
``tool`` in the kernel's: the real shells, started in that cwd, run the canary; the guard
must not allow it (it checks the kernel's folder), and :func:`guarded_run` must not run it.
The twin (the textual folder given directly) stays allowed and runs the harmless tool.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import anyio
import attrs
import pytest

from openclaw_exec import AnalysisError, Decision, ExecGuard, guarded_run, guarded_tool
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.guard import checked_cwd
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    PolicyDefaults,
    Security,
)
from openclaw_exec.protocol import ApprovalRecord

SHELLS = tuple(s for s in ("bash", "dash") if shutil.which(s))


@attrs.frozen
class World:
    """Symlinks (relative to the root) and the cwd text, relative to the root."""

    links: tuple[tuple[str, str], ...]
    cwd: str
    dirs: tuple[str, ...] = ()


WORLDS = {
    "sym/..": World((("w/sym", "evil/sub"),), "w/sym/.."),
    "sym/../": World((("w/sym", "evil/sub"),), "w/sym/../"),
    "sym/./..": World((("w/sym", "evil/sub"),), "w/sym/./.."),
    "//sym/..": World((("w/sym", "evil/sub"),), "w//sym/.."),
    "sym/../.": World((("w/sym", "evil/sub"),), "w/sym/../."),
    "deep/../..": World((("w/x/deep", "evil/a/b"),), "w/x/deep/../..", dirs=("evil/a/b",)),
    "chain": World((("w/s2", "evil/sub"), ("w/s1", "w/s2")), "w/s1/.."),
    "relative link": World((("w/rel", "../evil/sub"),), "w/rel/.."),
    "inner link": World(
        (("w/sym", "evil/sub"), ("evil/sub/in", "evil/x/y")), "w/sym/in/..", dirs=("evil/x/y",)
    ),
}
COMMANDS = ("./tool", "./tool --flag", "./tool && ./tool")


def _script(body: str) -> str:
    return f"#!/bin/sh\n{body}\n"


def build(root: Path, world: World) -> tuple[str, Path, Path]:
    """Make *world* under *root*; return the raw cwd, the textual and the kernel folders."""
    for name in ("w", "evil/sub", *world.dirs):
        (root / name).mkdir(parents=True, exist_ok=True)
    for link, target in world.links:
        path = root / link
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target if target.startswith("..") else root / target)
    raw = f"{root}/{world.cwd}"
    textual = Path(os.path.normpath(raw))
    kernel = Path(os.path.realpath(raw))
    assert textual != kernel, "the world must make text and kernel disagree"
    for folder, body in ((textual, "echo harmless"), (kernel, f"touch {root}/CANARY")):
        tool = folder / "tool"
        tool.write_text(_script(body), encoding="utf-8")
        tool.chmod(stat.S_IRWXU)
    return raw, textual, kernel


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _guard(
    allowed: Path, *, store: MemoryApprovalStore | None = None, ask: Ask = Ask.ON_MISS
) -> ExecGuard:
    file = ApprovalsFile(
        defaults=PolicyDefaults(security=Security.ALLOWLIST, ask=ask),
        agents={"*": AgentPolicy(allowlist=(AllowlistEntry(pattern=str(allowed)),))},
    )
    return ExecGuard(approvals_file=file, store=store)


CASES = [
    pytest.param(world, command, id=f"{name}: {command}")
    for name, world in WORLDS.items()
    for command in COMMANDS
]


def test_class_has_enough_shapes() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize(("world", "command"), CASES)
def test_the_kernel_runs_the_other_folder(world: World, command: str, tmp_path: Path) -> None:
    raw, _, _ = build(tmp_path, world)
    for shell in SHELLS:
        (tmp_path / "CANARY").unlink(missing_ok=True)
        exe = shutil.which(shell)
        assert exe is not None
        subprocess.run([exe, "-c", command], cwd=raw, capture_output=True, check=False)
        assert (tmp_path / "CANARY").exists(), f"{shell} did not run the kernel's tool"


@pytest.mark.anyio
@pytest.mark.parametrize(("world", "command"), CASES)
async def test_guard_checks_the_folder_that_runs(
    world: World, command: str, tmp_path: Path
) -> None:
    raw, textual, kernel = build(tmp_path, world)
    # The administrator allowlisted the textual folder's tool (by its real path).
    guard = _guard(_real(textual) / "tool")
    auth = await guard.authorize(command, cwd=raw)
    assert auth.cwd == str(kernel)
    assert not auth.allowed, "the textual folder's allowlisted tool is not the one that runs"
    run = await guarded_run(guard, command, cwd=raw)
    assert not run.ran
    assert not (tmp_path / "CANARY").exists()
    # The twin: the textual folder itself is allowed and runs the harmless tool.
    twin = await guarded_run(guard, command, cwd=textual)
    assert twin.ok, twin.authorization.message
    assert b"harmless" in twin.stdout
    assert not (tmp_path / "CANARY").exists()


def test_checked_cwd() -> None:
    assert checked_cwd("relative/x") == "relative/x"
    assert checked_cwd(None) == os.path.realpath(os.getcwd())  # noqa: PTH109
    with pytest.raises(AnalysisError):
        checked_cwd(b"/tmp")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_relative_cwd_is_still_misuse(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError):
        await _guard(tmp_path / "tool").authorize("ls", cwd="relative")


@pytest.mark.anyio
async def test_a_link_swapped_during_the_approval_does_not_move_the_run(tmp_path: Path) -> None:
    """The run happens in the folder that was checked, whatever the link says later."""
    for name, body in (("a", "echo checked"), ("b", f"touch {tmp_path}/CANARY")):
        (tmp_path / name).mkdir()
        tool = tmp_path / name / "tool"
        tool.write_text(_script(body), encoding="utf-8")
        tool.chmod(stat.S_IRWXU)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "a")
    seen: list[ApprovalRecord] = []

    def swap_then_approve(record: ApprovalRecord) -> Decision:
        seen.append(record)
        link.unlink()
        link.symlink_to(tmp_path / "b")
        return Decision.ALLOW_ONCE

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, swap_then_approve).run)
        guard = _guard(tmp_path / "a" / "tool", store=store, ask=Ask.ALWAYS)
        run = await guarded_run(guard, "./tool", cwd=link)
        tg.cancel_scope.cancel()
    assert run.ok, run.authorization.message
    assert seen[0].request.cwd == str(tmp_path / "a")
    assert run.cwd == str(tmp_path / "a")
    assert run.stdout.strip() == b"checked"
    assert not (tmp_path / "CANARY").exists()


@pytest.mark.anyio
async def test_guarded_tool_hands_the_body_the_checked_cwd(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    tool = tmp_path / "a" / "tool"
    tool.write_text(_script("echo hi"), encoding="utf-8")
    tool.chmod(stat.S_IRWXU)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "a")
    received: list[object] = []

    @guarded_tool(_guard(tool))
    async def run_tool(command: str, cwd: str | None = None) -> str:
        received.append(cwd)
        return "ran"

    assert await run_tool("./tool", cwd=str(link)) == "ran"
    assert await run_tool(command="./tool", cwd=str(link / ".." / "a")) == "ran"
    assert received == [str(tmp_path / "a"), str(tmp_path / "a")]
