"""guarded_run, guarded_tool and risk assessors, against a real guard, store and processes."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec import (
    Authorization,
    Decision,
    ExecDeniedError,
    ExecGuard,
    guarded_run,
    guarded_tool,
)
from openclaw_exec import guard as guard_module
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.audit import AuditLog
from openclaw_exec.guard import checked_cwd
from openclaw_exec.integrations import (
    RISK_DENIED,
    Assessment,
    Requirement,
    RiskContext,
    _run,
    authorize_assessed,
    combine_requirements,
    command_text,
    requirement_of,
)
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    Grant,
    PolicyDefaults,
    Security,
    Verdict,
    add_grant,
)
from openclaw_exec.protocol import ApprovalRecord, ExecBinding

pytestmark = pytest.mark.anyio


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    scripts = {"tool": 'echo "tool $FOO $*"', "other": "echo other"}
    for name, body in scripts.items():
        program = folder / name
        program.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        program.chmod(stat.S_IRWXU)
    return folder


def _file(
    bin_dir: Path, *, ask: Ask = Ask.ON_MISS, fallback: Security = Security.DENY
) -> ApprovalsFile:
    return ApprovalsFile(
        defaults=PolicyDefaults(security=Security.ALLOWLIST, ask=ask, ask_fallback=fallback),
        agents={"*": AgentPolicy(allowlist=(AllowlistEntry(pattern=f"{bin_dir}/tool"),))},
    )


def _env(bin_dir: Path) -> dict[str, str]:
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "FOO": "bar"}


@asynccontextmanager
async def approver(
    decide: Decision | Callable[[ApprovalRecord], Decision | None],
) -> AsyncIterator[MemoryApprovalStore]:
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, decide).run)
        yield store
        tg.cancel_scope.cancel()


# ---------------------------------------------------------------------- guarded_run


async def test_allowlisted_command_runs_with_the_given_env(bin_dir: Path, tmp_path: Path) -> None:
    guard = ExecGuard(approvals_file=_file(bin_dir))
    run = await guarded_run(guard, "tool hello", cwd=tmp_path, env=_env(bin_dir))
    assert run.authorization.allowed
    assert run.ran
    assert run.ok
    assert run.stdout == b"tool bar hello\n"
    assert run.argv == ("sh", "-c", "tool hello")
    assert run.cwd == str(tmp_path)


async def test_denied_command_does_not_run(bin_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    guard = ExecGuard(approvals_file=_file(bin_dir))  # no store: ASK falls back to deny
    run = await guarded_run(guard, f"other; touch {marker}", cwd=tmp_path, env=_env(bin_dir))
    assert not run.authorization.allowed
    assert not run.ran
    assert run.returncode is None
    assert not marker.exists()
    with pytest.raises(ExecDeniedError) as info:
        run.raise_for_denial()
    assert info.value.authorization is run.authorization


async def test_the_record_is_written_before_the_start_and_synced_after_it(
    bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default audit mode (batch): the record of the answer is in the file when the
    # command runs (the command itself counts the lines), and its fsync, woken only once
    # the command has started, still happens with nobody calling sync().
    lines = bin_dir / "lines"
    lines.write_text('#!/bin/sh\nwc -l < "$1"\n', encoding="utf-8")
    lines.chmod(stat.S_IRWXU)
    file = ApprovalsFile(
        defaults=PolicyDefaults(security=Security.ALLOWLIST, ask=Ask.OFF),
        agents={"*": AgentPolicy(allowlist=(AllowlistEntry(pattern=str(lines)),))},
    )
    audit = tmp_path / "audit.jsonl"
    guard = ExecGuard(approvals_file=file, audit=AuditLog(audit))
    events: list[str] = []
    real_fsync, real_popen = os.fsync, subprocess.Popen

    def fsync(fd: int) -> None:
        events.append(f"fsync {os.fstat(fd).st_size}")
        real_fsync(fd)

    def popen(*args: Any, **kwargs: Any) -> Any:
        child = real_popen(*args, **kwargs)
        events.append("started")
        return child

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(subprocess, "Popen", popen)
    run = await guarded_run(guard, f"lines {audit}", cwd=tmp_path, env=_env(bin_dir))
    assert run.ok
    assert run.stdout.strip() == b"1"  # its own record, before it started
    with anyio.fail_after(5):
        while f"fsync {audit.stat().st_size}" not in events:  # noqa: ASYNC110
            await anyio.sleep(0.001)
    assert events.index("started") < events.index(f"fsync {audit.stat().st_size}")
    # A denial: nothing starts, and the record is synced all the same.
    denied = await guarded_run(guard, "other", cwd=tmp_path, env=_env(bin_dir))
    assert not denied.ran
    with anyio.fail_after(5):
        while f"fsync {audit.stat().st_size}" not in events:  # noqa: ASYNC110
            await anyio.sleep(0.001)
    assert events.count("started") == 1


async def test_the_cwd_is_resolved_once_and_that_folder_is_checked_and_run_in(
    bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    calls: list[object] = []

    def counting(cwd: object = None) -> str:
        calls.append(cwd)
        return checked_cwd(cwd)  # type: ignore[arg-type]

    monkeypatch.setattr(_run, "checked_cwd", counting)
    monkeypatch.setattr(guard_module, "checked_cwd", counting)
    guard = ExecGuard(approvals_file=_file(bin_dir))
    run = await guarded_run(guard, "tool", cwd=tmp_path / "link", env=_env(bin_dir))
    assert run.ok
    assert calls == [tmp_path / "link"]  # guarded_run's resolution, not the guard's again
    assert run.cwd == run.authorization.cwd == str(real)
    await guard.authorize("tool", cwd=tmp_path / "link", env=_env(bin_dir))
    assert len(calls) == 2  # authorize itself still resolves what it is given


async def test_a_cancelled_guarded_run_decides_nothing_and_runs_nothing(
    bin_dir: Path, tmp_path: Path
) -> None:
    # guarded_run does not yield to the scheduler before its decision (its command's run
    # does), but a cancelled caller is still refused before anything is decided or run.
    audit = tmp_path / "audit.jsonl"
    guard = ExecGuard(approvals_file=_file(bin_dir), audit=AuditLog(audit))
    marker = tmp_path / "ran"
    with anyio.CancelScope() as scope:
        scope.cancel()
        await guarded_run(guard, f"tool > {marker}", cwd=tmp_path, env=_env(bin_dir))
    assert scope.cancelled_caught
    assert not audit.exists()  # nothing decided
    assert not marker.exists()
    run = await guarded_run(guard, "tool x", cwd=tmp_path, env=_env(bin_dir))
    assert run.ok  # and the next call runs


async def test_nonzero_exit_is_reported_not_raised(bin_dir: Path, tmp_path: Path) -> None:
    guard = ExecGuard(approvals_file=_file(bin_dir, ask=Ask.OFF, fallback=Security.DENY))
    # security=full for this call is not possible (only tightening): use the allowlisted tool
    run = await guarded_run(guard, "tool x && tool y", cwd=tmp_path, env=_env(bin_dir))
    assert run.ok
    assert run.stdout == b"tool bar x\ntool bar y\n"
    assert run.raise_for_denial() is run


async def test_argv_is_quoted_and_runs_word_for_word(bin_dir: Path, tmp_path: Path) -> None:
    guard = ExecGuard(approvals_file=_file(bin_dir))
    run = await guarded_run(guard, ["tool", "a b", "$(other)"], cwd=tmp_path, env=_env(bin_dir))
    assert run.authorization.command == "tool 'a b' '$(other)'"
    assert run.stdout == b"tool bar a b $(other)\n"
    with pytest.raises(TypeError):
        command_text([])


async def test_approval_is_bound_to_exactly_what_runs(bin_dir: Path, tmp_path: Path) -> None:
    seen: list[ExecBinding | None] = []

    def decide(record: ApprovalRecord) -> Decision:
        seen.append(record.request.binding)
        return Decision.ALLOW_ONCE

    env = _env(bin_dir)
    async with approver(decide) as store:
        guard = ExecGuard(store=store, approvals_file=_file(bin_dir))
        run = await guarded_run(guard, "other", cwd=tmp_path, env=env, agent_id="main")
    assert run.authorization.decision is Decision.ALLOW_ONCE
    assert run.stdout == b"other\n"
    expected = ExecBinding.of(run.argv, cwd=run.cwd, agent_id="main", env=env)
    assert seen == [expected]
    assert seen[0] != ExecBinding.of(run.argv, cwd=run.cwd, agent_id="main", env={**env, "X": "1"})


# ---------------------------------------------------------------------- guarded_tool


async def test_guarded_tool_runs_the_body_only_when_allowed(bin_dir: Path) -> None:
    guard = ExecGuard(approvals_file=_file(bin_dir))
    calls: list[str] = []

    @guarded_tool(guard)
    async def shell(command: str, cwd: str | None = None) -> str:
        calls.append(command)
        return f"ran {command}"

    assert await shell(f"{bin_dir}/tool x") == f"ran {bin_dir}/tool x"
    with pytest.raises(ExecDeniedError):
        await shell(f"{bin_dir}/other")
    assert calls == [f"{bin_dir}/tool x"]
    assert shell.__name__ == "shell"


async def test_guarded_tool_on_denied_returns_a_message(bin_dir: Path) -> None:
    guard = ExecGuard(approvals_file=_file(bin_dir))

    @guarded_tool(guard, command="cmd", cwd=None, on_denied=lambda a: f"refused: {a.reason}")
    async def shell(cmd: list[str]) -> str:
        return "ran"

    assert await shell([f"{bin_dir}/other"]) == "refused: no-approval-route"
    assert await shell([f"{bin_dir}/tool"]) == "ran"


async def test_guarded_tool_misuse_is_refused_at_decoration(bin_dir: Path) -> None:
    guard = ExecGuard(approvals_file=_file(bin_dir))
    with pytest.raises(TypeError, match="async"):
        guarded_tool(guard)(lambda command: command)

    async def no_command(text: str) -> str:
        return text

    with pytest.raises(TypeError, match="command"):
        guarded_tool(guard)(no_command)


# ---------------------------------------------------------------------- risk assessors


def _ask(_: RiskContext) -> Assessment:
    return Assessment(requirement=Requirement.ASK, reason="touches production")


def _deny(_: RiskContext) -> Requirement:
    return Requirement.DENY


def _broken(_: RiskContext) -> None:
    raise RuntimeError("model offline")


async def test_ask_assessor_needs_a_human_even_for_allowlisted(bin_dir: Path) -> None:
    # No approver: the forced ask falls back to deny even though askFallback would allow.
    guard = ExecGuard(approvals_file=_file(bin_dir, fallback=Security.ALLOWLIST))
    cwd = str(bin_dir)
    plain = await guard.authorize(f"{bin_dir}/tool", cwd=cwd)
    assert plain.allowed
    assessed = await authorize_assessed(guard, f"{bin_dir}/tool", assessors=[_ask], cwd=cwd)
    assert not assessed.allowed
    assert "touches production" in assessed.message
    async with approver(Decision.ALLOW_ONCE) as store:
        guard = ExecGuard(store=store, approvals_file=_file(bin_dir))
        human = await authorize_assessed(guard, f"{bin_dir}/tool", assessors=[_ask], cwd=cwd)
    assert human.allowed
    assert human.decision is Decision.ALLOW_ONCE


async def test_deny_and_failing_assessors_refuse(bin_dir: Path) -> None:
    async with approver(Decision.ALLOW_ONCE) as store:
        guard = ExecGuard(store=store, approvals_file=_file(bin_dir))
        for assessor in (_deny, _broken):
            auth = await authorize_assessed(
                guard, f"{bin_dir}/tool", assessors=[assessor], cwd=str(bin_dir)
            )
            assert not auth.allowed
            assert auth.reason == RISK_DENIED
            assert auth.decision is None  # nobody was even asked
        assert "model offline" in auth.message


async def test_ask_assessor_is_asked_where_only_the_sessions_grant_allows(bin_dir: Path) -> None:
    # The policy allows `other` only through a grant bound to the session. The preview must
    # see that grant too, so the assessor's ASK raises the answer to a human's; a preview
    # without the session judged ASK, forced nothing, and the grant then allowed the
    # command past the assessor: refused as unapproved, no human ever asked.
    grant = Grant(
        id="session-other",
        pattern=f"{bin_dir}/other",
        session_key="s-1",
        expires_at_ms=4_000_000_000_000,
    )
    approvals = add_grant(_file(bin_dir), "main", grant)
    command, cwd = f"{bin_dir}/other", str(bin_dir)
    plain = await ExecGuard(approvals_file=approvals).authorize(command, cwd=cwd, session_key="s-1")
    assert plain.allowed  # the grant alone allows it
    async with approver(Decision.ALLOW_ONCE) as store:
        guard = ExecGuard(store=store, approvals_file=approvals)
        human = await authorize_assessed(
            guard, command, assessors=[_ask], cwd=cwd, session_key="s-1"
        )
        other_session = await authorize_assessed(
            guard, command, assessors=[_ask], cwd=cwd, session_key="s-2"
        )
    assert human.allowed, human.message
    assert human.decision is Decision.ALLOW_ONCE
    assert "touches production" in human.message
    # Without the grant the policy itself asks: the human answers there too.
    assert other_session.allowed
    assert other_session.decision is Decision.ALLOW_ONCE


async def test_allow_assessor_cannot_lower_the_policy(bin_dir: Path) -> None:
    def allow(_: RiskContext) -> Requirement:
        return Requirement.ALLOW

    guard = ExecGuard(approvals_file=_file(bin_dir))  # other is not allowlisted: ask -> deny
    auth = await authorize_assessed(guard, f"{bin_dir}/other", assessors=[allow], cwd="/")
    assert not auth.allowed
    deny_file = ApprovalsFile(defaults=PolicyDefaults(security=Security.DENY))
    guard = ExecGuard(approvals_file=deny_file)
    auth = await authorize_assessed(guard, f"{bin_dir}/tool", assessors=[allow], cwd="/")
    assert not auth.allowed
    assert auth.reason == "security-deny"


async def test_assessor_sees_the_analysis(bin_dir: Path) -> None:
    seen: list[RiskContext] = []

    def look(context: RiskContext) -> None:
        seen.append(context)

    guard = ExecGuard(approvals_file=_file(bin_dir))
    run = await guarded_run(
        guard, "tool a | other", cwd=bin_dir, env=_env(bin_dir), assessors=[look]
    )
    assert not run.ran  # other misses the allowlist
    (context,) = seen
    assert context.command == "tool a | other"
    assert context.evaluation is not None
    assert [s.argv[0] for s in context.evaluation.segments] == ["tool", "other"]
    assert context.env["FOO"] == "bar"


@given(
    base=st.sampled_from(list(Requirement)),
    answers=st.lists(st.one_of(st.none(), st.sampled_from(list(Requirement)))),
)
def test_combine_only_raises(base: Requirement, answers: list[Requirement | None]) -> None:
    result = combine_requirements(base, answers)
    assert result >= base
    assert all(result >= a for a in answers if a is not None)
    assert result in {base, *(a for a in answers if a is not None)}


def test_requirement_order_matches_verdicts() -> None:
    order = [requirement_of(v) for v in (Verdict.ALLOW, Verdict.ASK, Verdict.DENY)]
    assert order == sorted(order)
    assert len(set(order)) == 3


COMMANDS = ("tool", "other", "tool && other", "tool $(other)", "tool | tool")


@settings(max_examples=40, deadline=None)
@given(
    security=st.sampled_from(list(Security)),
    ask=st.sampled_from(list(Ask)),
    fallback=st.sampled_from(list(Security)),
    command=st.sampled_from(COMMANDS),
    human=st.sampled_from([None, Decision.ALLOW_ONCE, Decision.ALLOW_ALWAYS, Decision.DENY]),
    required=st.lists(st.sampled_from([*Requirement, None, "boom"]), max_size=3),
)
def test_assessors_never_lower_the_requirement(  # noqa: PLR0917
    tmp_path_factory: pytest.TempPathFactory,
    security: Security,
    ask: Ask,
    fallback: Security,
    command: str,
    human: Decision | None,
    required: list[Requirement | str | None],
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    (folder / "tool").write_text("#!/bin/sh\n", encoding="utf-8")
    (folder / "tool").chmod(stat.S_IRWXU)
    (folder / "other").write_text("#!/bin/sh\n", encoding="utf-8")
    (folder / "other").chmod(stat.S_IRWXU)
    file = ApprovalsFile(
        defaults=PolicyDefaults(security=security, ask=ask, ask_fallback=fallback),
        agents={"*": AgentPolicy(allowlist=(AllowlistEntry(pattern=f"{folder}/tool"),))},
    )
    env = {"PATH": f"{folder}:/usr/bin:/bin"}

    def plugin(answer: Requirement | str | None) -> Callable[[RiskContext], Requirement | None]:
        def assess(_: RiskContext) -> Requirement | None:
            if isinstance(answer, str):
                raise TypeError("assessor crashed")
            return answer

        return assess

    async def both() -> tuple[Authorization, Authorization]:
        async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
            if human is not None:
                await tg.start(AutoApprover(store, human).run)
            guard = ExecGuard(store=store if human else None, approvals_file=file)
            plain = await guard.authorize(command, cwd=str(folder), env=env)
            assessed = await authorize_assessed(
                guard, command, assessors=[plugin(a) for a in required], cwd=str(folder), env=env
            )
            tg.cancel_scope.cancel()
        return plain, assessed

    plain, assessed = anyio.run(both)
    strictest = max(
        [Requirement.ALLOW]
        + [Requirement.DENY if isinstance(a, str) else a for a in required if a is not None]
    )
    if assessed.allowed:
        assert plain.allowed  # never looser than the policy alone
        assert strictest < Requirement.DENY
    if strictest is Requirement.ASK and assessed.allowed:
        assert assessed.decision in {Decision.ALLOW_ONCE, Decision.ALLOW_ALWAYS}
    if strictest is Requirement.ALLOW:
        assert assessed.allowed == plain.allowed  # no opinion changes nothing
