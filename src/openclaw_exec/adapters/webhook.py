"""
Webhook approvals: post each request, signed, to a URL; resolve it from a signed callback.

:class:`WebhookApprover` is an approver (one async callable: a request in, a decision or
``None`` out). For each request it POSTs a JSON payload to the configured URL and waits for
the service there to POST a decision back to :meth:`WebhookApprover.handle_callback` (an ASGI
app is included: mount :attr:`WebhookApprover.asgi` at the callback URL).

Both directions are signed the same way, with one shared secret::

    X-OpenClaw-Exec-Timestamp: <unix seconds>
    X-OpenClaw-Exec-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)>

A callback is refused unless every check passes, each with its own reason:

====================  ======  =========================================================
reason                status  when
====================  ======  =========================================================
``bad-signature``     401     missing or malformed headers, or a signature that does not
                              match (forged, or a body changed in transit)
``stale``             401     the timestamp is more than ``tolerance_s`` (300 s) away
                              from now: an old capture, or a clock far off
``replayed``          409     the same signed callback was accepted or refused before
``unknown-approval``  404     no request with that id is waiting here (another
                              approver's, an old one, or made up)
``plan-mismatch``     409     the id is right but ``planDigest`` names another plan
``expired``           410     the request expired before the callback arrived
``bad-request``       400     not JSON, not an object, or not a known decision
====================  ======  =========================================================

``planDigest`` (:func:`plan_digest`) is a SHA-256 over the approval id and the exact plan
(command, argv, cwd, env hash, agent, session, expiry), so a decision made for one plan is
never applied to another, even under the same id. Each request is answered at most once:
the first valid callback wins, later ones find nothing waiting. Commands are sent redacted
(as the web page shows them) unless ``redact=False``.

Needs ``httpx`` (extra ``[webhook]``). Runs on asyncio and trio.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from openclaw_exec.adapters._redact import redact_argv, redact_text
from openclaw_exec.approvers import ApproverAnswer
from openclaw_exec.protocol import ApprovalRequest, Decision, Principal

if TYPE_CHECKING:
    import httpx
    from starlette.types import Receive, Scope, Send

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "CallbackBook",
    "CallbackResult",
    "WebhookApprover",
    "lifespan",
    "plan_digest",
    "read_body",
    "request_payload",
    "respond",
    "serve_callback",
    "sign",
    "verify_signature",
]

_LOG = logging.getLogger("openclaw_exec.webhook")
TIMESTAMP_HEADER = "X-OpenClaw-Exec-Timestamp"
SIGNATURE_HEADER = "X-OpenClaw-Exec-Signature"
_MAX_CALLBACK = 64 * 1024


def plan_digest(request: ApprovalRequest) -> str:
    """SHA-256 (hex) over the approval id and the exact plan a decision would approve."""
    binding = request.binding
    document = {
        "id": request.id,
        "command": request.command,
        "argv": None if binding is None else list(binding.argv),
        "cwd": binding.cwd if binding is not None else request.cwd,
        "envHash": None if binding is None else binding.env_hash,
        "agentId": binding.agent_id if binding is not None else request.agent_id,
        "sessionKey": binding.session_key if binding is not None else request.session_key,
        "expiresAtMs": request.expires_at_ms,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``v1=…`` signature of *body* sent at *timestamp* (unix seconds)."""
    message = b"v1:" + str(timestamp).encode("ascii") + b":" + body
    return "v1=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float,
    tolerance_s: float = 300.0,
) -> str | None:
    """``None`` when *signature* is valid and *timestamp* fresh; else the refusal reason."""
    if not timestamp or not signature or not timestamp.isdigit() or len(timestamp) > 12:
        return "bad-signature"
    expected = sign(secret, int(timestamp), body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        return "bad-signature"
    if abs(now - int(timestamp)) > tolerance_s:
        return "stale"
    return None


@attrs.frozen
class CallbackResult:
    """
    What a callback handler decided.

    Attributes:
        status: The HTTP status to answer with.
        reason: ``ok`` or the refusal reason (see the module's table).
        approval_id: The approval the callback named, when it could be read.
    """

    status: int
    reason: str
    approval_id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the callback was accepted."""
        return self.status == 200

    def json(self) -> bytes:
        """The response body."""
        return json.dumps(
            {"ok": self.ok, "reason": self.reason, "approvalId": self.approval_id}
        ).encode()


@attrs.define
class _Waiter:
    digest: str
    expires_at_ms: int
    event: anyio.Event = attrs.Factory(anyio.Event)
    answer: tuple[Decision, Principal] | None = None
    context: dict[str, str] = attrs.Factory(dict)


@attrs.define
class CallbackBook:
    """
    Requests waiting for a callback, and the signed callbacks already seen.

    Shared by the webhook and Slack approvers: the checks after the signature (replay,
    known id, same plan, not expired) and the one-answer rule live here.
    """

    tolerance_s: float = 300.0
    max_seen: int = 100_000
    _waiting: dict[str, _Waiter] = attrs.field(factory=dict, init=False)
    _seen: OrderedDict[str, float] = attrs.field(factory=OrderedDict, init=False)

    def open(self, request: ApprovalRequest) -> _Waiter:
        """Start waiting for *request* (one waiter per id; a second one replaces it)."""
        waiter = _Waiter(plan_digest(request), request.expires_at_ms)
        self._waiting[request.id] = waiter
        return waiter

    def close(self, approval_id: str, waiter: _Waiter) -> None:
        """Stop waiting for *approval_id* (answered, expired or cancelled)."""
        if self._waiting.get(approval_id) is waiter:
            del self._waiting[approval_id]

    def first_time(self, signature: str, now: float) -> bool:
        """Record a signed callback; ``False`` if it was seen within the tolerance window."""
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at <= 2 * self.tolerance_s and len(self._seen) < self.max_seen:
                break
            del self._seen[oldest]
        if signature in self._seen:
            return False
        self._seen[signature] = now
        return True

    def deliver(
        self,
        approval_id: object,
        digest: object,
        decision: Decision,
        approver: Principal,
        *,
        now_ms: int,
        context: Mapping[str, str] | None = None,
    ) -> CallbackResult:
        """
        Apply a verified decision to the request it names, if every check passes.

        *context* is kept with the answer (the Slack approver keeps the click's
        ``response_url`` there).
        """
        if not isinstance(approval_id, str) or not isinstance(digest, str):
            return CallbackResult(400, "bad-request")
        waiter = self._waiting.get(approval_id)
        if waiter is None:
            return CallbackResult(404, "unknown-approval", approval_id)
        if not hmac.compare_digest(waiter.digest.encode(), digest.encode("utf-8", "replace")):
            return CallbackResult(409, "plan-mismatch", approval_id)
        if now_ms >= waiter.expires_at_ms:
            return CallbackResult(410, "expired", approval_id)
        if waiter.answer is not None:  # pragma: no cover - closed before a second delivery
            return CallbackResult(409, "already-decided", approval_id)
        waiter.answer = (decision, approver)
        waiter.context.update(context or {})
        waiter.event.set()
        del self._waiting[approval_id]
        return CallbackResult(200, "ok", approval_id)

    async def wait(self, waiter: _Waiter, now_ms: int) -> tuple[Decision, Principal] | None:
        """The answer, or ``None`` when the request expires first."""
        with anyio.move_on_after(max(0.0, (waiter.expires_at_ms - now_ms) / 1000)):
            await waiter.event.wait()
        return waiter.answer


async def lifespan(scope: Scope, receive: Receive, send: Send) -> bool:
    """
    Answer the ASGI lifespan protocol (nothing to start or stop); ``False`` for other scopes.

    An app that ignored it would make some servers (Hypercorn on trio) fail at start-up.
    """
    if scope["type"] != "lifespan":
        return False
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return True


async def read_body(receive: Receive, limit: int = _MAX_CALLBACK) -> bytes | None:
    """An ASGI request body, or ``None`` past *limit* bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, result: CallbackResult) -> None:
    """Send *result* as a JSON response."""
    await send(
        {
            "type": "http.response.start",
            "status": result.status,
            "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": result.json()})


