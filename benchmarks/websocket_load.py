"""
Load test of the WebSocket gateway kit on loopback: many requesters, a few approvers.

Each requester loops: ``exec.approval.request`` (twoPhase) and wait for the decision; each
approver answers the prompts routed to it (``hash(id) % approvers``) with allow-once. Every
client connects (and pairs) first; the measured window starts when all are connected. At the
end it checks that every request got exactly one final answer carrying the decision (the run
fails otherwise), and prints throughput and latency percentiles (request → decision, as the
requester sees it, approvals completed inside the window).

**The figure against the target is the server's in its own process.** The clients are the
benchmark's load generator, not the gateway: in production the exec hosts and operators are
other processes, so they run in ``--client-processes`` worker processes (``_ws_clients.py``)
and the server's process runs the gateway alone. The same run then measures the old figure,
server and all clients in ONE process (``--no-inproc`` skips it), labelled as such.

For the server-alone run it prints the server process's CPU per approval (no profiler), the
clients' CPU per approval (all worker processes), and the WebSocket messages per approval the
server received and sent; then, unless ``--no-profile``, a second, shorter window under
``cProfile`` in the server process, with the CPU per approval broken down by what it was spent
on (a C builtin's time is charged to the Python function that called it).

The reference line is the same traffic over **bare anyio streams**, measured the same way in
the same run (server alone, same worker processes; and all in one process): TCP,
newline-delimited JSON, a relay that forwards each request to its approver and the answer back
(no WebSocket, no pairing, no broker): what the transport and event loop cost alone.

    python benchmarks/websocket_load.py                       # 200 requesters, 5 approvers, 20 s
    python benchmarks/websocket_load.py --seconds 10 --requesters 50
    python benchmarks/websocket_load.py --backend trio
    python benchmarks/websocket_load.py --client-processes 0  # old way only: all in one process
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import glob
import json
import multiprocessing
import os
import pstats
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc
import anyio.to_thread
from _figures import figure
from _ws_clients import TOKEN, Plan, Tally, Window, run_clients, split, worker

from openclaw_exec.adapters.websocket import GatewayKit, GatewayKitConfig, MemoryPairingStore
from openclaw_exec.adapters.websocket import _transport as transport
from openclaw_exec.pairing import AuthConfig

WARM_UP = 0.5  # seconds of load before the window opens


@dataclass
class Counts:
    """WebSocket messages the server received and sent (server-alone runs only)."""

    received: int = 0
    sent: int = 0


@dataclass
class Run:
    """One measured run: the merged tally, its window, CPU, messages and profile."""

    tally: Tally
    window: Window
    seconds: float
    server_cpu: float  # the server's process (in-process: server and clients)
    client_cpu: float | None  # the worker processes (None in-process)
    counts: Counts = field(default_factory=Counts)
    stats: pstats.Stats | None = None
    profiled: int = 0

    @property
    def approvals(self) -> int:
        return len(self.tally.in_window(self.window))

    @property
    def rate(self) -> float:
        return self.approvals / self.seconds

    def lines(self, label: str) -> list[str]:
        ordered = sorted(self.tally.in_window(self.window))
        t = self.tally

        def p(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        out = [
            (
                f"{label}: {self.rate:.1f} approvals/s over {self.seconds:.1f} s; "
                f"requests={t.sent} answered={len(t.answers)} exactly_once={t.check()} "
                f"failures={len(t.failures)}"
            )
        ]
        if ordered:
            out.append(
                f"    latency ms: p50={p(0.50):.1f} p90={p(0.90):.1f} p99={p(0.99):.1f} "
                f"max={ordered[-1] * 1000:.1f} mean={statistics.fmean(ordered) * 1000:.1f}"
            )
        out.extend(f"    FAILURE: {failure}" for failure in t.failures[:3])
        missing = t.sent - len(t.answers)
        if missing:
            out.append(f"    {missing} requests got no answer")
        per = max(self.approvals, 1)
        if self.client_cpu is None:
            out.append(
                f"    process CPU per approval (server and clients, no profiler): "
                f"{self.server_cpu / per * 1e6:.0f} us; busy "
                f"{self.server_cpu / self.seconds * 100:.0f} % of one core"
            )
        else:
            out.append(
                f"    server process CPU per approval (no profiler): "
                f"{self.server_cpu / per * 1e6:.0f} us, busy "
                f"{self.server_cpu / self.seconds * 100:.0f} % of one core (so one core to "
                f"itself would carry ~{per / max(self.server_cpu, 1e-9):.0f}/s); clients' CPU "
                f"per approval (all workers): {self.client_cpu / per * 1e6:.0f} us"
            )
        if self.counts.received or self.counts.sent:
            out.append(
                f"    WebSocket messages per approval at the server: "
                f"{(self.counts.received + self.counts.sent) / per:.1f} "
                f"({self.counts.received / per:.1f} received, {self.counts.sent / per:.1f} sent)"
            )
        return out


# ---------------------------------------------------------------- the servers


@contextlib.asynccontextmanager
async def kit_server(approvers: int) -> AsyncIterator[str]:
    """The gateway kit on a free loopback port: yields its ws:// URL."""
    del approvers
    kit = GatewayKit(
        GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN)), store=MemoryPairingStore()
    )
    async with anyio.create_task_group() as tg:
        port = await tg.start(kit.serve)
        yield f"ws://127.0.0.1:{port}"
        tg.cancel_scope.cancel()


