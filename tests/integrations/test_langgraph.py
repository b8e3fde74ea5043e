"""
LangGraph: the guard's approval as a checkpointed interrupt(), end to end.

A real StateGraph (an agent node driven by langchain-core's fake chat model, a ToolNode with
the guarded shell tool, InMemorySaver) pauses for the human, and resumes with
``Command(resume=...)``. Real commands run in a temp folder; a canary file shows whether
anything ran. LangGraph's async API is asyncio-only, so async tests run on asyncio.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from _frameworks import make_bin, policy_file
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command, Interrupt

from openclaw_exec import ExecGuard
from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.guard import PendingApproval
from openclaw_exec.integrations.langgraph import answer, run_shell, run_shell_sync, shell_tool


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # LangGraph's async runner is asyncio's


class Counter:
    """Approval ids for the guard; counts how many approvals were registered."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self) -> str:
        self.made.append(str(uuid.uuid4()))
        return self.made[-1]


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return make_bin(tmp_path)


@pytest.fixture
def ids() -> Counter:
    return Counter()


@pytest.fixture
def guard(bin_dir: Path, ids: Counter) -> ExecGuard:
    # A memory store: the pending approval lives there while the graph is paused.
    return ExecGuard(store=MemoryApprovalStore(), approvals_file=policy_file(bin_dir), new_id=ids)


