"""
OpenClaw's local approvals socket: JSON lines over an ``AF_UNIX`` stream, both sides.

* :class:`ApprovalSocketServer` is what an approver UI runs (OpenClaw: the macOS app): it
  owns the socket, reads one ``{"type":"request","token","id","request"}`` line per
  connection and answers ``{"type":"decision","id","decision"}``.
* :func:`request_decision_via_socket` is what an exec host calls (OpenClaw:
  ``requestExecApprovalViaSocket``): one request, one answer or ``None``.
* :class:`SocketApprover` bridges an :class:`~openclaw_exec.abc.ApprovalStore` to a socket
  server, so the exec guard can ask a socket approver through its store.

Hardening, as OpenClaw's server and stricter where noted in ``docs/differences.md``: the
socket is created mode 0600 in a folder that is ours (or root's) and not group/other-writable;
a symlink or non-socket at the path is refused and a stale socket is replaced; tokens are
compared in constant time; the peer's uid must equal ours (``SO_PEERCRED``; skipped where
the platform has no such option, where the 0600 mode is the barrier); lines are bounded
(256 000 bytes); one request per connection; every read has a timeout. Runs on asyncio and
trio.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

import anyio
import anyio.abc
import attrs
from anyio.streams.buffered import BufferedByteReceiveStream

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.adapters._approver_runner import serve_approver
from openclaw_exec.exceptions import RemoteProtocolError, TransportError
from openclaw_exec.protocol import (
    ApprovalRequest,
    Decision,
    Principal,
    SocketDecision,
    SocketPrompt,
    SocketRequest,
    decode_socket_message,
)
from openclaw_exec.protocol._wire import dumps

__all__ = [
    "DEFAULT_PROMPT_TIMEOUT",
    "MAX_LINE_BYTES",
    "ApprovalSocketServer",
    "SocketApprover",
    "peer_uid",
    "request_decision_via_socket",
]

MAX_LINE_BYTES: Final = 256_000
"""Longest accepted line, newline excluded (OpenClaw's server reads at most this much)."""

DEFAULT_PROMPT_TIMEOUT: Final = 15.0
"""Seconds :func:`request_decision_via_socket` waits by default (OpenClaw's
``requestExecApprovalViaSocket``); :class:`SocketApprover` waits until the approval expires."""

_CRED = struct.Struct("3i")  # struct ucred {pid_t pid; uid_t uid; gid_t gid;}

Decide = Callable[[SocketRequest], Awaitable[Decision | None]]


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of *sock*, or ``None`` if unknowable here."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, option, _CRED.size)
    except OSError:
        return None
    return int(_CRED.unpack(raw)[1])


def _peer_ok(stream: anyio.abc.SocketStream, expected_uid: int) -> bool:
    raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)  # noqa: S610 (anyio, not Django)
    uid = peer_uid(raw)
    return uid is None or uid == expected_uid


async def _read_line(stream: anyio.abc.SocketStream, max_bytes: int) -> bytes | None:
    """One line without its newline; ``None`` on EOF or a line longer than *max_bytes*."""
    reader = BufferedByteReceiveStream(stream)
    try:
        return await reader.receive_until(b"\n", max_bytes + 1)
    except (anyio.IncompleteRead, anyio.DelimiterNotFound, anyio.EndOfStream):
        return None


def _prepare_path(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True)
    parent_stat = parent.stat()
    if parent_stat.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise TransportError(
            errno.EPERM, f"refusing approvals socket in group/other-writable folder {parent}"
        )
    if parent_stat.st_uid not in (os.geteuid(), 0):
        raise TransportError(
            errno.EPERM, f"refusing approvals socket in folder {parent} owned by another user"
        )
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise TransportError(errno.EEXIST, f"refusing to replace non-socket {path}")
    path.unlink()  # a stale socket from a previous run


