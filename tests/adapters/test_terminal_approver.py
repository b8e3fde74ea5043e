"""The terminal approver with real sources in one process (asyncio and trio): socket, store."""

from __future__ import annotations

import io
import queue
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from openclaw_exec.abc import Approver
from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.adapters.terminal import (
    ApprovalAnalysis,
    HostAnalyzer,
    PendingRequest,
    TerminalApprover,
    run_lines,
    serve_socket,
)
from openclaw_exec.adapters.unix_socket import SocketApprover, request_decision_via_socket
from openclaw_exec.approvers import serve_approver
from openclaw_exec.protocol import (
    ApprovalRequest,
    ApprovalState,
    Decision,
    Principal,
    SocketPrompt,
)

pytestmark = pytest.mark.anyio
TOKEN = "terminal-test-token-0123456789"


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="oct-", dir="/tmp"))
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pending(approval_id: str, expires_in_ms: int | None = 60_000) -> PendingRequest:
    now = 1_000
    return PendingRequest(
        id=approval_id,
        command="ls",
        received_at_ms=now,
        expires_at_ms=None if expires_in_ms is None else now + expires_in_ms,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        return self.now


async def until(condition: object, timeout: float = 10) -> None:  # noqa: ASYNC109
    with anyio.fail_after(timeout):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110
            await anyio.sleep(0.01)


async def test_a_key_answers_the_waiting_question() -> None:
    approver = TerminalApprover(clock=Clock())
    answers: list[Decision | None] = []

    async def ask() -> None:
        answers.append(await approver.ask(pending("a")))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask)
        await until(lambda: "a" in approver.board.items)
        approver.press("o")
    assert answers == [Decision.ALLOW_ONCE]
    assert approver.board.items == {}


async def test_expiry_answers_none_and_says_so() -> None:
    approver = TerminalApprover(clock=Clock())
    gone: list[str] = []
    approver.listeners.append(lambda what, item: gone.append(f"{what} {item.id}"))
    with anyio.fail_after(5):
        assert await approver.ask(pending("a", expires_in_ms=50)) is None
    assert gone == ["expired a"]
    assert approver.board.expired == 1
    assert approver.board.message.startswith("expired: a")


async def test_withdrawn_at_the_deadline_counts_as_expired() -> None:
    # The requester's own timer may end the question a moment before ours: still an expiry.
    approver = TerminalApprover()
    gone: list[str] = []
    approver.listeners.append(lambda what, _item: gone.append(what))
    now = approver.clock()
    near = PendingRequest(id="n", command="ls", received_at_ms=now, expires_at_ms=now + 300)
    far = PendingRequest(id="f", command="ls", received_at_ms=now, expires_at_ms=now + 60_000)
    for item in (near, far):
        with anyio.move_on_after(0.05):  # the requester withdraws it
            await approver.ask(item)
    assert gone == ["expired", "withdrawn"]
    assert approver.board.expired == 1


async def test_duplicates_and_requests_after_close_are_not_shown() -> None:
    approver = TerminalApprover(clock=Clock())
    results: list[Decision | None] = []

    async def ask(approval_id: str) -> None:
        results.append(await approver.ask(pending(approval_id)))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask, "a")
        await until(lambda: "a" in approver.board.items)
        assert await approver.ask(pending("a")) is None  # the first one keeps the question
        approver.close()
    assert results == [None]
    assert await approver.ask(pending("b")) is None
    assert approver.board.items == {}


async def test_a_broken_analyser_shows_an_error_and_the_question_stays() -> None:
    def broken(_item: PendingRequest) -> ApprovalAnalysis:
        raise RuntimeError("boom")

    approver = TerminalApprover(analyze=broken, clock=Clock())
    async with anyio.create_task_group() as tg:
        tg.start_soon(approver.ask, pending("a"))
        await until(lambda: "a" in approver.board.analyses)
        analysis = approver.board.analyses["a"]
        assert analysis.error == "RuntimeError: boom"
        approver.press("d")


async def test_the_socket_source_carries_the_decision_back(sock_dir: Path) -> None:
    approver = TerminalApprover()
    path = sock_dir / "s.sock"
    async with anyio.create_task_group() as tg:
        await tg.start(serve_socket, approver, path, TOKEN)
        result: list[Decision | None] = []

        async def client() -> None:
            prompt = SocketPrompt(
                command="echo hi", cwd="/tmp", expires_at_ms=approver.clock() + 60_000
            )
            result.append(
                await request_decision_via_socket(
                    path, TOKEN, prompt, approval_id="id-1", timeout=10
                )
            )

        tg.start_soon(client)
        await until(lambda: "id-1" in approver.board.items)
        item = approver.board.items["id-1"]
        assert item.expires_at_ms is not None
        assert item.source == "socket"
        approver.press("d")
        await until(lambda: result)
        tg.cancel_scope.cancel()
    assert result == [Decision.DENY]


async def test_a_socket_client_that_hangs_up_withdraws_its_prompt(sock_dir: Path) -> None:
    approver = TerminalApprover()
    gone: list[str] = []
    approver.listeners.append(lambda what, item: gone.append(f"{what} {item.id}"))
    path = sock_dir / "s.sock"
    async with anyio.create_task_group() as tg:
        await tg.start(serve_socket, approver, path, TOKEN)
        async with anyio.create_task_group() as client:
            prompt = SocketPrompt(command="echo bye", expires_at_ms=approver.clock() + 60_000)
            client.start_soon(
                lambda: request_decision_via_socket(path, TOKEN, prompt, approval_id="bye")
            )
            await until(lambda: "bye" in approver.board.items)
            client.cancel_scope.cancel()  # the requester gives up: its connection closes
        await until(lambda: not approver.board.items)
        tg.cancel_scope.cancel()
    assert gone == ["withdrawn bye"]
    assert approver.board.message == "withdrawn: bye echo bye"


