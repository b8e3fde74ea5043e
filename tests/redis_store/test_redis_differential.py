"""
The Redis store answers exactly as the memory store: same outcomes, messages, reasons, records.

Hypothesis drives random call sequences (register with conflicts and no route, resolve by id
and prefix with anonymous approvers, consume with the right and a wrong binding, cancel, get,
wait, list, and a fake clock that crosses expiries and grace windows) through both stores
sharing one fake clock, and compares every answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.protocol import ApprovalRequest, Decision, ExecBinding, Principal
from redis_store._redis_server import RedisServer

ALICE = Principal(id="alice", display_name="Alice")
IDS = ["ab-1", "AB-2"]
KEYS = [*IDS, "ab", "ab-2", "zz", "ab-1 "]
GRACE_MS = 1_000
WRONG = ExecBinding(argv=("rm", "-rf", "/"))

ALL_OPS: list[tuple[Any, ...]] = [
    *(
        ("register", i, variant, lifetime, route)
        for i in IDS
        for variant in (0, 1)
        for lifetime in (0, 40, 1_500, 60_000)
        for route in (True, False)
    ),
    *(
        ("resolve", key, decision, approver)
        for key in KEYS
        for decision in Decision
        for approver in (ALICE, ALICE, None)
    ),
    *(("consume", i, right) for i in IDS for right in (True, True, False)),
    *(("cancel", i) for i in IDS),
    *(("get", i) for i in IDS),
    *(("wait", i) for i in IDS),
    ("list",),
    *(("advance", ms) for ms in (1, 39, 500, 1_000, 2_000)),
]
ops = st.sampled_from(ALL_OPS)


class FakeClock:
    """Epoch milliseconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


async def _step(
    store: Any, op: tuple[Any, ...], requests: dict[tuple[str, int], ApprovalRequest]
) -> object:
    kind = op[0]
    if kind == "register":
        _, approval_id, variant, _lifetime, route = op
        request = requests[approval_id, variant]
        return await store.register(request, requester=ALICE, has_route=route)
    if kind == "resolve":
        return await store.resolve(op[1], op[2], approver=op[3])
    if kind == "consume":
        request = requests[op[1], 0]
        return await store.consume(op[1], request.binding if op[2] else WRONG)
    if kind == "cancel":
        return await store.cancel(op[1])
    if kind == "get":
        return await store.get(op[1])
    if kind == "wait":
        return await store.wait_decision(op[1], timeout=0)
    return list(await store.list_pending())


async def _compare(url: str, sequence: list[tuple[Any, ...]]) -> None:
    clock = FakeClock()
    prefix = f"diff-{uuid.uuid4().hex[:12]}"
    requests: dict[tuple[str, int], ApprovalRequest] = {}
    async with (
        MemoryApprovalStore(grace_ms=GRACE_MS, clock=clock) as memory,
        RedisApprovalStore(url, prefix=prefix, grace_ms=GRACE_MS, clock=clock) as shared,
    ):
        for index, op in enumerate(sequence):
            if op[0] == "advance":
                clock.now += op[1]
                continue
            if op[0] == "register" and (op[1], op[2]) not in requests:
                for variant in (0, 1):
                    requests.setdefault(
                        (op[1], variant),
                        ApprovalRequest(
                            id=op[1],
                            command=f"echo {variant}",
                            created_at_ms=clock.now,
                            expires_at_ms=clock.now + op[3],
                            binding=ExecBinding(argv=("echo", str(variant))),
                        ),
                    )
            if op[0] == "consume" and (op[1], 0) not in requests:
                continue
            expected = await _step(memory, op, requests)
            got = await _step(shared, op, requests)
            assert got == expected, f"step {index}: {op}"


OPENING = [("register", approval_id, 0, 60_000, True) for approval_id in IDS]


@given(sequence=st.lists(ops, min_size=5, max_size=40))
def test_redis_store_answers_like_the_memory_store(
    redis_server: RedisServer, sequence: list[tuple[Any, ...]]
) -> None:
    anyio.run(_compare, redis_server.url, OPENING + sequence)


D = Decision
R = "register"
KNOWN: list[list[tuple[Any, ...]]] = [
    # prefix lookup: ambiguous (more than three matches), unique, case-insensitive, exact wins
    [
        *((R, f"ab-{i}", 0, 60_000, True) for i in range(1, 6)),
        ("resolve", "ab", D.DENY, ALICE),
        ("resolve", "AB-2", D.DENY, ALICE),
        ("resolve", "ab-2", D.ALLOW_ONCE, ALICE),
        ("resolve", "ab-1", D.ALLOW_ONCE, None),
        ("advance", 1_000),
        ("get", "ab-2"),
        (R, "ab-2", 1, 60_000, True),
        ("list",),
    ],
    # expiry at exactly expires_at_ms, grace window at exactly settled + grace
    [
        (R, "ab-1", 0, 40, True),
        ("advance", 39),
        ("wait", "ab-1"),
        ("advance", 1),
        ("resolve", "ab-1", D.DENY, ALICE),
        ("consume", "ab-1", True),
        ("advance", 999),
        ("get", "ab-1"),
        (R, "ab-1", 0, 40, True),
        ("advance", 1),
        ("get", "ab-1"),
    ],
    # first decision wins; allow-once spent once; binding mismatch changes nothing
    [
        (R, "ab-1", 0, 60_000, True),
        ("resolve", "ab-1", D.ALLOW_ONCE, ALICE),
        ("resolve", "ab-1", D.DENY, ALICE),
        ("resolve", "ab-1", D.ALLOW_ALWAYS, ALICE),
        ("resolve", "ab-1", D.ALLOW_ONCE, ALICE),
        ("consume", "ab-1", False),
        ("consume", "ab-1", True),
        ("consume", "ab-1", True),
        ("resolve", "ab-1", D.DENY, ALICE),
        ("resolve", "ab-1", D.ALLOW_ONCE, ALICE),
        (R, "ab-1", 0, 60_000, True),
    ],
    # allow-always is reusable; deny, pending, cancelled and no-route are not consumable
    [
        (R, "ab-1", 0, 60_000, True),
        (R, "AB-2", 0, 60_000, True),
        (R, "ab-3", 0, 60_000, False),
        (R, "ab-4", 0, 60_000, True),
        ("consume", "ab-1", True),
        ("cancel", "AB-2"),
        ("cancel", "AB-2"),
        ("consume", "AB-2", True),
        ("consume", "ab-3", True),
        ("resolve", "ab-1", D.ALLOW_ALWAYS, ALICE),
        ("consume", "ab-1", True),
        ("consume", "ab-1", True),
        ("resolve", "ab-4", D.DENY, ALICE),
        ("consume", "ab-4", True),
        ("resolve", "AB-2", D.DENY, ALICE),
        ("cancel", "ab-4"),
        ("wait", "AB-2"),
        ("list",),
    ],
    # conflicting and repeated registrations; a zero lifetime expires at once
    [
        (R, "ab-1", 0, 60_000, True),
        (R, "ab-1", 0, 60_000, True),
        (R, "ab-1", 1, 60_000, True),
        (R, "AB-2", 0, 0, True),
        ("wait", "AB-2"),
        (R, "AB-2", 0, 0, True),
        ("get", "AB-2"),
    ],
]


@pytest.mark.parametrize("sequence", KNOWN)
def test_known_sequences_agree(redis_server: RedisServer, sequence: list[tuple[Any, ...]]) -> None:
    anyio.run(_compare, redis_server.url, sequence)
