"""
Slack approvals: a Block Kit message with buttons, and a verified interaction callback.

:func:`slack_message` formats a request as a Block Kit message: the command (redacted, as
the web page shows it), where and for whom it runs, when it expires, and **Allow once** /
**Allow always** (with a confirmation) / **Deny** buttons. Each button's value carries the
approval id, the plan digest (:func:`openclaw_exec.adapters.webhook.plan_digest`) and the
decision, so a click answers exactly the request and plan it was shown for.

:class:`SlackApprover` is an approver (a request in, a decision or ``None`` out): it posts
the message to a Slack incoming-webhook URL and waits for a click. Slack delivers clicks to
your app's interactivity URL; mount :attr:`SlackApprover.asgi` there (or call
:meth:`SlackApprover.handle_interaction`). An interaction is refused unless:

* ``slack_sdk.signature.SignatureVerifier`` accepts it (signing secret, ``v0`` signature,
  timestamp within five minutes): else ``bad-signature`` or ``stale`` (401);
* it was not seen before (``replayed``, 409);
* it is a ``block_actions`` click on one of these buttons (``bad-request``, 400);
* the clicking user is allowed, when ``allowed_users`` is set (``approver-not-allowed``, 403);
* the approval id is one this approver waits for (``unknown-approval``, 404), for the same
  plan (``plan-mismatch``, 409), not expired (``expired``, 410).

The decision is recorded as made by ``slack:<user id>``. Needs ``slack-sdk`` and ``httpx``
(extra ``[slack]``). Runs on asyncio and trio.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from openclaw_exec.adapters._redact import redact_text
from openclaw_exec.adapters.webhook import (
    CallbackBook,
    CallbackResult,
    plan_digest,
    serve_callback,
)
from openclaw_exec.approvers import ApproverAnswer
from openclaw_exec.protocol import ApprovalRequest, Decision, Principal

if TYPE_CHECKING:
    import httpx
    from starlette.types import Receive, Scope, Send

__all__ = ["ACTION_IDS", "SlackApprover", "button_value", "slack_message"]

_LOG = logging.getLogger("openclaw_exec.slack")

ACTION_IDS: Mapping[Decision, str] = {
    Decision.ALLOW_ONCE: "openclaw-exec.allow-once",
    Decision.ALLOW_ALWAYS: "openclaw-exec.allow-always",
    Decision.DENY: "openclaw-exec.deny",
}
"""The ``action_id`` of each button."""

_MAX_SECTION = 2900  # Slack: 3000 characters per section text


def _mrkdwn(text: str) -> str:
    """Escape Slack's control characters; keep a code block closed."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("```", "`\u200b``")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def button_value(request: ApprovalRequest, decision: Decision) -> str:
    """What a button carries: the approval id, the plan digest and the decision (JSON)."""
    document = {"id": request.id, "plan": plan_digest(request), "decision": str(decision)}
    return json.dumps(document, separators=(",", ":"))


