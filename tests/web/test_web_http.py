"""
The approval page over real HTTP (Hypercorn on loopback; httpx as the client), asyncio and
trio: sign-in, sessions, CSRF and origin checks, Host checks, headers, the decision endpoint
bound to the approval id, the kit's rules (scope, self-approval), the event stream.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest

from openclaw_exec.adapters.web import SECURITY_HEADERS
from openclaw_exec.adapters.web._security import host_allowed, same_origin

from ._harness import (
    TOKEN,
    Served,
    device_token,
    request_in_background,
    serving,
    sign_in,
    wait_pending,
)

pytestmark = pytest.mark.anyio


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(follow_redirects=False, timeout=10)


async def _decide(
    client: httpx.AsyncClient, served: Served, approval_id: str, csrf: str | None, **kw: Any
) -> httpx.Response:
    headers = {"Origin": served.base, "Content-Type": "application/json"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    headers.update(kw.pop("headers", {}))
    body = kw.pop("content", json.dumps({"decision": kw.pop("decision", "allow-once")}))
    return await client.post(
        f"{served.base}/api/approvals/{approval_id}/decision", content=body, headers=headers
    )


def _has_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS:
        assert response.headers.get(name) == value, name
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp


async def test_headers_hosts_and_sign_in(tmp_path: Path) -> None:
    async with serving() as served, _client() as client:
        for path in ("/", "/login", "/static/app.js", "/api/approvals", "/nope"):
            _has_security_headers(await client.get(served.base + path))
        # DNS rebinding: the page answers only to its own address.
        foreign = await client.get(served.base + "/login", headers={"Host": "evil.example:80"})
        assert foreign.status_code == 421
        _has_security_headers(foreign)
        assert (await client.get(served.base + "/")).headers["location"] == "/login"
        # Wrong secret, missing login nonce, other origin: no session.
        form = await client.get(served.base + "/login")
        nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert nonce is not None
        wrong = await client.post(
            served.base + "/login",
            data={"csrf": nonce[1], "secret": "not-the-token"},
            headers={"Origin": served.base},
        )
        assert wrong.status_code == 401
        assert "not-the-token" not in wrong.text
        no_nonce = await client.post(
            served.base + "/login", data={"secret": TOKEN}, headers={"Origin": served.base}
        )
        assert no_nonce.status_code == 403
        cross = await client.post(
            served.base + "/login",
            data={"csrf": nonce[1], "secret": TOKEN},
            headers={"Origin": "http://127.0.0.1:1"},
        )
        assert cross.status_code == 403
        assert "oce_session" not in client.cookies
        csrf = await sign_in(client, served.base, TOKEN)
        cookie = next(c for c in client.cookies.jar if c.name == "oce_session")
        assert cookie.has_nonstandard_attr("HttpOnly")
        assert (cookie.get_nonstandard_attr("SameSite") or "").lower() == "strict"
        page = await client.get(served.base + "/")
        assert TOKEN not in page.text
        assert cookie.value is not None
        assert cookie.value not in page.text
        assert "<script>" not in page.text  # no inline script: only src=/static/app.js
        assert csrf in page.text  # the page holds its CSRF token (meta tag), nothing else


async def test_decision_is_bound_to_the_id_and_guarded(tmp_path: Path) -> None:
    async with serving() as served, _client() as client:
        csrf = await sign_in(client, served.base, TOKEN)
        result, done = await request_in_background(served, tmp_path, "rq", "git push", cwd="/tmp")
        (pending,) = await wait_pending(client, served.base)
        approval_id = pending["id"]
        # No state-changing GET.
        assert (
            await client.get(f"{served.base}/api/approvals/{approval_id}/decision")
        ).status_code == 405
        refusals = {
            "no csrf": await _decide(client, served, approval_id, None),
            "wrong csrf": await _decide(client, served, approval_id, csrf[:-1] + "x"),
            "foreign origin": await _decide(
                client, served, approval_id, csrf, headers={"Origin": "http://127.0.0.1:9"}
            ),
            "null origin": await _decide(
                client, served, approval_id, csrf, headers={"Origin": "null"}
            ),
            "form post": await _decide(
                client,
                served,
                approval_id,
                csrf,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            "bad decision": await _decide(client, served, approval_id, csrf, decision="yes"),
            "huge body": await _decide(client, served, approval_id, csrf, content="x" * 100_000),
            "id prefix": await _decide(client, served, approval_id[:8], csrf),
        }
        assert {k: r.status_code for k, r in refusals.items()} == {
            "no csrf": 403,
            "wrong csrf": 403,
            "foreign origin": 403,
            "null origin": 403,
            "form post": 415,
            "bad decision": 400,
            "huge body": 413,
            "id prefix": 409,
        }
        assert not done.is_set()
        ok = await _decide(client, served, approval_id, csrf, decision="deny")
        assert ok.status_code == 200
        assert ok.json()["decision"] == "deny"
        with anyio.fail_after(5):
            await done.wait()
        assert result == {"decision": "deny"}
        # First answer wins; the id is no longer pending.
        again = await _decide(client, served, approval_id, csrf)
        assert again.status_code == 409
        listing = (await client.get(served.base + "/api/approvals")).json()
        assert listing["pending"] == []
        assert listing["recent"][0]["id"] == approval_id
        assert listing["recent"][0]["decision"] == "deny"


async def test_device_sessions_follow_the_kit_rules(tmp_path: Path) -> None:
    async with serving() as served, _client() as reader, _client() as approver:
        read_token = await device_token(served, tmp_path, "reader", ("operator.read",))
        csrf_reader = await sign_in(reader, served.base, read_token)
        assert "no <code>operator.approvals</code> scope" in (await reader.get(served.base)).text
        assert (await reader.get(served.base + "/api/approvals")).status_code == 403
        assert (await reader.get(served.base + "/api/events")).status_code == 403

        scopes = ("operator.approvals",)
        approve_token = await device_token(served, tmp_path, "approver", scopes)
        csrf = await sign_in(approver, served.base, approve_token)
        # That device's own request is neither shown to it nor may it resolve it ...
        _own, own_done = await request_in_background(
            served, tmp_path, "approver", "make release", cwd="/tmp"
        )
        # ... while another device's request is.
        other, other_done = await request_in_background(
            served, tmp_path, "rq", "make test", cwd="/tmp"
        )
        all_ids: list[str] = []
        with anyio.fail_after(10):
            while len(all_ids) < 2:
                all_ids = [
                    r.id for r in served.kit.approvals.broker.pending(now_ms=served.kit.clock())
                ]
                await anyio.sleep(0.02)
        shown = await wait_pending(approver, served.base)
        assert [p["command"] for p in shown] == ["make test"]
        own_id = next(i for i in all_ids if i != shown[0]["id"])
        refused = await _decide(approver, served, own_id, csrf)
        assert refused.status_code == 409  # not pending *for it*: never shown, never resolved
        scope_refused = await _decide(reader, served, shown[0]["id"], csrf_reader)
        assert scope_refused.status_code == 403
        assert scope_refused.json()["error"] == "missing-scope"
        accepted = await _decide(approver, served, shown[0]["id"], csrf)
        assert accepted.status_code == 200
        with anyio.fail_after(5):
            await other_done.wait()
        assert other == {"decision": "allow-once"}
        assert not own_done.is_set()

        # Revoking the device token ends the web session at its next request.
        device = next(
            d
            for d in served.kit.store.list_paired()
            if d.tokens and d.tokens[0].token == approve_token
        )
        assert device.tokens is not None
        revoked = attrs.evolve(device.tokens[0], revoked_at_ms=served.kit.clock())
        served.kit.store.put_paired(attrs.evolve(device, tokens=(revoked,)))
        assert (await approver.get(served.base + "/api/approvals")).status_code == 401
        assert (await approver.get(served.base + "/")).headers["location"] == "/login"


async def test_event_stream_pushes_requests_decisions_and_expiry(tmp_path: Path) -> None:
    async with serving() as served, _client() as client:
        csrf = await sign_in(client, served.base, TOKEN)
        snapshots: list[dict[str, Any]] = []
        changed = anyio.Event()
        ended = anyio.Event()

        async def listen() -> None:
            nonlocal changed
            async with client.stream("GET", served.base + "/api/events") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                async for line in response.aiter_lines():
                    if line.startswith("event: signed-out"):
                        ended.set()
                    if line.startswith("data:"):
                        snapshots.append(json.loads(line[5:]))
                        changed.set()
                        changed = anyio.Event()

        async def next_snapshot(predicate: Any) -> dict[str, Any]:
            with anyio.fail_after(10):
                while not (snapshots and predicate(snapshots[-1])):
                    await changed.wait()
            return snapshots[-1]

        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            await next_snapshot(lambda s: s["pending"] == [])
            _, done = await request_in_background(
                served, tmp_path, "rq", "deploy --prod", cwd="/tmp", timeout_ms=1_000
            )
            first = await next_snapshot(lambda s: len(s["pending"]) == 1)
            item = first["pending"][0]
            assert item["command"] == "deploy --prod"
            assert item["expiresAtMs"] - item["createdAtMs"] == 1_000
            assert item["analysis"]["rows"][0]["argv"] == ["deploy", "--prod"]
            # No decision: the request expires and the stream says so without being asked.
            gone = await next_snapshot(lambda s: s["pending"] == [] and s["recent"])
            assert gone["recent"][0]["state"] == "expired"
            with anyio.fail_after(5):
                await done.wait()
            # Signing out ends the stream.
            out = await client.post(
                served.base + "/logout", data={"csrf": csrf}, headers={"Origin": served.base}
            )
            assert out.status_code == 303
            assert len(served.web.sessions) == 0
            with anyio.fail_after(5):
                await ended.wait()
            tg.cancel_scope.cancel()
        assert (await client.get(served.base + "/api/approvals")).status_code == 401


async def test_odd_input_is_refused_not_an_error(tmp_path: Path) -> None:
    async with serving() as served, _client() as client:
        await client.get(served.base + "/login")
        odd = await client.post(
            served.base + "/login",
            data={"csrf": "é-not-ascii", "secret": "ü"},
            headers={"Origin": served.base},
        )
        assert odd.status_code == 403  # the login nonce does not match: refused, no 500
        many = await client.post(
            served.base + "/login",
            content="&".join(f"f{i}=x" for i in range(50)),
            headers={"Origin": served.base, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert many.status_code == 403


def _scope(host: str, origin: str | None, scheme: str = "http") -> dict[str, Any]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "http", "scheme": scheme, "server": ("127.0.0.1", 8080), "headers": headers}


def test_origin_and_host_rules_behind_a_tls_proxy() -> None:
    proxied = _scope("approvals.example.com", "https://approvals.example.com")
    assert same_origin(proxied, https=True)
    assert not same_origin(proxied)  # over plain HTTP the origin would be http://
    assert not same_origin(
        _scope("approvals.example.com", "http://approvals.example.com"), https=True
    )
    assert not same_origin(_scope("127.0.0.1:8080", None))  # no Origin, no Sec-Fetch-Site
    assert host_allowed(proxied, ["approvals.example.com"])
    assert not host_allowed(proxied, [])
    assert host_allowed(_scope("localhost:8080", None), [])
    assert not host_allowed(_scope("localhost:8081", None), [])
