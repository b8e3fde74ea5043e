"""
Value classes of the approval protocol: decisions, principals, the bound plan, requests, records.

Pure core: no I/O, no clock. Every class is a frozen, keyword-only attrs class that validates
itself, so an invalid request cannot exist in memory. Field names are Python spellings of
OpenClaw's wire names (``command_argv`` is ``commandArgv``); the mapping lives in
:mod:`openclaw_exec.protocol._wire` only.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from openclaw_exec.exceptions import LocalProtocolError

if TYPE_CHECKING:
    from openclaw_exec.protocol._state import ApprovalState

__all__ = [
    "APPROVAL_SLUG_LENGTH",
    "DEFAULT_APPROVAL_TIMEOUT_MS",
    "RESOLVED_GRACE_MS",
    "ApprovalRecord",
    "ApprovalRequest",
    "ApproveCommand",
    "ApproverPolicy",
    "Decision",
    "ExecBinding",
    "IdentifiedApprovers",
    "NamedApprovers",
    "Principal",
    "ScopedApprovers",
    "SystemRunPlan",
    "TerminalReason",
    "check_grant_days",
    "env_hash",
    "mentions_approve_command",
    "parse_approve_command",
    "sanitize_display_text",
]

DEFAULT_APPROVAL_TIMEOUT_MS = 1_800_000
"""OpenClaw's ``DEFAULT_EXEC_APPROVAL_TIMEOUT_MS``: 30 minutes."""

RESOLVED_GRACE_MS = 15_000
"""OpenClaw's ``RESOLVED_ENTRY_GRACE_MS``: how long a settled approval stays readable."""

APPROVAL_SLUG_LENGTH = 8
"""The id prefix shown in chat (``/approve <slug> allow-once``)."""

_MAX_ID_LENGTH = 256
#: OpenClaw 2026.9.6's bounds for ``grantExpiresInDays`` (``Integer({minimum: 1, maximum: 3650})``).
GRANT_DAYS_MIN = 1
GRANT_DAYS_MAX = 3650
_UNSAFE_ID_CHAR = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def check_grant_days(value: object, *, what: str = "grant_expires_in_days") -> int | None:
    """
    Validate an approver's grant lifetime in whole days (OpenClaw: an integer, 1 to 3650).

    Returns:
        The value, or ``None`` for ``None`` (no lifetime of the approver's own).

    Raises:
        LocalProtocolError: Anything else (booleans, fractions, strings, zero, out of range),
            with reason ``INVALID_PARAMS``: a bad lifetime is refused, never dropped (a
            dropped one would leave the guard's default, possibly "until revoked").
    """
    if value is None:
        return None
    if type(value) is not int or not GRANT_DAYS_MIN <= value <= GRANT_DAYS_MAX:
        raise LocalProtocolError(
            f"{what} must be an integer from {GRANT_DAYS_MIN} to {GRANT_DAYS_MAX}, got {value!r}",
            details={"reason": "INVALID_PARAMS"},
        )
    return value


def _grant_days(_inst: object, attr: attrs.Attribute[int | None], value: int | None) -> None:
    check_grant_days(value, what=attr.name)


class Decision(enum.StrEnum):
    """A human's answer to an approval request; the values are OpenClaw's spellings."""

    ALLOW_ONCE = "allow-once"  # run this command now, once
    ALLOW_ALWAYS = "allow-always"  # run it and persist trust in the approvals file
    DENY = "deny"  # do not run it

    @classmethod
    def parse(cls, value: object) -> Decision:
        """
        Parse a wire decision: exactly one of the three spellings.

        Raises:
            LocalProtocolError: For anything else (``"invalid decision"``, OpenClaw's text).
        """
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        raise LocalProtocolError(
            f"invalid decision: {value!r}", details={"reason": "INVALID_DECISION"}
        )

    @classmethod
    def parse_alias(cls, text: str) -> Decision | None:
        """Map one of OpenClaw's ``/approve`` aliases (any case) to a decision, else ``None``."""
        return _ALIASES.get(text.strip().lower())


_ALIASES: dict[str, Decision] = {
    "allow": Decision.ALLOW_ONCE,
    "once": Decision.ALLOW_ONCE,
    "allow-once": Decision.ALLOW_ONCE,
    "allowonce": Decision.ALLOW_ONCE,
    "always": Decision.ALLOW_ALWAYS,
    "allow-always": Decision.ALLOW_ALWAYS,
    "allowalways": Decision.ALLOW_ALWAYS,
    "deny": Decision.DENY,
    "reject": Decision.DENY,
    "block": Decision.DENY,
}

_APPROVE_USAGE = "Usage: /approve <id> allow-once|allow-always|deny"
_APPROVE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_APPROVE_HEAD = re.compile(r"^/?approve(?:@(?P<bot>[A-Za-z0-9_]+))?$", re.IGNORECASE)


