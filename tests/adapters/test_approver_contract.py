"""The one approver contract: as_approver's error rules and serve_approver (asyncio + trio)."""

from __future__ import annotations

import io
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.approvers import ApproverAnswer, ConsoleApprover, as_approver, serve_approver
from openclaw_exec.protocol import (
    ApprovalRequest,
    ApprovalResult,
    ApprovalState,
    Decision,
    Principal,
    TerminalReason,
)

pytestmark = pytest.mark.anyio

ALICE = Principal(id="alice", display_name="Alice")


def req(
    store: MemoryApprovalStore, approval_id: str, command: str = "ls", life_ms: int = 60_000
) -> ApprovalRequest:
    now = store.now_ms()
    return ApprovalRequest(
        id=approval_id, command=command, created_at_ms=now, expires_at_ms=now + life_ms
    )


def request_for_tests(command: str = "ls") -> ApprovalRequest:
    return ApprovalRequest(id="r-1", command=command, created_at_ms=0, expires_at_ms=1)


async def test_every_shape_is_adapted() -> None:
    async def coroutine(request: ApprovalRequest) -> Decision | None:
        await anyio.lowlevel.checkpoint()
        return Decision.ALLOW_ONCE if request.command == "ls" else None

    def plain(request: ApprovalRequest) -> Decision | None:
        return Decision.DENY if "rm" in request.command else None

    class Service:
        async def __call__(self, _request: ApprovalRequest) -> ApproverAnswer:
            return ApproverAnswer(Decision.ALLOW_ALWAYS, ALICE)

    ls, rm = request_for_tests("ls"), request_for_tests("rm -rf /")
    assert await as_approver(coroutine)(ls) is Decision.ALLOW_ONCE
    assert await as_approver(coroutine)(rm) is None
    assert await as_approver(plain)(rm) is Decision.DENY
    assert await as_approver(plain)(ls) is None
    assert await as_approver(Decision.DENY)(ls) is Decision.DENY
    assert await as_approver(Service())(ls) == ApproverAnswer(Decision.ALLOW_ALWAYS, ALICE)
    safe = as_approver(plain)
    assert as_approver(safe) is safe
    with pytest.raises(TypeError, match="Decision or a callable"):
        as_approver("allow-once")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "broken",
    [
        lambda _r: 1 / 0,
        lambda _r: "allow-once",  # a wire string is not a Decision
        lambda _r: True,
        lambda _r: ApproverAnswer,  # the class, not an answer
    ],
    ids=["raises", "string", "bool", "class"],
)
async def test_errors_and_nonsense_are_a_logged_deny(
    broken: Callable[[ApprovalRequest], Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="openclaw_exec.approvers")
    safe = as_approver(broken, name="broken")
    assert await safe(request_for_tests()) is Decision.DENY
    assert len(safe.errors) == 1
    assert "approval r-1: approver broken" in safe.errors[0]
    assert "denying" in caplog.text


async def test_a_blocking_function_runs_in_a_thread() -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def slow(request: ApprovalRequest) -> Decision:
        seen.append(threading.get_ident())
        return Decision.ALLOW_ONCE

    assert await as_approver(slow, blocking=True)(request_for_tests()) is Decision.ALLOW_ONCE
    assert seen
    assert seen[0] != loop_thread


async def test_serve_approver_records_answers_and_authors() -> None:
    results: list[ApprovalResult] = []

    async def approve(request: ApprovalRequest) -> Decision | ApproverAnswer | None:
        if request.command == "who":
            return ApproverAnswer(Decision.ALLOW_ONCE, ALICE)
        return {"ls": Decision.ALLOW_ONCE, "rm": Decision.DENY}.get(request.command)

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        early = req(store, "early", "ls")
        await store.register(early, has_route=True)  # before the approver: caught up
        await tg.start(
            lambda task_status: serve_approver(
                store,
                approve,
                principal=Principal(id="bot"),
                on_result=results.append,
                task_status=task_status,
            )
        )
        for approval_id, command in (("a", "rm"), ("b", "who"), ("c", "other")):
            await store.register(req(store, approval_id, command))
        with anyio.fail_after(5):
            records = [await store.wait_decision(i) for i in ("early", "a", "b")]
        assert [(r.decision, r.resolved_by) for r in records if r] == [
            (Decision.ALLOW_ONCE, "bot"),
            (Decision.DENY, "bot"),
            (Decision.ALLOW_ONCE, "Alice"),
        ]
        assert len(results) == 3
        unanswered = await store.get("c")
        assert unanswered is not None
        assert unanswered.state is ApprovalState.PENDING
        tg.cancel_scope.cancel()


async def test_a_crashing_approver_never_takes_the_task_group_down() -> None:
    calls: list[str] = []

    async def crash(request: ApprovalRequest) -> Decision:
        calls.append(request.id)
        raise RuntimeError("the chat service is down")

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(serve_approver, store, crash)
        for n in range(3):
            await store.register(req(store, f"x-{n}"))
            with anyio.fail_after(5):
                record = await store.wait_decision(f"x-{n}")
            assert record is not None
            assert record.decision is Decision.DENY
        assert calls == ["x-0", "x-1", "x-2"]
        tg.cancel_scope.cancel()


async def test_the_question_is_withdrawn_when_decided_elsewhere_or_expired() -> None:
    cancelled: list[str] = []

    async def human(request: ApprovalRequest) -> Decision:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.append(request.id)
        raise AssertionError("unreachable")

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(serve_approver, store, human)
        await store.register(req(store, "elsewhere"))
        await store.register(req(store, "short", life_ms=100))
        await anyio.sleep(0.05)
        await store.resolve("elsewhere", Decision.DENY, approver=ALICE)
        with anyio.fail_after(5):
            record = await store.wait_decision("short")
            while len(cancelled) < 2:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        assert record is not None
        assert record.reason is TerminalReason.TIMEOUT
        assert sorted(cancelled) == ["elsewhere", "short"]
        tg.cancel_scope.cancel()


async def test_serve_approver_returns_when_the_store_closes() -> None:
    async def never(request: ApprovalRequest) -> None:
        await anyio.sleep_forever()

    store = MemoryApprovalStore()
    async with anyio.create_task_group() as tg:
        await tg.start(serve_approver, store, never)
        await store.register(req(store, "open"))
        await anyio.sleep(0.02)
        with anyio.fail_after(5):
            await store.aclose()  # the runner (and its pending question) end by themselves


async def test_catch_up_finds_requests_whose_announcement_was_dropped() -> None:
    async with MemoryApprovalStore(subscriber_buffer=0) as store, anyio.create_task_group() as tg:
        await tg.start(
            lambda task_status: serve_approver(
                store, Decision.ALLOW_ONCE, catch_up_every=0.05, task_status=task_status
            )
        )
        # A zero buffer drops every event for a subscriber that is not already receiving.
        for n in range(5):
            await store.register(req(store, f"d-{n}"))
        with anyio.fail_after(5):
            for n in range(5):
                record = await store.wait_decision(f"d-{n}")
                assert record is not None
                assert record.decision is Decision.ALLOW_ONCE
        tg.cancel_scope.cancel()


async def test_the_console_is_an_approver_of_the_contract() -> None:
    lines: queue.Queue[str] = queue.Queue()
    out = io.StringIO()

    async def shown(text: str) -> None:
        with anyio.fail_after(5):
            while text not in out.getvalue():  # noqa: ASYNC110 (polls plain text output)
                await anyio.sleep(0.01)

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        console = ConsoleApprover(store, read_line=lines.get, output=out)
        await tg.start(console.run)
        await store.register(req(store, "first-1", "make a"))
        await store.register(req(store, "second-2", "make b"))
        await shown("Exec approval first-1: make a")
        assert "second-2" not in out.getvalue()  # one prompt at a time
        lines.put("/approve second-2 deny\n")  # a queued request, by its id: resolved now
        await shown("deny: ok")
        await store.resolve("first-1", Decision.ALLOW_ONCE, approver=ALICE)
        await shown("first-1: decided elsewhere")
        lines.put("allow\n")  # nothing is shown any more: the line answers nothing
        await shown("no request is waiting")
        record = await store.get("second-2")
        assert record is not None
        assert record.decision is Decision.DENY
        tg.cancel_scope.cancel()


_NONSENSE = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(),
    st.binary(),
    st.lists(st.sampled_from(list(Decision))),
    st.dictionaries(st.text(max_size=3), st.sampled_from(list(Decision)), max_size=2),
    st.sampled_from([d.value for d in Decision]),  # a wire string is still not a Decision
)


@settings(max_examples=40, deadline=None)
@given(answer=_NONSENSE, is_async=st.booleans())
def test_any_answer_but_a_decision_is_a_deny(answer: object, is_async: bool) -> None:
    async def coroutine(_request: ApprovalRequest) -> object:
        return answer

    def plain(_request: ApprovalRequest) -> object:
        return answer

    safe = as_approver(coroutine if is_async else plain)
    assert anyio.run(safe, request_for_tests()) is Decision.DENY
    assert len(safe.errors) == 1


@settings(max_examples=20, deadline=None)
@given(
    answer=st.none()
    | st.sampled_from(list(Decision))
    | st.builds(ApproverAnswer, st.sampled_from(list(Decision)), st.none() | st.just(ALICE)),
    is_async=st.booleans(),
)
def test_every_valid_answer_passes_through_unchanged(
    answer: Decision | ApproverAnswer | None, is_async: bool
) -> None:
    async def coroutine(_request: ApprovalRequest) -> Decision | ApproverAnswer | None:
        return answer

    def plain(_request: ApprovalRequest) -> Decision | ApproverAnswer | None:
        return answer

    safe = as_approver(coroutine if is_async else plain)
    assert anyio.run(safe, request_for_tests()) == answer
    assert safe.errors == []
