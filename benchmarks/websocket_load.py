"""
Load test of the WebSocket gateway kit on loopback: many requesters, a few approvers.

Each requester loops: ``exec.approval.request`` (twoPhase) and wait for the decision; each
approver answers the prompts routed to it (``hash(id) % approvers``) with allow-once. At the
end it checks that every request got exactly one final answer carrying a decision, and prints
throughput and latency percentiles (register → decision, as the requester sees it).

    python benchmarks/websocket_load.py                       # 200 requesters, 5 approvers, 60 s
    python benchmarks/websocket_load.py --seconds 10 --requesters 50
    python benchmarks/websocket_load.py --backend trio
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

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


async def run(seconds: float, requesters: int, approvers: int, folder: Path) -> int:
    kit = GatewayKit(
        GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN)), store=MemoryPairingStore()
    )
    latencies: list[float] = []
    answers: dict[str, int] = {}
    sent = 0
    failures: list[str] = []
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

        stop_at = time.monotonic() + seconds

        async def requester(index: int) -> None:
            nonlocal sent
            options = GatewayClientOptions(
                url=url,
                token=TOKEN,
                identity_path=folder / f"requester-{index}" / "device.json",
                caps=(),
                open_timeout=60,
            )
            async with ApprovalRequester.connect(options) as client:
                n = 0
                while time.monotonic() < stop_at:
                    n += 1
                    approval_id = f"r{index}-{n}"
                    sent += 1
                    began = time.perf_counter()
                    outcome = await client.request_decision(
                        f"echo {approval_id}", approval_id=approval_id, timeout_ms=120_000
                    )
                    latencies.append(time.perf_counter() - began)
                    answers[outcome.id] = answers.get(outcome.id, 0) + 1
                    if outcome.decision is not Decision.ALLOW_ONCE:
                        failures.append(f"{outcome.id}: {outcome.decision}")

        started = time.monotonic()
        async with anyio.create_task_group() as load:
            for index in range(requesters):
                load.start_soon(requester, index)
        elapsed = time.monotonic() - started
        tg.cancel_scope.cancel()

    once = all(count == 1 for count in answers.values()) and len(answers) == sent
    ordered = sorted(latencies)

    def p(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    print(f"requesters={requesters} approvers={approvers} duration={elapsed:.1f}s")
    print(f"requests={sent} answered={len(answers)} exactly_once={once} failures={len(failures)}")
    print(f"throughput={len(latencies) / elapsed:.1f} approvals/s")
    if ordered:
        print(
            f"latency ms: p50={p(0.50):.1f} p90={p(0.90):.1f} p99={p(0.99):.1f} "
            f"max={ordered[-1] * 1000:.1f} mean={statistics.fmean(ordered) * 1000:.1f}"
        )
    return 0 if once and not failures else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--requesters", type=int, default=200)
    parser.add_argument("--approvers", type=int, default=5)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openclaw-exec-load-") as folder:
        return anyio.run(
            lambda: run(args.seconds, args.requesters, args.approvers, Path(folder)),
            backend=args.backend,
        )


if __name__ == "__main__":
    sys.exit(main())
