"""
Load test of the WebSocket gateway kit on loopback: many requesters, a few approvers.

Each requester loops: ``exec.approval.request`` (twoPhase) and wait for the decision; each
approver answers the prompts routed to it (``hash(id) % approvers``) with allow-once. Every
client connects (and pairs) first; the measured window starts when all are connected. At the
end it checks that every request got exactly one final answer carrying the decision (the run
fails otherwise), and prints throughput and latency percentiles (request → decision, as the
requester sees it).

Then, unless ``--no-profile``: a second, shorter window under ``cProfile`` (CPU time), with the
CPU per approval broken down by what it was spent on (JSON, WebSocket frames, the approval
broker, the kit's routing and fan-out, pairing and auth, the clients, the event loop). The
server and all clients share this one process, as the figure does.

The reference line is the same traffic over **bare anyio streams** in the same run: TCP,
newline-delimited JSON, a relay that forwards each request to its approver and the answer back
(no WebSocket, no pairing, no broker): what the transport and event loop cost alone.

    python benchmarks/websocket_load.py                       # 200 requesters, 5 approvers, 20 s
    python benchmarks/websocket_load.py --seconds 10 --requesters 50
    python benchmarks/websocket_load.py --backend trio
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.abc
from _figures import figure

from openclaw_exec.adapters.websocket import (
    ApprovalOperator,
    ApprovalPrompt,
    ApprovalRequester,
    GatewayClientOptions,
    GatewayKit,
    GatewayKitConfig,
    MemoryPairingStore,
)
from openclaw_exec.pairing import AuthConfig
from openclaw_exec.protocol import Decision

TOKEN = "load-test-token-0123456789"


class Tally:
    """Answers per approval id, latencies, failures: what 'exactly once' is checked on."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.answers: dict[str, int] = {}
        self.sent = 0
        self.failures: list[str] = []

    def check(self) -> bool:
        return (
            all(count == 1 for count in self.answers.values())
            and len(self.answers) == self.sent
            and not self.failures
        )

    def lines(self, label: str, rate: float, elapsed: float) -> list[str]:
        ordered = sorted(self.latencies)

        def p(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        out = [
            (
                f"{label}: {rate:.1f} approvals/s over {elapsed:.1f} s; requests={self.sent} "
                f"answered={len(self.answers)} exactly_once={self.check()} "
                f"failures={len(self.failures)}"
            )
        ]
        if ordered:
            out.append(
                f"  latency ms: p50={p(0.50):.1f} p90={p(0.90):.1f} p99={p(0.99):.1f} "
                f"max={ordered[-1] * 1000:.1f} mean={statistics.fmean(ordered) * 1000:.1f}"
            )
        return out


async def kit_load(
    seconds: float,
    requesters: int,
    approvers: int,
    folder: Path,
    profile_seconds: float,
) -> tuple[Tally, float, pstats.Stats | None, int]:
    """
    The kit under load: (tally, approvals/s in the window, profile, approvals profiled).

    The window counts approvals *completed* in it; the profiled window follows it.
    """
    kit = GatewayKit(
        GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN)), store=MemoryPairingStore()
    )
    tally = Tally()
    window: dict[str, float] = {}
    connected = 0
    all_connected = anyio.Event()
    profiler: cProfile.Profile | None = None
    completed = 0
    async with anyio.create_task_group() as tg:
        port = await tg.start(kit.serve)
        url = f"ws://127.0.0.1:{port}"

        def approver_for(index: int) -> Callable[[ApprovalPrompt], Awaitable[Decision | None]]:
            async def decide(prompt: ApprovalPrompt) -> Decision | None:
                if zlib.crc32(prompt.id.encode()) % approvers != index:
                    return None  # another approver's request
                return Decision.ALLOW_ONCE

            return decide

        for index in range(approvers):
            options = GatewayClientOptions(
                url=url, token=TOKEN, identity_path=folder / f"approver-{index}" / "device.json"
            )
            await tg.start(ApprovalOperator(options, approver_for(index)).run)

        async def requester(index: int) -> None:
            nonlocal connected, completed
            options = GatewayClientOptions(
                url=url,
                token=TOKEN,
                identity_path=folder / f"requester-{index}" / "device.json",
                caps=(),
                open_timeout=120,
            )
            async with ApprovalRequester.connect(options) as client:
                connected += 1
                if connected == requesters:
                    all_connected.set()
                await all_connected.wait()
                n = 0
                while time.monotonic() < window["profile_stop"]:
                    n += 1
                    approval_id = f"r{index}-{n}"
                    tally.sent += 1
                    began = time.perf_counter()
                    outcome = await client.request_decision(
                        f"echo {approval_id}", approval_id=approval_id, timeout_ms=120_000
                    )
                    completed += 1
                    tally.latencies.append(time.perf_counter() - began)
                    tally.answers[outcome.id] = tally.answers.get(outcome.id, 0) + 1
                    if outcome.decision is not Decision.ALLOW_ONCE or outcome.id != approval_id:
                        tally.failures.append(f"{outcome.id}: {outcome.decision}")

        async def clock() -> None:
            nonlocal profiler
            await all_connected.wait()
            window["start"] = time.monotonic()
            window["cpu"] = time.process_time()
            window["before"] = completed
            window["stop"] = window["start"] + seconds
            window["profile_stop"] = window["stop"] + profile_seconds
            await anyio.sleep(max(0.0, window["stop"] - time.monotonic()))  # trio: own clock
            window["cpu"] = time.process_time() - window["cpu"]
            window["approvals"] = completed - window["before"]
            if profile_seconds:
                before = completed
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                await anyio.sleep(max(0.0, window["profile_stop"] - time.monotonic()))
                profiler.disable()  # before the clients hang up: steady state only
                window["profiled"] = completed - before

        started = time.monotonic()
        window["stop"] = window["profile_stop"] = float("inf")
        async with anyio.create_task_group() as load:
            load.start_soon(clock)
            for index in range(requesters):
                load.start_soon(requester, index)
        setup = window["start"] - started
        print(f"  {requesters} requesters connected and paired in {setup:.1f} s")
        cpu_us = window["cpu"] / max(window["approvals"], 1) * 1e6
        print(
            f"  process CPU per approval in the window (server and clients, no profiler): "
            f"{cpu_us:.0f} us; CPU busy {window['cpu'] / seconds * 100:.0f} % of one core"
        )
        tg.cancel_scope.cancel()
    stats = None if profiler is None else pstats.Stats(profiler)
    return tally, window["approvals"] / seconds, stats, int(window.get("profiled", 0))


