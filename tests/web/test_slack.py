"""
The Slack formatter and approver against a local HTTP server standing in for Slack (real
sockets, Hypercorn on both sides, asyncio and trio). Interactions are signed here the way
Slack signs them (written out, not taken from slack_sdk) and verified by the approver with
``slack_sdk.signature.SignatureVerifier``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx
import pytest

from openclaw_exec.adapters.slack import ACTION_IDS, SlackApprover, slack_message
from openclaw_exec.adapters.webhook import plan_digest
from openclaw_exec.protocol import ApprovalRequest, Decision

from ._harness import Recorder, approval_request, http_servers

SIGNING_SECRET = "slack-signing-secret-for-tests-0123"


def _buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["action_id"]: e for e in actions["elements"]}


def test_block_kit_message_has_three_bound_buttons_and_no_secrets() -> None:
    request = approval_request(
        "GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ gh release create v1 <notes.md"
        " && echo `id`",
        agent_id="main",
        session_key="agent:main:slack",
    )
    message = slack_message(request)
    text = json.dumps(message)
    assert "ghp_0123456789abcdefghij" not in text
    assert [b["type"] for b in message["blocks"]] == [
        "header", "section", "section", "context", "actions"
    ]  # fmt: skip
    command = message["blocks"][1]["text"]["text"]
    assert command.startswith("```GITHUB_TOKEN=••••")
    assert command.endswith("```")
    assert "&lt;notes.md &amp;&amp;" in command  # Slack's control characters escaped
    buttons = _buttons(message)
    assert set(buttons) == set(ACTION_IDS.values())
    for decision, action_id in ACTION_IDS.items():
        value = json.loads(buttons[action_id]["value"])
        assert value == {"id": request.id, "plan": plan_digest(request), "decision": str(decision)}
        assert len(buttons[action_id]["value"]) <= 2000
    assert buttons[ACTION_IDS[Decision.ALLOW_ONCE]]["style"] == "primary"
    assert buttons[ACTION_IDS[Decision.DENY]]["style"] == "danger"
    assert "confirm" in buttons[ACTION_IDS[Decision.ALLOW_ALWAYS]]
    fields = json.dumps(message["blocks"][2])
    assert "agent:main:slack" in fields
    assert f"<!date^{request.expires_at_ms // 1000}^" in fields
    # Slack's limits hold for a huge command.
    huge = slack_message(approval_request("echo " + "x" * 10_000))
    assert len(huge["blocks"][1]["text"]["text"]) <= 3000
    assert len(huge["text"]) <= 3000


def _interaction(
    request_message: dict[str, Any],
    action_id: str,
    *,
    user: str = "U0APPROVER",
    value: str | None = None,
    kind: str = "block_actions",
    response_url: str = "https://hooks.slack.invalid/actions/1",
) -> bytes:
    button = _buttons(request_message)[action_id]
    payload = {
        "type": kind,
        "user": {"id": user, "username": "ada"},
        "actions": [
            {"action_id": action_id, "block_id": "openclaw-exec.approval",
             "value": button["value"] if value is None else value, "type": "button"}
        ],
        "response_url": response_url,
    }  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()


def _signed(
    body: bytes, *, secret: str = SIGNING_SECRET, at: float | None = None
) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={mac}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.mark.anyio
async def test_a_click_in_slack_decides_and_forgeries_do_not() -> None:
    slack = Recorder()
    approver = SlackApprover("", SIGNING_SECRET, allowed_users={"U0APPROVER"})
    async with http_servers(slack, approver.asgi) as (slack_url, app_url):
        approver.webhook_url = f"{slack_url}/services/T0/B0/x"
        request = approval_request("terraform apply", agent_id="main")
        other: ApprovalRequest = approval_request("terraform destroy")
        answers: list[Any] = []
        done = anyio.Event()

        async def ask() -> None:
            answers.append(await approver.ask(request))
            done.set()

        async with anyio.create_task_group() as tg, httpx.AsyncClient() as client:
            tg.start_soon(ask)
            headers, body = await slack.next_post(1)
            assert headers["content-type"] == "application/json"
            message = json.loads(body)
            assert "terraform apply" in message["blocks"][1]["text"]["text"]

            async def click(content: bytes, headers: dict[str, str]) -> tuple[int, str]:
                answer = await client.post(
                    f"{app_url}/slack/actions", content=content, headers=headers
                )
                return answer.status_code, answer.json()["reason"]

            once = ACTION_IDS[Decision.ALLOW_ONCE]
            good = _interaction(message, once)
            other_message = slack_message(other)
            tampered_value = json.dumps(
                {"id": request.id, "plan": plan_digest(other), "decision": "allow-once"}
            )
            always = ACTION_IDS[Decision.ALLOW_ALWAYS]
            once_value = _buttons(message)[once]["value"]

            def signed(body: bytes) -> tuple[bytes, dict[str, str]]:
                return body, _signed(body)

            cases = {
                "unsigned": (good, {"Content-Type": "application/x-www-form-urlencoded"}),
                "forged": (good, _signed(good, secret="not-the-signing-secret-000")),
                "tampered": (_interaction(message, always), _signed(good)),
                "stale": (good, _signed(good, at=time.time() - 301)),
                "other request": signed(_interaction(other_message, once)),
                "other plan": signed(_interaction(message, once, value=tampered_value)),
                "stranger": signed(_interaction(message, once, user="U0INTRUDER")),
                "value on another button": signed(
                    _interaction(message, ACTION_IDS[Decision.DENY], value=once_value)
                ),
                "not a click": signed(_interaction(message, once, kind="view_submission")),
            }
            results = {name: await click(*case) for name, case in cases.items()}
            assert results == {
                "unsigned": (401, "bad-signature"),
                "forged": (401, "bad-signature"),
                "tampered": (401, "bad-signature"),
                "stale": (401, "stale"),
                "other request": (404, "unknown-approval"),
                "other plan": (409, "plan-mismatch"),
                "stranger": (403, "approver-not-allowed"),
                "value on another button": (400, "bad-request"),
                "not a click": (400, "bad-request"),
            }
            assert not done.is_set()
            good_headers = _signed(good)
            assert await click(good, good_headers) == (200, "ok")
            with anyio.fail_after(5):
                await done.wait()
            ((decision, principal),) = answers
            assert decision is Decision.ALLOW_ONCE
            assert principal.id == "slack:U0APPROVER"
            assert principal.display_name == "ada"
            assert await click(good, good_headers) == (409, "replayed")
            assert await click(good, _signed(good, at=time.time() + 1)) == (404, "unknown-approval")
        # The click's response_url is not Slack's: nothing was posted to it.
        assert len(slack.received) == 1


@pytest.mark.anyio
async def test_the_message_is_replaced_by_the_outcome() -> None:
    slack = Recorder()
    approver = SlackApprover("", SIGNING_SECRET, response_url_prefix="http://127.0.0.1:")
    async with http_servers(slack, approver.asgi) as (slack_url, app_url):
        approver.webhook_url = f"{slack_url}/services/T0/B0/x"
        approver.response_url_prefix = f"{slack_url}/actions/"
        request = approval_request("kubectl delete pod web-0")
        answers: list[Any] = []
        async with anyio.create_task_group() as tg, httpx.AsyncClient() as client:

            async def ask() -> None:
                answers.append(await approver.ask(request))

            tg.start_soon(ask)
            _, body = await slack.next_post(1)
            deny = ACTION_IDS[Decision.DENY]
            click = _interaction(json.loads(body), deny, response_url=f"{slack_url}/actions/7")
            answer = await client.post(f"{app_url}/actions", content=click, headers=_signed(click))
            assert answer.status_code == 200
            _, replaced = await slack.next_post(2)
        assert answers[0][0] is Decision.DENY
        update = json.loads(replaced)
        assert update["replace_original"] is True
        assert "Denied" in update["text"]
        assert "<@U0APPROVER>" in json.dumps(update["blocks"])
        assert "actions" not in [b["type"] for b in update["blocks"]]  # no buttons left
