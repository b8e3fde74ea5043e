"""
The operator (approver) client on a gateway session.

:class:`ApprovalOperator` receives ``exec.approval.requested`` and resolves through a
callback; before it serves, it checks that the gateway will deliver other clients' requests
to it (:func:`~openclaw_exec.adapters.websocket._delivery.approval_delivery_problem`) and
fails with the remedy when it would not. The requester side is in ``_requester``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import anyio.abc
import attrs

from openclaw_exec.adapters._approver_runner import (
    ApproverAnswer,
    ApproverLike,
    as_approver,
)
from openclaw_exec.adapters.websocket._client import GatewaySession, open_gateway_session
from openclaw_exec.adapters.websocket._delivery import check_delivery
from openclaw_exec.adapters.websocket._values import (
    GatewayClientOptions,
    GatewayError,
    HelloOk,
    _obj,
    _opt_str,
    _retry_allowed,
)
from openclaw_exec.exceptions import TransportError
from openclaw_exec.protocol import ApprovalRequest, Decision

__all__ = [
    "ApprovalCallback",
    "ApprovalOperator",
    "ApprovalPrompt",
    "prompt_callback",
]

logger = logging.getLogger("openclaw_exec.approvers")


@attrs.frozen(kw_only=True)
class ApprovalPrompt:
    """
    An ``exec.approval.requested`` event, as shown to a human approver.

    Attributes:
        id: The approval id to resolve.
        command: The command text to show.
        command_argv: The argv, when the requester sent one.
        cwd: Working directory.
        host: ``gateway`` or ``node``.
        security: The requester's security mode.
        ask: The requester's ask mode.
        agent_id: The agent that wants to run it.
        session_key: The agent session.
        created_at_ms: When the gateway registered it.
        expires_at_ms: When it expires (askFallback applies then).
        allowed_decisions: Decisions the gateway accepts for it (2026.9.6), else all three.
        raw: The whole event payload.
    """

    id: str
    command: str
    command_argv: tuple[str, ...] | None = None
    cwd: str | None = None
    host: str | None = None
    security: str | None = None
    ask: str | None = None
    agent_id: str | None = None
    session_key: str | None = None
    created_at_ms: int | None = None
    expires_at_ms: int | None = None
    allowed_decisions: tuple[Decision, ...] = tuple(Decision)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_payload(cls, payload: object) -> ApprovalPrompt:
        """
        Read an ``exec.approval.requested`` payload.

        Raises:
            GatewayError: Without an ``id`` or a command (nothing to show, nothing to answer).
        """
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
            raise GatewayError(
                "exec.approval.requested without an id", method="exec.approval.requested"
            )
        request = _obj(payload.get("request"))
        command = request.get("command")
        argv = request.get("commandArgv")
        argv_tuple = (
            tuple(argv)
            if isinstance(argv, list) and all(isinstance(a, str) for a in argv)
            else None
        )
        if not isinstance(command, str) or not command:
            plan = _obj(request.get("systemRunPlan"))
            command = _opt_str(plan.get("commandText"))
        if not command:
            if argv_tuple is None:
                raise GatewayError(
                    "exec.approval.requested without a command", method="exec.approval.requested"
                )
            command = " ".join(argv_tuple)
        allowed = payload.get("allowedDecisions")
        decisions: tuple[Decision, ...] = tuple(Decision)
        if isinstance(allowed, list):
            decisions = tuple(d for d in Decision if d.value in allowed)
        created, expires = payload.get("createdAtMs"), payload.get("expiresAtMs")
        return cls(
            id=payload["id"],
            command=command,
            command_argv=argv_tuple,
            cwd=_opt_str(request.get("cwd")),
            host=_opt_str(request.get("host")),
            security=_opt_str(request.get("security")),
            ask=_opt_str(request.get("ask")),
            agent_id=_opt_str(request.get("agentId")),
            session_key=_opt_str(request.get("sessionKey")),
            created_at_ms=created if isinstance(created, int) else None,
            expires_at_ms=expires if isinstance(expires, int) else None,
            allowed_decisions=decisions,
            raw=dict(payload),
        )

    def to_request(self) -> ApprovalRequest:
        """
        The prompt as the :class:`~openclaw_exec.protocol.ApprovalRequest` approvers take.

        Missing times become ``0`` (created) and the creation time (expires): the gateway
        owns the deadline; the operator stops asking when the gateway settles the request.

        Raises:
            ValueError: The id or command cannot be an approval request's.
        """
        created = self.created_at_ms if self.created_at_ms is not None else 0
        expires = self.expires_at_ms if self.expires_at_ms is not None else created
        return ApprovalRequest(
            id=self.id,
            command=self.command,
            created_at_ms=created,
            expires_at_ms=max(expires, created),
            command_argv=self.command_argv,
            cwd=self.cwd,
            host=self.host,
            security=self.security,
            ask=self.ask,
            agent_id=self.agent_id,
            session_key=self.session_key,
        )


def prompt_callback(approver: ApproverLike) -> ApprovalCallback:
    """
    An :class:`ApprovalOperator` callback from any approver of the one contract.

    The prompt is shown to *approver* as an :class:`~openclaw_exec.protocol.ApprovalRequest`
    (:meth:`ApprovalPrompt.to_request`), with the contract's error rules
    (:func:`~openclaw_exec.approvers.as_approver`: an exception or a nonsense answer is a
    logged deny). An :class:`~openclaw_exec.approvers.ApproverAnswer` gives its decision (the
    gateway records the operator's own identity as ``resolvedBy``). A prompt that cannot be
    an approval request is left unanswered (logged).
    """
    safe = as_approver(approver)

    async def on_request(prompt: ApprovalPrompt) -> Decision | None:
        try:
            request = prompt.to_request()
        except (TypeError, ValueError) as exc:
            logger.warning("approval prompt %r cannot be shown: %s", prompt.id, exc)
            return None
        answer = await safe(request)
        return answer.decision if isinstance(answer, ApproverAnswer) else answer

    return on_request


ApprovalCallback = Callable[[ApprovalPrompt], Awaitable[Decision | None]]
"""Answer a prompt with a decision, or ``None`` to leave it to another approver / the timeout."""


class ApprovalOperator:
    """
    An approver: receives ``exec.approval.requested`` and resolves through *on_request*.

    Any approver of the one contract (:class:`~openclaw_exec.abc.Approver`: a request in, a
    decision or ``None`` out) serves a gateway as ``on_request=prompt_callback(approver)``.

    Run it in a task group: ``hello = await tg.start(operator.run)``. It reconnects with
    the options' back-off when the connection drops; a decision made while disconnected is
    sent after the reconnect (never lost, never sent twice for a resolved request). If the
    callback raises, the request is denied (fail closed). Pairing and auth refusals end
    :meth:`run` with the error.

    At every connect it checks what the gateway will deliver: a connection that would never
    be shown other clients' requests (OpenClaw 2026.9.6 without ``operator.admin``, missing
    approval ``caps``, no approvals scope) ends :meth:`run` with
    :class:`~openclaw_exec.adapters.websocket.ApprovalDeliveryError` and its remedy instead
    of listening to silence. ``verify_delivery=False`` skips the check (for an approver that
    only answers its own device's requests on OpenClaw 2026.9.6).
    """

    def __init__(
        self,
        options: GatewayClientOptions,
        on_request: ApprovalCallback,
        *,
        verify_delivery: bool = True,
    ) -> None:
        self.options = options
        self.on_request = on_request
        self.verify_delivery = verify_delivery
        self.session: GatewaySession | None = None
        self.resolved: dict[str, Decision] = {}
        self._unsent: dict[str, Decision] = {}
        self._handlers: dict[str, anyio.CancelScope] = {}
        self._sending: set[str] = set()
        self.connections = 0

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[HelloOk] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """
        Connect, serve approval prompts, reconnect on loss; returns only by cancellation.

        Raises:
            PairingRequiredError: The device must be approved by a human first.
            ApprovalDeliveryError: The gateway would not show this approver other clients'
                requests (the message says why, ``remediation`` what to change).
            GatewayError: Another refusal (or ``UNAVAILABLE`` beyond the retry budget).
            TransportError: The gateway stayed unreachable beyond the retry budget.
        """
        failure: GatewayError | TransportError | None = None
        async with anyio.create_task_group() as handlers:
            try:
                await self._run(handlers, task_status)
            except (GatewayError, TransportError) as exc:
                failure = exc  # raised below, not wrapped in an exception group
                handlers.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _run(
        self, handlers: anyio.abc.TaskGroup, task_status: anyio.abc.TaskStatus[HelloOk]
    ) -> None:
        started = False
        failures = 0
        while True:
            try:
                # Connected but never shown a request would be a silent deny-all: refuse.
                check = self._check_delivery if self.verify_delivery else None
                async with open_gateway_session(self.options, check=check) as session:
                    self.session = session
                    self.connections += 1
                    failures = 0
                    if not started:
                        started = True
                        task_status.started(session.hello)
                    for approval_id, decision in list(self._unsent.items()):
                        handlers.start_soon(self._send_decision, session, approval_id, decision)
                    if self.connections > 1:
                        handlers.start_soon(self._catch_up, session, handlers)
                    await self._serve(session, handlers)
            except (GatewayError, TransportError) as exc:
                self.session = None
                floor = _retry_allowed(exc)
                failures += 1
                if floor is None or failures >= self.options.reconnect.max_attempts:
                    raise
                await anyio.sleep(max(floor, self.options.reconnect.delay(failures)))
                continue
            finally:
                self.session = None
            # The session ended by itself (the gateway closed): reconnect after a pause.
            failures += 1
            if failures >= self.options.reconnect.max_attempts:
                raise TransportError(f"{self.options.url}: connection keeps closing")
            await anyio.sleep(self.options.reconnect.delay(failures))

    def _check_delivery(self, hello: HelloOk) -> None:
        check_delivery(hello, self.options)

    async def _serve(self, session: GatewaySession, handlers: anyio.abc.TaskGroup) -> None:
        # Callbacks run in *handlers*, which outlives this connection: a human who answers
        # while we reconnect is not lost; the decision is sent on the next connection.
        events = session.events
        while True:
            try:  # what is already buffered, without a checkpoint per event
                event = events.receive_nowait()
            except anyio.WouldBlock:
                try:
                    event = await events.receive()
                except anyio.EndOfStream:
                    return
            except anyio.EndOfStream:
                return
            if event.name == "exec.approval.requested":
                self._offer(event.payload, handlers)
            elif event.name == "exec.approval.resolved" and isinstance(event.payload, dict):
                resolved_id = _opt_str(event.payload.get("id"))
                scope = self._handlers.pop(resolved_id, None) if resolved_id else None
                if scope is not None:
                    scope.cancel()  # someone else decided: stop asking our human

    def _offer(self, payload: object, handlers: anyio.abc.TaskGroup) -> None:
        """Ask about a requested approval, unless it is being or was already answered."""
        try:
            prompt = ApprovalPrompt.from_payload(payload)
        except GatewayError:
            return
        if prompt.id in self._handlers or prompt.id in self.resolved or prompt.id in self._unsent:
            return
        self._handlers[prompt.id] = anyio.CancelScope()
        handlers.start_soon(self._handle, prompt)

    async def _catch_up(self, session: GatewaySession, handlers: anyio.abc.TaskGroup) -> None:
        """
        After a reconnect, ask about what is pending: its requested events went to nobody.

        The gateway kit drops a connection that cannot keep up, and a network blip drops any;
        without this, a request shown while we were away waited for its timeout (askFallback)
        though we were back. Gateways without ``exec.approval.list`` (OpenClaw before
        2026.9) are left as they are; a request someone else settles meanwhile is answered
        "not found" and dropped.
        """
        methods = session.hello.methods
        if methods and "exec.approval.list" not in methods:
            return
        try:
            pending = await session.request("exec.approval.list", {})
        except (GatewayError, TransportError):
            return
        for item in pending if isinstance(pending, list) else ():
            self._offer(item, handlers)

    async def _handle(self, prompt: ApprovalPrompt) -> None:
        scope = self._handlers.get(prompt.id) or anyio.CancelScope()
        with scope:
            try:
                try:
                    decision = await self.on_request(prompt)
                except Exception as exc:  # noqa: BLE001 - a broken callback must not approve
                    logger.error("approval %s: the callback raised %r; denying", prompt.id, exc)  # noqa: TRY400
                    decision = Decision.DENY
                if decision is None:
                    return
                if decision not in prompt.allowed_decisions:
                    decision = Decision.DENY
                self._unsent[prompt.id] = decision
            finally:
                self._handlers.pop(prompt.id, None)
        session = self.session
        if prompt.id in self._unsent and session is not None:
            await self._send_decision(session, prompt.id, self._unsent[prompt.id])

    async def _send_decision(
        self, session: GatewaySession, approval_id: str, decision: Decision
    ) -> None:
        if approval_id in self._sending:
            return
        self._sending.add(approval_id)
        try:
            await session.request(
                "exec.approval.resolve", {"id": approval_id, "decision": decision.value}
            )
        except GatewayError:
            # Unknown or already settled id: nothing left to send.
            self._unsent.pop(approval_id, None)
            return
        except TransportError:
            return  # kept in _unsent; sent again after the reconnect
        finally:
            self._sending.discard(approval_id)
        self._unsent.pop(approval_id, None)
        self.resolved[approval_id] = decision
