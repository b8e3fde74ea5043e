"""
Issue #19 "inherited environment" and #12 class 4, executed: which variables reach the process.

A stub program prints the environment it received; it runs through :func:`guarded_run`
(asyncio and trio). Inherited dangerous variables are stripped (and reported), requested
ones are refused (and never passed on, even when a human approves), harmless ones arrive,
and the process gets exactly ``authorization.environment.env``.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from openclaw_exec import AnalysisError, Decision, ExecGuard, guarded_run
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.analysis import _host_env_data as data
from openclaw_exec.analysis import is_blocked_inherited
from openclaw_exec.integrations import DEFAULT_SHELL
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    PolicyDefaults,
    Security,
)
from openclaw_exec.protocol import ApprovalRecord, env_hash

pytestmark = pytest.mark.anyio

# What a shell adds by itself (dash sets PWD; others may set SHLVL and _).
SHELL_ADDED = {"PWD", "OLDPWD", "SHLVL", "_"}

# Issue #19's inherited list, plus loader, git-config and interpreter variables.
INHERITED_DANGEROUS = [
    "BROWSER",
    "SHELL",
    "GIT_EDITOR",
    "GIT_EXTERNAL_DIFF",
    "GIT_EXEC_PATH",
    "GIT_SEQUENCE_EDITOR",
    "GIT_TEMPLATE_DIR",
    "CC",
    "CXX",
    "PS4",
    "JAVA_TOOL_OPTIONS",
    "GLIBC_TUNABLES",
    "MAKEFLAGS",
    "NODE_OPTIONS",
    "NODE_PATH",
    "VIMINIT",
    "LUA_INIT",
    "CONFIG_SHELL",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "CARGO_HOME",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "BASH_ENV",
    "ENV",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_KEY_0",
    "GIT_CONFIG_VALUE_0",
    "GIT_CONFIG_PARAMETERS",
    "GIT_SSH_COMMAND",
    "LESSOPEN",
    "TAR_OPTIONS",
    "PYTHONWARNINGS",
    "PERL5OPT",
    "PERL5DB",
    "PYTHONPATH",
    "EDITOR",
    "VISUAL",
    "git_editor",
    "node_options",
    "Ld_Preload",
]
HARMLESS = {"LANG": "C.UTF-8", "TZ": "UTC", "OPENCLAW_EXEC_TEST_FOO": "bar", "TERM": "dumb"}


@pytest.fixture
def stub(tmp_path: Path) -> Path:
    """``report``: prints the environment it received, one ``NAME=value`` per line."""
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / "report"
    program.write_text("#!/bin/sh\nexec /usr/bin/env -0\n", encoding="utf-8")
    program.chmod(stat.S_IRWXU)
    return program


def _guard(stub: Path, store: MemoryApprovalStore | None = None) -> ExecGuard:
    file = ApprovalsFile(
        defaults=PolicyDefaults(security=Security.ALLOWLIST, ask=Ask.ON_MISS),
        agents={"*": AgentPolicy(allowlist=(AllowlistEntry(pattern=str(stub)),))},
    )
    return ExecGuard(approvals_file=file, store=store)


def _received(stdout: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in stdout.decode().split("\0"):
        if item:
            key, _, value = item.partition("=")
            out[key] = value
    return out


@asynccontextmanager
async def approving() -> AsyncIterator[MemoryApprovalStore]:
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, Decision.ALLOW_ONCE).run)
        yield store
        tg.cancel_scope.cancel()


def _exactly(received: dict[str, str], expected: dict[str, str]) -> None:
    assert {k: v for k, v in received.items() if k not in SHELL_ADDED} == {
        k: v for k, v in expected.items() if k not in SHELL_ADDED
    }


async def test_inherited_dangerous_variables_are_stripped(
    stub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in INHERITED_DANGEROUS:
        monkeypatch.setenv(name, "/nonexistent/payload")
    for name, value in HARMLESS.items():
        monkeypatch.setenv(name, value)
    run = await guarded_run(_guard(stub), str(stub), cwd=stub.parent)
    auth = run.authorization
    assert auth.allowed, auth.message
    received = _received(run.stdout)
    assert not set(INHERITED_DANGEROUS) & set(received)
    assert set(INHERITED_DANGEROUS) <= set(auth.env_stripped)
    assert auth.env_blocked == ()
    for name, value in HARMLESS.items():
        assert received[name] == value
    assert auth.environment is not None
    _exactly(received, dict(auth.environment.env))
    assert auth.audit is None


@pytest.mark.parametrize(
    "name",
    sorted(
        {
            *data.OPENCLAW_BLOCKED_EVERYWHERE_KEYS,
            *(
                k
                for k in data.OPENCLAW_BLOCKED_OVERRIDE_ONLY_KEYS
                if k not in data.OPENCLAW_ALLOWED_INHERITED_OVERRIDE_ONLY_KEYS
            ),
            *data.EXTRA_BLOCKED_EVERYWHERE_KEYS,
        }
        - {"GIT_ALLOW_PROTOCOL", "GIT_PROTOCOL_FROM_USER"}
    ),
)
async def test_every_inherited_table_entry_is_stripped(
    name: str, stub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name.lower() if len(name) % 2 else name, "x")
    monkeypatch.setenv("LANG", "C.UTF-8")
    run = await guarded_run(_guard(stub), str(stub), cwd=stub.parent)
    assert run.ok, run.authorization.message
    received = _received(run.stdout)
    assert name.upper() not in {k.upper() for k in received}
    assert received["LANG"] == "C.UTF-8"


REQUESTED_DANGEROUS = {
    "GIT_SSH_COMMAND": "touch CANARY #",
    "LD_PRELOAD": "/tmp/x.so",
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "core.pager",
    "GIT_CONFIG_VALUE_0": "touch CANARY",
    "HOME": "/tmp/elsewhere",
    "PATH": "/tmp/evil:/usr/bin:/bin",
    "XDG_CONFIG_HOME": "/tmp/cfg",
    "TAR_OPTIONS": "--to-command=sh",
    "PYTHONWARNINGS": "ignore::antigravity.X",
    "LESSOPEN": "|sh %s",
    "PERL5DB": "BEGIN{}",
    "PS4": "$(id)",
    "KUBE_EDITOR": "sh",
    "npm_config_script_shell": "/tmp/x",
}


@pytest.mark.parametrize("name", sorted(REQUESTED_DANGEROUS))
async def test_requested_dangerous_variable_is_refused(name: str, stub: Path) -> None:
    run = await guarded_run(
        _guard(stub), str(stub), cwd=stub.parent, env_overrides={name: REQUESTED_DANGEROUS[name]}
    )
    assert not run.authorization.allowed
    assert not run.ran
    assert run.authorization.env_blocked == (name,)
    assert run.authorization.evaluation is not None
    assert any(t.startswith("blocked-env: ") for t in run.authorization.evaluation.must_ask)


async def test_refused_variables_never_reach_the_process_even_when_approved(stub: Path) -> None:
    asked = {**REQUESTED_DANGEROUS, "OPENCLAW_EXEC_TEST_FOO": "1", "LANG": "C"}
    async with approving() as store:
        run = await guarded_run(
            _guard(stub, store), str(stub), cwd=stub.parent, env_overrides=asked
        )
    auth = run.authorization
    assert auth.allowed, auth.message
    assert auth.decision is Decision.ALLOW_ONCE
    received = _received(run.stdout)
    assert set(auth.env_blocked) == set(REQUESTED_DANGEROUS)
    for name, value in REQUESTED_DANGEROUS.items():
        assert received.get(name) != value, name
    assert received["OPENCLAW_EXEC_TEST_FOO"] == "1"
    assert received["LANG"] == "C"
    assert auth.environment is not None
    _exactly(received, dict(auth.environment.env))


async def test_harmless_requested_variables_reach_the_process_without_asking(stub: Path) -> None:
    asked = {"LANG": "C.UTF-8", "NO_COLOR": "1", "TZ": "UTC", "PAGER": "cat", "CI": "true"}
    run = await guarded_run(_guard(stub), str(stub), cwd=stub.parent, env_overrides=asked)
    assert run.ok, run.authorization.message
    assert run.authorization.decision is None
    received = _received(run.stdout)
    assert {k: received[k] for k in asked} == {**asked, "PAGER": ""}


async def test_full_env_keys_that_would_be_stripped_are_refused(stub: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": "/tmp/x.so", "FOO": "1"}
    run = await guarded_run(_guard(stub), str(stub), cwd=stub.parent, env=env)
    assert not run.ran
    assert run.authorization.env_blocked == ("LD_PRELOAD",)
    async with approving() as store:
        run = await guarded_run(_guard(stub, store), str(stub), cwd=stub.parent, env=env)
    assert run.ok
    received = _received(run.stdout)
    assert "LD_PRELOAD" not in received
    assert received["FOO"] == "1"


async def test_approval_binding_covers_the_environment_that_runs(stub: Path) -> None:
    seen: list[ApprovalRecord] = []

    def decide(record: ApprovalRecord) -> Decision:
        seen.append(record)
        return Decision.ALLOW_ONCE

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, decide).run)
        run = await guarded_run(
            _guard(stub, store),
            str(stub),
            cwd=stub.parent,
            env={"PATH": "/usr/bin:/bin", "FOO": "1"},
            env_overrides={"GIT_SSH_COMMAND": "x", "BAR": "2"},
        )
        tg.cancel_scope.cancel()
    assert run.ok
    assert run.authorization.environment is not None
    ran = dict(run.authorization.environment.env)
    assert ran == {"PATH": "/usr/bin:/bin", "FOO": "1", "BAR": "2"}
    assert seen[0].request.binding is not None
    assert seen[0].request.binding.env_hash == env_hash(ran)


async def test_shell_is_started_by_absolute_path(stub: Path, tmp_path: Path) -> None:
    evil = tmp_path / "evil"
    evil.mkdir()
    fake = evil / "sh"
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path}/CANARY\n", encoding="utf-8")
    fake.chmod(stat.S_IRWXU)
    env = {"PATH": f"{evil}:/usr/bin:/bin"}
    run = await guarded_run(_guard(stub), str(stub), cwd=tmp_path, env=env)
    assert run.ok, run.authorization.message
    assert run.executable == DEFAULT_SHELL
    assert run.argv[0] == "sh"
    assert not (tmp_path / "CANARY").exists()
    with pytest.raises(AnalysisError):
        await guarded_run(_guard(stub), str(stub), cwd=tmp_path, env=env, shell="sh")


async def test_inherited_stripping_is_not_a_refusal(
    stub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELL", "/bin/bash")
    auth = await _guard(stub).authorize(str(stub), cwd=str(stub.parent))
    assert auth.allowed
    assert "SHELL" in auth.env_stripped
    assert is_blocked_inherited("SHELL")