@contextlib.asynccontextmanager
async def bare_server(approvers: int) -> AsyncIterator[str]:
    """The bare-stream relay (newline-delimited JSON): yields its port."""
    approver_streams: dict[int, anyio.abc.SocketStream] = {}
    requester_streams: dict[str, anyio.abc.SocketStream] = {}
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
                elif message["kind"] == "request":
                    requester_streams[message["id"]] = stream
                    target = zlib.crc32(message["id"].encode()) % approvers
                    await send(approver_streams[target], line + b"\n")
                elif message["kind"] == "decision":
                    back = requester_streams.pop(message["id"])
                    await send(back, line + b"\n")

    async with anyio.create_task_group() as tg:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        tg.start_soon(listener.serve, relay)
        yield str(listener.extra(anyio.abc.SocketAttribute.local_port))
        tg.cancel_scope.cancel()


SERVERS = {"kit": kit_server, "bare": bare_server}


@contextlib.contextmanager
def counting(counts: Counts) -> Iterator[None]:
    """Count the WebSocket messages this process's connections receive and send."""
    cls = transport.WebSocketConnection
    # ``offer`` is the kit's send since #16; ``queue_text`` before (to run this against it).
    name = "offer" if hasattr(cls, "offer") else "queue_text"
    receive, send, queued = cls.receive_text, cls.send_text, getattr(cls, name)

    async def receive_text(self: transport.WebSocketConnection) -> str:
        text = await receive(self)
        counts.received += 1
        return text

    async def send_text(self: transport.WebSocketConnection, text: str) -> None:
        counts.sent += 1
        await send(self, text)

    def offer(self: transport.WebSocketConnection, message: object) -> bool:
        taken = bool(queued(self, message))
        counts.sent += name == "offer" or taken  # a refused queue_text is sent by send_text
        return taken

    cls.receive_text, cls.send_text = receive_text, send_text  # type: ignore[method-assign]
    setattr(cls, name, offer)
    try:
        yield
    finally:
        cls.receive_text, cls.send_text = receive, send  # type: ignore[method-assign]
        setattr(cls, name, queued)


# ---------------------------------------------------------------- one run


async def _measure_here(
    window: Window,
    counts: Counts | None,
    profile_seconds: float,
) -> tuple[float, Counts, cProfile.Profile | None]:
    """This process's CPU and message counts inside the window, then the profiled window."""
    await anyio.sleep(max(0.0, window.start - time.monotonic()))  # durations: trio's clock
    cpu = time.process_time()
    before = Counts(counts.received, counts.sent) if counts else Counts()
    await anyio.sleep(max(0.0, window.stop - time.monotonic()))
    cpu = time.process_time() - cpu
    inside = (
        Counts(counts.received - before.received, counts.sent - before.sent) if counts else Counts()
    )
    profiler = None
    if profile_seconds:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        await anyio.sleep(max(0.0, window.end - time.monotonic()))
        profiler.disable()  # before the clients hang up: steady state only
    return cpu, inside, profiler


async def run_inproc(plan: Plan, seconds: float) -> Run:
    """Server and every client in this one process (the old figure)."""
    tally, window = Tally(), Window()

    async def connected() -> None:
        window.start = time.monotonic() + WARM_UP
        window.stop = window.end = window.start + seconds

    async def nothing() -> None:
        pass

    async with SERVERS[plan.kind](plan.approvers_total) as address:
        plan.address = address
        await run_clients(plan, tally, window, connected, nothing)
    return Run(tally, window, seconds, tally.cpu, None)


