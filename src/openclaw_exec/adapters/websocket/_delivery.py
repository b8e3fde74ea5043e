"""
Will this gateway deliver other clients' approval requests to this approver? Decided at connect.

An approver that is connected but never shown a request is worse than one that fails: every
request then ends ``decision: null`` (askFallback, usually deny) and nothing says why. What a
gateway delivers (observed, ``docs/openclaw-gateway.md``):

* **every gateway**: only to connections granted ``operator.approvals`` or ``operator.admin``;
* **OpenClaw 2026.9.6** (protocol 4): only to *approval clients* (``caps`` with
  ``exec-approvals`` / ``approvals``, or an OpenClaw UI / native-app client id), and only
  requests the connection may see: ``operator.admin`` sees all, a non-admin only its own
  device's requests. ``hello-ok`` does not announce this rule, so a protocol-4 gateway that
  does not announce otherwise is taken to apply it (2026.4.1 speaks protocol 3 and shows
  every request to every approvals-scoped connection);
* **this library's gateway kit**: announces :data:`KIT_DELIVERY_CAPABILITY`: every
  approvals-scoped approval client sees every request but its own device's, whatever its
  protocol, no ``operator.admin`` needed (with ``events_to_approval_clients_only=False`` it
  also announces :data:`KIT_ANY_CLIENT_CAPABILITY`: no ``caps`` needed either).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openclaw_exec.adapters.websocket._values import (
    ADMIN_SCOPE,
    APPROVAL_SCOPE,
    GatewayClientOptions,
    GatewayError,
    HelloOk,
)

__all__ = [
    "APPROVAL_CAPS",
    "APPROVAL_UI_CLIENT_IDS",
    "KIT_ANY_CLIENT_CAPABILITY",
    "KIT_DELIVERY_CAPABILITY",
    "ApprovalDeliveryError",
    "approval_delivery_problem",
    "check_delivery",
]

KIT_DELIVERY_CAPABILITY = "openclaw-exec.approval-events-to-approvals-scope"
"""``hello-ok`` ``features.capabilities`` entry of the kit: no ``operator.admin`` needed."""

KIT_ANY_CLIENT_CAPABILITY = "openclaw-exec.approval-events-to-any-connection"
"""Also announced by a kit configured ``events_to_approval_clients_only=False``: no ``caps``."""

APPROVAL_CAPS = frozenset({"exec-approvals", "approvals"})
"""``caps`` that make a connection an approval client on OpenClaw 2026.9.6."""

APPROVAL_UI_CLIENT_IDS = frozenset(
    {"openclaw-control-ui", "openclaw-macos", "openclaw-ios", "openclaw-android"}
)
"""Client ids OpenClaw 2026.9.6 treats as approval clients without ``caps``."""

_ADMIN_REMEDY = (
    "connect the approver with scopes=('operator.approvals', 'operator.admin') "
    "(a loopback client with the shared token is granted them silently; a remote device "
    "needs the scope upgrade approved: `openclaw devices list`, then "
    "`openclaw devices approve <requestId>`)"
)


class ApprovalDeliveryError(GatewayError):
    """
    The gateway admitted this approver but would not deliver other clients' requests to it.

    Attributes:
        remediation: The change that makes the gateway deliver them.
    """

    def __init__(self, message: str, *, remediation: str, **kwargs: Any) -> None:
        super().__init__(message, error_code="APPROVALS_NOT_DELIVERED", method="connect", **kwargs)
        self.remediation = remediation

    def __str__(self) -> str:
        return f"{super().__str__()}. To fix: {self.remediation}"


def _capabilities(hello: HelloOk) -> tuple[str, ...]:
    features = hello.raw.get("features")
    if not isinstance(features, Mapping):
        return ()
    caps = features.get("capabilities")
    return tuple(c for c in caps if isinstance(c, str)) if isinstance(caps, list) else ()


def approval_delivery_problem(
    hello: HelloOk,
    *,
    client_id: str,
    caps: Sequence[str],
) -> tuple[str, str] | None:
    """
    Why this connection would never be shown other clients' approval requests, if it would not.

    Args:
        hello: The gateway's ``hello-ok``.
        client_id: The ``client.id`` the connection declared.
        caps: The ``caps`` it declared.

    Returns:
        ``None`` when requests will be delivered, else ``(problem, remedy)``.
    """
    granted = set(hello.scopes)
    server = f"gateway {hello.server_version or '(unknown version)'}"
    if not granted & {APPROVAL_SCOPE, ADMIN_SCOPE}:
        return (
            (
                f"{server} granted {sorted(granted) or 'no scopes'}, without {APPROVAL_SCOPE}: "
                "it sends approval requests only to approvals-scoped connections"
            ),
            (
                f"ask for scopes that include {APPROVAL_SCOPE!r} (and approve the scope "
                "upgrade if the gateway asks for one)"
            ),
        )
    if hello.events and "exec.approval.requested" not in hello.events:
        return (
            f"{server} does not list the exec.approval.requested event in hello-ok",
            "use a gateway that serves exec approvals (OpenClaw 2026.4.1+, or the gateway kit)",
        )
    announced = _capabilities(hello)
    kit = KIT_DELIVERY_CAPABILITY in announced
    if not kit and hello.protocol < 4:
        return None  # a 2026.4-era gateway: every approvals-scoped connection sees every request
    clients_only = not (kit and KIT_ANY_CLIENT_CAPABILITY in announced)
    if clients_only and not set(caps) & APPROVAL_CAPS and client_id not in APPROVAL_UI_CLIENT_IDS:
        return (
            (
                f"{server} (protocol {hello.protocol}) sends approval events only to approval "
                f"clients, and this one declared caps={list(caps)}"
            ),
            "declare caps=('exec-approvals',) (the GatewayClientOptions default)",
        )
    if not kit and ADMIN_SCOPE not in granted:
        return (
            (
                f"{server} (protocol {hello.protocol}) shows an approval request only to "
                f"{ADMIN_SCOPE} connections and to the requester's own device; this approver was "
                f"granted {sorted(granted)}, so every other client's request would end with "
                "decision=None (askFallback)"
            ),
            _ADMIN_REMEDY,
        )
    return None


def check_delivery(hello: HelloOk, options: GatewayClientOptions) -> None:
    """
    Raise :class:`ApprovalDeliveryError` if this approver would never see others' requests.

    Raises:
        ApprovalDeliveryError: With the problem and the remedy.
    """
    found = approval_delivery_problem(hello, client_id=options.client_id, caps=options.caps)
    if found is not None:
        problem, remedy = found
        raise ApprovalDeliveryError(problem, remediation=remedy)
