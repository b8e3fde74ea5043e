"""
The webhook approver against a local HTTP server standing in for the service (real sockets,
Hypercorn on both sides, asyncio and trio): the signed payload, the signed callback, and
every refusal (forged, tampered, stale, replayed, cross-request, other plan, expired).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import anyio
import attrs
import httpx
import pytest

from openclaw_exec.adapters.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookApprover,
    plan_digest,
)
from openclaw_exec.protocol import Decision

from ._harness import Recorder, approval_request, http_servers

pytestmark = pytest.mark.anyio

SECRET = b"webhook-test-secret-0123456789abcdef"


def _signed(body: bytes, *, secret: bytes = SECRET, at: float | None = None) -> dict[str, str]:
    """Sign *body* the way the service must (written out here, not taken from the module)."""
    stamp = str(int(time.time() if at is None else at))
    mac = hmac.new(secret, b"v1:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: f"v1={mac}",
        "Content-Type": "application/json",
    }


def _callback(approval_id: str, digest: str, decision: str = "allow-once", **extra: Any) -> bytes:
    document = {"approvalId": approval_id, "planDigest": digest, "decision": decision, **extra}
    return json.dumps(document).encode()


@attrs.define
class Clock:
    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def test_signed_round_trip_and_every_refusal() -> None:
    service = Recorder()
    clock = Clock()
    approver = WebhookApprover("", SECRET, clock=clock)
    async with http_servers(service, approver.asgi) as (service_url, callback_url):
        approver.url = f"{service_url}/hook"
        approver.callback_url = f"{callback_url}/cb"
        request = approval_request("API_KEY=abc123 git push origin main", agent_id="main")
        other = approval_request("rm -rf /tmp/x")
        answers: dict[str, Any] = {}
        answered = anyio.Event()

        async def ask(req: Any) -> None:
            answers[req.id] = await approver.ask(req)
            answered.set()

        async with anyio.create_task_group() as tg, httpx.AsyncClient() as client:
            tg.start_soon(ask, request)
            headers, body = await service.next_post(1)
            # The payload is signed: checked here with an independent implementation.
            stamp = headers[TIMESTAMP_HEADER.lower()]
            expected = hmac.new(SECRET, b"v1:" + stamp.encode() + b":" + body, hashlib.sha256)
            assert headers[SIGNATURE_HEADER.lower()] == f"v1={expected.hexdigest()}"
            assert abs(int(stamp) - time.time()) < 60
            payload = json.loads(body)
            assert payload["approvalId"] == request.id
            assert payload["planDigest"] == plan_digest(request)
            assert payload["command"] == "API_KEY=•••• git push origin main"
            assert b"abc123" not in body
            assert payload["callbackUrl"] == f"{callback_url}/cb"
            assert payload["expiresAtMs"] == request.expires_at_ms

            async def post(content: bytes, headers: dict[str, str]) -> tuple[int, str]:
                answer = await client.post(f"{callback_url}/cb", content=content, headers=headers)
                return answer.status_code, answer.json()["reason"]

            good = _callback(request.id, payload["planDigest"], approver={"id": "alice"})
            refusals = {
                "unsigned": await post(good, {"Content-Type": "application/json"}),
                "forged": await post(good, _signed(good, secret=b"x" * 40)),
                "tampered": await post(
                    _callback(request.id, payload["planDigest"], "allow-always"), _signed(good)
                ),
                "stale": await post(good, _signed(good, at=time.time() - 301)),
                "future": await post(good, _signed(good, at=time.time() + 301)),
                "another approval": await post(
                    _callback(other.id, plan_digest(other)),
                    _signed(_callback(other.id, plan_digest(other))),
                ),
                "another plan": await post(
                    _callback(request.id, plan_digest(other)),
                    _signed(_callback(request.id, plan_digest(other))),
                ),
                "not a decision": await post(
                    _callback(request.id, payload["planDigest"], "yes"),
                    _signed(_callback(request.id, payload["planDigest"], "yes")),
                ),
            }
            assert refusals == {
                "unsigned": (401, "bad-signature"),
                "forged": (401, "bad-signature"),
                "tampered": (401, "bad-signature"),
                "stale": (401, "stale"),
                "future": (401, "stale"),
                "another approval": (404, "unknown-approval"),
                "another plan": (409, "plan-mismatch"),
                "not a decision": (400, "bad-request"),
            }
            assert request.id not in answers  # nothing above decided anything
            signed_good = _signed(good)
            assert await post(good, signed_good) == (200, "ok")
            with anyio.fail_after(5):
                await answered.wait()
            decision, principal = answers[request.id]
            assert decision is Decision.ALLOW_ONCE
            assert principal.id == "webhook:alice"
            # The same signed callback again: replayed. A fresh one: nothing waits any more.
            assert await post(good, signed_good) == (409, "replayed")
            assert await post(good, _signed(good, at=time.time() + 1)) == (404, "unknown-approval")
            assert (await client.get(f"{callback_url}/cb")).status_code == 405
            assert (
                await client.post(f"{callback_url}/cb", content=b"x" * 70_000)
            ).status_code == 413


async def test_expired_request_refuses_its_callback_and_answers_none() -> None:
    service = Recorder()
    clock = Clock()
    approver = WebhookApprover("", SECRET, clock=clock)
    async with http_servers(service, approver.asgi) as (service_url, callback_url):
        approver.url = service_url
        request = approval_request("make deploy", lifetime_ms=60_000)
        result: list[Any] = []

        async def ask() -> None:
            result.append(await approver.ask(request))

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            _, body = await service.next_post(1)
            digest = json.loads(body)["planDigest"]
            await anyio.wait_all_tasks_blocked()  # the approver waits for the callback now
            clock.offset = 61.0  # its clock is now past the request's expiry
            callback = _callback(request.id, digest)
            async with httpx.AsyncClient() as client:
                answer = await client.post(
                    f"{callback_url}/cb", content=callback, headers=_signed(callback, at=clock())
                )
            assert (answer.status_code, answer.json()["reason"]) == (410, "expired")
            tg.cancel_scope.cancel()  # the runner cancels an approver at expiry
        assert result == []
        # A request that expires on time: the approver answers None, a late callback finds
        # nothing waiting.
        short = approval_request("make deploy", lifetime_ms=300)
        clock.offset = 0.0
        with anyio.fail_after(5):
            assert await approver.ask(short) is None
        _, body = await service.next_post(2)
        late = _callback(short.id, json.loads(body)["planDigest"])
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{callback_url}/cb", content=late, headers=_signed(late))
        assert (answer.status_code, answer.json()["reason"]) == (404, "unknown-approval")


async def test_a_request_that_cannot_be_posted_is_no_answer() -> None:
    service = Recorder(status=500)
    approver = WebhookApprover("", SECRET)
    async with http_servers(service) as (service_url,):
        approver.url = service_url
        with anyio.fail_after(5):
            assert await approver(approval_request("ls")) is None
        approver.url = "http://127.0.0.1:1/closed"
        with anyio.fail_after(5):
            assert await approver(approval_request("ls")) is None
    with pytest.raises(ValueError, match="at least 32 bytes"):
        WebhookApprover("http://x", b"short")
    assert "secret" not in repr(approver).lower()
