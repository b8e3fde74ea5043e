"""
The load generator of ``websocket_load.py``: requesters and approvers, here or in workers.

The clients are the benchmark's traffic, not the gateway under test. In production the exec
hosts and the operators are other processes (often other machines), so by default
``websocket_load.py`` runs them in worker processes and the figure is the server's alone; the
same clients also run in the server's own process for the old all-in-one figure.

Two kinds of traffic, the same shape: each requester loops "request, wait for the decision";
each approver answers the requests routed to it (``crc32(id) % approvers``) with allow-once.

* ``kit``: the library's :class:`ApprovalRequester` and :class:`ApprovalOperator` against the
  gateway kit (WebSocket, pairing, twoPhase).
* ``bare``: newline-delimited JSON over bare anyio TCP streams through a relay (the reference).

Every client connects first; the load starts when the window is known (``Window``), and each
answer is timestamped (``time.monotonic``: one clock for every process on the machine) so the
parent counts the approvals completed inside its measured window.
"""

from __future__ import annotations

import cProfile
import json
import math
import os
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from openclaw_exec.adapters.websocket import (
    ApprovalOperator,
    ApprovalPrompt,
    ApprovalRequester,
    GatewayClientOptions,
)
from openclaw_exec.protocol import Decision

TOKEN = "load-test-token-0123456789"


@dataclass
class Window:
    """The measured window and the end of the load (``time.monotonic`` seconds)."""

    start: float = math.inf
    stop: float = math.inf
    end: float = math.inf  # the load runs on past ``stop`` for the profiled window


@dataclass
class Tally:
    """Answers per approval id, completion times, latencies, failures: what is checked."""

    sent: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    done: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, latency s)
    failures: list[str] = field(default_factory=list)
    cpu: float = 0.0  # this process's CPU seconds inside the window

    def record(self, expected: str, got: str, allowed: bool, began: float) -> None:
        now = time.monotonic()
        self.done.append((now, now - began))
        self.answers[got] = self.answers.get(got, 0) + 1
        if not allowed or got != expected:
            self.failures.append(
                f"{got}: expected allow-once for {expected}, after {now - began:.1f} s"
            )

    def merge(self, other: Tally) -> None:
        self.sent += other.sent
        for key, count in other.answers.items():
            self.answers[key] = self.answers.get(key, 0) + count
        self.done += other.done
        self.failures += other.failures
        self.cpu += other.cpu

    def check(self) -> bool:
        """Every request sent got exactly one answer, each the expected allow-once."""
        return (
            all(count == 1 for count in self.answers.values())
            and len(self.answers) == self.sent
            and not self.failures
        )

    def in_window(self, window: Window) -> list[float]:
        """Latencies of the approvals completed inside ``[start, stop)``."""
        return [latency for at, latency in self.done if window.start <= at < window.stop]


@dataclass
class Plan:
    """One process's share of the clients."""

    kind: str  # "kit" or "bare"
    address: str  # the kit's ws:// URL, or the bare relay's port
    requesters: list[int]
    approvers: list[int]
    approvers_total: int
    folder: str
    profile: bool = False  # profile this process's clients in ``[stop, end)`` (workers only)


def split(plan: Plan, processes: int) -> list[Plan]:
    """*plan*'s clients dealt round-robin over *processes* plans."""
    return [
        Plan(
            plan.kind,
            plan.address,
            plan.requesters[i::processes],
            plan.approvers[i::processes],
            plan.approvers_total,
            plan.folder,
            plan.profile,
        )
        for i in range(processes)
    ]


def _mine(approval_id: str, index: int, total: int) -> bool:
    return zlib.crc32(approval_id.encode()) % total == index


# ---------------------------------------------------------------- kit clients


async def _kit_approver(plan: Plan, index: int, tg: anyio.abc.TaskGroup) -> None:
    async def decide(prompt: ApprovalPrompt) -> Decision | None:
        return Decision.ALLOW_ONCE if _mine(prompt.id, index, plan.approvers_total) else None

    options = GatewayClientOptions(
        url=plan.address,
        token=TOKEN,
        identity_path=Path(plan.folder) / f"approver-{index}" / "device.json",
        open_timeout=120,
    )
    await tg.start(ApprovalOperator(options, decide).run)