async def run_workers(
    plan: Plan, processes: int, backend: str, seconds: float, profile_seconds: float
) -> Run:
    """The server alone in this process; the clients in *processes* worker processes."""
    tally, window, counts = Tally(), Window(), Counts()
    context = multiprocessing.get_context("spawn")
    with counting(counts) if plan.kind == "kit" else contextlib.nullcontext():
        async with SERVERS[plan.kind](plan.approvers_total) as address:
            plan.address = address
            pipes, workers = [], []
            for share in split(plan, processes):
                parent, child = context.Pipe()
                process = context.Process(target=worker, args=(child, share, backend), daemon=True)
                process.start()
                pipes.append(parent)
                workers.append(process)
            try:
                with anyio.fail_after(300):
                    for pipe in pipes:
                        if await anyio.to_thread.run_sync(pipe.recv) != "ready":
                            raise RuntimeError("a worker failed to connect")
                window.start = time.monotonic() + WARM_UP
                window.stop = window.start + seconds
                window.end = window.stop + profile_seconds
                for pipe in pipes:
                    pipe.send((window.start, window.stop, window.end))
                cpu, inside, profiler = await _measure_here(window, counts, profile_seconds)
                with anyio.fail_after(300):
                    for pipe in pipes:
                        if await anyio.to_thread.run_sync(pipe.recv) != "done":
                            raise RuntimeError("a worker failed")
                    for pipe in pipes:
                        pipe.send("stop")
                    client_cpu = 0.0
                    for pipe in pipes:
                        share_tally: Tally = await anyio.to_thread.run_sync(pipe.recv)
                        tally.merge(share_tally)
                    client_cpu = tally.cpu
            finally:
                for process in workers:
                    await anyio.to_thread.run_sync(process.join, 30)
                    if process.is_alive():
                        process.kill()
    run = Run(tally, window, seconds, cpu, client_cpu, inside)
    if profiler is not None:
        run.stats = pstats.Stats(profiler)
        run.profiled = sum(1 for at, _ in tally.done if window.stop <= at < window.end)
    return run


# ---------------------------------------------------------------- CPU breakdown

BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    (
        "JSON encode/decode",
        ("/json/", "_json", "protocol/_codec", "protocol/_wire", "cattrs", "_values.py"),
    ),
    ("WebSocket frames (websockets sans-I/O, kit transport)", ("websockets/", "_transport.py")),
    ("approval broker and gateway (protocol core)", ("protocol/", "attrs generated")),
    (
        "kit dispatch, routing and fan-out (_kit_dispatch, _server)",
        ("websocket/_server.py", "_kit_dispatch.py", "_kit_handshake.py"),
    ),
    ("pairing and auth checks", ("pairing/", "_identity.py", "cryptography", "hmac")),
    ("clients (requesters, approvers)", ("_approvals.py", "_client.py", "_connect.py", "_ws_")),
    (
        "event loop, anyio, sockets",
        ("asyncio/", "anyio/", "trio/", "selectors", "socket", "sniffio", "outcome/"),
    ),
]


def _bucket(where: str) -> str:
    for name, needles in BUCKETS:
        if any(n in where for n in needles):
            return name
    return "other"


def breakdown(stats: pstats.Stats, approvals: int, whose: str) -> list[str]:
    """
    CPU per approval by bucket: a Python function's own time by its file; a C builtin's
    (a socket call, the json C scanner, ``str.encode``) charged to its Python callers.
    """
    totals: dict[str, float] = {name: 0.0 for name, _ in BUCKETS}
    totals["other"] = 0.0
    builtins: dict[str, float] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, dict]] = stats.stats  # type: ignore[attr-defined,type-arg]
    for (filename, _, function), (_, _, tottime, _, callers) in raw.items():
        if filename != "~":
            totals[_bucket(f"{filename}:{function}")] += tottime
            continue
        builtins[function] = builtins.get(function, 0.0) + tottime
        charged = 0.0
        for (cfile, _, cfunc), caller in callers.items():
            share = caller[2]  # this builtin's own time when called from that caller
            totals[_bucket(f"{cfile}:{cfunc}" if cfile != "~" else cfunc)] += share
            charged += share
        totals["other"] += max(0.0, tottime - charged)
    total = sum(totals.values())
    lines = [
        (
            f"  CPU per approval under cProfile ({whose}): {total / approvals * 1e6:.0f} us; "
            f"profiling inflates it, the shares are what count"
        )
    ]
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        lines.append(
            f"    {name:<60} {seconds / approvals * 1e6:7.0f} us  {seconds / total * 100:5.1f} %"
        )
    top = sorted(builtins.items(), key=lambda kv: -kv[1])[:5]
    lines.append(
        "    of which C builtins (charged above to their callers): "
        + ", ".join(f"{name} {s / approvals * 1e6:.0f} us" for name, s in top)
    )
    return lines