@attrs.define
class ApprovalSocketServer:
    """
    The approver side of the socket.

    Args:
        path: Socket path (OpenClaw: ``~/.openclaw/exec-approvals.sock``).
        token: Shared secret every request must carry.
        decide: Called with each authenticated request; returns a decision, or ``None`` to
            close without answering (the client then sees no decision).
        read_timeout: Seconds to wait for a client's request line.
        decide_timeout: Seconds *decide* may take (``None``: no limit; the client's own
            timeout still applies).
        max_line_bytes: Longest accepted request line.
        allowed_uid: Peers must run as this uid (default: our effective uid).

    Run with ``await tg.start(server.serve)``; it is listening when ``start`` returns.
    """

    path: Path = attrs.field(converter=Path)
    token: str = attrs.field(repr=False)
    decide: Decide
    read_timeout: float = 10.0
    decide_timeout: float | None = None
    max_line_bytes: int = MAX_LINE_BYTES
    allowed_uid: int = attrs.field(factory=os.geteuid)
    active_connections: int = attrs.field(default=0, init=False)
    """Connections being handled right now (for metrics and orderly shutdown in tests)."""

    @token.validator
    def _check_token(self, _attribute: object, value: str) -> None:
        if not value.strip():
            raise ValueError("the approvals socket needs a non-empty token")

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """
        Listen until cancelled; the socket file is removed on the way out.

        Raises:
            TransportError: The path is unsafe (symlink, non-socket, loose folder) or
                the socket cannot be created.
        """
        _prepare_path(self.path)
        try:
            listener = await anyio.create_unix_listener(self.path, mode=0o600, backlog=16)
        except OSError as exc:
            raise TransportError(
                exc.errno, f"cannot listen on {self.path}: {exc.strerror}"
            ) from exc
        try:
            async with listener:
                task_status.started()
                await listener.serve(self._handle)
        finally:
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(self.path.lstat().st_mode):
                    self.path.unlink()

    async def _reply(
        self, stream: anyio.abc.SocketStream, approval_id: str, decision: Decision
    ) -> None:
        line = dumps(SocketDecision(id=approval_id, decision=decision)) + "\n"
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await stream.send(line.encode())

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        self.active_connections += 1
        try:
            await self._handle_one(stream)
        finally:
            self.active_connections -= 1

    async def _handle_one(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            raw: bytes | None = None
            with anyio.move_on_after(self.read_timeout):
                raw = await _read_line(stream, self.max_line_bytes)
            if not raw:
                return
            try:
                message = decode_socket_message(raw)
            except RemoteProtocolError:
                return
            if not isinstance(message, SocketRequest):
                return
            token_ok = hmac.compare_digest(message.token.encode(), self.token.encode())
            if not token_ok or not _peer_ok(stream, self.allowed_uid):
                await self._reply(stream, message.id, Decision.DENY)
                return
            decision = await self._decide_while_connected(stream, message)
            if decision is not None:
                await self._reply(stream, message.id, decision)

    async def _decide_while_connected(
        self, stream: anyio.abc.SocketStream, message: SocketRequest
    ) -> Decision | None:
        """
        *decide*'s answer, or ``None`` once the client hangs up (it withdrew the prompt).

        Clients (OpenClaw's and ours) keep the connection open until the answer comes; a
        close means nobody waits any more (the requester was cancelled, the approval was
        settled elsewhere), so an approver UI stops showing it.
        """
        decision: Decision | None = None
        async with anyio.create_task_group() as tg:

            async def hang_up() -> None:
                with contextlib.suppress(
                    anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError
                ):
                    while True:
                        await stream.receive()  # nothing more is expected; EOF is the hang-up
                tg.cancel_scope.cancel()

            tg.start_soon(hang_up)
            with anyio.move_on_after(self.decide_timeout):
                decision = await self.decide(message)
            tg.cancel_scope.cancel()
        return decision


async def request_decision_via_socket(
    path: str | os.PathLike[str] | None,
    token: str | None,
    request: SocketPrompt,
    *,
    approval_id: str,
    timeout: float = DEFAULT_PROMPT_TIMEOUT,  # noqa: ASYNC109 (OpenClaw's per-request timeout)
    max_line_bytes: int = MAX_LINE_BYTES,
    expected_uid: int | None = None,
) -> Decision | None:
    """
    Ask the approver behind the socket; ``None`` means no decision (apply ``askFallback``).

    One request per connection. Blank, unparsable, foreign-id and non-decision lines are
    skipped; the first ``decision`` line for *approval_id* wins. Missing path or token,
    connection failure, a server running as another uid, an over-long line or the timeout
    all give ``None``.

    Args:
        path: Socket path; ``None`` or empty means "no socket configured".
        token: Shared secret; ``None`` or empty means "no socket configured".
        request: What the approver is shown.
        approval_id: The approval id (echoed in the answer).
        timeout: Seconds for the whole exchange.
        max_line_bytes: Longest accepted answer line.
        expected_uid: The server must run as this uid (default: our effective uid).
    """
    if not path or not token:
        return None
    want_uid = os.geteuid() if expected_uid is None else expected_uid
    line = dumps(SocketRequest(token=token, id=approval_id, request=request)) + "\n"
    with anyio.move_on_after(timeout):
        try:
            stream = await anyio.connect_unix(os.fspath(path))
        except OSError:
            return None
        async with stream:
            if not _peer_ok(stream, want_uid):
                return None
            try:
                await stream.send(line.encode())
            except (anyio.BrokenResourceError, OSError):
                return None
            reader = BufferedByteReceiveStream(stream)
            while True:
                try:
                    raw = await reader.receive_until(b"\n", max_line_bytes + 1)
                except (
                    anyio.IncompleteRead,
                    anyio.DelimiterNotFound,
                    anyio.EndOfStream,
                    anyio.BrokenResourceError,
                    OSError,
                ):
                    return None
                if not raw.strip():
                    continue
                try:
                    message = decode_socket_message(raw)
                except RemoteProtocolError:
                    continue
                if isinstance(message, SocketDecision) and message.id == approval_id:
                    return message.decision
    return None


def _prompt_of(request: ApprovalRequest) -> SocketPrompt:
    return SocketPrompt(
        command=request.command,
        cwd=request.cwd,
        host=request.host,
        security=request.security,
        ask=request.ask,
        agent_id=request.agent_id,
        resolved_path=request.resolved_path,
        session_key=request.session_key,
        expires_at_ms=request.expires_at_ms,
    )


@attrs.define
class SocketApprover:
    """
    An approver that forwards a store's requests to a socket server.

    On the one approver contract: calling it with an
    :class:`~openclaw_exec.protocol.ApprovalRequest` asks the socket server and returns its
    decision, or ``None`` (no server, no answer: the approval expires and ``askFallback``
    applies); :meth:`run` serves every request of *store* with
    :func:`~openclaw_exec.approvers.serve_approver`, resolving as *principal*.

    The socket request lasts exactly as long as the approval: until its ``expires_at_ms``
    (``ExecGuard(timeout_ms=...)``), the one timeout. (It used to give up after OpenClaw's
    15 s while the guard waited longer, so an answer typed at 20 s was dropped.)

    Args:
        store: The store to serve.
        path: The socket path.
        token: The socket token.
        principal: Who the answers are recorded as.

    Run with ``await tg.start(approver.run)``.
    """

    store: ApprovalStore
    path: Path = attrs.field(converter=Path)
    token: str = attrs.field(repr=False)
    principal: Principal = attrs.field(factory=lambda: Principal(id="unix-socket-approver"))

    async def __call__(self, request: ApprovalRequest, /) -> Decision | None:
        """Ask the socket server about *request*, until it expires."""
        remaining = (request.expires_at_ms - self.store.now_ms()) / 1000
        if remaining <= 0:
            return None  # already expired: nobody may answer it
        return await request_decision_via_socket(
            self.path, self.token, _prompt_of(request), approval_id=request.id, timeout=remaining
        )

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Forward requests until cancelled or the store closes."""
        await serve_approver(self.store, self, principal=self.principal, task_status=task_status)