def slack_message(request: ApprovalRequest) -> dict[str, Any]:
    """
    A Block Kit message (``{"text", "blocks"}``) asking a human about *request*.

    Every string taken from the command is redacted for display and escaped for Slack.
    """
    command = _cut(_mrkdwn(redact_text(request.command)), _MAX_SECTION)
    facts = [
        ("cwd", request.cwd),
        ("agent", request.agent_id),
        ("session", request.session_key),
        ("host", request.host),
    ]
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{name}*\n{_mrkdwn(redact_text(value))}", 1900)}
        for name, value in facts
        if value
    ]
    expires = request.expires_at_ms // 1000
    fields.append(
        {
            "type": "mrkdwn",
            "text": f"*expires*\n<!date^{expires}^{{time}} {{date_short_pretty}}|{expires}>",
        }
    )
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": ACTION_IDS[Decision.ALLOW_ONCE],
            "text": {"type": "plain_text", "text": "Allow once"},
            "style": "primary",
            "value": button_value(request, Decision.ALLOW_ONCE),
        },
        {
            "type": "button",
            "action_id": ACTION_IDS[Decision.ALLOW_ALWAYS],
            "text": {"type": "plain_text", "text": "Allow always"},
            "value": button_value(request, Decision.ALLOW_ALWAYS),
            "confirm": {
                "title": {"type": "plain_text", "text": "Allow always?"},
                "text": {
                    "type": "mrkdwn",
                    "text": "This command will run now and be trusted from now on.",
                },
                "confirm": {"type": "plain_text", "text": "Allow always"},
                "deny": {"type": "plain_text", "text": "Cancel"},
            },
        },
        {
            "type": "button",
            "action_id": ACTION_IDS[Decision.DENY],
            "text": {"type": "plain_text", "text": "Deny"},
            "style": "danger",
            "value": button_value(request, Decision.DENY),
        },
    ]
    ids = f"approval `{_mrkdwn(request.id)}` · plan `{plan_digest(request)[:16]}`"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Exec approval requested"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{command}```"}},
        {"type": "section", "fields": fields[:10]},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": ids}],
        },
        {"type": "actions", "block_id": "openclaw-exec.approval", "elements": buttons},
    ]
    return {"text": _cut(f"Exec approval requested: {command}", 3000), "blocks": blocks}


_OUTCOME = {
    Decision.ALLOW_ONCE: "Allowed once",
    Decision.ALLOW_ALWAYS: "Allowed always",
    Decision.DENY: "Denied",
}