# ---------------------------------------------------------------- main


def _load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()  # noqa: UP031


async def run(args: argparse.Namespace, folder: Path) -> int:
    requesters, approvers = args.requesters, args.approvers
    profile = 0.0 if args.no_profile else args.profile_seconds
    bare_seconds = min(args.seconds, 5.0)

    def plan(kind: str) -> Plan:
        return Plan(
            kind,
            "",
            list(range(requesters)),
            list(range(approvers)),
            approvers,
            str(folder),
            profile=kind == "kit" and args.profile_clients and bool(profile),
        )

    print(
        f"requesters={requesters} approvers={approvers} backend={args.backend}; {_load()}",
        flush=True,
    )
    ok = True
    alone: tuple[Run, Run] | None = None
    if args.client_processes:
        print(
            f"\nA. server alone in its process, clients in {args.client_processes} worker "
            f"processes (THE FIGURE AGAINST THE >= 500/s TARGET):",
            flush=True,
        )
        bare = await run_workers(plan("bare"), args.client_processes, args.backend, bare_seconds, 0)
        print("\n".join(bare.lines("  bare anyio streams (reference)")), flush=True)
        kit = await run_workers(
            plan("kit"), args.client_processes, args.backend, args.seconds, profile
        )
        print("\n".join(kit.lines("  gateway kit")))
        print(f"  kit / bare streams: {kit.rate / max(bare.rate, 1e-9):.2f}; {_load()}")
        if kit.stats is not None and kit.profiled:
            print("\n".join(breakdown(kit.stats, kit.profiled, "the server process only")))
            if args.profile_out:
                kit.stats.dump_stats(args.profile_out)
            clients = sorted(glob.glob(f"{folder}/clients-*.prof"))  # noqa: PTH207 - not async
            if clients:
                stats = pstats.Stats(*clients)
                print("\n".join(breakdown(stats, kit.profiled, "all client processes")))
                if args.profile_out:
                    stats.dump_stats(args.profile_out + ".clients")
        ok = ok and kit.tally.check() and bare.tally.check()
        alone = (kit, bare)
    if not args.no_inproc:
        print(
            "\nB. server and all clients in ONE process (the old figure; the clients' CPU "
            "counts too, not the figure against the target):",
            flush=True,
        )
        bare1 = await run_inproc(plan("bare"), bare_seconds)
        print("\n".join(bare1.lines("  bare anyio streams (reference)")), flush=True)
        kit1 = await run_inproc(plan("kit"), args.seconds)
        print("\n".join(kit1.lines("  gateway kit")))
        print(f"  kit / bare streams: {kit1.rate / max(bare1.rate, 1e-9):.2f}; {_load()}")
        ok = ok and kit1.tally.check() and bare1.tally.check()
        if alone is None:
            alone = (kit1, bare1)
    assert alone is not None
    kit, bare = alone
    where = (
        f"server alone, clients in {args.client_processes} processes"
        if args.client_processes
        else "server and clients in one process"
    )
    figure(
        f"gateway kit {requesters} requesters, {approvers} approvers ({where})",
        kit.rate,
        "approvals/s",
        reference="bare anyio streams, measured the same way",
        reference_value=bare.rate,
        target=">= 500/s, each answered exactly once",
    )
    if not ok:
        print("FAILED: a request was not answered exactly once with allow-once")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requesters", type=int, default=200)
    parser.add_argument("--approvers", type=int, default=5)
    parser.add_argument(
        "--client-processes",
        type=int,
        default=2,
        help="worker processes for the clients, the server's process runs alone "
        "(0: only the old all-in-one-process run)",
    )
    parser.add_argument("--no-inproc", action="store_true", help="skip the all-in-one-process run")
    parser.add_argument("--profile-seconds", type=float, default=5.0)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--profile-out", help="also write the server's profile (pstats) here")
    parser.add_argument(
        "--profile-clients",
        action="store_true",
        help="also profile the client processes (their breakdown is printed after the server's)",
    )
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openclaw-exec-load-") as folder:
        return anyio.run(lambda: run(args, Path(folder)), backend=args.backend)


if __name__ == "__main__":
    sys.exit(main())
