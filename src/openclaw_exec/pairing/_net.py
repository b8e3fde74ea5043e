"""
Address and header helpers for the locality rules (pure, cached).

Addresses are parsed strictly, the way OpenClaw's ``src/shared/net/ip.ts`` does:
brackets and a port are stripped, IPv4 must be canonical dotted decimal (``127.1``,
``0x7f.0.0.1`` and ``2130706433`` are not addresses), and an IPv4-mapped IPv6 address
(``::ffff:127.0.0.1``) is converted to IPv4 before any range test.
"""

from __future__ import annotations

import functools
import ipaddress

from openclaw_exec.exceptions import PairingError

__all__: list[str] = []

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_ADDRESS_CHARS = frozenset("0123456789abcdefABCDEF:.")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})

# Private-or-loopback as OpenClaw's later locality classes use it: loopback, RFC 1918,
# link-local, CGNAT 100.64.0.0/10, IPv6 unique-local and link-local.
_PRIVATE_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(text)
    for text in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def _strip_port(text: str) -> str:
    """Strip ``[v6]:port``, ``[v6]``, and ``v4:port``; leave bare IPv6 alone."""
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return ""
        rest = text[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return ""
        return text[1:end]
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host if port.isdigit() else ""
    return text


@functools.lru_cache(maxsize=4096)
def parse_ip(text: str) -> IPAddress | None:
    """
    Parse one address strictly; ``None`` when it is not an address.

    ``localhost`` (any case) is read as ``127.0.0.1``: the issue asks for loopback in
    every spelling, and a socket layer that reports a name reports its own host.
    """
    candidate = _strip_port(text.strip())
    if candidate.lower() in _LOOPBACK_NAMES:
        return ipaddress.IPv4Address("127.0.0.1")
    address_part = candidate.split("%", 1)[0]
    if not address_part or any(ch not in _ADDRESS_CHARS for ch in address_part):
        # Reject names, signs and spaces before ipaddress sees them.
        return None
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback(address: IPAddress | None) -> bool:
    """True for ``127.0.0.0/8`` and ``::1`` (mapped forms are already IPv4)."""
    if address is None:
        return False
    if address.version == 4:
        return int(address) >> 24 == 127
    return int(address) == 1


@functools.lru_cache(maxsize=4096)
def is_private_or_loopback(address: IPAddress | None) -> bool:
    """True for loopback, RFC 1918, link-local, CGNAT, IPv6 ULA and link-local."""
    if address is None:
        return False
    return any(
        address.version == network.version and address in network for network in _PRIVATE_NETWORKS
    )


@functools.lru_cache(maxsize=1024)
def parse_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """
    Parse trusted-proxy or CIDR entries (exact addresses or CIDRs).

    Raises:
        PairingError: Naming the first entry that is neither.
    """
    networks: list[IPNetwork] = []
    for entry in entries:
        text = entry.strip()
        address = parse_ip(text)
        if address is not None:
            networks.append(ipaddress.ip_network(address))
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise PairingError(
                f"invalid address or CIDR {entry!r}: expected e.g. 127.0.0.1 or 10.0.0.0/8"
            ) from None
        if (
            isinstance(network, ipaddress.IPv6Network)
            and network.network_address.ipv4_mapped is not None
        ):
            mapped = network.network_address.ipv4_mapped
            prefix = max(network.prefixlen - 96, 0)
            network = ipaddress.ip_network(f"{mapped}/{prefix}", strict=False)
        networks.append(network)
    return tuple(networks)


def in_networks(address: IPAddress | None, networks: tuple[IPNetwork, ...]) -> bool:
    """True when *address* lies in one of *networks* (same family only)."""
    if address is None or not networks:
        return False
    return any(address.version == network.version and address in network for network in networks)


@functools.lru_cache(maxsize=4096)
def host_name(host_header: str | None) -> str | None:
    """
    The host part of a ``Host`` header, lower-cased, port and brackets removed.

    ``None`` for a missing or unparseable header.
    """
    if host_header is None:
        return None
    text = host_header.strip().lower()
    if not text:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return None
        rest = text[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return text[1:end]
    if text.count(":") == 1:
        name, _, port = text.partition(":")
        if not port.isdigit():
            return None
        text = name
    elif text.count(":") > 1:
        # A bare IPv6 literal is not a valid Host header (RFC 7230 needs brackets).
        return None
    return text or None


@functools.lru_cache(maxsize=4096)
def is_loopback_host(name: str | None) -> bool:
    """True for ``localhost`` and loopback literals (a hostname, not a header)."""
    if name is None:
        return False
    if name in _LOOPBACK_NAMES:
        return True
    return is_loopback(parse_ip(name))


@functools.lru_cache(maxsize=4096)
def is_private_or_loopback_host(name: str | None) -> bool:
    """True for ``localhost`` and private-or-loopback literals."""
    if name is None:
        return False
    if name in _LOOPBACK_NAMES:
        return True
    return is_private_or_loopback(parse_ip(name))
