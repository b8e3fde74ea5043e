"""
The read and admin approval methods of OpenClaw 2026.9.6's gateway, as values.

``exec.approval.list`` / ``exec.approval.get`` (pending exec approvals), the kind-agnostic
``approval.get`` / ``approval.resolve`` / ``approval.history`` (exec, plugin and
system-agent approvals; the first answer wins and every contender gets the recorded one),
and ``exec.approvals.get`` / ``exec.approvals.set`` (the host approvals file, guarded by
the hash of the version the writer read). Each payload is a frozen value with a
``from_payload`` reader (what the client gets) and a ``to_payload`` writer (what the gateway
kit sends), so the two ends cannot drift apart.

Readers fail closed: a missing id, an unknown status or decision raises
:class:`~openclaw_exec.exceptions.RemoteProtocolError` naming the method and the field;
fields a newer gateway adds are kept in ``raw``. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Self

import attrs

from openclaw_exec.exceptions import LocalProtocolError, RemoteProtocolError
from openclaw_exec.protocol._models import Decision, check_grant_days

__all__ = [
    "APPROVAL_KINDS",
    "APPROVAL_STATUSES",
    "METHOD_APPROVALS_FILE_GET",
    "METHOD_APPROVALS_FILE_SET",
    "METHOD_APPROVAL_GET",
    "METHOD_APPROVAL_HISTORY",
    "METHOD_APPROVAL_RESOLVE",
    "METHOD_EXEC_GET",
    "METHOD_EXEC_LIST",
    "ApprovalHistoryPage",
    "ApprovalResolution",
    "ApprovalSnapshot",
    "ApprovalsFileSnapshot",
    "PendingExecApproval",
    "PendingExecApprovalDetail",
    "check_grant_expires_in_days",
]

METHOD_EXEC_LIST: Final = "exec.approval.list"
METHOD_EXEC_GET: Final = "exec.approval.get"
METHOD_APPROVAL_GET: Final = "approval.get"
METHOD_APPROVAL_RESOLVE: Final = "approval.resolve"
METHOD_APPROVAL_HISTORY: Final = "approval.history"
METHOD_APPROVALS_FILE_GET: Final = "exec.approvals.get"
METHOD_APPROVALS_FILE_SET: Final = "exec.approvals.set"

#: The approval owners of OpenClaw 2026.9.6's unified approval methods.
APPROVAL_KINDS: Final = ("exec", "plugin", "system-agent")
#: An approval's status in ``approval.*`` snapshots; every status but ``pending`` is final.
APPROVAL_STATUSES: Final = ("pending", "allowed", "denied", "expired", "cancelled")


def check_grant_expires_in_days(value: object, *, what: str = "grantExpiresInDays") -> int | None:
    """
    Validate a grant lifetime in whole days (OpenClaw: an integer from 1 to 3650).

    Returns:
        The value, or ``None`` for ``None`` (no lifetime: the grant lives until revoked).

    Raises:
        RemoteProtocolError: Anything else (booleans, fractions, zero, out of range).
    """
    try:
        return check_grant_days(value, what=what)
    except LocalProtocolError as exc:
        raise RemoteProtocolError(exc.message, details={"reason": "INVALID_PARAMS"}) from None


# ---------------------------------------------------------------- reading helpers


def _bad(method: str, field: str, expected: str, value: object) -> RemoteProtocolError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return RemoteProtocolError(
        f"{method}: {field} must be {expected}, got {shown}", details={"reason": "INVALID_ANSWER"}
    )


def _object(method: str, field: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(method, field, "an object", value)
    return value


def _req_str(method: str, data: Mapping[str, Any], key: str, prefix: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(method, prefix + key, "a non-empty string", value)
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if type(value) is int else None


def _decisions(method: str, field: str, value: object) -> tuple[Decision, ...]:
    if value is None:
        return tuple(Decision)
    if not isinstance(value, list):
        raise _bad(method, field, "a list of decisions", value)
    # Decisions this library does not know are dropped, never guessed: they cannot be sent.
    return tuple(d for d in Decision if d.value in value)


def _str_tuple(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _decision(method: str, field: str, value: object) -> Decision | None:
    if value is None:
        return None
    member = Decision.__members__.get(str(value).upper().replace("-", "_"))
    if not isinstance(value, str) or member is None or member.value != value:
        raise _bad(method, field, "allow-once, allow-always or deny", value)
    return member


def _drop_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------- exec.approval.list / get


@attrs.frozen(kw_only=True)
class PendingExecApproval:
    """
    One pending exec approval in an ``exec.approval.list`` answer.

    Attributes:
        id: The approval id (resolve it with ``exec.approval.resolve``).
        command: The command text (or the run plan's, or the argv joined).
        command_argv: The argv, when the requester sent one.
        cwd: Working directory.
        host: ``gateway`` or ``node``.
        security: The requester's security mode.
        ask: The requester's ask mode.
        agent_id: The agent that wants to run it.
        session_key: The agent session.
        created_at_ms: When the gateway registered it.
        expires_at_ms: When it expires.
        approval_kind: ``exec`` (OpenClaw tags list items with their kind).
        raw: The whole item.
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
    approval_kind: str = "exec"
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_payload(cls, item: object, *, method: str = METHOD_EXEC_LIST) -> Self:
        """Read one list item (``{id, request, createdAtMs, expiresAtMs, approvalKind}``)."""
        data = _object(method, "item", item)
        approval_id = _req_str(method, data, "id")
        request = data.get("request")
        request = request if isinstance(request, Mapping) else {}
        argv = _str_tuple(request.get("commandArgv"))
        command = _opt_str(request, "command")
        if command is None:
            plan = request.get("systemRunPlan")
            if isinstance(plan, Mapping):
                command = _opt_str(plan, "commandText")
        if command is None and argv:
            command = " ".join(argv)
        if command is None:
            raise _bad(method, f"{approval_id}.request.command", "a non-empty string", None)
        return cls(
            id=approval_id,
            command=command,
            command_argv=argv,
            cwd=_opt_str(request, "cwd"),
            host=_opt_str(request, "host"),
            security=_opt_str(request, "security"),
            ask=_opt_str(request, "ask"),
            agent_id=_opt_str(request, "agentId"),
            session_key=_opt_str(request, "sessionKey"),
            created_at_ms=_opt_int(data, "createdAtMs"),
            expires_at_ms=_opt_int(data, "expiresAtMs"),
            approval_kind=_opt_str(data, "approvalKind") or "exec",
            raw=dict(data),
        )

    @classmethod
    def list_from_payload(cls, payload: object) -> tuple[Self, ...]:
        """Read a whole ``exec.approval.list`` answer (a JSON array)."""
        if not isinstance(payload, list):
            raise _bad(METHOD_EXEC_LIST, "answer", "a list", payload)
        return tuple(cls.from_payload(item) for item in payload)


@attrs.frozen(kw_only=True)
class PendingExecApprovalDetail:
    """
    The ``exec.approval.get`` answer: what a reviewer needs to decide one pending approval.

    OpenClaw accepts an unambiguous id prefix; :attr:`id` is always the full id.
    """

    id: str
    command_text: str
    command_preview: str | None = None
    allowed_decisions: tuple[Decision, ...] = tuple(Decision)
    host: str | None = None
    node_id: str | None = None
    agent_id: str | None = None
    expires_at_ms: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Read an ``exec.approval.get`` answer."""
        method = METHOD_EXEC_GET
        data = _object(method, "answer", payload)
        return cls(
            id=_req_str(method, data, "id"),
            command_text=_req_str(method, data, "commandText"),
            command_preview=_opt_str(data, "commandPreview"),
            allowed_decisions=_decisions(method, "allowedDecisions", data.get("allowedDecisions")),
            host=_opt_str(data, "host"),
            node_id=_opt_str(data, "nodeId"),
            agent_id=_opt_str(data, "agentId"),
            expires_at_ms=_opt_int(data, "expiresAtMs"),
            raw=dict(data),
        )

    def to_payload(self) -> dict[str, Any]:
        """The answer as OpenClaw sends it (absent optional fields are ``null``)."""
        return {
            "id": self.id,
            "commandText": self.command_text,
            "commandPreview": self.command_preview,
            "allowedDecisions": [d.value for d in self.allowed_decisions],
            "host": self.host,
            "nodeId": self.node_id,
            "agentId": self.agent_id,
            "expiresAtMs": self.expires_at_ms,
        }


# ---------------------------------------------------------------- approval.get / resolve / history


@attrs.frozen(kw_only=True)
class ApprovalSnapshot:
    """
    One approval of any kind as ``approval.get`` / ``.resolve`` / ``.history`` show it.

    Attributes:
        id: The exact full id.
        kind: ``exec``, ``plugin`` or ``system-agent`` (the presentation's kind).
        status: ``pending``, ``allowed``, ``denied``, ``expired`` or ``cancelled``.
        presentation: What a reviewer is shown (for exec: ``commandText``,
            ``allowedDecisions``, ``host``, ``agentId`` ...), as sent.
        allowed_decisions: The decisions a reviewer may send.
        created_at_ms: When it was raised.
        expires_at_ms: When it expires.
        url_path: The Control UI path that shows it.
        decision: The first recorded decision (``allowed`` / ``denied``), else ``None``.
        reason: The terminal reason (``user``, ``timeout``, ``malformed-verdict``,
            ``no-route`` ...), ``None`` while pending.
        resolved_at_ms: When it became final.
        source_agent_id: The agent that raised it (terminal snapshots).
        source_session_key: The session that raised it (terminal snapshots).
        resolver_kind: Who decided: ``device``, ``channel``, ``runtime`` or ``system``.
        resolver_id: Their id, when recorded.
        raw: The whole snapshot.
    """

    id: str
    kind: str
    status: str
    presentation: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    allowed_decisions: tuple[Decision, ...] = tuple(Decision)
    created_at_ms: int | None = None
    expires_at_ms: int | None = None
    url_path: str | None = None
    decision: Decision | None = None
    reason: str | None = None
    resolved_at_ms: int | None = None
    source_agent_id: str | None = None
    source_session_key: str | None = None
    resolver_kind: str | None = None
    resolver_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def final(self) -> bool:
        """Whether it can no longer change (every status but ``pending``)."""
        return self.status != "pending"

    @property
    def command_text(self) -> str | None:
        """An exec approval's command text (``None`` for other kinds)."""
        value = self.presentation.get("commandText")
        return value if isinstance(value, str) else None

    @classmethod
    def from_payload(cls, payload: object, *, method: str = METHOD_APPROVAL_GET) -> Self:
        """Read one snapshot."""
        data = _object(method, "approval", payload)
        approval_id = _req_str(method, data, "id", "approval.")
        presentation = _object(method, "approval.presentation", data.get("presentation"))
        kind = presentation.get("kind")
        if kind not in APPROVAL_KINDS:
            raise _bad(method, "approval.presentation.kind", "/".join(APPROVAL_KINDS), kind)
        status = data.get("status")
        if status not in APPROVAL_STATUSES:
            raise _bad(method, "approval.status", "/".join(APPROVAL_STATUSES), status)
        decision = _decision(method, "approval.decision", data.get("decision"))
        # A snapshot whose decision contradicts its status is not trusted either way.
        if (status == "allowed") != (decision in (Decision.ALLOW_ONCE, Decision.ALLOW_ALWAYS)) or (
            status == "denied"
        ) != (decision is Decision.DENY):
            raise _bad(method, "approval.decision", f"consistent with status {status}", decision)
        source = data.get("source")
        source = source if isinstance(source, Mapping) else {}
        resolver = data.get("resolver")
        resolver = resolver if isinstance(resolver, Mapping) else {}
        return cls(
            id=approval_id,
            kind=str(kind),
            status=str(status),
            presentation=dict(presentation),
            allowed_decisions=_decisions(
                method,
                "approval.presentation.allowedDecisions",
                presentation.get("allowedDecisions"),
            ),
            created_at_ms=_opt_int(data, "createdAtMs"),
            expires_at_ms=_opt_int(data, "expiresAtMs"),
            url_path=_opt_str(data, "urlPath"),
            decision=decision,
            reason=_opt_str(data, "reason"),
            resolved_at_ms=_opt_int(data, "resolvedAtMs"),
            source_agent_id=_opt_str(source, "agentId"),
            source_session_key=_opt_str(source, "sessionKey"),
            resolver_kind=_opt_str(resolver, "kind"),
            resolver_id=_opt_str(resolver, "id"),
            raw=dict(data),
        )

    def to_payload(self) -> dict[str, Any]:
        """The snapshot as OpenClaw sends it."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "presentation": {
                **self.presentation,
                "kind": self.kind,
                "allowedDecisions": [d.value for d in self.allowed_decisions],
            },
            "urlPath": self.url_path,
            "createdAtMs": self.created_at_ms,
            "expiresAtMs": self.expires_at_ms,
        }
        if self.final:
            out["resolvedAtMs"] = self.resolved_at_ms
            out["reason"] = self.reason
            if self.decision is not None:
                out["decision"] = self.decision.value
            source = _drop_none(
                {"agentId": self.source_agent_id, "sessionKey": self.source_session_key}
            )
            if source:
                out["source"] = source
            if self.resolver_kind is not None:
                out["resolver"] = _drop_none({"kind": self.resolver_kind, "id": self.resolver_id})
        return _drop_none(out)


@attrs.frozen(kw_only=True)
class ApprovalResolution:
    """
    The ``approval.resolve`` answer: whether *this* answer was the first, and the record.

    ``applied`` is ``False`` when another answer (or expiry) got there first; ``approval``
    is then what was recorded, the same for every contender.
    """

    applied: bool
    approval: ApprovalSnapshot

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Read an ``approval.resolve`` answer."""
        method = METHOD_APPROVAL_RESOLVE
        data = _object(method, "answer", payload)
        applied = data.get("applied")
        if not isinstance(applied, bool):
            raise _bad(method, "applied", "a boolean", applied)
        approval = ApprovalSnapshot.from_payload(data.get("approval"), method=method)
        if not approval.final:
            raise _bad(method, "approval.status", "a final status", approval.status)
        return cls(applied=applied, approval=approval)

    def to_payload(self) -> dict[str, Any]:
        """The answer as OpenClaw sends it."""
        return {"applied": self.applied, "approval": self.approval.to_payload()}


@attrs.frozen(kw_only=True)
class ApprovalHistoryPage:
    """One newest-first page of final approvals, and the cursor of the next page."""

    items: tuple[ApprovalSnapshot, ...]
    next_cursor: str | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Read an ``approval.history`` answer."""
        method = METHOD_APPROVAL_HISTORY
        data = _object(method, "answer", payload)
        items = data.get("items")
        if not isinstance(items, list):
            raise _bad(method, "items", "a list", items)
        return cls(
            items=tuple(ApprovalSnapshot.from_payload(item, method=method) for item in items),
            next_cursor=_opt_str(data, "nextCursor"),
        )

    def to_payload(self) -> dict[str, Any]:
        """The answer as OpenClaw sends it."""
        return _drop_none(
            {"items": [i.to_payload() for i in self.items], "nextCursor": self.next_cursor}
        )


# ---------------------------------------------------------------- exec.approvals.get / set


@attrs.frozen(kw_only=True)
class ApprovalsFileSnapshot:
    """
    The host approvals file as ``exec.approvals.get`` / ``.set`` return it.

    Attributes:
        path: Where the gateway keeps it (2026.9.6: inside its SQLite state).
        exists: Whether it has been written.
        hash: The version's hash: pass it back as ``baseHash`` to ``exec.approvals.set``
            so a concurrent edit is refused instead of overwritten.
        file: The document, socket token redacted (parse it with
            :func:`openclaw_exec.policy.approvals_from_json` when it only holds what this
            library models).
        resolved_defaults: The defaults after built-ins were applied (2026.9.6), as sent.
        raw: The whole answer.
    """

    path: str
    exists: bool
    hash: str
    file: Mapping[str, Any]
    resolved_defaults: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_payload(cls, payload: object, *, method: str = METHOD_APPROVALS_FILE_GET) -> Self:
        """Read an ``exec.approvals.get`` / ``.set`` answer."""
        data = _object(method, "answer", payload)
        exists = data.get("exists")
        if not isinstance(exists, bool):
            raise _bad(method, "exists", "a boolean", exists)
        defaults = data.get("resolvedDefaults")
        return cls(
            path=_req_str(method, data, "path"),
            exists=exists,
            hash=_req_str(method, data, "hash"),
            file=dict(_object(method, "file", data.get("file"))),
            resolved_defaults=dict(defaults) if isinstance(defaults, Mapping) else None,
            raw=dict(data),
        )

    def to_payload(self) -> dict[str, Any]:
        """The answer as OpenClaw sends it."""
        return _drop_none(
            {
                "path": self.path,
                "exists": self.exists,
                "hash": self.hash,
                "file": dict(self.file),
                "resolvedDefaults": (
                    dict(self.resolved_defaults) if self.resolved_defaults is not None else None
                ),
            }
        )