@attrs.frozen(kw_only=True)
class ApproveCommand:
    """
    A parsed ``/approve`` chat command.

    Attributes:
        approval_id: The id or id prefix (slug) the sender typed.
        decision: The decision, after alias mapping.
        bot: The ``@bot`` suffix of ``/approve@bot``, if any.
    """

    approval_id: str
    decision: Decision
    bot: str | None = None


def parse_approve_command(text: str) -> ApproveCommand | None:
    """
    Parse ``/approve <id> <decision>`` or ``/approve <decision> <id>`` (OpenClaw 4.1 syntax).

    The leading slash is optional and ``approve`` is case-insensitive; decisions accept
    OpenClaw's aliases (``allow``, ``once``, ``always``, ``reject``, ``block``, ...).

    Returns:
        ``None`` when *text* is not an ``/approve`` command at all.

    Raises:
        LocalProtocolError: When it is one but malformed; the message is OpenClaw's usage line.
    """
    tokens = text.split()
    if not tokens:
        return None
    head = _APPROVE_HEAD.match(tokens[0])
    if head is None:
        return None
    rest = tokens[1:]
    if len(rest) < 2:
        raise LocalProtocolError(_APPROVE_USAGE, details={"reason": "USAGE"})
    first, second = rest[0], rest[1]
    decision = Decision.parse_alias(second)
    approval_id = first
    if decision is None:
        decision = Decision.parse_alias(first)
        approval_id = second
    if decision is None or len(rest) != 2 or not _APPROVE_ID.fullmatch(approval_id):
        raise LocalProtocolError(_APPROVE_USAGE, details={"reason": "USAGE"})
    return ApproveCommand(approval_id=approval_id, decision=decision, bot=head.group("bot"))


_APPROVE_SLASH = re.compile(r"/approve(?:@[A-Za-z0-9_]+)?(?=[\s'\"\\;&|)]|$)", re.IGNORECASE)


def mentions_approve_command(command: str) -> bool:
    """
    Whether shell text contains a ``/approve`` chat command anywhere.

    OpenClaw's exec tool refuses to run ``/approve ...`` ("exec cannot run /approve
    commands"), also behind ``env -S``, ``sh -c``, ``sudo`` and friends: an agent must never
    approve its own request. This check is textual and deliberately broad: any
    ``/approve`` word (optionally ``/approve@bot``), quoted or not, counts.
    """
    return _APPROVE_SLASH.search(command) is not None


def _is_hidden(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char) == "Cf" or code in (0x115F, 0x1160, 0x3164, 0xFFA0)


def sanitize_display_text(text: str) -> str:
    r"""
    Make invisible characters visible, as OpenClaw's display sanitiser does.

    Unicode format characters (category ``Cf``: bidi controls, zero-width joiners, ...) and
    Hangul fillers become ``\u{XXXX}`` escapes, so a reviewer sees what will run. Idempotent.
    """
    if text.isascii():
        return text
    return "".join(f"\\u{{{ord(c):04X}}}" if _is_hidden(c) else c for c in text)


def _sanitize_optional(text: str | None) -> str | None:
    return None if text is None else sanitize_display_text(text)


