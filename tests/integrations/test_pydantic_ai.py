"""
pydantic-ai: the shell tool raises deferred approval requests, resumed with the decision.

A pydantic-ai ``Agent`` driven by pydantic-ai's own ``FunctionModel`` (scripted tool calls)
and ``TestModel`` (calls every tool with generated arguments) runs the toolset; the first
run ends with ``DeferredToolRequests``, the second resumes with ``DeferredToolResults``.
Real commands run in a temp folder; a canary file shows whether anything ran. pydantic-ai
runs on asyncio only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _frameworks import make_bin, policy_file
from pydantic_ai import Agent
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel
from pydantic_ai.tools import DeferredToolRequests, DeferredToolResults, ToolApproved

from openclaw_exec import ExecGuard
from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.integrations.pydantic_ai import approval_results, shell_toolset

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # pydantic-ai's agent runs on asyncio


def _model(*commands: str) -> FunctionModel:
    """Calls the shell tool with *commands*, then reports what the tools said."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        returns = [
            part
            for message in messages
            for part in getattr(message, "parts", [])
            if isinstance(part, ToolReturnPart)
        ]
        if returns:
            return ModelResponse(parts=[TextPart(" | ".join(str(r.content) for r in returns))])
        calls = [
            ToolCallPart("shell", {"command": c}, tool_call_id=f"call-{i}")
            for i, c in enumerate(commands)
        ]
        return ModelResponse(parts=calls)

    return FunctionModel(respond)


def _agent(model: FunctionModel | TestModel) -> Agent[None, str | DeferredToolRequests]:
    return Agent(model, output_type=[str, DeferredToolRequests])


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return make_bin(tmp_path)


@pytest.fixture
def guard(bin_dir: Path) -> ExecGuard:
    return ExecGuard(store=MemoryApprovalStore(), approvals_file=policy_file(bin_dir))


def _returns(result: Any) -> dict[str, ToolReturnPart]:
    return {
        part.tool_call_id: part
        for message in result.new_messages()
        for part in getattr(message, "parts", [])
        if isinstance(part, ToolReturnPart)
    }


async def test_the_run_defers_and_resumes_with_allow_once(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    command = f"{bin_dir}/touchy {canary}"
    agent = _agent(_model(command))
    toolset = shell_toolset(guard, cwd=tmp_path, session_key="s1")
    first = await agent.run("touch it", toolsets=[toolset])
    requests = first.output
    assert isinstance(requests, DeferredToolRequests)
    (call,) = requests.approvals
    shown = requests.metadata[call.tool_call_id]
    assert shown["kind"] == "openclaw-exec.approval"
    assert shown["command"] == command
    assert shown["session_key"] == "s1"
    assert not canary.exists()
    assert guard.store is not None
    (pending,) = await guard.store.list_pending()
    assert pending.id == shown["approval_id"]

    results = approval_results(requests, "allow-once", by="alice")
    second = await agent.run(
        message_history=first.all_messages(), deferred_tool_results=results, toolsets=[toolset]
    )
    assert canary.exists()
    assert second.output == "exit status 0"
    part = _returns(second)[call.tool_call_id]
    assert part.metadata["decision"] == "allow-once"
    record = await guard.store.get(shown["approval_id"])
    assert record is not None
    assert record.resolved_by == "alice"


async def test_deny_is_recorded_and_the_model_reads_it(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    agent = _agent(_model(f"{bin_dir}/touchy {canary}"))
    toolset = shell_toolset(guard, cwd=tmp_path)
    first = await agent.run("touch it", toolsets=[toolset])
    assert isinstance(first.output, DeferredToolRequests)
    second = await agent.run(
        message_history=first.all_messages(),
        deferred_tool_results=approval_results(first.output, "deny"),
        toolsets=[toolset],
    )
    assert isinstance(second.output, str)
    assert second.output.startswith("refused (user-denied)")
    assert not canary.exists()
    assert guard.store is not None
    assert await guard.store.list_pending() == []  # one outcome, nothing left pending


async def test_policy_decisions_need_no_human(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path
) -> None:
    agent = _agent(_model(f"{bin_dir}/hello pyd", "echo /approve abc allow-always"))
    result = await agent.run("hi", toolsets=[shell_toolset(guard, cwd=tmp_path)])
    assert result.output == (
        "exit status 0\nstdout:\nhello pyd\n | "
        "refused (approve-command-refused): exec cannot run /approve commands"
    )


async def test_changed_arguments_or_foreign_approvals_run_nothing(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path
) -> None:
    canary, other = tmp_path / "canary", tmp_path / "other"
    agent = _agent(_model(f"{bin_dir}/touchy {canary}"))
    toolset = shell_toolset(guard, cwd=tmp_path)
    first = await agent.run("touch it", toolsets=[toolset])
    requests = first.output
    assert isinstance(requests, DeferredToolRequests)
    (call,) = requests.approvals
    answered = approval_results(requests, "allow-once")
    history = first.all_messages()

    # 1. The human "approved" with other arguments: the approval binds the original plan.
    swapped = DeferredToolResults(
        approvals={call.tool_call_id: ToolApproved(override_args={"command": f"touch {other}"})},
        metadata=answered.metadata,
    )
    result = await agent.run(
        message_history=history, deferred_tool_results=swapped, toolsets=[toolset]
    )
    assert _returns(result)[call.tool_call_id].metadata["reason"] == "approval-answer-mismatch"
    assert not canary.exists()
    assert not other.exists()

    # 2. The same approval again (a replay): its one outcome was a deny, it runs nothing.
    replay = await agent.run(
        message_history=history, deferred_tool_results=answered, toolsets=[toolset]
    )
    assert _returns(replay)[call.tool_call_id].metadata["reason"] == "approval-replayed"
    assert not canary.exists()

    # 3. A bare ToolApproved() without this module's metadata.
    bare = DeferredToolResults(approvals={call.tool_call_id: True})
    result = await agent.run(
        message_history=history, deferred_tool_results=bare, toolsets=[toolset]
    )
    assert _returns(result)[call.tool_call_id].metadata["reason"] == "invalid-arguments"
    assert not canary.exists()


async def test_test_model_calls_the_tool_and_gets_a_deferred_request(
    guard: ExecGuard, tmp_path: Path
) -> None:
    # TestModel invents the arguments ("a"): not allowlisted, so it needs a human.
    result = await _agent(TestModel()).run("go", toolsets=[shell_toolset(guard, cwd=tmp_path)])
    assert isinstance(result.output, DeferredToolRequests)
    (call,) = result.output.approvals
    assert call.tool_name == "shell"
    assert result.output.metadata[call.tool_call_id]["command"] == "a"


def test_results_only_answer_this_toolsets_calls() -> None:
    requests = DeferredToolRequests(
        approvals=[
            ToolCallPart("shell", {"command": "x"}, tool_call_id="a"),
            ToolCallPart("other", {}, tool_call_id="b"),
            ToolCallPart("shell", {"command": "y"}, tool_call_id="c"),
        ],
        metadata={
            "a": {"kind": "openclaw-exec.approval", "approval_id": "1"},
            "c": {"kind": "openclaw-exec.approval", "approval_id": "3"},
        },
    )
    results = approval_results(requests, {"a": "allow-always"})
    assert set(results.approvals) == {"a"}
    assert results.metadata["a"]["decision"] == "allow-always"
    assert set(approval_results(requests, "deny").approvals) == {"a", "c"}
    with pytest.raises(Exception, match="invalid decision"):
        approval_results(requests, "maybe")