async def serve_callback(
    scope: Scope,
    receive: Receive,
    send: Send,
    handle: Callable[[bytes, Mapping[str, str]], CallbackResult],
    *,
    what: str,
) -> None:
    """
    One signed-callback endpoint as ASGI: POST only, bodies up to 64 KiB, JSON answers.

    *handle* checks and applies the callback (signature, freshness, binding); a refusal
    is logged with its reason (never the body: it may carry a secret) as ``what``.
    """
    if await lifespan(scope, receive, send) or scope["type"] != "http":
        return
    if scope.get("method") != "POST":
        await respond(send, CallbackResult(405, "method-not-allowed"))
        return
    body = await read_body(receive)
    if body is None:
        await respond(send, CallbackResult(413, "too-large"))
        return
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
    result = handle(body, headers)
    if not result.ok:
        _LOG.warning("%s refused (%s)", what, result.reason)
    await respond(send, result)


def request_payload(
    request: ApprovalRequest, *, callback_url: str | None, redact: bool = True
) -> dict[str, Any]:
    """The JSON document posted for *request*."""

    def text(value: str | None) -> str | None:
        return None if value is None or not redact else redact_text(value)

    argv = request.command_argv
    return {
        "type": "exec.approval.requested",
        "version": 1,
        "approvalId": request.id,
        "planDigest": plan_digest(request),
        "command": redact_text(request.command) if redact else request.command,
        "argv": None if argv is None else (redact_argv(argv) if redact else list(argv)),
        "cwd": text(request.cwd) if redact else request.cwd,
        "host": request.host,
        "agentId": request.agent_id,
        "sessionKey": request.session_key,
        "envKeys": list(request.env_keys or ()),
        "createdAtMs": request.created_at_ms,
        "expiresAtMs": request.expires_at_ms,
        "decisions": [str(d) for d in Decision],
        "callbackUrl": callback_url,
    }


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _decision(value: object) -> Decision | None:
    try:
        return Decision(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


class WebhookApprover:
    """
    An approver that asks a web service through a signed webhook and a signed callback.

    Args:
        url: Where each request is POSTed (JSON, signed).
        secret: The shared HMAC key (both directions); at least 32 bytes.
        callback_url: Where the service answers; sent in the payload (``callbackUrl``).
        client: The ``httpx.AsyncClient`` to post with (default: one per call).
        tolerance_s: How far a callback's timestamp may be from now.
        redact: Mask secret-looking values of the command in the payload.
        clock: Unix time in seconds (tests may inject one).
        post_timeout_s: Time allowed for the POST itself.

    A failed POST (network error, non-2xx answer) is "no answer" (``None``): the approval
    stays pending and askFallback applies at its expiry. The service says who decided with
    ``"approver": {"id": …, "name": …}`` in the callback (recorded as ``webhook:<id>``).
    """

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        callback_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        tolerance_s: float = 300.0,
        redact: bool = True,
        clock: Callable[[], float] = time.time,
        post_timeout_s: float = 10.0,
    ) -> None:
        if len(bytes(secret)) < 32:  # bytes(): a str secret is a TypeError, not a weak key
            raise ValueError("the webhook secret must be at least 32 bytes")
        self.url = url
        self.callback_url = callback_url
        self._secret = secret
        self._client = client
        self.redact = redact
        self.clock = clock
        self.post_timeout_s = post_timeout_s
        self.book = CallbackBook(tolerance_s=tolerance_s)

    def __repr__(self) -> str:
        return f"WebhookApprover(url={self.url!r}, callback_url={self.callback_url!r})"

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def __call__(self, request: ApprovalRequest, /) -> ApproverAnswer | None:
        """Post *request* and wait for its callback (``None``: no answer)."""
        answer = await self.ask(request)
        return None if answer is None else ApproverAnswer(*answer)

    async def ask(self, request: ApprovalRequest) -> tuple[Decision, Principal] | None:
        """Post *request*; the decision and who made it, or ``None``."""
        waiter = self.book.open(request)
        try:
            body = json.dumps(
                request_payload(request, callback_url=self.callback_url, redact=self.redact)
            ).encode()
            if not await self._post(request.id, body):
                return None
            return await self.book.wait(waiter, self._now_ms())
        finally:
            self.book.close(request.id, waiter)

    async def _post(self, approval_id: str, body: bytes) -> bool:
        import httpx  # noqa: PLC0415 - the [webhook] extra

        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            if self._client is not None:
                response = await self._client.post(
                    self.url, content=body, headers=headers, timeout=self.post_timeout_s
                )
            else:
                async with httpx.AsyncClient(timeout=self.post_timeout_s) as client:
                    response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            _LOG.warning("webhook: posting approval %s failed: %s", approval_id, exc)
            return False
        if not response.is_success:
            _LOG.warning(
                "webhook: %s answered %d for approval %s",
                self.url,
                response.status_code,
                approval_id,
            )
            return False
        return True

    def handle_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackResult:
        """Verify a callback and apply its decision (see the module's table of refusals)."""
        now = self.clock()
        signature = _header(headers, SIGNATURE_HEADER)
        problem = verify_signature(
            self._secret,
            body,
            _header(headers, TIMESTAMP_HEADER),
            signature,
            now=now,
            tolerance_s=self.book.tolerance_s,
        )
        if problem is not None:
            return CallbackResult(401, problem)
        assert signature is not None
        if not self.book.first_time(signature.strip(), now):
            return CallbackResult(409, "replayed")
        document = _json_object(body)
        decision = _decision(document.get("decision")) if document is not None else None
        if document is None or decision is None:
            return CallbackResult(400, "bad-request")
        who = document.get("approver")
        who_id = who.get("id") if isinstance(who, dict) else None
        who_name = who.get("name") if isinstance(who, dict) else None
        principal = Principal(
            id=f"webhook:{who_id}" if isinstance(who_id, str) and who_id else "webhook",
            display_name=who_name if isinstance(who_name, str) and who_name else None,
        )
        return self.book.deliver(
            document.get("approvalId"),
            document.get("planDigest"),
            decision,
            principal,
            now_ms=int(now * 1000),
        )

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An ASGI app for the callback URL: POST only, bodies up to 64 KiB."""
        await serve_callback(scope, receive, send, self.handle_callback, what="webhook: callback")