# ---------------------------------------------------------------- CPU breakdown

BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("JSON encode/decode", ("/json/", "_json", "_values.py", "cattrs", "protocol/_frames")),
    ("WebSocket frames (websockets sans-I/O, kit transport)", ("websockets/", "_transport.py")),
    ("approval broker and gateway (protocol core)", ("protocol/",)),
    ("kit routing and fan-out to approvers (_server)", ("websocket/_server.py",)),
    ("pairing and auth checks", ("pairing/", "_identity.py", "cryptography", "hmac")),
    ("clients (requesters, approvers)", ("_approvals.py", "_client.py", "_connect.py")),
    (
        "event loop, anyio, sockets",
        ("asyncio/", "anyio/", "trio/", "selectors", "socket", "sniffio"),
    ),
]


def breakdown(stats: pstats.Stats, approvals: int) -> list[str]:
    """CPU per approval by bucket (a function's own time, attributed by its file)."""
    totals: dict[str, float] = {name: 0.0 for name, _ in BUCKETS}
    totals["other"] = 0.0
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, tottime, _, _) in raw.items():
        where = f"{filename}:{function}"
        for name, needles in BUCKETS:
            if any(n in where for n in needles):
                totals[name] += tottime
                break
        else:
            totals["other"] += tottime
    total = sum(totals.values())
    lines = [
        (
            f"CPU per approval under cProfile (process time, server and clients): "
            f"{total / approvals * 1e6:.0f} us; profiling inflates it, the shares are what count"
        )
    ]
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        lines.append(
            f"  {name:<56} {seconds / approvals * 1e6:7.0f} us  {seconds / total * 100:5.1f} %"
        )
    return lines


# ---------------------------------------------------------------- the bare-stream reference


