"""
Choosing a backend, failing closed, and binding approvals to the confinement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec import Decision, ExecGuard, ExecPolicy, guarded_run, guarded_tool
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.policy import ApprovalsFile, Sandbox, SandboxMode
from openclaw_exec.protocol import ApprovalOutcome, ApprovalRequest, ExecBinding, Principal
from openclaw_exec.sandbox import (
    Backend,
    BubblewrapBackend,
    LandlockBackend,
    Probe,
    binding_argv,
    choose_backend,
)
from openclaw_exec.sandbox._backends import _LAUNCHER

ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


class Broken(Backend):
    """A backend whose probe fails; it records any attempt to use it anyway."""

    name = "broken"

    def __init__(self) -> None:
        super().__init__()
        self.used = 0

    def _probe(self) -> Probe:
        return Probe(self.name, ok=False, detail="kernel says no")

    def _wrap(self, argv: Sequence[str], plan: object) -> tuple[str, ...]:  # noqa: ARG002
        self.used += 1
        return tuple(argv)


def test_off_never_probes() -> None:
    broken = Broken()
    choice = choose_backend(SandboxMode.OFF, [broken])
    assert choice.backend is None
    assert not choice.refused
    assert broken._probed is None


def test_required_with_no_working_backend_refuses_and_says_why() -> None:
    choice = choose_backend(SandboxMode.REQUIRED, [Broken(), BubblewrapBackend("/nonexistent")])
    assert choice.refused
    assert choice.backend is None
    assert "broken: kernel says no" in choice.detail
    assert "bubblewrap" in choice.detail


def test_preferred_with_no_working_backend_runs_unconfined() -> None:
    choice = choose_backend(SandboxMode.PREFERRED, [Broken()])
    assert not choice.refused
    assert choice.backend is None
    assert "unconfined" in choice.detail


def test_a_failed_backend_is_skipped_for_a_working_one() -> None:
    landlock = LandlockBackend()
    if not landlock.probe().ok:
        pytest.skip(landlock.probe().detail)
    broken = Broken()
    choice = choose_backend(SandboxMode.REQUIRED, [broken, landlock])
    assert choice.backend is landlock
    assert broken.used == 0


@pytest.mark.anyio
async def test_guard_refuses_when_required_and_nothing_runs(tmp_path: Path) -> None:
    broken = Broken()
    guard = ExecGuard(
        approvals_file=ApprovalsFile(),
        policy=ExecPolicy(security="full", ask="off", sandbox="required"),
        sandbox_backends=[broken],
    )
    canary = tmp_path / "CANARY"
    run = await guarded_run(guard, f"touch {canary}", cwd=tmp_path, env=ENV)
    assert not run.ran
    assert run.authorization.reason == "sandbox-unavailable"
    assert "kernel says no" in run.authorization.message
    assert not canary.exists()
    assert broken.used == 0


@pytest.mark.anyio
async def test_per_call_policy_can_require_the_sandbox(tmp_path: Path) -> None:
    guard = ExecGuard(
        approvals_file=ApprovalsFile(),
        policy=ExecPolicy(security="full", ask="off"),
        sandbox_backends=[Broken()],
    )
    canary = tmp_path / "CANARY"
    run = await guarded_run(
        guard,
        f"touch {canary}",
        cwd=tmp_path,
        env=ENV,
        # A per-call policy only tightens: it restates the loose knobs, adds the sandbox.
        policy=ExecPolicy(security="full", ask="off", ask_fallback="full", sandbox="required"),
    )
    assert run.authorization.reason == "sandbox-unavailable"
    assert not canary.exists()
    # The same guard without the per-call request runs unconfined (sandbox off).
    run = await guarded_run(guard, f"touch {canary}", cwd=tmp_path, env=ENV)
    assert run.ran
    assert run.authorization.sandbox is None
    assert canary.exists()


@pytest.mark.anyio
async def test_the_approval_binds_the_backend_and_the_spec(tmp_path: Path) -> None:
    landlock = LandlockBackend()
    if not landlock.probe().ok:
        pytest.skip(landlock.probe().detail)
    seen: list[ApprovalRequest] = []

    def decide(record: object) -> Decision:
        seen.append(record.request)  # type: ignore[attr-defined]
        return Decision.ALLOW_ONCE

    async with MemoryApprovalStore() as store:
        guard = ExecGuard(
            store=store,
            approvals_file=ApprovalsFile(),
            policy=ExecPolicy(security="full", ask="always", sandbox="required"),
            sandbox_backends=[landlock],
        )
        async with anyio.create_task_group() as tg:
            await tg.start(AutoApprover(store, decide).run)
            run = await guarded_run(guard, "echo confined", cwd=tmp_path, env=ENV)
            tg.cancel_scope.cancel()
    assert run.ran
    assert run.stdout == b"confined\n"
    assert run.authorization.sandbox == "landlock"
    (request,) = seen
    assert request.binding is not None
    spec = guard.sandbox
    assert request.binding.argv == (
        "openclaw-exec-sandbox",
        f"landlock:{spec.digest()}",
        "--",
        "sh",
        "-c",
        "echo confined",
    )


@pytest.mark.anyio
async def test_a_confined_decision_cannot_be_spent_unconfined() -> None:
    plain = ("sh", "-c", "make")
    confined = binding_argv(plain, "bubblewrap", Sandbox())
    async with MemoryApprovalStore() as store:
        now = store.now_ms()
        request = ApprovalRequest(
            id="a1",
            command="make",
            created_at_ms=now,
            expires_at_ms=now + 60_000,
            binding=ExecBinding(argv=confined),
        )
        await store.register(request, has_route=True)
        await store.resolve("a1", Decision.ALLOW_ONCE, approver=Principal(id="alice"))
        for other in (
            plain,
            binding_argv(plain, "landlock", Sandbox()),
            binding_argv(plain, "bubblewrap", Sandbox(network=True)),
        ):
            refused = await store.consume("a1", ExecBinding(argv=other))
            assert refused.outcome is ApprovalOutcome.NOT_CONSUMABLE
        ok = await store.consume("a1", ExecBinding(argv=confined))
        assert ok.outcome is ApprovalOutcome.CONSUMED


specs = st.builds(
    Sandbox,
    writable=st.lists(st.sampled_from(["/a", "/b", "/c/d"]), max_size=3).map(tuple),
    network=st.booleans(),
    max_processes=st.none() | st.integers(1, 10_000),
    max_memory_bytes=st.none() | st.integers(1, 1 << 40),
)


@given(specs, specs)
def test_different_specs_bind_differently(a: Sandbox, b: Sandbox) -> None:
    plain = ("sh", "-c", "x")
    same = binding_argv(plain, "landlock", a) == binding_argv(plain, "landlock", b)
    assert same == (a == b)
    assert binding_argv(plain, None, a) == plain


@pytest.mark.parametrize(
    "spec",
    [
        "[]",
        '{"unknown": 1}',
        '{"limits": {"RLIMIT_NOPE": 1}}',
        '{"landlock": {"write": ["/definitely/not/here"]}}',
        '{"protect": ["/definitely/not/here"], "namespaces": {"mount": true}}',
        "not json",
    ],
)
def test_the_launcher_never_runs_the_command_when_a_step_fails(tmp_path: Path, spec: str) -> None:
    canary = tmp_path / "CANARY"
    done = subprocess.run(
        [sys.executable, "-I", "-S", _LAUNCHER, spec, "--", "touch", str(canary)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 126, done.stderr
    assert done.stderr.startswith("openclaw-exec sandbox:")
    assert not canary.exists()


def test_the_launcher_runs_the_command_when_every_step_succeeds(tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    spec = json.dumps({"landlock": {"write": [str(tmp_path)]}, "limits": {"RLIMIT_NOFILE": 256}})
    done = subprocess.run(
        [sys.executable, "-I", "-S", _LAUNCHER, spec, "--", "touch", str(canary)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert canary.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("writable", "/x"), ("writable", ["rel"]), ("max_processes", 0), ("network", "no")],
)
def test_bad_specs_are_refused(field: str, value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        Sandbox(**{field: value})  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_guarded_tool_refuses_a_body_it_cannot_confine(tmp_path: Path) -> None:
    landlock = LandlockBackend()
    if not landlock.probe().ok:
        pytest.skip(landlock.probe().detail)
    guard = ExecGuard(
        approvals_file=ApprovalsFile(),
        policy=ExecPolicy(security="full", ask="off", sandbox="preferred"),
        sandbox_backends=[landlock],
    )
    ran: list[str] = []

    @guarded_tool(guard, on_denied=lambda auth: auth.reason)
    async def shell(command: str, cwd: str) -> str:
        ran.append(command)
        return "ran"

    assert await shell("echo hi", str(tmp_path)) == "sandbox-unavailable"
    assert ran == []


@pytest.mark.anyio
async def test_guarded_run_never_hands_over_its_own_stdin(tmp_path: Path) -> None:
    guard = ExecGuard(
        approvals_file=ApprovalsFile(),
        policy=ExecPolicy(security="full", ask="off", ask_fallback="full"),
    )
    # Make this process's own stdin a pipe with something in it for the duration.
    read_end, write_end = os.pipe()
    os.write(write_end, b"secret\n")
    saved = os.dup(0)
    os.dup2(read_end, 0)
    try:
        run = await guarded_run(guard, "readlink /proc/self/fd/0; cat", cwd=tmp_path, env=ENV)
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    assert run.stdout == b"/dev/null\n"
    fed = await guarded_run(guard, "cat", cwd=tmp_path, env=ENV, input=b"given")
    assert fed.stdout == b"given"
