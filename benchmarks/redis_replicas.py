"""
Approvals per second through three gateway replicas on one Redis, next to the memory store.

Run: ``python benchmarks/redis_replicas.py [--approvals N] [--concurrency C] [--aof]``

Starts its own ``redis-server`` (Debian package ``redis-server``) on 127.0.0.1 and a free port
in a temporary directory, with persistence off, or with ``--aof`` (``appendonly yes`` +
``appendfsync always``: every acknowledged decision is on disk), and kills it at the end.

One approval round trip = the requester's replica registers the approval and parks a waiter;
an approver on the *next* replica resolves ``allow-once`` (by id); the waiter wakes with the
decision; the requester's replica consumes it. The three replicas are three
:class:`~openclaw_exec.adapters.redis.RedisApprovalStore` objects in this process, each with
its own connections, pub/sub listener and sweeper (what three gateway processes hold). *C*
approvals are in flight at once. The last line runs three real replica processes instead
(each requests a third of the approvals, *C*/3 at a time, from the next replica's approver
and approves what is addressed to it), so the client work spreads over the cores. The memory
line runs the same flow on one :class:`~openclaw_exec.adapters.memory.MemoryApprovalStore`.
Figures are wall clock on whatever else the machine is doing; the calibration line helps
compare runs.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence

import anyio
import anyio.abc
import anyio.to_thread
import attrs

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.protocol import (
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalRequested,
    Decision,
    ExecBinding,
    Principal,
)

APPROVER = Principal(id="bench-approver")


def _request(store: ApprovalStore, i: int) -> ApprovalRequest:
    now = store.now_ms()
    command = f"git status --short {i}"
    return ApprovalRequest(
        id=str(uuid.uuid4()),
        command=command,
        created_at_ms=now,
        expires_at_ms=now + 1_800_000,
        cwd="/home/user/project",
        host="gateway",
        agent_id="main",
        session_key="agent:main:main",
        binding=ExecBinding(argv=("sh", "-c", command), cwd="/home/user/project"),
    )


async def _round_trip(requester: ApprovalStore, approver: ApprovalStore, i: int) -> int:
    request = _request(requester, i)
    start = time.perf_counter_ns()
    registered = await requester.register(request, has_route=True)
    assert registered.outcome is ApprovalOutcome.REGISTERED, registered
    decision: list[Decision | None] = []

    async def wait() -> None:
        record = await requester.wait_decision(request.id)
        decision.append(None if record is None else record.decision)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        resolved = await approver.resolve(request.id, Decision.ALLOW_ONCE, approver=APPROVER)
        assert resolved.outcome is ApprovalOutcome.RESOLVED, resolved
    assert decision == [Decision.ALLOW_ONCE]
    consumed = await requester.consume(request.id, request.binding)
    assert consumed.outcome is ApprovalOutcome.CONSUMED, consumed
    return time.perf_counter_ns() - start


async def _run(stores: Sequence[ApprovalStore], approvals: int, concurrency: int) -> str:
    latencies: list[int] = []
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(i: int) -> None:
        async with limiter:
            requester = stores[i % len(stores)]
            approver = stores[(i + 1) % len(stores)]
            latencies.append(await _round_trip(requester, approver, i))

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(approvals):
            tg.start_soon(one, i)
    elapsed = time.perf_counter() - start
    return _summary(latencies, approvals, elapsed)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(directory: str, *, aof: bool) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install -y redis-server)")
    port = _free_port()
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", directory]
    args += ["--save", "", "--appendonly", "yes" if aof else "no", "--appendfsync", "always"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)
    process.kill()
    sys.exit("redis-server did not start")


def _calibration() -> str:
    start = time.perf_counter()
    for i in range(100_000):
        hashlib.sha256(i.to_bytes(4, "little")).digest()
    per = (time.perf_counter() - start) / 100_000 * 1e6
    return f"calibration: sha256(4 bytes) {per:.2f} us"


def _summary(latencies: list[int], approvals: int, elapsed: float) -> str:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] / 1e6
    p99 = ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)] / 1e6
    return f"{approvals / elapsed:9.0f} approvals/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"


async def _worker(url: str, prefix: str, index: int, approvals: int, concurrency: int) -> None:
    """
    One replica process: approve what is addressed to it, request approvals from the next one.

    Prints ``ready``, waits for ``go`` on stdin, runs, prints one JSON line of results.
    """
    async with RedisApprovalStore(url, prefix=prefix) as store, anyio.create_task_group() as tg:
        mine = f"replica-{index}"

        async def resolve(approval_id: str) -> None:
            await store.resolve(approval_id, Decision.ALLOW_ONCE, approver=APPROVER)

        async def approve(*, task_status: anyio.abc.TaskStatus[None]) -> None:
            async with store.subscribe() as events:
                task_status.started()
                async for event in events:  # answer each request in its own task
                    if isinstance(event, ApprovalRequested) and event.record.request.host == mine:
                        tg.start_soon(resolve, event.record.id)

        await tg.start(approve)
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        latencies: list[int] = []
        limiter = anyio.CapacityLimiter(concurrency)
        target = f"replica-{(index + 1) % 3}"

        async def one(i: int) -> None:
            async with limiter:
                request = attrs.evolve(_request(store, i), host=target)
                start = time.perf_counter_ns()
                await store.register(request, has_route=True)
                record = await store.wait_decision(request.id)
                assert record is not None, "no decision"
                assert record.decision is Decision.ALLOW_ONCE, record
                consumed = await store.consume(request.id, request.binding)
                assert consumed.outcome is ApprovalOutcome.CONSUMED, consumed
                latencies.append(time.perf_counter_ns() - start)

        start = time.perf_counter()
        async with anyio.create_task_group() as runs:
            for i in range(approvals):
                runs.start_soon(one, i)
        elapsed = time.perf_counter() - start
        print(json.dumps({"latencies": latencies, "elapsed": elapsed}), flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)  # keep approving until told to stop
        tg.cancel_scope.cancel()


def _processes(url: str, approvals: int, concurrency: int) -> str:
    """Three replica processes; each requests approvals/3 from the next and approves its own."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    share = approvals // 3
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                url,
                prefix,
                str(i),
                str(share),
                str(concurrency),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            assert worker.stdout is not None
            results.append(json.loads(worker.stdout.readline()))
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("stop\n")
            worker.stdin.flush()
    finally:
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    latencies = [n for result in results for n in result["latencies"]]
    return _summary(latencies, len(latencies), max(r["elapsed"] for r in results))


