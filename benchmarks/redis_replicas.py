"""
Approvals per second through N gateway replica processes on one Redis, beside the memory store.

Run: ``python benchmarks/redis_replicas.py [--replicas 1,3,6,12] [--in-flight K]
[--approvals N] [--rounds R] [--aof] [--broadcast]``

Starts its own ``redis-server`` (Debian package ``redis-server``) on 127.0.0.1 and a free port
in a temporary directory, with persistence off, or with ``--aof`` (``appendonly yes`` +
``appendfsync always``: every acknowledged decision is on disk), and kills it at the end.

One approval = the requester's replica registers the approval and parks a waiter; the approver
on the *next* replica (the same one when there is one replica) hears the request on its
subscription and resolves ``allow-once`` by id; the waiter wakes with the decision; the
requester's replica consumes it. Every approval must come back ``allow-once`` and be consumed
once, or the run fails (a lost or stranded approval is a failure, not a slow figure).

Lines:

* **memory store**: the same flow on one ``MemoryApprovalStore`` in this process.
* **one at a time**: two ``RedisApprovalStore`` objects in this process (requester, approver),
  one approval at a time, with the per-approval timeline (when the register reply, the
  approver's event, the resolve reply, the waiter's wake-up and the consume reply arrive) and
  what Redis did per approval (``INFO commandstats``: script calls, server time).
* **N replicas**: N **real processes** (``python redis_replicas.py --worker ...``), each one
  store with its own two connections and event loop, K approvals in flight in *each*, all
  started at once; throughput is all approvals over the slowest replica's time. The CPU
  figures are per approval: the replicas' own CPU time (``time.process_time``) summed, and
  redis-server's (``INFO cpu``). Each replica's approver subscribes with its host as
  *audience* (``RedisApprovalStore(audience=...)``, ``subscribe(audience=host)``), so it
  hears only the requests addressed to it; ``--broadcast`` makes every approver hear every
  request (plain ``subscribe()``), and also runs against a tree from before audiences
  (``PYTHONPATH=<old tree>/src python benchmarks/redis_replicas.py --broadcast``).
* **6 replicas / 3 replicas**: the ratio of the two lines (target >= 1), beside the memory
  store. After the pass over ``--replicas`` it is taken in ``--rounds`` rounds (default 5)
  of four lines each, 3-6-6-3 or 6-3-3-6 in turn (single pairs were too noisy, and the line
  that ran second tended to be slower, so each round compares the sums); the figure is the
  median round's, by wall clock and by CPU per approval. The one-at-a-time line is taken as many
  times and its figure is the median p50. This machine's speed moves by 1.5-3x from one
  minute to the next (the one-at-a-time p50 went from 1.5 to 4.4 ms within five minutes,
  the code unchanged): one pass is one draw of that.

Figures are wall clock on whatever else the machine is doing; compare lines of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence

import anyio
import anyio.abc
import anyio.to_thread
from _figures import figure

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


def _request(store: ApprovalStore, i: int, host: str = "gateway") -> ApprovalRequest:
    now = store.now_ms()
    command = f"git status --short {i}"
    return ApprovalRequest(
        id=str(uuid.uuid4()),
        command=command,
        created_at_ms=now,
        expires_at_ms=now + 1_800_000,
        cwd="/home/user/project",
        host=host,
        agent_id="main",
        session_key="agent:main:main",
        binding=ExecBinding(argv=("sh", "-c", command), cwd="/home/user/project"),
    )


def _percentiles(latencies: Sequence[int]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] / 1e6
    p99 = ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)] / 1e6
    return p50, p99


def _summary(latencies: Sequence[int], elapsed: float) -> tuple[float, str]:
    rate = len(latencies) / elapsed
    p50, p99 = _percentiles(latencies)
    return rate, f"{rate:9.0f} approvals/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"


# ---------------------------------------------------------------- one process (memory, timeline)


def _by_host(request: ApprovalRequest) -> str | None:
    """The benchmark's audience: the replica an approval is addressed to."""
    return request.host


