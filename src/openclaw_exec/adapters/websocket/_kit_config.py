"""
How the gateway kit authenticates and what it bounds: :class:`GatewayKitConfig`.

Every limit has a default that a single small gateway can live with and is documented in
``docs/websocket.md`` (the limits table); each one is a row of ``docs/differences.md`` where
OpenClaw has no such bound.
"""

from __future__ import annotations

import attrs

from openclaw_exec._version import __version__
from openclaw_exec.pairing import AuthConfig
from openclaw_exec.protocol import MAX_APPROVAL_TIMEOUT_MS

__all__ = ["GatewayKitConfig"]


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"expected a collection of device ids, not the string {value!r}")
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


@attrs.frozen(kw_only=True)
class GatewayKitConfig:
    """
    How the gateway kit authenticates and what it bounds.

    Attributes:
        auth: The pairing/auth configuration (mode, shared token, trusted proxies...).
        handshake_timeout: Seconds from upgrade to ``connect`` (OpenClaw: 10 s).
        max_message_bytes: Largest message after authentication (larger: close 1009).
        max_pending_per_connection: Open approval requests one connection may hold;
            more get ``INVALID_REQUEST`` with ``details.reason: TOO_MANY_PENDING``. A request
            counts until it is decided, expires or is cancelled (not by frame id).
        max_pending_per_device: The same bound across every connection of one device
            (connections without a device identity count as their own device).
        max_approval_timeout_ms: Longest ``timeoutMs`` granted (default 24 h); a longer one
            is shortened to it and the answer's ``expiresAtMs`` shows the real deadline.
        allow_self_approval: Device ids that may resolve their own approval requests. Empty
            by default: the requesting connection and its device are refused with
            ``SELF_APPROVAL_NOT_ALLOWED`` and are not shown their own requests.
        max_pending_pairings: Pending (unapproved) pairing requests kept; past it the oldest
            is evicted (its device must connect again to ask anew).
        max_paired_devices: Pairing records kept; a new device past it is refused
            (``PAIRING_STORE_FULL``, close 1008) rather than growing the store further.
        store_flush_interval: Seconds the kit waits after a pairing change before writing
            the store (in a worker thread), so bursts of changes cost one write.
        send_timeout: Seconds a send to one peer may take before that peer is dropped.
        tick_interval_ms: Announced in ``hello-ok`` ``policy``.
        server_version: Announced in ``hello-ok``.
        events_to_approval_clients_only: Send ``exec.approval.*`` events only to
            approvals-scoped connections that are approval clients (``caps`` with
            ``exec-approvals`` or ``approvals``, or an OpenClaw UI/native-app client id), as
            OpenClaw 2026.9.6 does; ``False`` sends them to every approvals-scoped
            connection, as 2026.4.1 did (requesters then receive every broadcast too).
        min_protocol: Lowest gateway protocol spoken (3 or 4; OpenClaw 2026.9.6 requires
            4 from operators: set 4 to do the same).
        max_protocol: Highest (3 or 4). The range is announced on ``connect.challenge``;
            a client outside it is refused naming both ranges (close 1002).
    """

    auth: AuthConfig
    handshake_timeout: float = 10.0
    max_message_bytes: int = 1024 * 1024
    max_pending_per_connection: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    max_pending_per_device: int = attrs.field(default=128, validator=attrs.validators.ge(1))
    max_approval_timeout_ms: int = attrs.field(
        default=MAX_APPROVAL_TIMEOUT_MS, validator=attrs.validators.ge(1)
    )
    allow_self_approval: tuple[str, ...] = attrs.field(default=(), converter=_names)
    max_pending_pairings: int = attrs.field(default=256, validator=attrs.validators.ge(1))
    max_paired_devices: int = attrs.field(default=10_000, validator=attrs.validators.ge(1))
    store_flush_interval: float = attrs.field(default=0.2, validator=attrs.validators.ge(0))
    send_timeout: float = 10.0
    tick_interval_ms: int = 30_000
    server_version: str = f"openclaw-exec-{__version__}"
    events_to_approval_clients_only: bool = True
    min_protocol: int = attrs.field(default=3, validator=attrs.validators.in_((3, 4)))
    max_protocol: int = attrs.field(default=4, validator=attrs.validators.in_((3, 4)))

    def __attrs_post_init__(self) -> None:
        if self.min_protocol > self.max_protocol:
            raise ValueError(
                f"min_protocol {self.min_protocol} is above max_protocol {self.max_protocol}"
            )