_PORTABLE_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_hash(env: Mapping[str, str] | None) -> str | None:
    """
    OpenClaw's env binding hash: SHA-256 hex over the sorted ``[key, value]`` pairs.

    Only portable keys (``[A-Za-z_][A-Za-z0-9_]*``) count; ``None`` when none remain.
    """
    if not env:
        return None
    pairs = sorted([k, v] for k, v in env.items() if _PORTABLE_ENV_KEY.fullmatch(k))
    if not pairs:
        return None
    payload = json.dumps(pairs, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _validate_id(_instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a string, not {type(value).__name__}")
    if not value or value != value.strip():
        raise ValueError(f"{attribute.name} must be non-empty with no surrounding whitespace")
    if len(value) > _MAX_ID_LENGTH:
        raise ValueError(f"{attribute.name} is longer than {_MAX_ID_LENGTH} characters")
    if value in {".", ".."} or _UNSAFE_ID_CHAR.search(value):
        raise ValueError(f"{attribute.name} {value!r} is not a safe approval id")


def _non_empty(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name} must be a non-empty string")


def _str_tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise TypeError(f"expected a sequence of strings, got {type(value).__name__}")
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise TypeError("expected a sequence of strings")
    return items


def _optional_str_tuple(value: object) -> tuple[str, ...] | None:
    return None if value is None else _str_tuple(value)


def _frozen_strs(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise TypeError("expected a collection of strings, not a single string")
    return frozenset(value)


_opt_str = attrs.validators.optional(attrs.validators.instance_of(str))


@attrs.frozen(kw_only=True)
class ExecBinding:
    """
    Exactly what an approval allows to run (OpenClaw's ``systemRunBinding``).

    A decision binds to this value: consuming an approval with a different binding fails.

    Attributes:
        argv: The argument vector that will run.
        cwd: The working directory, or ``None`` for the host default.
        agent_id: The agent the run belongs to.
        session_key: The conversation the run belongs to.
        env_hash: :func:`env_hash` of the environment passed to the run.
    """

    argv: tuple[str, ...] = attrs.field(converter=_str_tuple)
    cwd: str | None = attrs.field(default=None, validator=_opt_str)
    agent_id: str | None = attrs.field(default=None, validator=_opt_str)
    session_key: str | None = attrs.field(default=None, validator=_opt_str)
    env_hash: str | None = attrs.field(default=None, validator=_opt_str)

    @argv.validator
    def _check_argv(self, _attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        if not value:
            raise ValueError("argv must not be empty")

    @classmethod
    def of(
        cls,
        argv: tuple[str, ...] | list[str],
        *,
        cwd: str | None = None,
        agent_id: str | None = None,
        session_key: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecBinding:
        """Build a binding, hashing *env* with :func:`env_hash`."""
        return cls(
            argv=tuple(argv),
            cwd=cwd,
            agent_id=agent_id,
            session_key=session_key,
            env_hash=env_hash(env),
        )


@attrs.frozen(kw_only=True)
class SystemRunPlan:
    """
    A node host's canonical run plan (OpenClaw's ``systemRunPlan``), authoritative for node runs.

    Attributes:
        argv: The argument vector.
        cwd: Working directory or ``None``.
        command_text: The full command text.
        command_preview: A shortened display text, if any.
        agent_id: The agent.
        session_key: The conversation.
        mutable_file_operand: ``{argvIndex, path, sha256}`` of a bound script operand, as sent.
    """

    argv: tuple[str, ...] = attrs.field(converter=_str_tuple)
    cwd: str | None = attrs.field(default=None, validator=_opt_str)
    command_text: str = attrs.field(validator=_non_empty)
    command_preview: str | None = attrs.field(default=None, converter=_sanitize_optional)
    agent_id: str | None = attrs.field(default=None, validator=_opt_str)
    session_key: str | None = attrs.field(default=None, validator=_opt_str)
    mutable_file_operand: Mapping[str, Any] | None = None


@attrs.frozen(kw_only=True)
class ApprovalRequest:
    """
    One approval request as reviewers see it, with its identity and lifetime.

    ``command`` and ``command_preview`` pass through :func:`sanitize_display_text` on
    construction. ``env_keys`` holds key names only; values are bound through
    ``binding.env_hash``.

    Attributes:
        id: The approval id (caller-chosen or generated by the runtime).
        command: Display text of the command (required, non-empty).
        created_at_ms: When it was registered (epoch milliseconds).
        expires_at_ms: When it expires with no decision (epoch milliseconds).
        binding: Exactly what will run; a decision is bound to it.
    """

    id: str = attrs.field(validator=_validate_id)
    command: str = attrs.field(converter=sanitize_display_text, validator=_non_empty)
    created_at_ms: int = attrs.field(validator=attrs.validators.instance_of(int))
    expires_at_ms: int = attrs.field(validator=attrs.validators.instance_of(int))
    command_argv: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)
    command_preview: str | None = attrs.field(default=None, converter=_sanitize_optional)
    cwd: str | None = attrs.field(default=None, validator=_opt_str)
    host: str | None = attrs.field(default=None, validator=_opt_str)
    node_id: str | None = attrs.field(default=None, validator=_opt_str)
    security: str | None = attrs.field(default=None, validator=_opt_str)
    ask: str | None = attrs.field(default=None, validator=_opt_str)
    agent_id: str | None = attrs.field(default=None, validator=_opt_str)
    resolved_path: str | None = attrs.field(default=None, validator=_opt_str)
    session_key: str | None = attrs.field(default=None, validator=_opt_str)
    env_keys: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)
    binding: ExecBinding | None = None
    system_run_plan: SystemRunPlan | None = None
    turn_source_channel: str | None = attrs.field(default=None, validator=_opt_str)
    turn_source_to: str | None = attrs.field(default=None, validator=_opt_str)
    turn_source_account_id: str | None = attrs.field(default=None, validator=_opt_str)
    turn_source_thread_id: str | int | None = None

    @expires_at_ms.validator
    def _check_expiry(self, _attribute: attrs.Attribute[Any], value: int) -> None:
        if isinstance(value, bool) or isinstance(self.created_at_ms, bool):
            raise TypeError("timestamps must be integers")
        if value < self.created_at_ms:
            raise ValueError("expires_at_ms must not be before created_at_ms")

    @property
    def slug(self) -> str:
        """The 8-character id prefix OpenClaw shows in chat."""
        return self.id[:APPROVAL_SLUG_LENGTH]


@attrs.frozen(kw_only=True)
class Principal:
    """
    Who is acting: a requester or an approver.

    Attributes:
        id: Stable identifier (connection, client, device or user id); empty means anonymous.
        display_name: What to record as ``resolvedBy`` (falls back to ``id``).
        scopes: Granted scopes, e.g. ``operator.approvals``.
    """

    id: str = attrs.field(validator=attrs.validators.instance_of(str))
    display_name: str | None = attrs.field(default=None, validator=_opt_str)
    scopes: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_strs)

    @property
    def label(self) -> str:
        """OpenClaw's ``resolvedBy``: ``displayName ?? id``."""
        return self.display_name or self.id

    @property
    def anonymous(self) -> bool:
        """True when there is no usable identity."""
        return not self.id.strip()


class TerminalReason(enum.StrEnum):
    """Why an approval left the pending state (late OpenClaw's terminal reasons)."""

    USER = "user"  # an approver decided
    TIMEOUT = "timeout"  # expiresAtMs passed with no decision
    NO_ROUTE = "no-approval-route"  # nobody could be asked, expired at registration
    CANCELLED = "cancelled"  # the requester (or the runtime) withdrew it
    ERROR = "error"  # an input outside the transition table; fails closed


@attrs.frozen(kw_only=True)
class ApprovalRecord:
    """
    A snapshot of one approval as the broker holds it.

    Attributes:
        request: The request.
        state: Where it is in its life cycle.
        decision: The decision, or ``None`` (pending, expired, cancelled).
        resolved_by: ``Principal.label`` of the approver, or ``None``.
        settled_at_ms: When it left the pending state, or ``None``.
        reason: Why it left the pending state, or ``None`` while pending.
        requester: Who registered it, if known.
        grant_expires_in_days: The lifetime in whole days (1-3650) the approver gave an
            ``allow-always`` (OpenClaw 2026.9.6 ``grantExpiresInDays``): the guard persists
            it as a grant expiring that many days after it learns the decision. ``None``
            for every other decision, and when the approver gave none.
    """

    request: ApprovalRequest
    state: ApprovalState
    decision: Decision | None = None
    resolved_by: str | None = None
    settled_at_ms: int | None = None
    reason: TerminalReason | None = None
    requester: Principal | None = None
    grant_expires_in_days: int | None = attrs.field(default=None, validator=_grant_days)

    @property
    def id(self) -> str:
        """The approval id."""
        return self.request.id


class ApproverPolicy(Protocol):
    """
    Decides who may resolve an approval. Pure: no I/O.

    Return ``None`` to accept the approver, or a short refusal reason (shown to the approver).
    """

    def __call__(self, approver: Principal | None, record: ApprovalRecord) -> str | None: ...


@attrs.frozen
class IdentifiedApprovers:
    """The default approver policy: anyone with a non-empty identity; anonymous is refused."""

    def __call__(self, approver: Principal | None, record: ApprovalRecord) -> str | None:
        """Refuse ``None`` and principals with an empty id."""
        del record
        if approver is None or approver.anonymous:
            return "anonymous approvers are not allowed"
        return None


@attrs.frozen
class ScopedApprovers:
    """
    Identified approvers holding at least one of *scopes* (OpenClaw: approvals or admin).

    Attributes:
        scopes: Accepted scopes.
    """

    scopes: frozenset[str] = attrs.field(
        default=frozenset({"operator.approvals", "operator.admin"}), converter=_frozen_strs
    )

    def __call__(self, approver: Principal | None, record: ApprovalRecord) -> str | None:
        """Refuse anonymous approvers and approvers without an accepted scope."""
        refusal = IdentifiedApprovers()(approver, record)
        if refusal is not None or approver is None:
            return refusal
        if approver.scopes.isdisjoint(self.scopes):
            return f"approver needs one of the scopes {', '.join(sorted(self.scopes))}"
        return None


@attrs.frozen
class NamedApprovers:
    """
    Only the listed approver ids may resolve.

    Attributes:
        ids: Accepted ``Principal.id`` values.
    """

    ids: frozenset[str] = attrs.field(converter=_frozen_strs)

    def __call__(self, approver: Principal | None, record: ApprovalRecord) -> str | None:
        """Refuse anyone whose id is not listed (anonymous included)."""
        refusal = IdentifiedApprovers()(approver, record)
        if refusal is not None or approver is None:
            return refusal
        if approver.id not in self.ids:
            return f"{approver.id!r} is not an authorised approver"
        return None