async def _approve_events(
    store: ApprovalStore,
    host: str,
    seen: dict[str, int],
    *,
    audience: bool = False,
    task_status: anyio.abc.TaskStatus[None],
) -> None:
    """
    An approver: resolve allow-once every request addressed to *host* (each in its task).

    With *audience* (a Redis store built with ``audience=_by_host``) it subscribes to the
    requests of *host* only; otherwise it hears every request and skips the others.
    """
    subscription = (
        store.subscribe(audience=host)
        if audience and isinstance(store, RedisApprovalStore)
        else store.subscribe()
    )
    async with subscription as events, anyio.create_task_group() as tg:
        task_status.started()
        async for event in events:
            if isinstance(event, ApprovalRequested) and event.record.request.host == host:
                seen[event.record.id] = time.perf_counter_ns()
                tg.start_soon(_resolve, store, event.record.id, seen)


async def _resolve(store: ApprovalStore, approval_id: str, seen: dict[str, int]) -> None:
    resolved = await store.resolve(approval_id, Decision.ALLOW_ONCE, approver=APPROVER)
    assert resolved.outcome is ApprovalOutcome.RESOLVED, resolved
    seen[approval_id + "/resolved"] = time.perf_counter_ns()


async def _one(
    requester: ApprovalStore, i: int, host: str, seen: dict[str, int] | None = None
) -> list[int]:
    """One approval end to end; the timeline (ns since start) if *seen* is given."""
    request = _request(requester, i, host)
    start = time.perf_counter_ns()
    registered = await requester.register(request, has_route=True)
    assert registered.outcome is ApprovalOutcome.REGISTERED, registered
    registered_at = time.perf_counter_ns()
    record = await requester.wait_decision(request.id)
    woke_at = time.perf_counter_ns()
    assert record is not None, f"{request.id}: no decision"
    assert record.decision is Decision.ALLOW_ONCE, record
    consumed = await requester.consume(request.id, request.binding)
    assert consumed.outcome is ApprovalOutcome.CONSUMED, consumed
    end = time.perf_counter_ns()
    if seen is None:
        return [end - start]
    heard = seen.pop(request.id, start)
    resolved = seen.pop(request.id + "/resolved", start)
    return [end - start, registered_at - start, heard - start, resolved - start, woke_at - start]


async def _in_flight(
    requester: ApprovalStore, host: str, approvals: int, in_flight: int
) -> tuple[list[int], float]:
    latencies: list[int] = []
    limiter = anyio.CapacityLimiter(in_flight)

    async def one(i: int) -> None:
        async with limiter:
            latencies.extend(await _one(requester, i, host))

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(approvals):
            tg.start_soon(one, i)
    return latencies, time.perf_counter() - start


