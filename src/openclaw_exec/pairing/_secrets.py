"""Constant-time secret comparison and the approval-runtime credential."""

from __future__ import annotations

import base64
import hashlib
import hmac

from openclaw_exec.exceptions import PairingError

__all__ = [
    "APPROVAL_RUNTIME_TOKEN_CONTEXT",
    "derive_approval_runtime_token",
    "secrets_equal",
]

APPROVAL_RUNTIME_TOKEN_CONTEXT = "openclaw-exec/approval-runtime/v1"  # noqa: S105 (a label)
"""The HMAC message that turns an approvals-socket token into the runtime credential."""


def _utf8(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    # surrogatepass: never raises on strings decoded from odd JSON (lone surrogates).
    return text.encode("utf-8", "surrogatepass")


def secrets_equal(presented: str | bytes | None, expected: str | bytes | None) -> bool:
    """
    Compare two secrets in constant time.

    Uses :func:`hmac.compare_digest` on the UTF-8 bytes: the time taken does not depend
    on where the secrets differ (only their lengths may show). ``None`` or an empty
    secret on either side never matches (an unset secret is not a secret).

    Args:
        presented: What the client sent.
        expected: What the gateway holds.

    Returns:
        True only when both are non-empty and equal.
    """
    if not presented or not expected:
        return False
    if (
        type(presented) is str
        and type(expected) is str
        and presented.isascii()
        and expected.isascii()
    ):
        # ASCII text compares exactly like its UTF-8 bytes; skip encoding both sides.
        return hmac.compare_digest(presented, expected)
    return hmac.compare_digest(_utf8(presented), _utf8(expected))


def derive_approval_runtime_token(
    socket_token: str | bytes, *, context: str = APPROVAL_RUNTIME_TOKEN_CONTEXT
) -> str:
    """
    Derive the approval-runtime credential from the approvals-socket token.

    The credential is ``base64url(HMAC-SHA256(key=socket_token, msg=context))`` without
    padding. Every process that can read the approvals socket token (the gateway and
    the approval runtime on the same host) derives the same value without it ever
    being stored; a gateway puts it in :attr:`AuthConfig.approval_runtime_token`, the
    runtime sends it as ``auth.approvalRuntimeToken``. It grants ``operator.approvals``
    and nothing else, and only to local connections (see ``docs/pairing.md``).

    OpenClaw (#87105) derives its runtime token by HMAC from the same socket token; its
    exact message string is not part of the protocol, so the two derivations are not
    interchangeable: configure both ends with this function.

    Args:
        socket_token: The approvals-socket token (``socket.token`` of the approvals file).
        context: A domain-separation label; change it to rotate every derived credential.

    Returns:
        The credential, 43 base64url characters.

    Raises:
        PairingError: If *socket_token* is empty.
    """
    key = _utf8(socket_token)
    if not key.strip():
        raise PairingError("approvals socket token is empty: cannot derive a runtime credential")
    digest = hmac.new(key, context.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
