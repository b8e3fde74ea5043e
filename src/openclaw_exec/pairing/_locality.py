"""
Is this connection local? One pure function with named classes.

The classes and their order are OpenClaw's ``resolvePairingLocality`` (post-#69431);
``direct_local`` uses the later, stricter rule the 4.1 warnings already describe: the
resolved client address is loopback, the ``Host`` header names this host, forwarding
headers are believed only from a trusted proxy, and a browser ``Origin`` counts against
locality unless it is the Control UI or webchat opened on this host.
"""

from __future__ import annotations

import functools

from openclaw_exec.pairing import _net
from openclaw_exec.pairing._model import AuthConfig, ConnectionFacts, Locality

__all__ = [
    "BROWSER_UI_CLIENT_IDS",
    "classify_locality",
    "is_browser_ui_client",
    "resolve_client_ip",
]

BROWSER_UI_CLIENT_IDS = frozenset({"openclaw-control-ui", "webchat", "webchat-ui"})
"""Client ids OpenClaw treats as the Control UI or webchat (browser clients)."""


def is_browser_ui_client(client_id: str, client_mode: str) -> bool:
    """True for the Control UI and webchat (by id, or by ``mode: webchat``)."""
    return client_id in BROWSER_UI_CLIENT_IDS or client_mode == "webchat"


def resolve_client_ip(connection: ConnectionFacts, auth: AuthConfig) -> _net.IPAddress | None:
    """
    The client address as OpenClaw's ``resolveClientIp`` finds it.

    A peer outside ``trusted_proxies`` is the client. From a trusted peer,
    ``X-Forwarded-For`` is walked right to left skipping loopback hops and trusted
    proxies; the first other hop is the client. If none is found, ``X-Real-IP`` is used
    only with ``allow_real_ip_fallback``. A hop that is not a strict address, or no
    client at all, gives ``None`` (which is never local).
    """
    return _resolve(
        connection.peer_address,
        connection.x_forwarded_for,
        connection.x_real_ip,
        auth.trusted_proxies,
        auth.allow_real_ip_fallback,
    )


@functools.lru_cache(maxsize=4096)
def _resolve(
    peer_text: str,
    forwarded_for: str | None,
    real_ip: str | None,
    trusted_proxies: tuple[str, ...],
    real_ip_fallback: bool,
) -> _net.IPAddress | None:
    peer = _net.parse_ip(peer_text)
    if peer is None:
        return None
    trusted = _net.parse_networks(trusted_proxies)
    if not _net.in_networks(peer, trusted):
        return peer
    if forwarded_for:
        for hop_text in reversed(forwarded_for.split(",")):
            hop = _net.parse_ip(hop_text)
            if hop is None:
                return None
            if _net.is_loopback(hop) or _net.in_networks(hop, trusted):
                continue
            return hop
    if real_ip_fallback and real_ip:
        return _net.parse_ip(real_ip)
    return None


def _origin_hostname(origin: str | None) -> str | None:
    """The lower-case host name of an ``Origin`` (``scheme://host[:port]``), else ``None``."""
    if origin is None:
        return None
    text = origin.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme or "/" in rest.rstrip("/") or "@" in rest:
        return None
    return _net.host_name(rest.rstrip("/"))


def classify_locality(
    connection: ConnectionFacts,
    auth: AuthConfig,
    *,
    client_id: str,
    client_mode: str,
    shared_secret_ok: bool,
) -> Locality:
    """
    Classify a connection; the first matching class wins.

    * ``direct_local``: the resolved client address is loopback; the ``Host`` header is
      ``localhost`` or a loopback literal; there are no forwarding headers, or the peer is
      a trusted proxy; and there is no ``Origin``, unless the client is the Control UI or
      webchat and the ``Origin`` host is loopback.
    * ``browser_container_local``: Control UI or webchat; *shared_secret_ok*; no forwarding
      headers; an ``Origin`` whose host is loopback; peer private or loopback; ``Host``
      loopback.
    * ``cli_container_local``: ``cli``/``cli``; *shared_secret_ok*; no forwarding headers; no
      ``Origin``; peer loopback; ``Host`` private or loopback.
    * ``shared_secret_loopback_local``: the same for any client.
    * ``remote``: everything else (including an unparseable peer or ``Host``).

    Args:
        connection: The socket facts.
        auth: The gateway configuration (trusted proxies, real-IP fallback).
        client_id: ``client.id`` (only selects which class is tried, never grants).
        client_mode: ``client.mode``.
        shared_secret_ok: Whether a shared secret (token or password, or the
            approval-runtime credential) was verified for this connection.

    Returns:
        The locality class. Never raises.
    """
    return _locality_of(connection, auth, client_id, client_mode, shared_secret_ok=shared_secret_ok)


def _locality_of(
    connection: ConnectionFacts,
    auth: AuthConfig,
    client_id: str,
    client_mode: str,
    shared_secret_ok: bool,
) -> Locality:
    """:func:`classify_locality` with positional arguments (the pairing core's hot path)."""
    return _classify(
        connection.peer_address,
        connection.host,
        connection.origin,
        connection.has_forwarding_headers,
        connection.x_forwarded_for,
        connection.x_real_ip,
        auth.trusted_proxies,
        auth.allow_real_ip_fallback,
        client_id,
        client_mode,
        shared_secret_ok,
    )


@functools.lru_cache(maxsize=8192)
def _classify(  # noqa: PLR0917 (plain positional values are the cache key)
    peer_text: str,
    host_header: str | None,
    origin: str | None,
    forwarded: bool,
    forwarded_for: str | None,
    real_ip: str | None,
    trusted_proxies: tuple[str, ...],
    real_ip_fallback: bool,
    client_id: str,
    client_mode: str,
    shared_secret_ok: bool,
) -> Locality:
    """:func:`classify_locality` over plain values, so repeated connections hit a cache."""
    peer = _net.parse_ip(peer_text)
    host = _net.host_name(host_header)
    origin_present = origin is not None
    origin_host = _origin_hostname(origin)
    browser_ui = is_browser_ui_client(client_id, client_mode)
    client_ip = _resolve(peer_text, forwarded_for, real_ip, trusted_proxies, real_ip_fallback)
    if (
        _net.is_loopback(client_ip)
        and _net.is_loopback_host(host)
        and (not forwarded or _net.in_networks(peer, _net.parse_networks(trusted_proxies)))
        and (not origin_present or (browser_ui and _net.is_loopback_host(origin_host)))
    ):
        return Locality.DIRECT_LOCAL
    if not shared_secret_ok or forwarded:
        return Locality.REMOTE
    if (
        browser_ui
        and origin_present
        and _net.is_loopback_host(origin_host)
        and _net.is_private_or_loopback(peer)
        and _net.is_loopback_host(host)
    ):
        return Locality.BROWSER_CONTAINER_LOCAL
    if origin_present or not _net.is_loopback(peer) or not _net.is_private_or_loopback_host(host):
        return Locality.REMOTE
    if client_id == "cli" and client_mode == "cli":
        return Locality.CLI_CONTAINER_LOCAL
    return Locality.SHARED_SECRET_LOOPBACK_LOCAL