async def bare_load(seconds: float, requesters: int, approvers: int) -> tuple[Tally, float]:
    """The same traffic over bare anyio TCP streams (newline-delimited JSON through a relay)."""
    tally = Tally()
    approver_streams: dict[int, anyio.abc.SocketStream] = {}
    requester_streams: dict[str, anyio.abc.SocketStream] = {}
    ready = anyio.Event()
    locks: dict[int, anyio.Lock] = {}

    async def send(stream: anyio.abc.SocketStream, data: bytes) -> None:
        async with locks.setdefault(id(stream), anyio.Lock()):  # one writer at a time
            await stream.send(data)

    async def relay(stream: anyio.abc.SocketStream) -> None:
        buffer = b""
        async for chunk in stream:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = json.loads(line)
                if message["kind"] == "approver":
                    approver_streams[message["index"]] = stream
                    if len(approver_streams) == approvers:
                        ready.set()
                elif message["kind"] == "request":
                    requester_streams[message["id"]] = stream
                    target = zlib.crc32(message["id"].encode()) % approvers
                    await send(approver_streams[target], line + b"\n")
                elif message["kind"] == "decision":
                    back = requester_streams.pop(message["id"])
                    await send(back, line + b"\n")

    async def approver(index: int, port: int) -> None:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            await stream.send(json.dumps({"kind": "approver", "index": index}).encode() + b"\n")
            buffer = b""
            async for chunk in stream:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    request = json.loads(line)
                    answer = {"kind": "decision", "id": request["id"], "decision": "allow-once"}
                    await stream.send(json.dumps(answer).encode() + b"\n")

    async def requester(index: int, port: int, stop: float) -> None:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            n = 0
            buffer = b""
            while time.monotonic() < stop:
                n += 1
                approval_id = f"r{index}-{n}"
                tally.sent += 1
                began = time.perf_counter()
                request = {"kind": "request", "id": approval_id, "command": f"echo {approval_id}"}
                await stream.send(json.dumps(request).encode() + b"\n")
                while b"\n" not in buffer:
                    buffer += await stream.receive()
                line, _, buffer = buffer.partition(b"\n")
                answer = json.loads(line)
                tally.latencies.append(time.perf_counter() - began)
                tally.answers[answer["id"]] = tally.answers.get(answer["id"], 0) + 1
                if answer["decision"] != "allow-once":
                    tally.failures.append(answer["id"])

    async with anyio.create_task_group() as tg:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        tg.start_soon(listener.serve, relay)
        for index in range(approvers):
            tg.start_soon(approver, index, port)
        await ready.wait()
        stop = time.monotonic() + seconds
        async with anyio.create_task_group() as load:
            for index in range(requesters):
                load.start_soon(requester, index, port, stop)
        tg.cancel_scope.cancel()
    return tally, seconds


async def run(
    seconds: float, requesters: int, approvers: int, folder: Path, profile_seconds: float
) -> int:
    print(f"requesters={requesters} approvers={approvers}, one process (server and clients)")
    bare, bare_elapsed = await bare_load(min(seconds, 5.0), requesters, approvers)
    bare_rate = len(bare.latencies) / bare_elapsed
    print("\n".join(bare.lines("bare anyio streams (reference)", bare_rate, bare_elapsed)))
    tally, kit_rate, stats, profiled = await kit_load(
        seconds, requesters, approvers, folder, profile_seconds
    )
    print("\n".join(tally.lines("gateway kit", kit_rate, seconds)))
    print(f"kit / bare streams: {kit_rate / bare_rate:.2f}")
    if stats is not None and profiled:
        print("\n".join(breakdown(stats, profiled)))
    figure(
        f"gateway kit {requesters} requesters, {approvers} approvers",
        kit_rate,
        "approvals/s",
        reference="bare anyio streams",
        reference_value=bare_rate,
        target=">= 500/s, each answered exactly once",
    )
    ok = tally.check() and bare.check()
    if not ok:
        print("FAILED: a request was not answered exactly once with allow-once")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requesters", type=int, default=200)
    parser.add_argument("--approvers", type=int, default=5)
    parser.add_argument("--profile-seconds", type=float, default=5.0)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    profile = 0.0 if args.no_profile else args.profile_seconds
    with tempfile.TemporaryDirectory(prefix="openclaw-exec-load-") as folder:
        return anyio.run(
            lambda: run(args.seconds, args.requesters, args.approvers, Path(folder), profile),
            backend=args.backend,
        )


if __name__ == "__main__":
    sys.exit(main())
