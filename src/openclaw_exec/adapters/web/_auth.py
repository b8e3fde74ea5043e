"""
Who is looking at the approval page: logins, sessions and CSRF tokens.

The page reuses the gateway kit's identity model, so a browser holds exactly what a
WebSocket client would:

* the gateway's **shared secret** (``gateway.auth.token`` or ``password``): an operator with
  ``operator.approvals`` (as a loopback client with the shared token gets from the kit);
* a **device token** the kit issued to a paired device in ``hello-ok``: that device, with the
  scopes the token carries. Its requests are hidden from it and it may not resolve them
  (the kit's self-approval rule), and revoking the token ends the session at its next request.

Nothing secret is kept in a session or a cookie: the session id is random (the cookie), the
CSRF token is random and separate, and a device session keeps only the SHA-256 of the token
it logged in with, to notice revocation. Secrets are compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable

import attrs

from openclaw_exec.pairing import AuthConfig, PairedDevice
from openclaw_exec.protocol import APPROVAL_SCOPES, Principal

__all__ = ["SHARED_SECRET_SCOPES", "Authenticator", "SessionBook", "WebSession"]

SHARED_SECRET_SCOPES = frozenset({"operator.approvals", "operator.read"})
"""What a browser that logged in with the gateway's shared secret may do."""

_SHARED_ID = "web-operator"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@attrs.frozen(kw_only=True)
class WebSession:
    """
    One logged-in browser.

    Attributes:
        session_id: The cookie value (never shown in the page, never logged).
        csrf_token: Sent back in ``X-CSRF-Token`` (or the form's ``csrf`` field) by every
            state-changing request; the page holds it, the cookie does not.
        principal: Who resolves (``resolvedBy``), with the scopes granted at login.
        via: ``shared-secret`` or ``device-token``.
        token_digest: SHA-256 of the device token (device sessions), to notice revocation.
        created_ms: Login time.
    """

    session_id: str = attrs.field(repr=False)
    csrf_token: str = attrs.field(repr=False)
    principal: Principal
    via: str
    token_digest: bytes | None = attrs.field(default=None, repr=False)
    created_ms: int = 0

    @property
    def may_approve(self) -> bool:
        """Whether the session holds an approvals scope (shown requests, may resolve)."""
        return not self.principal.scopes.isdisjoint(APPROVAL_SCOPES)

    def csrf_ok(self, presented: str | None) -> bool:
        """Constant-time check of a presented CSRF token."""
        return presented is not None and hmac.compare_digest(
            presented.encode("utf-8", "surrogatepass"), self.csrf_token.encode("utf-8")
        )


@attrs.define
class Authenticator:
    """
    Checks a presented secret against the gateway's auth config and its paired devices.

    Args:
        auth: The kit's :class:`~openclaw_exec.pairing.AuthConfig` (``token`` and ``password``
            modes accept the shared secret; other modes accept device tokens only).
        paired_devices: Returns the kit's pairing records (``kit.store.list_paired``).
    """

    auth: AuthConfig
    paired_devices: Callable[[], list[PairedDevice]]

    def _shared_secret(self) -> str | None:
        if self.auth.mode == "token":
            return self.auth.token
        if self.auth.mode == "password":
            return self.auth.password
        return None

    def login(self, presented: str) -> tuple[Principal, str, bytes | None] | None:
        """
        The principal *presented* stands for, how, and the token digest; ``None``: refused.

        Every device token is compared (no early exit on a match), so the time taken does
        not say which device a guess was close to.
        """
        if not presented or len(presented) > 4096:
            return None
        given = presented.encode("utf-8", "surrogatepass")
        shared = self._shared_secret()
        if shared and hmac.compare_digest(given, shared.encode("utf-8")):
            principal = Principal(
                id=_SHARED_ID, display_name="web (shared secret)", scopes=SHARED_SECRET_SCOPES
            )
            return principal, "shared-secret", None
        found: tuple[Principal, str, bytes | None] | None = None
        for device in self.paired_devices():
            for token in device.tokens or ():
                if token.revoked_at_ms is not None or token.role != "operator":
                    continue
                if hmac.compare_digest(given, token.token.encode("utf-8")) and found is None:
                    found = (
                        Principal(
                            id=device.device_id,
                            display_name=f"web ({device.display_name or device.device_id})",
                            scopes=frozenset(token.scopes),
                        ),
                        "device-token",
                        _digest(token.token),
                    )
        return found

    def still_valid(self, session: WebSession) -> bool:
        """Whether the credential behind *session* still holds (a revoked token ends it)."""
        if session.via == "shared-secret":
            return bool(self._shared_secret())
        if session.token_digest is None:
            return False
        for device in self.paired_devices():
            if device.device_id != session.principal.id:
                continue
            for token in device.tokens or ():
                if token.revoked_at_ms is None and hmac.compare_digest(
                    _digest(token.token), session.token_digest
                ):
                    return True
        return False


@attrs.define
class SessionBook:
    """
    Logged-in sessions, in memory, bounded and expiring.

    Args:
        clock: Milliseconds since the epoch.
        max_sessions: More logins evict the oldest session.
        lifetime_ms: A session ends this long after login (default 8 h).
    """

    clock: Callable[[], int]
    max_sessions: int = 256
    lifetime_ms: int = 8 * 3600 * 1000
    _sessions: OrderedDict[str, WebSession] = attrs.field(factory=OrderedDict, init=False)

    def create(self, principal: Principal, via: str, token_digest: bytes | None) -> WebSession:
        """A new session (fresh random id and CSRF token)."""
        session = WebSession(
            session_id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            principal=principal,
            via=via,
            token_digest=token_digest,
            created_ms=self.clock(),
        )
        self._sessions[session.session_id] = session
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> WebSession | None:
        """The live session for the cookie value, or ``None``."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if self.clock() - session.created_ms >= self.lifetime_ms:
            del self._sessions[session_id]
            return None
        return session

    def drop(self, session_id: str) -> None:
        """End a session (logout, revoked credential)."""
        self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)