async def _memory(approvals: int, in_flight: int) -> tuple[float, float, str]:
    seen: dict[str, int] = {}
    async with MemoryApprovalStore() as memory, anyio.create_task_group() as tg:
        await tg.start(_approve_events, memory, "gateway", seen)
        await _in_flight(memory, "gateway", min(approvals, 200), in_flight)  # warm-up
        latencies, elapsed = await _in_flight(memory, "gateway", approvals, in_flight)
        one_latencies, one_elapsed = await _in_flight(memory, "gateway", approvals // 4, 1)
        tg.cancel_scope.cancel()
    rate, line = _summary(latencies, elapsed)
    _, one_line = _summary(one_latencies, one_elapsed)
    one_p50, _ = _percentiles(one_latencies)
    return (
        rate,
        one_p50,
        (
            f"memory store, 1 process, {in_flight} in flight    {line}\n"
            f"memory store, one at a time            {one_line}"
        ),
    )


def _info(port: int, section: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"INFO {section}\r\n".encode())
        data = b""
        while True:
            data += sock.recv(65536)
            header, _, body = data.partition(b"\r\n")
            if header.startswith(b"$") and len(body) >= int(header[1:]):
                return body.decode()


def _server_cpu(port: int) -> float:
    """redis-server's CPU seconds so far (user + system, every thread), ``INFO cpu``."""
    fields = dict(line.split(":", 1) for line in _info(port, "cpu").splitlines() if ":" in line)
    return float(fields["used_cpu_user"]) + float(fields["used_cpu_sys"])


def _commandstats(port: int) -> dict[str, tuple[int, int]]:
    """``{command: (calls, usec)}`` from ``INFO commandstats``."""
    body = _info(port, "commandstats")
    stats: dict[str, tuple[int, int]] = {}
    for line in body.splitlines():
        if line.startswith("cmdstat_"):
            name, _, values = line.partition(":")
            fields = dict(v.split("=", 1) for v in values.split(","))
            stats[name.removeprefix("cmdstat_")] = (int(fields["calls"]), int(fields["usec"]))
    return stats


async def _timeline(url: str, port: int, approvals: int) -> tuple[float, str]:
    """One approval at a time through two in-process stores, with where the time goes."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    seen: dict[str, int] = {}
    rows: list[list[int]] = []
    async with (
        RedisApprovalStore(url, prefix=prefix) as requester,
        RedisApprovalStore(url, prefix=prefix) as approver,
        anyio.create_task_group() as tg,
    ):
        await tg.start(_approve_events, approver, "gateway", seen)
        for i in range(50):  # warm-up
            await _one(requester, i, "gateway", seen)
        before = await anyio.to_thread.run_sync(_commandstats, port)
        server_cpu = await anyio.to_thread.run_sync(_server_cpu, port)
        cpu = time.process_time()
        start = time.perf_counter()
        for i in range(approvals):
            rows.append(await _one(requester, i, "gateway", seen))  # noqa: PERF401 (sequential)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        server_cpu = await anyio.to_thread.run_sync(_server_cpu, port) - server_cpu
        after = await anyio.to_thread.run_sync(_commandstats, port)
        tg.cancel_scope.cancel()
    _, line = _summary([r[0] for r in rows], elapsed)
    p50, _ = _percentiles([r[0] for r in rows])

    def median_ms(column: int) -> float:
        return statistics.median(r[column] for r in rows) / 1e6

    calls = {k: after[k][0] - before.get(k, (0, 0))[0] for k in after}
    usec = {k: after[k][1] - before.get(k, (0, 0))[1] for k in after}
    scripts = calls.get("evalsha", 0) + calls.get("eval", 0)
    script_usec = usec.get("evalsha", 0) + usec.get("eval", 0)
    # commandstats counts the commands a script runs under their own names too (inside the
    # script's time), so the server total is the script time plus what ran outside scripts.
    outside = sum(
        u for k, u in usec.items() if k in {"subscribe", "unsubscribe", "ping", "client|setname"}
    )
    return p50, "\n".join(
        [
            f"redis, one at a time (2 stores, 1 process) {line}",
            "  timeline, median ms since the requester called register():",
            (
                f"    register reply {median_ms(1):.3f} | approver hears the request "
                f"{median_ms(2):.3f} | resolve reply {median_ms(3):.3f} | "
                f"waiter wakes {median_ms(4):.3f} | consume reply {median_ms(0):.3f}"
            ),
            (
                f"  per approval in Redis: {scripts / approvals:.1f} script calls (EVALSHA), "
                f"{script_usec / max(scripts, 1):.1f} us per script, "
                f"{(script_usec + outside) / approvals:.0f} us of server time, "
                f"{calls.get('publish', 0) / approvals:.1f} published messages"
            ),
            (
                f"  cpu per approval: this process (both stores) {cpu / approvals * 1e6:.0f} us, "
                f"redis-server {server_cpu / approvals * 1e6:.0f} us "
                f"(wall {elapsed / approvals * 1e6:.0f} us)"
            ),
        ]
    )


# ---------------------------------------------------------------- replica processes


async def _worker(  # noqa: PLR0917 (argv of the worker process, in order)
    url: str,
    prefix: str,
    index: int,
    replicas: int,
    approvals: int,
    in_flight: int,
    broadcast: bool,
) -> None:
    """
    One replica process: approve what is addressed to it, request approvals from the next one.

    Prints ``ready``, waits for ``go`` on stdin, runs, prints one JSON line of results, then
    keeps approving until ``stop``.
    """
    seen: dict[str, int] = {}
    # Without audiences the store is built as before they existed (this script can then
    # measure an older tree: PYTHONPATH=<old tree>/src ... --broadcast).
    store = (
        RedisApprovalStore(url, prefix=prefix)
        if broadcast
        else RedisApprovalStore(url, prefix=prefix, audience=_by_host)
    )
    async with (
        store,
        anyio.create_task_group() as tg,
    ):
        approve = functools.partial(_approve_events, audience=not broadcast)
        await tg.start(approve, store, f"replica-{index}", seen)
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        target = f"replica-{(index + 1) % replicas}"
        cpu = time.process_time()
        latencies, elapsed = await _in_flight(store, target, approvals, in_flight)
        cpu = time.process_time() - cpu
        stats = getattr(store, "stats", {})
        result = {"latencies": latencies, "elapsed": elapsed, "cpu": cpu, "stats": stats}
        print(json.dumps(result), flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)  # keep approving until told to stop
        tg.cancel_scope.cancel()


def _processes(
    url: str, port: int, replicas: int, approvals: int, in_flight: int, *, broadcast: bool
) -> tuple[float, float, str]:
    """*replicas* processes, *approvals* each, *in_flight* at a time in each."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    args = [url, prefix, str(replicas), str(approvals), str(in_flight), str(int(broadcast))]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", args[0], args[1], str(i), *args[2:]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(replicas)
    ]
    results = []
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().strip()
            assert line == "ready", f"a replica did not start: {line!r}"
        server_cpu = _server_cpu(port)
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line, "a replica died (an approval failed: see its traceback above)"
            results.append(json.loads(line))
        server_cpu = _server_cpu(port) - server_cpu
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("stop\n")
            worker.stdin.flush()
    finally:
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
    latencies = [n for result in results for n in result["latencies"]]
    assert len(latencies) == replicas * approvals, "an approval is missing"
    rate, line = _summary(latencies, max(r["elapsed"] for r in results))
    cpu_us = sum(r["cpu"] for r in results) / len(latencies) * 1e6
    server_us = server_cpu / len(latencies) * 1e6
    catch_ups = sum(r["stats"].get("catch_ups", 0) for r in results)
    return (
        rate,
        cpu_us + server_us,
        (
            f"{line}   cpu per approval: replicas {cpu_us:4.0f} us "
            f"(each {cpu_us / replicas:4.0f}), redis-server {server_us:3.0f} us   "
            f"catch-ups {catch_ups}"
        ),
    )