async def _main(approvals: int, concurrency: int, *, aof: bool) -> None:
    print(_calibration())
    async with MemoryApprovalStore() as memory:
        await _run([memory], min(approvals, 200), concurrency)  # warm-up
        line = await _run([memory], approvals, concurrency)
    print(f"memory store, 1 process         {line}")
    with tempfile.TemporaryDirectory(prefix="openclaw-exec-bench-") as directory:
        process, url = _start_redis(directory, aof=aof)
        try:
            prefix = f"bench-{uuid.uuid4().hex[:8]}"
            async with (
                RedisApprovalStore(url, prefix=prefix) as a,
                RedisApprovalStore(url, prefix=prefix) as b,
                RedisApprovalStore(url, prefix=prefix) as c,
            ):
                await _run([a, b, c], min(approvals, 200), concurrency)  # warm-up
                line = await _run([a, b, c], approvals, concurrency)
                mode = "AOF always" if aof else "no persistence"
                print(f"redis store, 3 replicas ({mode:>14}) {line}")
                line = await _run([a, b, c], approvals, 1)
                print(f"  ... one approval at a time             {line}")
            line = await anyio.to_thread.run_sync(_processes, url, approvals, concurrency)
            print(f"  ... 3 replica processes                {line}")
        finally:
            process.kill()
            process.wait()


def main() -> None:
    """Parse arguments and run."""
    if len(sys.argv) == 7 and sys.argv[1] == "--worker":
        url, prefix, index, approvals, concurrency = sys.argv[2:]
        worker = functools.partial(_worker, url, prefix, int(index), int(approvals))
        anyio.run(worker, int(concurrency))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--approvals", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--aof", action="store_true", help="appendonly yes, appendfsync always")
    args = parser.parse_args()
    anyio.run(functools.partial(_main, args.approvals, args.concurrency, aof=args.aof))


if __name__ == "__main__":
    main()
