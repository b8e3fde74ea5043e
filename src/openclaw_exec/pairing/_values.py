"""
The values the pairing decision compares and builds.

Scope and role sets, the paired-device facts it reads (cached), and the validating
record constructors.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from openclaw_exec.pairing._device import (
    _key_bytes,
    normalize_device_metadata,
)
from openclaw_exec.pairing._model import (
    DeviceTokenRecord,
    PairedDevice,
    PairingReason,
    PendingPairing,
)

APPROVALS_SCOPE = "operator.approvals"
"""The one scope the approval-runtime credential can grant."""

__all__ = [
    "APPROVALS_SCOPE",
    "KNOWN_ROLES",
    "NATIVE_APP_CLIENT_IDS",
    "PENDING_REQUEST_TTL_MS",
    "effective_roles",
    "scopes_cover",
]


KNOWN_ROLES = frozenset({"operator", "node"})
"""The roles a ``connect`` may ask for."""


NATIVE_APP_CLIENT_IDS = frozenset(
    {"openclaw-macos", "openclaw-ios", "openclaw-android", "macos-app"}
)
"""Native app clients whose metadata refresh on direct loopback is silent (post-#69431)."""


PENDING_REQUEST_TTL_MS = 5 * 60 * 1000
"""A pending request older than this is expired and replaced (OpenClaw: 5 minutes)."""


def scopes_cover(role: str, granted: Iterable[str], requested: Iterable[str]) -> bool:
    """
    OpenClaw's ``roleScopesAllow``: do *granted* scopes cover *requested* ones for *role*?

    An empty request is always covered; an empty grant covers nothing else. For role
    ``operator``, ``operator.admin`` covers every ``operator.*`` scope and
    ``operator.write`` covers ``operator.read``; everything else must match exactly.
    """
    wanted = set(requested)
    if not wanted:
        return True
    have = set(granted)
    if not have:
        return False
    operator = role == "operator"
    admin = operator and "operator.admin" in have
    for scope in wanted:
        if scope in have:
            continue
        if admin and scope.startswith("operator."):
            continue
        if operator and scope == "operator.read" and "operator.write" in have:
            continue
        return False
    return True


def effective_roles(paired: PairedDevice) -> frozenset[str]:
    """
    The roles a paired record currently grants.

    With a non-empty ``tokens`` map: the roles of the tokens that are not revoked. With
    no map or an empty one (``tokens: {}``, the legacy shape behind #59882 mechanism B):
    the approved ``roles`` plus the legacy ``role`` (OpenClaw #59092's fallback).
    """
    if paired.tokens:
        return frozenset(t.role for t in paired.tokens if t.revoked_at_ms is None)
    return frozenset(paired.approved_roles)


def _has_effective_role(paired: PairedDevice, role: str) -> bool:
    """``role in effective_roles(paired)`` without building a set."""
    if paired.tokens:
        return any(t.role == role and t.revoked_at_ms is None for t in paired.tokens)
    return role in paired.roles or role == paired.role


def _dedupe(items: tuple[str, ...]) -> tuple[str, ...]:
    if len(items) < 2:  # nothing to drop
        return items
    return tuple(dict.fromkeys(items))


# Derived from the stored record and the request: the same device reconnecting asks the
# same questions, so these small pure helpers are cached on their (hashable) tuples.
@functools.lru_cache(maxsize=4096)
def _covers(role: str, granted: tuple[str, ...], requested: tuple[str, ...]) -> bool:
    return scopes_cover(role, granted, requested)


@functools.lru_cache(maxsize=4096)
def _sorted_unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))


@functools.lru_cache(maxsize=4096)
def _sorted_union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({*first, *second}))


@functools.lru_cache(maxsize=4096)
def _approved_roles(roles: tuple[str, ...], role: str | None) -> tuple[str, ...]:
    """:attr:`PairedDevice.approved_roles` of a record with these ``roles`` and ``role``."""
    merged = set(roles)
    if role:
        merged.add(role)
    return tuple(sorted(merged))


_PairedFacts = tuple[bytes | None, str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""Key bytes, pinned platform, pinned family, baseline scopes, sorted approved scopes, roles."""


@functools.lru_cache(maxsize=4096)
def _paired_facts(  # noqa: PLR0917 (plain positional values are the cache key)
    public_key: str,
    platform: str | None,
    device_family: str | None,
    roles: tuple[str, ...],
    role: str | None,
    scopes: tuple[str, ...],
    approved_scopes: tuple[str, ...] | None,
) -> _PairedFacts:
    """
    What the device branch reads from a stored record, derived once per record content.

    Returns the key bytes the record approved (``None`` if they do not decode), its pinned
    platform and device family (normalized, ``""`` when absent), its baseline scopes
    (:attr:`PairedDevice.baseline_scopes`), those sorted without duplicates, and its
    :attr:`PairedDevice.approved_roles`.
    """
    baseline = scopes if approved_scopes is None else approved_scopes
    return (
        _key_bytes(public_key),
        normalize_device_metadata(platform),
        normalize_device_metadata(device_family),
        baseline,
        _sorted_unique(baseline),
        _approved_roles(roles, role),
    )


@functools.lru_cache(maxsize=4096)
def _normalized_metadata(platform: str | None, device_family: str | None) -> tuple[str, str]:
    """:func:`normalize_device_metadata` of both, in one cached call."""
    return normalize_device_metadata(platform), normalize_device_metadata(device_family)


def _baseline(paired: PairedDevice) -> tuple[str, ...]:
    """:attr:`PairedDevice.baseline_scopes`, read as plain attributes (no property call)."""
    approved = paired.approved_scopes
    return paired.scopes if approved is None else approved


def _paired_device(  # noqa: PLR0917 (the positional shape of _paired_device_unchecked)
    device_id: str,
    public_key: str,
    role: str | None,
    roles: tuple[str, ...],
    scopes: tuple[str, ...],
    approved_scopes: tuple[str, ...] | None,
    tokens: tuple[DeviceTokenRecord, ...] | None,
    platform: str | None,
    device_family: str | None,
    client_id: str | None,
    client_mode: str | None,
    display_name: str | None,
    created_at_ms: int,
    approved_at_ms: int,
) -> PairedDevice:
    """The validating :class:`PairedDevice` constructor, called positionally."""
    return PairedDevice(
        device_id=device_id,
        public_key=public_key,
        role=role,
        roles=roles,
        scopes=scopes,
        approved_scopes=approved_scopes,
        tokens=tokens,
        platform=platform,
        device_family=device_family,
        client_id=client_id,
        client_mode=client_mode,
        display_name=display_name,
        created_at_ms=created_at_ms,
        approved_at_ms=approved_at_ms,
    )


def _pending_pairing(  # noqa: PLR0917 (the positional shape of _pending_unchecked)
    request_id: str,
    device_id: str,
    public_key: str,
    reason: PairingReason,
    role: str,
    roles: tuple[str, ...],
    scopes: tuple[str, ...],
    is_repair: bool,
    ts_ms: int,
    platform: str | None,
    device_family: str | None,
    client_id: str | None,
    client_mode: str | None,
    display_name: str | None,
    remote_ip: str | None,
) -> PendingPairing:
    """The validating :class:`PendingPairing` constructor, called positionally."""
    return PendingPairing(
        request_id=request_id,
        device_id=device_id,
        public_key=public_key,
        reason=reason,
        role=role,
        roles=roles,
        scopes=scopes,
        is_repair=is_repair,
        ts_ms=ts_ms,
        platform=platform,
        device_family=device_family,
        client_id=client_id,
        client_mode=client_mode,
        display_name=display_name,
        remote_ip=remote_ip,
    )