async def test_socket_prompts_without_a_deadline_get_openclaws_timeout(sock_dir: Path) -> None:
    approver = TerminalApprover()
    path = sock_dir / "s.sock"
    async with anyio.create_task_group() as tg:
        await tg.start(lambda task_status: serve_socket(
            approver, path, TOKEN, default_timeout_s=0.2, task_status=task_status
        ))  # fmt: skip
        prompt = SocketPrompt(command="echo hi")
        with anyio.fail_after(10):
            got = await request_decision_via_socket(path, TOKEN, prompt, approval_id="x", timeout=5)
        assert got is None  # the board gave up at 0.2 s: no decision, the client's fallback
        assert approver.board.expired == 1
        tg.cancel_scope.cancel()


async def test_a_guards_socket_approver_to_the_terminal_through_a_store(sock_dir: Path) -> None:
    # SocketApprover (the guard's side) sends expiresAtMs; the board counts down to it.
    store = MemoryApprovalStore()
    approver = TerminalApprover()
    path = sock_dir / "s.sock"
    now = store.now_ms()
    request = ApprovalRequest(
        id="req-1", command="ls", created_at_ms=now, expires_at_ms=now + 30_000
    )
    async with anyio.create_task_group() as tg:
        await tg.start(serve_socket, approver, path, TOKEN)
        await tg.start(SocketApprover(store, path, TOKEN).run)
        await store.register(request)
        await until(lambda: "req-1" in approver.board.items)
        assert approver.board.items["req-1"].expires_at_ms == now + 30_000
        approver.press("o")
        with anyio.fail_after(10):
            record = await store.wait_decision("req-1")
        tg.cancel_scope.cancel()
    assert record is not None
    assert record.decision is Decision.ALLOW_ONCE


async def test_serve_approver_drives_it_and_it_forgets_what_is_settled_elsewhere() -> None:
    store = MemoryApprovalStore()
    approver = TerminalApprover()
    now = store.now_ms()

    def request(approval_id: str) -> ApprovalRequest:
        return ApprovalRequest(
            id=approval_id, command="ls", created_at_ms=now, expires_at_ms=now + 60_000
        )

    async with store.subscribe(), anyio.create_task_group() as tg:
        # Another route is listening, so "early" stays pending until the terminal starts.
        await store.register(request("early"))
        await tg.start(
            lambda task_status: serve_approver(
                store, approver, principal=Principal(id="terminal"), task_status=task_status
            )
        )
        await store.register(request("late"))
        await until(lambda: set(approver.board.items) == {"early", "late"})
        await store.cancel("late")  # withdrawn by the requester: gone from the board
        await until(lambda: set(approver.board.items) == {"early"})
        approver.press("o")
        with anyio.fail_after(10):
            record = await store.wait_decision("early")
        tg.cancel_scope.cancel()
    assert record is not None
    assert record.state is not ApprovalState.PENDING
    assert record.decision is Decision.ALLOW_ONCE
    assert record.resolved_by == "terminal"


async def test_the_approver_contract_takes_a_library_request() -> None:
    approver = TerminalApprover()
    contract: Approver = approver  # mypy checks that it keeps the one approver contract
    assert contract is approver
    now = approver.clock()
    request = ApprovalRequest(id="r", command="pwd", created_at_ms=now, expires_at_ms=now + 9_000)
    results: list[Decision | None] = []

    async def ask() -> None:
        results.append(await approver(request))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask)
        await until(lambda: "r" in approver.board.items)
        approver.press("d")
    assert results == [Decision.DENY]


async def test_line_mode_round_trip(tmp_path: Path) -> None:
    approvals = tmp_path / "exec-approvals.json"
    approvals.write_text('{"version": 1, "defaults": {"security": "allowlist", "ask": "on-miss"}}')
    approvals.chmod(0o600)
    approver = TerminalApprover(analyze=HostAnalyzer(approvals))
    typed: queue.Queue[str] = queue.Queue()

    class Input:  # what a pipe on stdin gives: readline blocks, "" at EOF
        def readline(self) -> str:
            return typed.get(timeout=20)

    out = io.StringIO()
    results: list[Decision | None] = []

    async def ask(approval_id: str, command: str) -> None:
        now = approver.clock()
        item = PendingRequest(
            id=approval_id, command=command, received_at_ms=now, expires_at_ms=now + 60_000,
            cwd="/tmp", agent_id="main",
        )  # fmt: skip
        results.append(await approver.ask(item))

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: run_lines(approver, stdin=Input(), out=out))  # type: ignore[arg-type]
        tg.start_soon(ask, "abc-123", "ls -la")
        await until(lambda: "pending abc-123" in out.getvalue())
        assert "allow-always would persist (agent main):" in out.getvalue()
        for line in ("nonsense\n", "zzz deny\n", "/approve abc always\n"):
            typed.put(line)
        await until(lambda: results)
        typed.put("")  # EOF: the line mode ends
    lines = out.getvalue().splitlines()
    assert "error expected: <id> allow-once|allow-always|deny" in lines
    assert "error no pending request match 'zzz'" in lines
    assert "ok allow-always abc-123" in lines
    assert results == [Decision.ALLOW_ALWAYS]
