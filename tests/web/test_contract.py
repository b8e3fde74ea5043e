"""
The page, the webhook and the approvers on the one approver contract (``open_guard`` /
``serve_approver``): a guard in this process asks through the page's kit; a request decided
elsewhere leaves the page at once; a webhook decision reaches the guard with its author.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import httpx
import pytest

from openclaw_exec import ExecPolicy, open_guard
from openclaw_exec.adapters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookApprover, sign
from openclaw_exec.approvers import serve_approver
from openclaw_exec.protocol import Decision

from ._harness import TOKEN, Recorder, http_servers, serving, sign_in, wait_pending

pytestmark = pytest.mark.anyio
ASK = ExecPolicy(security="allowlist", ask="always")


async def test_a_guard_asks_through_the_page(tmp_path: Path) -> None:
    async with serving() as served, httpx.AsyncClient(timeout=10) as client:
        csrf = await sign_in(client, served.base, TOKEN)
        async with open_guard(policy=ASK, approver=served.web.approver) as guard:
            results = []

            async def run() -> None:
                results.append(await guard.authorize("git push origin main", cwd=str(tmp_path)))

            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                (shown,) = await wait_pending(client, served.base)
                assert shown["command"] == "git push origin main"
                assert shown["requester"] == "exec guard (in process)"
                answer = await client.post(
                    f"{served.base}/api/approvals/{shown['id']}/decision",
                    json={"decision": "allow-once"},
                    headers={"Origin": served.base, "X-CSRF-Token": csrf},
                )
                assert answer.status_code == 200
            (auth,) = results
            assert auth.allowed
            assert auth.decision is Decision.ALLOW_ONCE
            assert auth.approval_id == shown["id"]  # one id from the guard to the page
            record = await guard.store.get(shown["id"]) if guard.store else None
            assert record is not None
            assert record.resolved_by == "gateway:web (shared secret)"


async def test_decided_elsewhere_leaves_the_page(tmp_path: Path) -> None:
    async with serving() as served, httpx.AsyncClient(timeout=10) as client:
        await sign_in(client, served.base, TOKEN)
        other_says_no = anyio.Event()

        async def slow_no(_request: object) -> Decision:
            await other_says_no.wait()
            return Decision.DENY

        async with open_guard(policy=ASK, approver=served.web.approver) as guard:
            assert guard.store is not None
            results = []
            async with anyio.create_task_group() as tg:
                await tg.start(serve_approver, guard.store, slow_no)

                async def run() -> None:
                    results.append(await guard.authorize("make deploy", cwd=str(tmp_path)))

                tg.start_soon(run)
                await wait_pending(client, served.base)
                other_says_no.set()  # another approver of the same store answers first
                await wait_pending(client, served.base, 0, exactly=True)
                tg.cancel_scope.cancel()
            (auth,) = results
            assert not auth.allowed
            assert auth.decision is Decision.DENY
            listing = (await client.get(f"{served.base}/api/approvals")).json()
            assert listing["recent"][0]["state"] == "cancelled"


async def test_a_webhook_answer_reaches_the_guard_with_its_author(tmp_path: Path) -> None:
    secret = b"contract-webhook-secret-0123456789abcdef"
    service = Recorder()
    approver = WebhookApprover("", secret)
    async with http_servers(service, approver.asgi) as (service_url, callback_url):
        approver.url = service_url
        async with open_guard(policy=ASK, approver=approver) as guard:
            results = []
            async with anyio.create_task_group() as tg:

                async def run() -> None:
                    results.append(await guard.authorize("terraform apply", cwd=str(tmp_path)))

                tg.start_soon(run)
                _, body = await service.next_post(1)
                payload = json.loads(body)
                callback = json.dumps(
                    {
                        "approvalId": payload["approvalId"],
                        "planDigest": payload["planDigest"],
                        "decision": "deny",
                        "approver": {"id": "alice", "name": "Alice"},
                    }
                ).encode()
                stamp = int(time.time())
                headers = {
                    TIMESTAMP_HEADER: str(stamp),
                    SIGNATURE_HEADER: sign(secret, stamp, callback),
                }
                async with httpx.AsyncClient() as client:
                    answer = await client.post(callback_url, content=callback, headers=headers)
                assert answer.status_code == 200
            (auth,) = results
            assert not auth.allowed
            assert auth.decision is Decision.DENY
            assert guard.store is not None
            record = await guard.store.get(payload["approvalId"])
            assert record is not None
            assert record.resolved_by == "Alice"
