"""
The values the pairing decision reads and returns.

Everything here is a frozen, keyword-only attrs class or a string enum whose values are
OpenClaw's spellings. Constructors validate their fields and raise
:class:`~openclaw_exec.exceptions.PairingError` (a ``ValueError``) for malformed input;
a *decision* is never an exception.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from openclaw_exec._values import positional_maker
from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing._net import parse_networks

__all__ = [
    "AuthConfig",
    "AuthMethod",
    "AuthMode",
    "ConnectRequest",
    "ConnectionFacts",
    "DeviceProof",
    "DeviceTokenRecord",
    "Locality",
    "Outcome",
    "PairedDevice",
    "PairingDecision",
    "PairingReason",
    "PendingPairing",
]


class AuthMode(enum.StrEnum):
    """``gateway.auth.mode``: how a connection proves it may talk to the gateway."""

    NONE = "none"  # no shared secret; only a paired device can get scopes
    TOKEN = "token"  # noqa: S105 (an enum spelling, not a secret); shared token in ``auth.token``
    PASSWORD = "password"  # noqa: S105 (an enum spelling, not a secret); shared password in ``auth.password``
    TRUSTED_PROXY = "trusted-proxy"  # an identity header from a trusted reverse proxy


class AuthMethod(enum.StrEnum):
    """How this connection was actually authenticated (OpenClaw's ``authMethod``)."""

    NONE = "none"  # auth.mode none: nobody proved anything
    TOKEN = "token"  # noqa: S105 (an enum spelling, not a secret); the shared token matched
    PASSWORD = "password"  # noqa: S105 (an enum spelling, not a secret); the shared password matched
    TRUSTED_PROXY = "trusted-proxy"  # a trusted proxy vouched for the user
    DEVICE_TOKEN = "device-token"  # noqa: S105 (an enum spelling, not a secret); a per-device token issued at pairing matched
    APPROVAL_RUNTIME = "approval-runtime"  # the approval-runtime credential matched


class Locality(enum.StrEnum):
    """Where a connection comes from, as OpenClaw's ``resolvePairingLocality`` names it."""

    DIRECT_LOCAL = "direct_local"  # loopback peer, local Host, no untrusted forwarding
    BROWSER_CONTAINER_LOCAL = "browser_container_local"  # Control UI in a container, secret OK
    CLI_CONTAINER_LOCAL = "cli_container_local"  # the CLI in a container, secret OK
    SHARED_SECRET_LOOPBACK_LOCAL = "shared_secret_loopback_local"  # noqa: S105 (an enum spelling, not a secret); loopback, secret OK
    REMOTE = "remote"  # everything else

    @property
    def is_local(self) -> bool:
        """True for every class but :attr:`REMOTE`."""
        return self is not Locality.REMOTE


class PairingReason(enum.StrEnum):
    """Why a device needs (re-)approval; OpenClaw's ``details.reason`` values."""

    NOT_PAIRED = "not-paired"  # unknown device, or a known id with another key
    ROLE_UPGRADE = "role-upgrade"  # the role asked for is not an effective role
    SCOPE_UPGRADE = "scope-upgrade"  # the scopes asked for are not covered
    METADATA_UPGRADE = "metadata-upgrade"  # pinned platform / device family changed


class Outcome(enum.StrEnum):
    """The four shapes a pairing decision can take."""

    ACCEPT = "accept"  # hello-ok with the granted role and scopes
    ACCEPT_AFTER_SILENT_PAIRING = "accept-after-silent-pairing"  # store record, then hello-ok
    PAIRING_REQUIRED = "pairing-required"  # store pending request, close 1008
    REJECT = "reject"  # error response and close


# -- validators -------------------------------------------------------------------------


def _check_str(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not str and not isinstance(value, str):
        raise PairingError(f"{attribute.name}: expected a string, found {type(value).__name__}")


def _check_opt_str(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and type(value) is not str and not isinstance(value, str):
        raise PairingError(
            f"{attribute.name}: expected a string or null, found {type(value).__name__}"
        )


def _check_int(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
        raise PairingError(f"{attribute.name}: expected an integer, found {type(value).__name__}")


def _check_opt_int(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _check_int(_inst, attribute, value)


def _check_bool(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise PairingError(f"{attribute.name}: expected true or false, found {value!r}")


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if type(value) is tuple:
        # The common case, kept cheap (a plain loop, not all() over a generator): records
        # are built on every connect.
        for item in value:
            if type(item) is not str:
                break
        else:
            return value
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise PairingError(f"expected a list of strings, found {type(value).__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise PairingError(f"expected a list of strings, found an item {item!r}")
    return items


def _opt_str_tuple(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else _str_tuple(value)


def _networks(value: Iterable[str]) -> tuple[str, ...]:
    items = _str_tuple(value)
    parse_networks(items)  # raises PairingError naming the bad entry
    return items


def _auth_mode(value: AuthMode | str) -> AuthMode:
    if type(value) is AuthMode:
        return value
    try:
        return AuthMode(value)
    except ValueError:
        allowed = ", ".join(m.value for m in AuthMode)
        raise PairingError(f"mode: expected one of {allowed}, found {value!r}") from None


def _pairing_reason(value: PairingReason | str) -> PairingReason:
    if type(value) is PairingReason:
        return value
    try:
        return PairingReason(value)
    except ValueError:
        allowed = ", ".join(r.value for r in PairingReason)
        raise PairingError(f"reason: expected one of {allowed}, found {value!r}") from None


# -- inputs -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ConnectionFacts:
    """
    What the gateway knows about the socket before reading the ``connect`` frame.

    Attributes:
        peer_address: The socket peer address as the transport reports it.
        challenge_nonce: The nonce this gateway sent in ``connect.challenge``.
        host: The ``Host`` header of the upgrade request, if any.
        origin: The ``Origin`` header (browsers send it), if any.
        forwarded: The RFC 7239 ``Forwarded`` header, if any.
        x_forwarded_for: ``X-Forwarded-For``, if any.
        x_forwarded_proto: ``X-Forwarded-Proto``, if any.
        x_forwarded_host: ``X-Forwarded-Host``, if any.
        x_real_ip: ``X-Real-IP``, if any.
        proxy_user: The user identity header a trusted proxy set (trusted-proxy auth).
    """

    peer_address: str = attrs.field(validator=_check_str)
    challenge_nonce: str = attrs.field(validator=_check_str)
    host: str | None = attrs.field(default=None, validator=_check_opt_str)
    origin: str | None = attrs.field(default=None, validator=_check_opt_str)
    forwarded: str | None = attrs.field(default=None, validator=_check_opt_str)
    x_forwarded_for: str | None = attrs.field(default=None, validator=_check_opt_str)
    x_forwarded_proto: str | None = attrs.field(default=None, validator=_check_opt_str)
    x_forwarded_host: str | None = attrs.field(default=None, validator=_check_opt_str)
    x_real_ip: str | None = attrs.field(default=None, validator=_check_opt_str)
    proxy_user: str | None = attrs.field(default=None, validator=_check_opt_str)

    @property
    def has_forwarding_headers(self) -> bool:
        """True when any proxy header is present (even empty)."""
        return (
            self.forwarded is not None
            or self.x_forwarded_for is not None
            or self.x_forwarded_proto is not None
            or self.x_forwarded_host is not None
            or self.x_real_ip is not None
        )


@attrs.frozen(kw_only=True)
class AuthConfig:
    """
    The gateway's authentication and pairing configuration.

    Attributes:
        mode: ``gateway.auth.mode``.
        token: ``gateway.auth.token`` (mode token).
        password: ``gateway.auth.password`` (mode password).
        trusted_proxies: ``gateway.trustedProxies``: addresses or CIDRs whose forwarding
            headers are believed.
        allow_real_ip_fallback: ``gateway.allowRealIpFallback``: use ``X-Real-IP`` from a
            trusted proxy when ``X-Forwarded-For`` names no client.
        auto_approve_local: ``gateway.nodes.pairing.autoApproveLocal`` (default on): local
            connections with a valid shared secret are paired and upgraded silently.
        auto_approve_cidrs: ``gateway.nodes.pairing.autoApproveCidrs``: fresh ``node``
            devices without scopes connecting directly from these ranges pair silently.
        allowed_origins: ``gateway.controlUi.allowedOrigins`` (``*`` allows any).
        approval_runtime_token: The approval-runtime credential this gateway accepts,
            normally :func:`derive_approval_runtime_token` of the approvals-socket token;
            ``None`` disables the approval-runtime path.
    """

    mode: AuthMode = attrs.field(converter=_auth_mode)
    # Secrets: never in a repr (logs, tracebacks, test failure output).
    token: str | None = attrs.field(default=None, validator=_check_opt_str, repr=False)
    password: str | None = attrs.field(default=None, validator=_check_opt_str, repr=False)
    trusted_proxies: tuple[str, ...] = attrs.field(default=(), converter=_networks)
    allow_real_ip_fallback: bool = attrs.field(default=False, validator=_check_bool)
    auto_approve_local: bool = attrs.field(default=True, validator=_check_bool)
    auto_approve_cidrs: tuple[str, ...] = attrs.field(default=(), converter=_networks)
    allowed_origins: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    approval_runtime_token: str | None = attrs.field(
        default=None, validator=_check_opt_str, repr=False
    )


@attrs.frozen(kw_only=True)
class DeviceProof:
    """
    The ``device`` object of a ``connect`` request: identity plus signature.

    Attributes:
        id: The claimed device id (lower-case hex SHA-256 of the raw public key).
        public_key: The public key, base64url of the raw 32 bytes (PEM SPKI accepted).
        signature: Ed25519 signature of the v3 or v2 payload, base64url (base64 accepted).
        signed_at_ms: ``device.signedAt`` in milliseconds.
        nonce: The nonce the client signed (must equal the challenge nonce).
    """

    id: str = attrs.field(validator=_check_str)
    public_key: str = attrs.field(validator=_check_str)
    signature: str = attrs.field(validator=_check_str)
    signed_at_ms: int = attrs.field(validator=_check_int)
    nonce: str = attrs.field(validator=_check_str)


@attrs.frozen(kw_only=True)
class ConnectRequest:
    """
    The parts of ``connect.params`` that matter for pairing.

    Attributes:
        client_id: ``client.id`` (a label: it never grants anything by itself).
        client_mode: ``client.mode`` (a label as well).
        role: ``role`` as sent; ``None`` means the default ``operator``.
        scopes: ``scopes`` in the order sent.
        platform: ``client.platform``.
        device_family: ``client.deviceFamily``.
        display_name: ``client.displayName``.
        token: ``auth.token`` (the shared token).
        password: ``auth.password``.
        bootstrap_token: ``auth.bootstrapToken``.
        device_token: ``auth.deviceToken`` (issued at pairing).
        approval_runtime_token: ``auth.approvalRuntimeToken``: the approval-runtime
            credential (exclusive with ``device``).
        device: The device identity and signature, if sent.
    """

    client_id: str = attrs.field(validator=_check_str)
    client_mode: str = attrs.field(validator=_check_str)
    role: str | None = attrs.field(default=None, validator=_check_opt_str)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    platform: str | None = attrs.field(default=None, validator=_check_opt_str)
    device_family: str | None = attrs.field(default=None, validator=_check_opt_str)
    display_name: str | None = attrs.field(default=None, validator=_check_opt_str)
    token: str | None = attrs.field(default=None, validator=_check_opt_str, repr=False)
    password: str | None = attrs.field(default=None, validator=_check_opt_str, repr=False)
    bootstrap_token: str | None = attrs.field(default=None, validator=_check_opt_str, repr=False)
    device_token: str | None = attrs.field(default=None, validator=_check_opt_str, repr=False)
    approval_runtime_token: str | None = attrs.field(
        default=None, validator=_check_opt_str, repr=False
    )
    device: DeviceProof | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(DeviceProof))
    )


@attrs.frozen(kw_only=True)
class DeviceTokenRecord:
    """
    One entry of a paired device's ``tokens`` map.

    Attributes:
        role: The role the token is for.
        token: The token secret.
        scopes: The scopes the token carries.
        created_at_ms: When it was minted.
        revoked_at_ms: When it was revoked, or ``None`` while it is live.
    """

    role: str = attrs.field(validator=_check_str)
    token: str = attrs.field(validator=_check_str, repr=False)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    created_at_ms: int = attrs.field(default=0, validator=_check_int)
    revoked_at_ms: int | None = attrs.field(default=None, validator=_check_opt_int)


def _token_tuple(value: Iterable[DeviceTokenRecord] | None) -> tuple[DeviceTokenRecord, ...] | None:
    if value is None or value == ():
        return value
    if type(value) is tuple:
        for item in value:
            if type(item) is not DeviceTokenRecord:
                break
        else:
            return value
    if isinstance(value, Mapping):
        value = value.values()
    items = tuple(value)
    for item in items:
        if not isinstance(item, DeviceTokenRecord):
            raise PairingError(f"tokens: expected DeviceTokenRecord items, found {item!r}")
    return items


# Not slotted, like PairingDecision: a frozen dict class is built by writing __dict__
# directly instead of calling object.__setattr__ per field (a silent pairing builds one).
@attrs.frozen(kw_only=True, slots=False)
class PairedDevice:
    """
    A stored pairing record (OpenClaw's ``devices/paired.json`` row).

    Attributes:
        device_id: The device id.
        public_key: The approved public key (base64url raw, or PEM).
        role: The role recorded at pairing (legacy single-role field).
        roles: The approved roles.
        scopes: OpenClaw's ``scopes`` (last seen, legacy).
        approved_scopes: ``approvedScopes``; when set it is what coverage is checked against.
        tokens: The per-role device tokens. ``None`` means the record has no ``tokens``
            map; ``()`` means an empty map (``tokens: {}``). Both fall back to ``roles``.
        platform: The pinned platform, if any.
        device_family: The pinned device family, if any.
        client_id: The client id seen at pairing.
        client_mode: The client mode seen at pairing.
        display_name: The display name seen at pairing.
        created_at_ms: When the record was created.
        approved_at_ms: When it was last approved.
    """

    device_id: str = attrs.field(validator=_check_str)
    public_key: str = attrs.field(validator=_check_str)
    role: str | None = attrs.field(default=None, validator=_check_opt_str)
    roles: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    approved_scopes: tuple[str, ...] | None = attrs.field(default=None, converter=_opt_str_tuple)
    tokens: tuple[DeviceTokenRecord, ...] | None = attrs.field(default=None, converter=_token_tuple)
    platform: str | None = attrs.field(default=None, validator=_check_opt_str)
    device_family: str | None = attrs.field(default=None, validator=_check_opt_str)
    client_id: str | None = attrs.field(default=None, validator=_check_opt_str)
    client_mode: str | None = attrs.field(default=None, validator=_check_opt_str)
    display_name: str | None = attrs.field(default=None, validator=_check_opt_str)
    created_at_ms: int = attrs.field(default=0, validator=_check_int)
    approved_at_ms: int = attrs.field(default=0, validator=_check_int)

    @property
    def approved_roles(self) -> tuple[str, ...]:
        """``roles`` plus the legacy ``role``, sorted, without duplicates."""
        roles = set(self.roles)
        if self.role:
            roles.add(self.role)
        return tuple(sorted(roles))

    @property
    def baseline_scopes(self) -> tuple[str, ...]:
        """What requested scopes are checked against: ``approved_scopes``, else ``scopes``."""
        return self.approved_scopes if self.approved_scopes is not None else self.scopes


# Not slotted, for the same reason (every pairing-required decision builds one).
@attrs.frozen(kw_only=True, slots=False)
class PendingPairing:
    """
    A pairing request waiting for a human (OpenClaw's ``devices/pending.json`` row).

    Attributes:
        request_id: The id a human approves with ``openclaw devices approve <id>``.
        device_id: The device asking.
        public_key: Its public key (base64url raw).
        reason: Why approval is needed.
        role: The role asked for.
        roles: Every role asked for while this request was pending.
        scopes: The scopes asked for (merged while pending).
        is_repair: True when the device was already paired (an upgrade).
        ts_ms: When the request was created or last refreshed.
        platform: The claimed platform.
        device_family: The claimed device family.
        client_id: The client id.
        client_mode: The client mode.
        display_name: The display name.
        remote_ip: The resolved client address, if any.
    """

    request_id: str = attrs.field(validator=_check_str)
    device_id: str = attrs.field(validator=_check_str)
    public_key: str = attrs.field(validator=_check_str)
    reason: PairingReason = attrs.field(converter=_pairing_reason)
    role: str = attrs.field(validator=_check_str)
    roles: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    is_repair: bool = attrs.field(default=False, validator=_check_bool)
    ts_ms: int = attrs.field(default=0, validator=_check_int)
    platform: str | None = attrs.field(default=None, validator=_check_opt_str)
    device_family: str | None = attrs.field(default=None, validator=_check_opt_str)
    client_id: str | None = attrs.field(default=None, validator=_check_opt_str)
    client_mode: str | None = attrs.field(default=None, validator=_check_opt_str)
    display_name: str | None = attrs.field(default=None, validator=_check_opt_str)
    remote_ip: str | None = attrs.field(default=None, validator=_check_opt_str)


# -- output -----------------------------------------------------------------------------


# Not slotted: frozen dict classes are built by writing __dict__ directly, which makes the
# decision value about a third cheaper to create (it is created once per connect).
@attrs.frozen(kw_only=True, eq=True, hash=False, slots=False)
class PairingDecision:
    """
    What the gateway must do with one ``connect``: a value, never an exception.

    Attributes:
        outcome: ACCEPT, ACCEPT_AFTER_SILENT_PAIRING, PAIRING_REQUIRED or REJECT.
        rule: The id of the rule that produced it (see :data:`PAIRING_RULES`).
        note: One sentence on the specific facts that made the rule apply.
        locality: The locality class of the connection (``remote`` when it was never
            computed because the decision came first).
        auth_method: How the connection authenticated, if it did.
        role: The effective role asked for (granted when accepted).
        scopes: The granted scopes (empty unless accepted).
        issue_device_token: Whether to mint or refresh a device token for ``role``.
        device_token_scopes: The scopes that token carries (the approved baseline).
        paired_record: The record to store (ACCEPT_AFTER_SILENT_PAIRING only).
        pairing_reason: The pairing reason (silent pairing and PAIRING_REQUIRED).
        pending_request: The pending request to store (PAIRING_REQUIRED only).
        close_code: The WebSocket close code (PAIRING_REQUIRED and REJECT).
        close_reason: The close reason text as OpenClaw sends it (at most 120 bytes).
        error_code: ``error.code`` of the failed ``connect`` response.
        error_message: ``error.message`` of that response.
        error_details: ``error.details`` of that response, JSON-ready.
    """

    outcome: Outcome
    rule: str
    note: str = ""
    locality: Locality = Locality.REMOTE
    auth_method: AuthMethod | None = None
    role: str | None = None
    scopes: tuple[str, ...] = ()
    issue_device_token: bool = False
    device_token_scopes: tuple[str, ...] = ()
    paired_record: PairedDevice | None = None
    pairing_reason: PairingReason | None = None
    pending_request: PendingPairing | None = None
    close_code: int | None = None
    close_reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_details: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def accepted(self) -> bool:
        """True for ACCEPT and ACCEPT_AFTER_SILENT_PAIRING."""
        return self.outcome in {Outcome.ACCEPT, Outcome.ACCEPT_AFTER_SILENT_PAIRING}


# -- internal fast construction ---------------------------------------------------------
#
# ``decide_pairing`` builds a decision on every connect, and a record or a pending request
# on every pairing, from parts it has already validated: fields of validated inputs,
# enum members, and tuples of strings it derived itself (already in the form the
# converters produce). Running the attrs ``__init__`` again (keyword parsing, a validator
# or converter per field) is most of the cost of those values, so the core builds them
# with makers that store the given values as the instance's ``__dict__`` (see
# ``openclaw_exec._values``). The result is an ordinary instance: it compares equal to,
# hashes and prints like the one the public constructor makes from the same values (a
# property test checks exactly that). Only the pairing core calls these, only with
# values of the declared types; anything that comes straight from a caller and has not
# been validated yet (``now_ms``, ``request_id``) is checked by the caller first, which
# falls back to the public constructor (and its errors) otherwise.

_decision_unchecked = positional_maker(PairingDecision)
"""``PairingDecision(...)`` positionally, in field order; trailing fields default."""
_REFUSE_FIELDS = (
    "outcome",
    "rule",
    "note",
    "locality",
    "auth_method",
    "role",
    "pairing_reason",
    "pending_request",
    "close_code",
    "close_reason",
    "error_code",
    "error_message",
    "error_details",
)
_refuse_unchecked = positional_maker(PairingDecision, _REFUSE_FIELDS)
"""A refusal: nothing granted (no scopes, token or record), a close and an error."""
_paired_device_unchecked = positional_maker(PairedDevice, converted=True)
"""``PairedDevice(...)`` positionally, from already-normalised tuples."""
_pending_unchecked = positional_maker(PendingPairing, converted=True)
"""``PendingPairing(...)`` positionally, from already-normalised tuples."""


# Module-level aliases of enum members: the decision's hot path reads a global, which is
# cheaper than an attribute load on the enum class.
_MODE_TOKEN = AuthMode.TOKEN
_MODE_PASSWORD = AuthMode.PASSWORD
_MODE_PROXY = AuthMode.TRUSTED_PROXY
_MODE_NONE = AuthMode.NONE
_M_TOKEN = AuthMethod.TOKEN
_M_PASSWORD = AuthMethod.PASSWORD
_M_PROXY = AuthMethod.TRUSTED_PROXY
_M_NONE = AuthMethod.NONE
_M_DEVICE_TOKEN = AuthMethod.DEVICE_TOKEN
_M_RUNTIME = AuthMethod.APPROVAL_RUNTIME
# Enum members read once: in Python 3.11 ``Enum.MEMBER`` is a descriptor lookup of about
# 0.1 us, and the device branch reads a dozen of them per connect.
_R_NOT_PAIRED = PairingReason.NOT_PAIRED
_R_ROLE_UPGRADE = PairingReason.ROLE_UPGRADE
_R_SCOPE_UPGRADE = PairingReason.SCOPE_UPGRADE
_R_METADATA_UPGRADE = PairingReason.METADATA_UPGRADE
_O_ACCEPT = Outcome.ACCEPT
_O_SILENT = Outcome.ACCEPT_AFTER_SILENT_PAIRING
_O_PAIRING_REQUIRED = Outcome.PAIRING_REQUIRED
_O_REJECT = Outcome.REJECT
_L_REMOTE = Locality.REMOTE
_L_DIRECT = Locality.DIRECT_LOCAL
_L_CLI_CONTAINER = Locality.CLI_CONTAINER_LOCAL
_L_SHARED_LOOPBACK = Locality.SHARED_SECRET_LOOPBACK_LOCAL
