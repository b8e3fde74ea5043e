"""
Approval round trip through the memory adapter, and memory for many pending approvals.

Run: ``python benchmarks/approval_roundtrip.py [--iterations N] [--pending N]``

Round trip = the requester registers an approval and waits for it; an approver task
subscribed to the store receives ``ApprovalRequested`` and resolves ``allow-once``; the
requester wakes with the decision. Requests are built before timing (attrs construction
is measured separately). A bare anyio memory-stream ping-pong is shown for reference.
Memory = tracemalloc's view of a store holding N pending approvals (requests included).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc

import anyio

from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.protocol import (
    ApprovalRequest,
    ApprovalRequested,
    Decision,
    ExecBinding,
    Principal,
)

APPROVER = Principal(id="bench-approver")


def _request(now: int, prefix: str, i: int) -> ApprovalRequest:
    command = f"git status --short {i}"
    return ApprovalRequest(
        id=f"{prefix}{i:07x}-0000-4000-8000-000000000000",  # UUID-sized
        command=command,
        created_at_ms=now,
        expires_at_ms=now + 1_800_000,
        cwd="/home/user/project",
        host="gateway",
        agent_id="main",
        session_key="agent:main:main",
        binding=ExecBinding(argv=("sh", "-c", command), cwd="/home/user/project"),  # as ExecGuard
    )


def _requests(store: MemoryApprovalStore, count: int, prefix: str) -> list[ApprovalRequest]:
    now = store.now_ms()
    return [_request(now, prefix, i) for i in range(count)]


def _percentiles(samples: list[int]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[int(len(ordered) * 0.99)] / 1000
    return p50, p99, statistics.fmean(ordered) / 1000


async def _roundtrip(iterations: int) -> tuple[float, float, float, float]:
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        ready = anyio.Event()

        async def approver() -> None:
            async with store.subscribe() as events:
                ready.set()
                async for event in events:
                    if isinstance(event, ApprovalRequested):
                        await store.resolve(event.record.id, Decision.ALLOW_ONCE, approver=APPROVER)

        tg.start_soon(approver)
        await ready.wait()
        warmup = _requests(store, 500, "w")
        requests = _requests(store, iterations, "r")
        for request in warmup:
            await store.register(request)
            await store.wait_decision(request.id)
        samples = []
        gc.disable()
        cpu_start = time.process_time_ns()
        try:
            for request in requests:
                start = time.perf_counter_ns()
                await store.register(request)
                record = await store.wait_decision(request.id)
                samples.append(time.perf_counter_ns() - start)
                assert record is not None
                assert record.decision is Decision.ALLOW_ONCE
        finally:
            cpu = (time.process_time_ns() - cpu_start) / len(requests) / 1000
            gc.enable()
        tg.cancel_scope.cancel()
    return (*_percentiles(samples), cpu)


async def _bare_streams(iterations: int) -> tuple[float, float, float, float]:
    to_peer, peer_in = anyio.create_memory_object_stream[int](1)
    to_me, me_in = anyio.create_memory_object_stream[int](1)
    async with anyio.create_task_group() as tg:

        async def echo() -> None:
            async for item in peer_in:
                await to_me.send(item)

        tg.start_soon(echo)
        samples = []
        cpu_start = time.process_time_ns()
        for i in range(iterations):
            start = time.perf_counter_ns()
            await to_peer.send(i)
            await me_in.receive()
            samples.append(time.perf_counter_ns() - start)
        cpu = (time.process_time_ns() - cpu_start) / iterations / 1000
        tg.cancel_scope.cancel()
    return (*_percentiles(samples), cpu)


async def _request_construction(iterations: int) -> float:
    async with MemoryApprovalStore() as store:
        start = time.perf_counter_ns()
        _requests(store, iterations, "c")
        return (time.perf_counter_ns() - start) / iterations / 1000


async def _pending_memory(count: int) -> tuple[float, int]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    async with MemoryApprovalStore() as store:
        for request in _requests(store, count, "p"):
            await store.register(request, has_route=True)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
        held = len(await store.list_pending())
    tracemalloc.stop()
    return used / 1_000_000, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--pending", type=int, default=100_000)
    args = parser.parse_args()
    print("wall-clock percentiles; 'cpu' = process CPU time per round trip (robust under load)")
    for backend in ("asyncio", "trio"):
        p50, p99, _, cpu = anyio.run(_roundtrip, args.iterations, backend=backend)
        b50, b99, _, bcpu = anyio.run(_bare_streams, args.iterations, backend=backend)
        print(
            f"{backend:8s} approval round trip: p50 {p50:6.1f} us  p99 {p99:7.1f} us"
            f"  cpu {cpu:5.1f} us | bare memory-stream round trip: p50 {b50:5.1f} us"
            f"  p99 {b99:7.1f} us  cpu {bcpu:5.1f} us"
        )
    build = anyio.run(_request_construction, 10_000)
    print(f"building one ApprovalRequest (validated attrs class): {build:.1f} us")
    megabytes, held = anyio.run(_pending_memory, args.pending)
    print(f"{held} pending approvals held in {megabytes:.1f} MB (tracemalloc, requests included)")


if __name__ == "__main__":
    main()