async def _kit_requester(
    plan: Plan, index: int, tally: Tally, window: Window, ready: Callable[[], Awaitable[None]]
) -> None:
    options = GatewayClientOptions(
        url=plan.address,
        token=TOKEN,
        identity_path=Path(plan.folder) / f"requester-{index}" / "device.json",
        caps=(),
        open_timeout=120,
    )
    async with ApprovalRequester.connect(options) as client:
        await ready()
        n = 0
        while time.monotonic() < window.end:
            n += 1
            approval_id = f"r{index}-{n}"
            tally.sent += 1
            began = time.monotonic()
            outcome = await client.request_decision(
                f"echo {approval_id}", approval_id=approval_id, timeout_ms=120_000
            )
            allowed = outcome.decision is Decision.ALLOW_ONCE
            tally.record(approval_id, outcome.id, allowed, began)
            if not allowed:  # None: nobody answered in time, or no approver was connected
                tally.failures[-1] += f" (decision {outcome.decision})"


# ---------------------------------------------------------------- bare-stream clients


async def _lines(stream: anyio.abc.SocketStream) -> Any:
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield json.loads(line)


async def _bare_approver(plan: Plan, index: int, tg: anyio.abc.TaskGroup) -> None:
    async def serve(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with await anyio.connect_tcp("127.0.0.1", int(plan.address)) as stream:
            await stream.send(json.dumps({"kind": "approver", "index": index}).encode() + b"\n")
            task_status.started()
            async for request in _lines(stream):
                answer = {"kind": "decision", "id": request["id"], "decision": "allow-once"}
                await stream.send(json.dumps(answer).encode() + b"\n")

    await tg.start(serve)


async def _bare_requester(
    plan: Plan, index: int, tally: Tally, window: Window, ready: Callable[[], Awaitable[None]]
) -> None:
    async with await anyio.connect_tcp("127.0.0.1", int(plan.address)) as stream:
        await ready()
        n = 0
        buffer = b""
        while time.monotonic() < window.end:
            n += 1
            approval_id = f"r{index}-{n}"
            tally.sent += 1
            began = time.monotonic()
            request = {"kind": "request", "id": approval_id, "command": f"echo {approval_id}"}
            await stream.send(json.dumps(request).encode() + b"\n")
            while b"\n" not in buffer:
                buffer += await stream.receive()
            line, _, buffer = buffer.partition(b"\n")
            answer = json.loads(line)
            tally.record(approval_id, answer["id"], answer["decision"] == "allow-once", began)


# ---------------------------------------------------------------- running a plan


async def _cpu_in_window(window: Window, tally: Tally, profile: str | None = None) -> None:
    await anyio.sleep(max(0.0, window.start - time.monotonic()))  # durations: trio has its clock
    before = time.process_time()
    await anyio.sleep(max(0.0, window.stop - time.monotonic()))
    tally.cpu = time.process_time() - before
    if profile is not None and window.end > window.stop:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        await anyio.sleep(max(0.0, window.end - time.monotonic()))
        profiler.disable()
        profiler.dump_stats(profile)


async def run_clients(
    plan: Plan,
    tally: Tally,
    window: Window,
    connected: Callable[[], Awaitable[None]],
    requesters_done: Callable[[], Awaitable[None]],
) -> None:
    """
    Connect *plan*'s clients, ``await connected()`` (it fills *window*), load until
    ``window.end``, ``await requesters_done()``, then hang up the approvers.
    """
    approver = _kit_approver if plan.kind == "kit" else _bare_approver
    requester = _kit_requester if plan.kind == "kit" else _bare_requester
    waiting = len(plan.requesters)
    go = anyio.Event()

    async def start(load: anyio.abc.TaskGroup) -> None:
        await connected()
        profile = f"{plan.folder}/clients-{os.getpid()}.prof" if plan.profile else None
        load.start_soon(_cpu_in_window, window, tally, profile)
        go.set()

    async def ready() -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0:
            await start(load)
        await go.wait()

    async with anyio.create_task_group() as tg:
        for index in plan.approvers:
            await approver(plan, index, tg)
        async with anyio.create_task_group() as load:
            if not plan.requesters:
                await start(load)
            for index in plan.requesters:
                load.start_soon(requester, plan, index, tally, window, ready)
        await requesters_done()
        tg.cancel_scope.cancel()


def worker(pipe: Connection, plan: Plan, backend: str) -> None:
    """A worker process: run *plan* as the parent directs over *pipe* (see ``drive_workers``)."""

    async def main() -> None:
        tally = Tally()
        window = Window()

        async def connected() -> None:
            await anyio.to_thread.run_sync(pipe.send, "ready")
            window.start, window.stop, window.end = await anyio.to_thread.run_sync(pipe.recv)

        async def requesters_done() -> None:
            await anyio.to_thread.run_sync(pipe.send, "done")
            await anyio.to_thread.run_sync(pipe.recv)  # every worker's requesters are done

        await run_clients(plan, tally, window, connected, requesters_done)
        pipe.send(tally)

    anyio.run(main, backend=backend)
