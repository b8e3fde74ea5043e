"""
``openclaw-exec mcp``: a real server process, driven by the MCP Python SDK's own client.

``stdio_client`` starts ``python -m openclaw_exec mcp`` and ``ClientSession`` talks to it,
once with an elicitation callback (the client's user answers: accept with a decision,
decline, cancel, nonsense) and once without (the configured approver answers: OpenClaw's
approvals socket, served here by a real socket server; or nobody). Real commands run in a
temp folder; canary files show whether anything ran. The client runs on asyncio and trio,
and so does the server (``--backend``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest
from _frameworks import make_bin, policy_file
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp import types as mcp_types
from mcp.client.session import ClientRequestContext, ElicitationFnT

import openclaw_exec
from openclaw_exec.adapters.filestore import write_approvals
from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.adapters.unix_socket import ApprovalSocketServer
from openclaw_exec.approvers import ApproverAnswer
from openclaw_exec.cli import main
from openclaw_exec.guard import ExecGuard
from openclaw_exec.integrations.mcp import shell_server
from openclaw_exec.policy import SocketConfig
from openclaw_exec.protocol import (
    ApprovalRequest,
    ApprovalRequested,
    Decision,
    Principal,
    SocketRequest,
)

pytestmark = pytest.mark.anyio

SRC = str(Path(openclaw_exec.__file__).resolve().parents[1])


@asynccontextmanager
async def serve(
    tmp_path: Path,
    *args: str,
    elicit: ElicitationFnT | None = None,
    backend: str = "asyncio",
    socket: SocketConfig | None = None,
) -> AsyncIterator[ClientSession]:
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        make_bin(tmp_path)
    approvals = tmp_path / "exec-approvals.json"
    file = policy_file(bin_dir)
    if socket is not None:
        file = type(file)(defaults=file.defaults, agents=file.agents, socket=socket)
    write_approvals(approvals, file)
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "openclaw_exec",
            "mcp",
            "--approvals",
            str(approvals),
            "--cwd",
            str(tmp_path),
            "--backend",
            backend,
            *args,
        ],
        env={"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=str(tmp_path),
    )
    with (tmp_path / "server.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, elicitation_callback=elicit) as session,
        ):
            await session.initialize()
            yield session


def _text(result: mcp_types.CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, mcp_types.TextContent)
    return block.text


def _outcome(result: mcp_types.CallToolResult) -> dict[str, Any]:
    outcome = result.structured_content
    assert isinstance(outcome, dict)
    return outcome


#: What the client's user answers, by the canary file the command would create.
ANSWERS: dict[str, mcp_types.ElicitResult] = {
    "once": mcp_types.ElicitResult(action="accept", content={"decision": "allow-once"}),
    "declined": mcp_types.ElicitResult(action="decline"),
    "cancelled": mcp_types.ElicitResult(action="cancel"),
    "denied": mcp_types.ElicitResult(action="accept", content={"decision": "deny"}),
    "nonsense": mcp_types.ElicitResult(action="accept", content={"decision": "yes please"}),
}

CallTool = Callable[[str, dict[str, Any]], Awaitable[mcp_types.CallToolResult]]


def _scripted_user(asked: list[str]) -> ElicitationFnT:
    async def elicit(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        assert isinstance(params, mcp_types.ElicitRequestFormParams)
        asked.append(params.message)
        schema = params.requested_schema["properties"]["decision"]
        assert schema["enum"] == ["allow-once", "allow-always", "deny"]
        name = next(n for n in ANSWERS if f"/{n}\n" in params.message)
        return ANSWERS[name]

    return elicit


async def _ask_every_way(call: CallTool, tmp_path: Path, asked: list[str]) -> None:
    bin_dir = tmp_path / "bin"
    ran = await call("shell", {"command": f"{bin_dir}/hello mcp"})
    assert not ran.is_error
    assert _text(ran) == "exit status 0\nstdout:\nhello mcp\n"
    assert asked == []  # the policy allowed it alone: nobody was asked
    results = {}
    for name in ANSWERS:
        results[name] = await call("shell", {"command": f"{bin_dir}/touchy {tmp_path / name}"})
    assert len(asked) == len(ANSWERS)
    assert f"{bin_dir}/touchy {tmp_path / 'once'}" in asked[0]
    assert (tmp_path / "once").exists()
    assert not results["once"].is_error
    assert _outcome(results["once"])["decision"] == "allow-once"
    for name in ("declined", "cancelled", "denied", "nonsense"):
        assert not (tmp_path / name).exists(), name
        assert results[name].is_error, name
        assert _text(results[name]).startswith("refused"), name
    assert _outcome(results["declined"])["reason"] == "user-denied"
    assert _outcome(results["denied"])["reason"] == "user-denied"
    assert _outcome(results["nonsense"])["reason"] == "user-denied"
    # Cancelled: no answer; the approval was withdrawn and askFallback (deny) applied.
    assert _outcome(results["cancelled"])["decision"] is None
    assert _outcome(results["cancelled"])["reason"] != "user-denied"


async def test_elicitation_asks_the_clients_user(tmp_path: Path, anyio_backend: str) -> None:
    # stdio_client + ClientSession.initialize(): the 2025-11-25 handshake, where the server
    # sends elicitation/create in the middle of the call.
    asked: list[str] = []
    elicit = _scripted_user(asked)
    async with serve(tmp_path, elicit=elicit, backend=anyio_backend) as session:
        tools = (await session.list_tools()).tools
        assert [t.name for t in tools] == ["shell"]
        assert set(tools[0].input_schema["properties"]) == {"command", "cwd"}
        await _ask_every_way(session.call_tool, tmp_path, asked)


async def test_elicitation_by_retried_call(tmp_path: Path) -> None:
    # The SDK's Client speaks 2026-07-28: the server answers InputRequiredResult, the client
    # asks its user and retries the call with the answer and the sealed request state.
    make_bin(tmp_path)
    asked: list[str] = []
    async with MemoryApprovalStore() as store:
        guard = ExecGuard(store=store, approvals_file=policy_file(tmp_path / "bin"))
        server = shell_server(guard, cwd=tmp_path)
        async with Client(server, elicitation_callback=_scripted_user(asked)) as client:
            assert client.session.protocol_version == "2026-07-28"
            await _ask_every_way(client.call_tool, tmp_path, asked)
        assert await store.list_pending() == []


# One backend here (the server's asyncio side runs in the test above): a process start is
# seconds on a loaded machine.
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_without_elicitation_the_approvals_socket_answers(
    tmp_path: Path, anyio_backend: str
) -> None:
    make_bin(tmp_path)
    bin_dir = tmp_path / "bin"
    seen: list[SocketRequest] = []

    async def decide(request: SocketRequest) -> Decision:
        seen.append(request)
        return Decision.ALLOW_ONCE if request.request.command.endswith("/yes") else Decision.DENY

    path = tmp_path / "sock" / "approvals.sock"
    path.parent.mkdir(mode=0o700)
    server = ApprovalSocketServer(path=path, token="t0ken", decide=decide)
    async with anyio.create_task_group() as tg:
        await tg.start(server.serve)
        socket = SocketConfig(path=str(path), token="t0ken")
        async with serve(tmp_path, socket=socket, backend=anyio_backend) as session:
            yes = await session.call_tool("shell", {"command": f"{bin_dir}/touchy {tmp_path}/yes"})
            no = await session.call_tool("shell", {"command": f"{bin_dir}/touchy {tmp_path}/no"})
        tg.cancel_scope.cancel()
    assert [r.request.command for r in seen] == [
        f"{bin_dir}/touchy {tmp_path}/yes",
        f"{bin_dir}/touchy {tmp_path}/no",
    ]
    assert (tmp_path / "yes").exists()
    assert not yes.is_error
    assert not (tmp_path / "no").exists()
    assert _outcome(no)["reason"] == "user-denied"


# ------------------------------------------------------------------ in-process server
# The same server object, connected in-process (the SDK's Client): the fallbacks, fast.


async def test_no_elicitation_and_no_approver_falls_back(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)

    async def elicit(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        raise AssertionError("the server must not ask the client")

    async with MemoryApprovalStore() as store:
        guard = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
        server = shell_server(guard, elicitation=False, cwd=tmp_path)
        async with Client(server, elicitation_callback=elicit) as client:
            result = await client.call_tool("shell", {"command": f"{bin_dir}/touchy {tmp_path}/x"})
            misuse = await client.call_tool("shell", {"command": "true", "cwd": "relative"})
    assert result.is_error
    assert _outcome(result)["reason"] == "no-approval-route"
    assert not (tmp_path / "x").exists()
    assert _outcome(misuse)["reason"] == "invalid-arguments"


async def test_the_configured_approver_answers_with_its_name(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)
    asked: list[ApprovalRequest] = []

    async def approver(request: ApprovalRequest) -> ApproverAnswer | Decision:
        asked.append(request)
        if request.command.endswith("/boom"):
            raise RuntimeError("the approval service is down")
        if request.command.endswith("/ok"):
            return ApproverAnswer(Decision.ALLOW_ONCE, Principal(id="u-42", display_name="Ann"))
        return Decision.DENY

    async with MemoryApprovalStore() as store:
        guard = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
        async with Client(shell_server(guard, approver=approver, cwd=tmp_path)) as client:
            results = {
                name: await client.call_tool(
                    "shell", {"command": f"{bin_dir}/touchy {tmp_path}/{name}"}
                )
                for name in ("ok", "no", "boom")
            }
        ok = await store.get(str(_outcome(results["ok"])["approval_id"]))
    assert [r.command.rsplit("/", 1)[1] for r in asked] == ["ok", "no", "boom"]
    assert (tmp_path / "ok").exists()
    assert ok is not None
    assert ok.resolved_by == "Ann"
    for name in ("no", "boom"):  # a failing approver is a deny, never a crash of the server
        assert not (tmp_path / name).exists()
        assert _outcome(results[name])["reason"] == "user-denied"


async def test_no_answer_leaves_it_to_any_other_surface(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)

    async def approver(request: ApprovalRequest) -> None:
        return None  # this approver has no answer ...

    async def web_page(
        store: MemoryApprovalStore, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        # ... but a human on another surface sharing the store has one.
        async with store.subscribe() as events:
            task_status.started()
            async for event in events:
                if isinstance(event, ApprovalRequested):
                    web = Principal(id="web")
                    await store.resolve(event.record.id, Decision.ALLOW_ONCE, approver=web)
                    return

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        guard = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
        await tg.start(web_page, store)
        server = shell_server(guard, approver=approver, no_answer_waits=True, cwd=tmp_path)
        async with Client(server) as client:
            result = await client.call_tool("shell", {"command": f"{bin_dir}/touchy {tmp_path}/x"})
    assert not result.is_error
    assert (tmp_path / "x").exists()


async def test_no_answer_takes_the_fallback_at_once_by_default(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)

    async def approver(request: ApprovalRequest) -> None:
        return None  # nobody at the socket

    async with MemoryApprovalStore() as store:
        guard = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
        with anyio.fail_after(10):  # never the approval's 30 minutes
            async with Client(shell_server(guard, approver=approver, cwd=tmp_path)) as client:
                result = await client.call_tool(
                    "shell", {"command": f"{bin_dir}/touchy {tmp_path}/x"}
                )
        assert await store.list_pending() == []
    assert result.is_error
    assert _outcome(result)["decision"] is None
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------------ usage errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cwd", "relative"], "--cwd must be an absolute path"),
        (["--approver", "socket"], "--approver socket needs socket.path and socket.token"),
        (["--timeout-ms", "0"], "--timeout-ms must be a positive number"),
        (["--approvals", "/nonexistent/exec-approvals.json"], "no such approvals file"),
    ],
)
def test_bad_options_are_one_line_errors(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    approvals = tmp_path / "exec-approvals.json"
    write_approvals(approvals, policy_file(make_bin(tmp_path)))
    code = main(["mcp", "--approvals", str(approvals), *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""  # stdout is the protocol: never written on an error either
    (line,) = captured.err.splitlines()
    assert line.startswith("openclaw-exec: error: ")
    assert message in line
