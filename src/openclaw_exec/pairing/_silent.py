"""
Whether a needed pairing is approved silently or waits for a human.

The local rule and the CIDR node rule; docs/pairing.md has the table.
"""

from __future__ import annotations

import functools

from openclaw_exec.pairing import _net
from openclaw_exec.pairing._model import (
    _L_CLI_CONTAINER,
    _L_DIRECT,
    _L_REMOTE,
    _L_SHARED_LOOPBACK,
    _M_PASSWORD,
    _M_PROXY,
    _M_TOKEN,
    _R_METADATA_UPGRADE,
    _R_NOT_PAIRED,
    AuthConfig,
    AuthMethod,
    ConnectionFacts,
    Locality,
    PairingReason,
)
from openclaw_exec.pairing._values import NATIVE_APP_CLIENT_IDS

__all__: list[str] = []  # helpers of decide_pairing; nothing public here


def _cidr_node_rule(
    method: AuthMethod | None,
    auth: AuthConfig,
    connection: ConnectionFacts,
    peer: _net.IPAddress | None,
    browser_ui: bool,
) -> tuple[str, str] | None:
    """
    The autoApproveCidrs rule, tried first for a fresh ``node`` without scopes.

    ``None`` when it does not apply (then :func:`_local_rule` decides).
    """
    shared_ok = method is _M_TOKEN or method is _M_PASSWORD or method is _M_PROXY
    if (
        shared_ok
        and connection.origin is None
        and not browser_ui
        and not connection.has_forwarding_headers
        and not _net.is_loopback(peer)
        and not _net.in_networks(peer, _net.parse_networks(auth.trusted_proxies))
        and _net.in_networks(peer, _net.parse_networks(auth.auto_approve_cidrs))
    ):
        return "silent-cidr-node-pairing", f"fresh node from {peer} inside autoApproveCidrs"
    return None


@functools.lru_cache(maxsize=4096)
def _local_rule(  # noqa: PLR0917 (plain positional values are the cache key)
    reason: PairingReason,
    role: str,
    was_node: bool,
    locality: Locality,
    method: AuthMethod | None,
    auto_approve_local: bool,
    browser_ui: bool,
    has_origin: bool,
    client_id: str,
) -> tuple[str, str]:
    """
    Return ``(rule id, note)``: ``silent-local-pairing`` or a ``pairing-required-*`` rule.

    *was_node*: the device is paired and ``node`` is among its approved roles. Notes
    format the enums' ``_value_`` (what a ``StrEnum`` formats as). Cached: the answer
    depends on these few values only, and a device reconnecting asks the same question.
    """
    shared_ok = method is _M_TOKEN or method is _M_PASSWORD or method is _M_PROXY
    not_paired = reason is _R_NOT_PAIRED
    if locality is _L_REMOTE:
        return "pairing-required-remote", f"{reason._value_} on a remote connection"
    if not shared_ok:
        method_text = "None" if method is None else method._value_
        return (
            "pairing-required-no-secret",
            (f"{reason._value_} on a {locality._value_} connection authenticated by {method_text}"),
        )
    if not auto_approve_local:
        return "pairing-required-auto-approve-off", f"{reason._value_} with autoApproveLocal off"
    if not not_paired and (role != "operator" or was_node):
        return (
            "pairing-required-node-upgrade",
            f"{reason._value_} of a node device (role {role}); nodes are never upgraded silently",
        )
    if reason is _R_METADATA_UPGRADE:
        native = locality is _L_DIRECT and client_id in NATIVE_APP_CLIENT_IDS
        container = locality is _L_CLI_CONTAINER or locality is _L_SHARED_LOOPBACK
        if browser_ui or has_origin or not (native or container):
            return (
                "pairing-required-metadata",
                f"metadata changed for {client_id} on a {locality._value_} connection",
            )
    assert method is not None  # shared_ok
    return (
        "silent-local-pairing",
        f"{reason._value_} approved silently: {locality._value_}, {method._value_} verified",
    )
