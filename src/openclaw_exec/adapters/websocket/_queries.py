"""
The read and admin approval methods on a gateway session (OpenClaw 2026.9.6 and the kit).

:class:`GatewayApprovals` wraps a :class:`~openclaw_exec.adapters.websocket.GatewaySession`:
list and inspect pending exec approvals, resolve with a grant lifetime, read any approval
kind and the history of final ones, and read and write the host approvals file guarded by
its hash. The values are :mod:`openclaw_exec.protocol`'s, shared with the gateway kit.

A method the gateway does not offer (OpenClaw 2026.4.1 has only ``exec.approvals.get/set``)
raises :class:`~openclaw_exec.adapters.websocket.GatewayError` with code ``UNSUPPORTED``
before anything is sent, naming the method and the server version.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from openclaw_exec.adapters.websocket._client import GatewaySession, open_gateway_session
from openclaw_exec.adapters.websocket._values import GatewayClientOptions, GatewayError
from openclaw_exec.exceptions import LocalProtocolError, RemoteProtocolError
from openclaw_exec.protocol import Decision
from openclaw_exec.protocol._queries import (
    APPROVAL_KINDS,
    METHOD_APPROVAL_GET,
    METHOD_APPROVAL_HISTORY,
    METHOD_APPROVAL_RESOLVE,
    METHOD_APPROVALS_FILE_GET,
    METHOD_APPROVALS_FILE_SET,
    METHOD_EXEC_GET,
    METHOD_EXEC_LIST,
    ApprovalHistoryPage,
    ApprovalResolution,
    ApprovalsFileSnapshot,
    ApprovalSnapshot,
    PendingExecApproval,
    PendingExecApprovalDetail,
    check_grant_expires_in_days,
)

__all__ = ["GatewayApprovals"]


def _days(value: int | None) -> int | None:
    try:
        return check_grant_expires_in_days(value)
    except RemoteProtocolError as exc:
        raise LocalProtocolError(exc.message) from None


def _answer(method: str, exc: RemoteProtocolError) -> GatewayError:
    return GatewayError(exc.message, error_code="INVALID_ANSWER", method=method)


class GatewayApprovals:
    """
    Pending approvals, approval history and the host approvals file, on one session.

    Open with ``async with GatewayApprovals.connect(options) as approvals`` (an operator
    with ``operator.approvals``; ``exec.approvals.*`` need ``operator.admin`` on OpenClaw),
    or wrap a session you already have.
    """

    def __init__(self, session: GatewaySession) -> None:
        self.session = session

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, options: GatewayClientOptions) -> AsyncIterator[GatewayApprovals]:
        """Open a session without events (see :func:`open_gateway_session`) and wrap it."""
        async with open_gateway_session(options, events=False) as session:
            yield cls(session)

    def supports(self, method: str) -> bool:
        """Whether the gateway lists *method* in its ``hello-ok``."""
        methods = self.session.hello.methods
        return not methods or method in methods

    async def _call(self, method: str, params: Mapping[str, Any]) -> Any:
        if not self.supports(method):
            version = self.session.hello.server_version or "this gateway"
            raise GatewayError(
                f"{method} is not offered by {version} (OpenClaw added it in 2026.9)",
                error_code="UNSUPPORTED",
                method=method,
            )
        return await self.session.request(method, params)

    # ------------------------------------------------------------------ exec approvals

    async def list_pending(self) -> tuple[PendingExecApproval, ...]:
        """``exec.approval.list``: the pending exec approvals this connection may see."""
        payload = await self._call(METHOD_EXEC_LIST, {})
        try:
            return PendingExecApproval.list_from_payload(payload)
        except RemoteProtocolError as exc:
            raise _answer(METHOD_EXEC_LIST, exc) from None

    async def get_pending(self, approval_id: str) -> PendingExecApprovalDetail:
        """
        ``exec.approval.get``: one pending exec approval by id (or an unambiguous prefix).

        Raises:
            GatewayError: Unknown, expired or resolved id (``INVALID_REQUEST``), or an
                ambiguous prefix.
        """
        if not approval_id.strip():
            raise LocalProtocolError("approval id must be a non-empty string")
        payload = await self._call(METHOD_EXEC_GET, {"id": approval_id})
        try:
            return PendingExecApprovalDetail.from_payload(payload)
        except RemoteProtocolError as exc:
            raise _answer(METHOD_EXEC_GET, exc) from None

    async def resolve(
        self,
        approval_id: str,
        decision: Decision,
        *,
        grant_expires_in_days: int | None = None,
    ) -> None:
        """
        ``exec.approval.resolve``, with an optional lifetime for an ``allow-always`` grant.

        Args:
            approval_id: The approval id.
            decision: The decision.
            grant_expires_in_days: Whole days (1-3650) the ``allow-always`` grant lives
                (OpenClaw 2026.9.6 ``grantExpiresInDays``); only with ``allow-always``.

        Raises:
            LocalProtocolError: Bad arguments (nothing sent).
            GatewayError: The gateway refused (unknown id, decision not allowed ...).
        """
        decision = Decision(decision)
        params: dict[str, Any] = {"id": approval_id, "decision": decision.value}
        days = _days(grant_expires_in_days)
        if days is not None:
            if decision is not Decision.ALLOW_ALWAYS:
                raise LocalProtocolError("grant_expires_in_days only applies to allow-always")
            params["grantExpiresInDays"] = days
        await self.session.request("exec.approval.resolve", params)

    # ------------------------------------------------------------------ any approval kind

    async def get(self, approval_id: str) -> ApprovalSnapshot:
        """
        ``approval.get``: any approval (exec, plugin, system-agent) by its exact id.

        Raises:
            GatewayError: Not found or not visible to this connection.
        """
        payload = await self._call(METHOD_APPROVAL_GET, {"id": approval_id})
        if not isinstance(payload, Mapping):
            raise GatewayError("approval.get answer is not an object", method=METHOD_APPROVAL_GET)
        try:
            return ApprovalSnapshot.from_payload(payload.get("approval"))
        except RemoteProtocolError as exc:
            raise _answer(METHOD_APPROVAL_GET, exc) from None

    async def resolve_any(
        self,
        approval_id: str,
        decision: Decision,
        *,
        kind: str = "exec",
        grant_expires_in_days: int | None = None,
    ) -> ApprovalResolution:
        """
        ``approval.resolve``: decide any approval kind; the first answer wins.

        Returns:
            ``applied`` says whether this answer was recorded; ``approval`` is the
            recorded state either way (the same for every contender).

        Raises:
            LocalProtocolError: Bad arguments (nothing sent). OpenClaw records a
                malformed answer (wrong kind, a decision the approval does not offer) as a
                *deny*; this client refuses to send a kind it does not know.
            GatewayError: Not found or not visible to this connection.
        """
        decision = Decision(decision)
        if kind not in APPROVAL_KINDS:
            raise LocalProtocolError(f"kind must be one of {', '.join(APPROVAL_KINDS)}")
        params: dict[str, Any] = {"id": approval_id, "kind": kind, "decision": decision.value}
        days = _days(grant_expires_in_days)
        if days is not None:
            if decision is not Decision.ALLOW_ALWAYS:
                raise LocalProtocolError("grant_expires_in_days only applies to allow-always")
            params["grantExpiresInDays"] = days
        payload = await self._call(METHOD_APPROVAL_RESOLVE, params)
        try:
            return ApprovalResolution.from_payload(payload)
        except RemoteProtocolError as exc:
            raise _answer(METHOD_APPROVAL_RESOLVE, exc) from None

    async def history(
        self, *, limit: int | None = None, cursor: str | None = None, kind: str | None = None
    ) -> ApprovalHistoryPage:
        """
        ``approval.history``: one newest-first page of final approvals.

        Args:
            limit: Items per page (1-100; the gateway's default when ``None``).
            cursor: The previous page's ``next_cursor``.
            kind: Only this approval kind.
        """
        params: dict[str, Any] = {}
        if limit is not None:
            if type(limit) is not int or not 1 <= limit <= 100:
                raise LocalProtocolError(f"limit must be an integer from 1 to 100, got {limit!r}")
            params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        if kind is not None:
            if kind not in APPROVAL_KINDS:
                raise LocalProtocolError(f"kind must be one of {', '.join(APPROVAL_KINDS)}")
            params["kind"] = kind
        payload = await self._call(METHOD_APPROVAL_HISTORY, params)
        try:
            return ApprovalHistoryPage.from_payload(payload)
        except RemoteProtocolError as exc:
            raise _answer(METHOD_APPROVAL_HISTORY, exc) from None

    # ------------------------------------------------------------------ the approvals file

    async def approvals_file(self) -> ApprovalsFileSnapshot:
        """``exec.approvals.get``: the host approvals file, its path and hash."""
        payload = await self._call(METHOD_APPROVALS_FILE_GET, {})
        try:
            return ApprovalsFileSnapshot.from_payload(payload)
        except RemoteProtocolError as exc:
            raise _answer(METHOD_APPROVALS_FILE_GET, exc) from None

    async def set_approvals_file(
        self, file: Mapping[str, Any], *, base_hash: str | None
    ) -> ApprovalsFileSnapshot:
        """
        ``exec.approvals.set``: replace the host approvals file.

        Args:
            file: The whole document (``{"version": 1, ...}``).
            base_hash: The :attr:`ApprovalsFileSnapshot.hash` the edit started from. The
                gateway refuses the write ("exec approvals changed since last load") when
                the file changed since, and requires it once the file exists.

        Raises:
            GatewayError: Refused (stale or missing hash, invalid document).
        """
        if not isinstance(file, Mapping):
            raise LocalProtocolError("file must be a JSON object")
        params: dict[str, Any] = {"file": dict(file)}
        if base_hash is not None:
            params["baseHash"] = base_hash
        payload = await self._call(METHOD_APPROVALS_FILE_SET, params)
        try:
            return ApprovalsFileSnapshot.from_payload(payload, method=METHOD_APPROVALS_FILE_SET)
        except RemoteProtocolError as exc:
            raise _answer(METHOD_APPROVALS_FILE_SET, exc) from None
