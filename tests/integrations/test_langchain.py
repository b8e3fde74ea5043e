"""
The LangChain shell tool, driven the way a LangChain agent drives it.

A langchain-core fake chat model emits the tool calls; ``tool.invoke(tool_call)`` is what
an agent loop does with them. Real commands run in a temp folder; a canary file shows
whether anything ran.
"""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest
from _frameworks import auto_approver, make_bin, policy_file
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool

from openclaw_exec import ExecGuard
from openclaw_exec.integrations import Assessment, Requirement, RiskContext
from openclaw_exec.integrations.langchain import ShellInput, shell_tool
from openclaw_exec.protocol import ApprovalRecord, Decision


def _model(*commands: str) -> GenericFakeChatModel:
    calls = [
        {"name": "shell", "args": {"command": command}, "id": f"call-{i}"}
        for i, command in enumerate(commands)
    ]
    return GenericFakeChatModel(messages=iter([AIMessage("", tool_calls=calls)]))


def _tool_messages(tool: BaseTool, model: GenericFakeChatModel) -> list[ToolMessage]:
    reply = model.invoke("clean the build folder")
    assert isinstance(reply, AIMessage)
    out = [tool.invoke(call) for call in reply.tool_calls]
    assert all(isinstance(message, ToolMessage) for message in out)
    return out


def test_the_tool_is_a_langchain_tool_with_a_schema(tmp_path: Path) -> None:
    tool = shell_tool(ExecGuard(approvals_file=policy_file(make_bin(tmp_path))))
    assert isinstance(tool, BaseTool)
    assert tool.name == "shell"
    assert tool.args_schema is ShellInput
    assert set(tool.args) == {"command", "cwd"}


def test_sync_agent_loop_runs_allowed_and_refuses_the_rest(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)
    canary = tmp_path / "canary"
    tool = shell_tool(ExecGuard(approvals_file=policy_file(bin_dir)), cwd=tmp_path)
    ran, refused = _tool_messages(
        tool, _model(f"{bin_dir}/hello world", f"{bin_dir}/touchy {canary}")
    )
    assert ran.content == "exit status 0\nstdout:\nhello world\n"
    assert ran.artifact["ran"]
    assert ran.artifact["returncode"] == 0
    assert ran.tool_call_id == "call-0"
    # No store: nobody can be asked, askFallback=deny applies; nothing ran.
    assert str(refused.content).startswith("refused (no-approval-route)")
    assert not refused.artifact["ran"]
    assert not canary.exists()


def test_sync_invoke_works_from_a_worker_thread(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)
    tool = shell_tool(ExecGuard(approvals_file=policy_file(bin_dir)), cwd=tmp_path)
    seen: list[str] = []
    worker = threading.Thread(
        target=lambda: seen.append(tool.invoke({"command": f"{bin_dir}/hello t"}))
    )
    worker.start()
    worker.join(30)
    assert seen == ["exit status 0\nstdout:\nhello t\n"]


# langchain-core's async API is asyncio-only (its callbacks use asyncio.gather).
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("decision", [Decision.ALLOW_ONCE, Decision.DENY])
@pytest.mark.anyio
async def test_async_tool_waits_for_the_human(
    tmp_path: Path, decision: Decision, anyio_backend: str
) -> None:
    bin_dir = make_bin(tmp_path)
    canary = tmp_path / "canary"
    asked: list[ApprovalRecord] = []

    def decide(record: ApprovalRecord) -> Decision:
        asked.append(record)
        return decision

    async with auto_approver(decide) as store:
        guard = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
        tool = shell_tool(guard, cwd=tmp_path, agent_id="main", session_key="s1")
        message = await tool.ainvoke(
            {
                "name": "shell",
                "args": {"command": f"{bin_dir}/touchy {canary}"},
                "id": "c1",
                "type": "tool_call",
            }
        )
    assert isinstance(message, ToolMessage)
    (record,) = asked
    assert record.request.command == f"{bin_dir}/touchy {canary}"
    assert record.request.cwd == str(tmp_path)
    assert record.request.session_key == "s1"
    if decision is Decision.ALLOW_ONCE:
        assert message.content == "exit status 0"
        assert message.artifact["decision"] == "allow-once"
        assert canary.exists()
    else:
        assert str(message.content).startswith("refused (user-denied)")
        assert not canary.exists()


def test_model_chosen_cwd_is_checked_and_used(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    link = tmp_path / "link"
    link.symlink_to(work)
    tool = shell_tool(ExecGuard(approvals_file=policy_file(bin_dir)))
    message = tool.invoke(
        {
            "name": "shell",
            "args": {"command": f"{bin_dir}/hello x", "cwd": str(link)},
            "id": "c1",
            "type": "tool_call",
        }
    )
    assert message.artifact["cwd"] == str(work.resolve())  # resolved once, then used
    relative = tool.invoke({"command": f"{bin_dir}/hello x", "cwd": "work"})
    assert relative.startswith("refused (invalid-arguments): cwd must be an absolute path")


def test_output_is_cut_for_the_model(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)
    tool = shell_tool(ExecGuard(approvals_file=policy_file(bin_dir)), max_output=8)
    text = tool.invoke({"command": f"{bin_dir}/hello 0123456789"})
    assert "hello 01\n[... 9 more characters cut]" in text


def test_sync_invoke_inside_a_running_loop_is_a_clear_error(tmp_path: Path) -> None:
    tool = shell_tool(ExecGuard(approvals_file=policy_file(make_bin(tmp_path))))

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="running"):
            tool.invoke({"command": "true"})

    anyio.run(inside)


def test_risk_assessors_only_make_the_tool_stricter(tmp_path: Path) -> None:
    bin_dir = make_bin(tmp_path)

    def no_greetings(context: RiskContext) -> Assessment | None:
        if "hello" in context.command:
            return Assessment(requirement=Requirement.DENY, reason="no greetings today")
        return None

    guard = ExecGuard(approvals_file=policy_file(bin_dir))
    tool = shell_tool(guard, cwd=tmp_path, assessors=[no_greetings])
    text = tool.invoke({"command": f"{bin_dir}/hello x"})  # allowlisted, yet refused
    assert text.startswith("refused (risk-assessor-denied)")
    assert "no greetings today" in text