# ---------------------------------------------------------------- the server and main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(directory: str, *, aof: bool) -> tuple[subprocess.Popen[bytes], int]:
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
                    return process, port
        except OSError:
            time.sleep(0.02)
    process.kill()
    sys.exit("redis-server did not start")


@contextlib.contextmanager
def _one_cpu(*pids: int) -> Iterator[int | None]:
    """
    Run this process and *pids* on one CPU for the block (the lowest this process may use).

    Yields the CPU, or ``None`` (nothing pinned) without ``sched_setaffinity`` or with one
    CPU. Every affinity is restored on leaving, so nothing started later is pinned.
    """
    setter = getattr(os, "sched_setaffinity", None)
    if setter is None or len(os.sched_getaffinity(0)) < 2:
        yield None
        return
    saved = {pid: os.sched_getaffinity(pid) for pid in (0, *pids)}
    cpu = min(saved[0])
    try:
        for pid in saved:
            setter(pid, {cpu})
        yield cpu
    finally:
        for pid, cpus in saved.items():
            with contextlib.suppress(OSError):  # a process that has ended
                setter(pid, cpus)


def _calibration() -> str:
    import hashlib  # noqa: PLC0415 (only here)

    start = time.perf_counter()
    for i in range(100_000):
        hashlib.sha256(i.to_bytes(4, "little")).digest()
    per = (time.perf_counter() - start) / 100_000 * 1e6
    return f"calibration: sha256(4 bytes) {per:.2f} us"