def _graph(tool: BaseTool, *commands: str, saver: InMemorySaver | None = None) -> Any:
    calls = [
        {"name": "shell", "args": {"command": c}, "id": f"call-{i}"} for i, c in enumerate(commands)
    ]
    model = GenericFakeChatModel(
        messages=iter([AIMessage("", tool_calls=calls), *(AIMessage("done") for _ in range(3))])
    )

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([tool]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    graph: CompiledStateGraph[Any] = builder.compile(checkpointer=saver or InMemorySaver())
    return graph


def _config(thread: str = "thread-1") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def _tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


def _interrupt(result: dict[str, Any]) -> Interrupt:
    (pending,) = result["__interrupt__"]
    assert isinstance(pending, Interrupt)
    return pending


# ------------------------------------------------------------------------- async graph


@pytest.mark.anyio
async def test_graph_pauses_for_the_human_and_resumes_with_allow_once(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path, ids: Counter
) -> None:
    canary = tmp_path / "canary"
    command = f"{bin_dir}/touchy {canary}"
    graph = _graph(shell_tool(guard, cwd=tmp_path), command)
    paused = await graph.ainvoke({"messages": [HumanMessage("touch it")]}, _config())
    request = _interrupt(paused)
    shown = request.value
    assert shown["kind"] == "openclaw-exec.approval"
    assert shown["command"] == command
    assert shown["cwd"] == str(tmp_path)
    assert shown["session_key"] == "thread-1"  # bound to the LangGraph thread
    assert shown["decisions"] == ["allow-once", "allow-always", "deny"]
    assert not canary.exists()
    # The approval waits in the store (any approver surface can see it), bound to the plan.
    assert guard.store is not None
    (record,) = await guard.store.list_pending()
    assert record.id == shown["approval_id"]
    assert record.request.binding is not None
    assert record.request.binding.argv == ("sh", "-c", command)

    done = await graph.ainvoke(Command(resume=answer(request, "allow-once", by="alice")), _config())
    assert canary.exists()
    (message,) = _tool_messages(done)
    assert message.content == "exit status 0"
    assert message.artifact["decision"] == "allow-once"
    assert message.artifact["approval_id"] == shown["approval_id"]
    assert done["messages"][-1].content == "done"
    assert len(ids.made) == 1  # the node re-ran on resume; the check did not
    record_after = await guard.store.get(shown["approval_id"])
    assert record_after is not None
    assert record_after.resolved_by == "alice"


@pytest.mark.anyio
async def test_deny_runs_nothing_and_the_model_reads_why(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    graph = _graph(shell_tool(guard, cwd=tmp_path), f"{bin_dir}/touchy {canary}")
    paused = await graph.ainvoke({"messages": [HumanMessage("touch it")]}, _config())
    done = await graph.ainvoke(Command(resume=answer(_interrupt(paused), "deny")), _config())
    (message,) = _tool_messages(done)
    assert str(message.content).startswith("refused (user-denied)")
    assert not canary.exists()


@pytest.mark.anyio
async def test_policy_decisions_need_no_interrupt(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path, ids: Counter
) -> None:
    graph = _graph(shell_tool(guard, cwd=tmp_path), f"{bin_dir}/hello there", "echo /approve x")
    done = await graph.ainvoke({"messages": [HumanMessage("hi")]}, _config())
    assert "__interrupt__" not in done
    ran, refused = _tool_messages(done)
    assert ran.content == "exit status 0\nstdout:\nhello there\n"
    assert str(refused.content).startswith("refused (approve-command-refused)")
    assert ids.made == []


@pytest.mark.parametrize(
    "reply",
    [
        "allow-once",  # a bare decision names no approval
        {"approval_id": "someone-else", "decision": "allow-once"},
        {"decision": "allow-once"},
        {"approval_id": None, "decision": "allow-always"},
    ],
    ids=["bare", "other-id", "no-id", "null-id"],
)
@pytest.mark.anyio
async def test_an_answer_for_another_approval_is_refused(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path, reply: object
) -> None:
    canary = tmp_path / "canary"
    graph = _graph(shell_tool(guard, cwd=tmp_path), f"{bin_dir}/touchy {canary}")
    paused = await graph.ainvoke({"messages": [HumanMessage("touch it")]}, _config())
    shown = _interrupt(paused).value
    done = await graph.ainvoke(Command(resume=reply), _config())
    (message,) = _tool_messages(done)
    assert message.artifact["reason"] == "approval-answer-mismatch"
    assert not message.artifact["ran"]
    assert not canary.exists()
    # Recorded as a deny: the request has its one outcome, nobody can approve it later.
    assert guard.store is not None
    record = await guard.store.get(shown["approval_id"])
    assert record is not None
    assert record.decision is not None
    assert record.decision.value == "deny"


@pytest.mark.anyio
async def test_an_answer_naming_another_real_approval_approves_neither(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path
) -> None:
    canary, other_canary = tmp_path / "canary", tmp_path / "other"
    other = await guard.check(f"{bin_dir}/touchy {other_canary}", cwd=tmp_path, has_route=True)
    assert isinstance(other, PendingApproval)
    graph = _graph(shell_tool(guard, cwd=tmp_path), f"{bin_dir}/touchy {canary}")
    paused = await graph.ainvoke({"messages": [HumanMessage("touch it")]}, _config())
    request = _interrupt(paused)
    swapped = {**answer(request, "allow-once"), "approval_id": other.approval_id}
    done = await graph.ainvoke(Command(resume=swapped), _config())
    (message,) = _tool_messages(done)
    assert message.artifact["reason"] == "approval-answer-mismatch"
    assert not canary.exists()
    # The other approval was not touched by an answer that reached the wrong call.
    assert guard.store is not None
    record = await guard.store.get(other.approval_id)
    assert record is not None
    assert record.decision is None
    assert not other_canary.exists()


@pytest.mark.anyio
async def test_two_calls_in_one_step_never_run_what_nobody_approved(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path
) -> None:
    # The async ToolNode runs both calls at once and LangGraph matches resume values to
    # interrupts by call order, which concurrency can swap. Whatever the routing, an answer
    # only ever settles the approval it names: a command runs only if its own approval was
    # answered allow-once; an answer that reaches the other call is refused there.
    first, second = tmp_path / "first", tmp_path / "second"
    graph = _graph(
        shell_tool(guard, cwd=tmp_path), f"{bin_dir}/touchy {first}", f"{bin_dir}/touchy {second}"
    )
    state = await graph.ainvoke({"messages": [HumanMessage("touch both")]}, _config())
    approved: set[str] = set()
    for _ in range(6):
        if "__interrupt__" not in state:
            break
        request = _interrupt(state)
        decision = "allow-once" if request.value["command"].endswith(str(first)) else "deny"
        if decision == "allow-once":
            approved.add(request.value["command"])
        state = await graph.ainvoke(Command(resume=answer(request, decision)), _config())
    assert "__interrupt__" not in state
    assert not second.exists()  # denied, or refused: never run
    for message in _tool_messages(state):
        ran = message.artifact["ran"]
        assert not ran or message.artifact["command"] in approved
        assert ran or message.artifact["reason"] in {"user-denied", "approval-answer-mismatch"}
    assert first.exists() == any(m.artifact["ran"] for m in _tool_messages(state))


@pytest.mark.anyio
async def test_replaying_an_old_checkpoint_cannot_spend_the_approval_twice(
    guard: ExecGuard, bin_dir: Path, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    graph = _graph(shell_tool(guard, cwd=tmp_path), f"{bin_dir}/touchy {canary}")
    paused = await graph.ainvoke({"messages": [HumanMessage("touch it")]}, _config())
    request = _interrupt(paused)
    at_pause = (await graph.aget_state(_config())).config
    await graph.ainvoke(Command(resume=answer(request, "allow-once")), _config())
    assert canary.exists()
    canary.unlink()
    # Time travel: resume the paused checkpoint again with the same answer. LangGraph runs
    # the node afresh on the fork, so the check registers a new approval; the old answer
    # names the spent one and is refused (and the new one is denied, not left pending).
    replayed = await graph.ainvoke(Command(resume=answer(request, "allow-once")), at_pause)
    (message,) = _tool_messages(replayed)
    assert message.artifact["reason"] == "approval-answer-mismatch"
    assert request.value["approval_id"] in message.artifact["message"]
    assert not canary.exists()
    assert guard.store is not None
    assert await guard.store.list_pending() == []


@pytest.mark.anyio
async def test_resume_in_a_new_graph_and_guard_sharing_store_and_checkpointer(
    bin_dir: Path, tmp_path: Path
) -> None:
    # What a restart looks like: the checkpointer and the store outlive the objects.
    store = MemoryApprovalStore()
    saver = InMemorySaver()
    canary = tmp_path / "canary"
    command = f"{bin_dir}/touchy {canary}"
    before = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
    paused = await _graph(shell_tool(before, cwd=tmp_path), command, saver=saver).ainvoke(
        {"messages": [HumanMessage("touch it")]}, _config("t9")
    )
    request = _interrupt(paused)
    after = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
    graph = _graph(shell_tool(after, cwd=tmp_path), command, saver=saver)
    done = await graph.ainvoke(Command(resume=answer(request, "allow-once")), _config("t9"))
    assert canary.exists()
    assert _tool_messages(done)[0].content == "exit status 0"


@pytest.mark.anyio
async def test_the_step_in_a_custom_node(guard: ExecGuard, bin_dir: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"

    class State(MessagesState):
        outcome: dict[str, Any]

    async def node(state: State) -> dict[str, Any]:
        outcome = await run_shell(guard, f"{bin_dir}/touchy {canary}", cwd=tmp_path)
        return {"outcome": dict(outcome)}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph: Any = builder.compile(checkpointer=InMemorySaver())
    paused = await graph.ainvoke({"messages": []}, _config())
    assert not canary.exists()
    done = await graph.ainvoke(
        Command(resume=answer(_interrupt(paused), "allow-always")), _config()
    )
    assert canary.exists()
    assert done["outcome"]["decision"] == "allow-always"


# -------------------------------------------------------------------------- sync graph


def test_sync_graph_pauses_and_resumes(guard: ExecGuard, bin_dir: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    graph = _graph(shell_tool(guard, cwd=tmp_path), f"{bin_dir}/touchy {canary}")
    paused = graph.invoke({"messages": [HumanMessage("touch it")]}, _config())
    assert not canary.exists()
    done = graph.invoke(Command(resume=answer(_interrupt(paused), "allow-once")), _config())
    assert canary.exists()
    assert _tool_messages(done)[0].content == "exit status 0"


def test_sync_step_in_a_custom_node(guard: ExecGuard, bin_dir: Path, tmp_path: Path) -> None:
    class State(MessagesState):
        outcome: dict[str, Any]

    def node(state: State) -> dict[str, Any]:
        return {"outcome": dict(run_shell_sync(guard, f"{bin_dir}/hello x", cwd=tmp_path))}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph: Any = builder.compile(checkpointer=InMemorySaver())
    done = graph.invoke({"messages": []}, _config())
    assert done["outcome"]["stdout"] == "hello x\n"


def test_answer_needs_an_approval_interrupt() -> None:
    with pytest.raises(ValueError, match="approval_id"):
        answer({"command": "ls"}, "allow-once")
    with pytest.raises(Exception, match="invalid decision"):
        answer({"approval_id": "x"}, "yes")
    assert answer({"approval_id": "x"}, "deny") == {"approval_id": "x", "decision": "deny"}


@pytest.mark.parametrize("same_env", [True, False])
@pytest.mark.anyio
async def test_another_worker_resumes_only_with_the_same_environment(
    bin_dir: Path, tmp_path: Path, same_env: bool
) -> None:
    # The binding holds the environment's hash: a worker with another environment would run
    # the command with something nobody approved, so its resume is refused.
    store, saver = MemoryApprovalStore(), InMemorySaver()
    canary = tmp_path / "canary"
    command = f"{bin_dir}/touchy {canary}"
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    first = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
    paused = await _graph(shell_tool(first, cwd=tmp_path, env=env), command, saver=saver).ainvoke(
        {"messages": [HumanMessage("touch it")]}, _config("w")
    )
    request = _interrupt(paused)
    other_env = env if same_env else {**env, "LANG": "de_DE.UTF-8"}
    second = ExecGuard(store=store, approvals_file=policy_file(bin_dir))
    graph = _graph(shell_tool(second, cwd=tmp_path, env=other_env), command, saver=saver)
    done = await graph.ainvoke(Command(resume=answer(request, "allow-once")), _config("w"))
    (message,) = _tool_messages(done)
    assert canary.exists() == same_env
    if not same_env:
        assert message.artifact["reason"] == "approval-plan-mismatch"