def _settled_message(
    request: ApprovalRequest, decision: Decision, approver: Principal
) -> dict[str, Any]:
    """The message that replaces the buttons once a click decided."""
    command = _cut(_mrkdwn(redact_text(request.command)), _MAX_SECTION)
    who = approver.id.removeprefix("slack:")
    outcome = f"*{_OUTCOME[decision]}* by <@{_mrkdwn(who)}>"
    return {
        "replace_original": True,
        "text": _cut(f"{_OUTCOME[decision]}: {command}", 3000),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{command}```"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]},
        ],
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


class SlackApprover:
    """
    An approver that posts a Block Kit message to Slack and resolves from its buttons.

    Args:
        webhook_url: The incoming-webhook URL the message is posted to.
        signing_secret: The Slack app's signing secret (interactions are verified with it).
        allowed_users: Slack user ids whose clicks count (``None``: anyone in the channel).
        client: The ``httpx.AsyncClient`` to post with (default: one per call).
        clock: Unix time in seconds (tests may inject one).
        post_timeout_s: Time allowed for the POST itself.
        response_url_prefix: After a click, the message is replaced by the outcome through
            the click's ``response_url`` when it starts with this (Slack's own host by
            default: a URL elsewhere is never posted to).

    A failed post is "no answer" (``None``): askFallback applies at the request's expiry.
    """

    def __init__(
        self,
        webhook_url: str,
        signing_secret: str,
        *,
        allowed_users: Iterable[str] | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        post_timeout_s: float = 10.0,
        response_url_prefix: str = "https://hooks.slack.com/",
    ) -> None:
        from slack_sdk.signature import Clock, SignatureVerifier  # noqa: PLC0415 - [slack]

        class _Clock(Clock):
            def now(self) -> float:
                return clock()

        self.webhook_url = webhook_url
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock())
        self.allowed_users = None if allowed_users is None else frozenset(allowed_users)
        self._client = client
        self.clock = clock
        self.post_timeout_s = post_timeout_s
        self.response_url_prefix = response_url_prefix
        self.book = CallbackBook(tolerance_s=300.0)

    def __repr__(self) -> str:
        return f"SlackApprover(webhook_url={self.webhook_url!r})"

    async def __call__(self, request: ApprovalRequest, /) -> ApproverAnswer | None:
        """Post the message for *request* and wait for a click (``None``: no answer)."""
        answer = await self.ask(request)
        return None if answer is None else ApproverAnswer(*answer)

    async def ask(self, request: ApprovalRequest) -> tuple[Decision, Principal] | None:
        """Post the message; the decision and the Slack user who made it, or ``None``."""
        waiter = self.book.open(request)
        try:
            if not await self._post(self.webhook_url, slack_message(request), request.id):
                return None
            answer = await self.book.wait(waiter, int(self.clock() * 1000))
        finally:
            self.book.close(request.id, waiter)
        url = waiter.context.get("response_url", "")
        if answer is not None and url.startswith(self.response_url_prefix):
            # Replace the buttons with the outcome, so nobody clicks a settled request.
            await self._post(url, _settled_message(request, *answer), request.id)
        return answer

    async def _post(self, url: str, message: Mapping[str, Any], approval_id: str) -> bool:
        import httpx  # noqa: PLC0415 - the [slack] extra

        body = json.dumps(message).encode()
        headers = {"Content-Type": "application/json"}
        try:
            if self._client is not None:
                response = await self._client.post(
                    url, content=body, headers=headers, timeout=self.post_timeout_s
                )
            else:
                async with httpx.AsyncClient(timeout=self.post_timeout_s) as client:
                    response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            _LOG.warning("slack: posting for approval %s failed: %s", approval_id, exc)
            return False
        if not response.is_success:
            status = response.status_code
            _LOG.warning("slack: %s answered %d for approval %s", url, status, approval_id)
            return False
        return True

    def _signature_problem(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        timestamp = _header(headers, "X-Slack-Request-Timestamp")
        signature = _header(headers, "X-Slack-Signature")
        if not timestamp or not signature or not timestamp.isdigit() or len(timestamp) > 12:
            return "bad-signature"
        try:
            if self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
                return None
            expected = self._verifier.generate_signature(timestamp=timestamp, body=body)
        except UnicodeDecodeError:
            return "bad-signature"
        if expected is None or expected != signature:
            return "bad-signature"
        return "stale"  # the signature matched: the verifier refused the timestamp

    def handle_interaction(self, body: bytes, headers: Mapping[str, str]) -> CallbackResult:
        """Verify a Slack interaction and apply the clicked decision (see the module doc)."""
        problem = self._signature_problem(body, headers)
        if problem is not None:
            return CallbackResult(401, problem)
        signature = _header(headers, "X-Slack-Signature") or ""
        now = self.clock()
        if not self.book.first_time(signature, now):
            return CallbackResult(409, "replayed")
        click = _parse_click(body)
        if click is None:
            return CallbackResult(400, "bad-request")
        approval_id, digest, decision, user_id, user_name, response_url = click
        if self.allowed_users is not None and user_id not in self.allowed_users:
            return CallbackResult(403, "approver-not-allowed", approval_id)
        principal = Principal(id=f"slack:{user_id}", display_name=user_name)
        return self.book.deliver(
            approval_id,
            digest,
            decision,
            principal,
            now_ms=int(now * 1000),
            context={"response_url": response_url},
        )

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An ASGI app for the interactivity URL: POST only, bodies up to 64 KiB."""
        await serve_callback(
            scope, receive, send, self.handle_interaction, what="slack: interaction"
        )


def _parse_click(body: bytes) -> tuple[str, str, Decision, str, str | None, str] | None:
    """(approval id, digest, decision, user id, user name, response URL) of a click, or None."""
    try:
        form = parse_qs(body.decode("utf-8"), max_num_fields=4)
        payload = json.loads(form["payload"][0])
        if payload.get("type") != "block_actions":
            return None
        (action,) = payload["actions"]
        value = json.loads(action["value"])
        decision = Decision(value["decision"])
        if action.get("action_id") != ACTION_IDS[decision]:
            return None  # a value moved onto another button
        user = payload["user"]
        user_id, name = user["id"], user.get("username") or user.get("name")
        approval_id, digest = value["id"], value["plan"]
        response_url = payload.get("response_url")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError, RecursionError):
        return None
    strings = (approval_id, digest, user_id)
    if not all(isinstance(s, str) and s for s in strings):
        return None
    return (
        approval_id,
        digest,
        decision,
        user_id,
        name if isinstance(name, str) else None,
        response_url if isinstance(response_url, str) else "",
    )