def _median_round(ratios: list[float]) -> int:
    """The index of the round whose ratio is the median (the lower middle one for an even count)."""
    return ratios.index(statistics.median_low(ratios))


async def _main(
    replica_counts: list[int],
    approvals: int,
    in_flight: int,
    *,
    aof: bool,
    broadcast: bool,
    rounds: int = 5,
) -> None:
    print(_calibration())
    memory_rate, memory_p50, text = await _memory(approvals, in_flight)
    print(text)
    with tempfile.TemporaryDirectory(prefix="openclaw-exec-bench-") as directory:
        process, port = _start_redis(directory, aof=aof)
        url = f"redis://127.0.0.1:{port}/0"
        mode = "AOF always" if aof else "no persistence"
        try:
            print(f"redis-server: {mode}")
            # Rounds, as the analyser's harness takes them: this machine's speed moves by
            # 1.5-3x from one minute to the next, so a single pass says little.
            p50s: list[float] = []
            for round_no in range(rounds):
                p50, text = await _timeline(url, port, max(approvals // 4, 100))
                p50s.append(p50)
                print(text if round_no == 0 else f"  round {round_no + 1}: p50 {p50:.2f} ms")
            p50 = statistics.median(p50s)
            if rounds > 1:
                listed = ", ".join(f"{v:.2f}" for v in p50s)
                print(
                    f"redis one at a time p50, median of {rounds} rounds: {p50:.2f} ms ({listed})"
                )
            # Where the swing comes from: on this virtual machine a wake-up from one CPU to
            # the other costs far more than on bare metal (CPU per approval doubles on both
            # sides, redis-server's too), and the scheduler puts the two processes on one CPU
            # or on two as it likes. The same line with both held on one CPU, for the
            # diagnosis only: the figure below is the one compared with the target.
            with _one_cpu(process.pid) as cpu_no:
                if cpu_no is not None:
                    pinned, text = await _timeline(url, port, max(approvals // 4, 100))
                    print(
                        f"  the same, this process and redis-server both on CPU {cpu_no}: "
                        f"p50 {pinned:.2f} ms; {text.splitlines()[-1].strip()}"
                    )
            figure(
                "redis one at a time p50",
                p50,
                "ms",
                reference="memory store one at a time",
                reference_value=memory_p50,
                target="<= 1.5 ms",
            )
            rates: dict[int, float] = {}

            def line_of(replicas: int) -> tuple[float, float, str]:
                share = max(approvals // replicas, in_flight)
                return _processes(url, port, replicas, share, in_flight, broadcast=broadcast)

            for replicas in replica_counts:
                rate, _, line = await anyio.to_thread.run_sync(line_of, replicas)
                rates[replicas] = rate
                label = f"redis, {replicas:2d} replica processes x {in_flight} in flight"
                print(f"{label:<40} {line}", flush=True)
                figure(
                    f"redis {replicas} replicas (processes, {in_flight} in flight each)",
                    rate,
                    "approvals/s",
                    reference="memory store, 1 process",
                    reference_value=memory_rate,
                    target={3: ">= 1000/s", 6: "completes, no slower than 3"}.get(
                        replicas, "completes"
                    ),
                )
            if 3 in rates and 6 in rates:
                # 6 against 3 in rounds of four lines each, 3-6-6-3 or 6-3-3-6 in turn, each
                # round's ratio of the sums: single pairs ranged 0.82-1.22 within one run, and
                # the line that ran second tended to be slower (6/3 averaged 1.05 with 6 first,
                # 0.99 with 3 first, over 20 pairs); the figure is the median round's.
                # Per round: the mean rate of 3 and of 6 replicas, and their mean CPU per approval.
                per_round: list[tuple[float, float, float, float]] = []
                for round_no in range(rounds):
                    got: dict[int, list[tuple[float, float]]] = {3: [], 6: []}
                    order = (3, 6, 6, 3) if round_no % 2 == 0 else (6, 3, 3, 6)
                    for replicas in order:
                        rate, used, line = await anyio.to_thread.run_sync(line_of, replicas)
                        got[replicas].append((rate, used))
                        label = f"  round {round_no + 1}: {replicas:2d} replicas"
                        print(f"{label:<40} {line}", flush=True)
                    three, six = got[3], got[6]
                    per_round.append(
                        (
                            statistics.fmean(r for r, _ in three),
                            statistics.fmean(r for r, _ in six),
                            statistics.fmean(c for _, c in three),
                            statistics.fmean(c for _, c in six),
                        )
                    )
                by_rate = _median_round([six / three for three, six, _, _ in per_round])
                by_cpu = _median_round([c3 / c6 for _, _, c3, c6 in per_round])
                rate3, rate6, _, _ = per_round[by_rate]
                _, _, cpu3, cpu6 = per_round[by_cpu]
                listed = ", ".join(f"{six / three:.2f}" for three, six, _, _ in per_round)
                print(
                    f"6 replicas / 3 replicas: {rate6 / rate3:.2f}x, the median of {rounds} rounds "
                    f"({listed}; target >= 1); 3 replicas / memory store: "
                    f"{rate3 / memory_rate:.2f}x, 6 replicas / memory store: "
                    f"{rate6 / memory_rate:.2f}x (memory store {memory_rate:.0f}/s, same run)"
                )
                # Wall figures on a shared machine swing with the other load; the CPU each
                # approval costs (every replica and redis-server) is what decides how many
                # approvals a given machine carries, and it is measured in the same run.
                cores = os.cpu_count() or 1
                listed = ", ".join(f"{c3 / c6:.2f}" for _, _, c3, c6 in per_round)
                print(
                    f"CPU per approval (replicas + redis-server), median round: 3 replicas "
                    f"{cpu3:.0f} us, 6 replicas {cpu6:.0f} us: 6/3 capacity {cpu3 / cpu6:.2f}x "
                    f"({listed}); CPU-bound on {cores} cores: 3 replicas "
                    f"{cores / cpu3 * 1e6:.0f}/s, 6 replicas {cores / cpu6 * 1e6:.0f}/s"
                )
                figure(
                    "redis 6 replicas vs 3, by CPU per approval (capacity)",
                    1e6 / cpu6,
                    "approvals per CPU second",
                    reference="3 replicas",
                    reference_value=1e6 / cpu3,
                    target="ratio >= 1",
                )
                figure(
                    "redis 6 replicas vs 3",
                    rate6,
                    "approvals/s",
                    reference="3 replicas",
                    reference_value=rate3,
                    target="ratio >= 1",
                )
        finally:
            process.kill()
            process.wait()


def main() -> None:
    """Parse arguments and run."""
    if len(sys.argv) == 9 and sys.argv[1] == "--worker":
        url, prefix, index, replicas, approvals, in_flight, broadcast = sys.argv[2:]
        worker = functools.partial(_worker, url, prefix, int(index), int(replicas))
        anyio.run(worker, int(approvals), int(in_flight), broadcast == "1")
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument(
        "--replicas", default="1,3,6,12", help="replica counts, comma-separated (1,3,6,12)"
    )
    parser.add_argument("--in-flight", type=int, default=32, help="approvals in flight per replica")
    parser.add_argument("--approvals", type=int, default=3_000, help="approvals per line")
    parser.add_argument("--aof", action="store_true", help="appendonly yes, appendfsync always")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds of the one-at-a-time line and of 3 against 6 replicas (median; default 5)",
    )
    parser.add_argument(
        "--broadcast",
        action="store_true",
        help="every approver hears every request (plain subscribe()), no audience channels",
    )
    args = parser.parse_args()
    try:
        counts = [int(n) for n in args.replicas.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--replicas: expected numbers like 1,3,6,12, got {args.replicas!r}")
    if not counts or min(counts) < 1 or min(args.in_flight, args.approvals, args.rounds) < 1:
        parser.error("--replicas, --in-flight, --approvals and --rounds must be positive")
    run = functools.partial(
        _main,
        counts,
        args.approvals,
        args.in_flight,
        aof=args.aof,
        broadcast=args.broadcast,
        rounds=args.rounds,
    )
    anyio.run(run)


if __name__ == "__main__":
    main()
