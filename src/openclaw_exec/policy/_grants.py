"""
Grants with a lifetime: expiring, bound to one session key, or used up after *n* runs.

Allow-always grants that expire, grants for one session key (a scheduled job's), and
one-off grants.

A grant lives in ``agents.<id>.grants`` (or ``agents["*"].grants``), never in the
allowlist: OpenClaw keeps the key when it rewrites the file but never reads it, so it never
honours a grant whose lifetime it cannot check (it asks instead). A grant that is
*active* joins the allowlist as an entry with the grant's ``pattern``, ``argPattern`` and
``source``, so it matches exactly as that allowlist entry would:

* ``source: "allow-always"`` (what a human's allow-always decision mints): a path grant
  needs the cwd-bound hash of its exact arguments and folder, or it is an exact-command
  grant ``=command:<16 hex>``;
* no source (what an administrator pre-authorises, e.g. for a cron job): like a hand-written
  entry, a pattern with an optional regex ``argPattern``.

Active means: not revoked, not expired (``expiresAtMs`` is unset, or later than *now*:
OpenClaw's ``expires_at_ms <= now`` is expired), not used up (``useCount < maxUses``), and
for a grant bound to a ``sessionKey``, asked for with that very session key. The core
reads no clock: *now* is passed in, and without it a grant that can expire is inactive.
Deny rules win over every grant.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from openclaw_exec.exceptions import PolicyError

if TYPE_CHECKING:
    from openclaw_exec.policy._approvals import AllowlistEntry, ApprovalsFile

__all__ = [
    "DAY_MS",
    "MAX_GRANT_DAYS",
    "Grant",
    "GrantState",
    "GrantUnavailable",
    "ScopedGrant",
    "add_grant",
    "drop_inactive_grants",
    "expiry_from_days",
    "find_grant",
    "grant_entry_id",
    "revoke_grant",
    "scoped_grants",
    "use_grant",
]

DAY_MS: Final = 86_400_000
"""One day in milliseconds (OpenClaw's ``864e5``)."""
MAX_GRANT_DAYS: Final = 3650
"""The longest lifetime ``grantExpiryDays`` / ``grantExpiresInDays`` may give (OpenClaw's)."""
_ENTRY_PREFIX: Final = "grant:"

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
# The JSON Schema limits the validators enforce (policy._schema reads them).
_NON_BLANK: Final = {"schema": {"minLength": 1, "pattern": r"\S"}}
_NATURAL: Final = {"schema": {"minimum": 0}}
_POSITIVE: Final = {"schema": {"minimum": 1}}


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value)) if value else _EMPTY


def _non_empty(_inst: object, attr: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValueError(f"{attr.name} must be a non-empty string")


def _non_negative(_inst: object, attr: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attr.name} must not be negative")


def _count(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attr.name} must not be negative")


def _positive(_inst: object, attr: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attr.name} must be at least 1")


class GrantState(enum.StrEnum):
    """Where a grant is in its life, at a given time."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used-up"


@attrs.frozen(kw_only=True)
class Grant:
    """
    One grant with a lifetime or a scope.

    Attributes:
        id: A stable id (``openclaw-exec approvals grants revoke ID``).
        pattern: As an allowlist entry's.
        arg_pattern: As an allowlist entry's (a cwd-bound hash for an allow-always grant).
        source: ``"allow-always"`` for a human's grant (exact-match semantics); ``None``
            for a pre-authorised grant (a hand-written entry's semantics).
        created_at_ms: When it was made (milliseconds since the epoch).
        expires_at_ms: When it stops matching; ``None``: until revoked.
        session_key: The only session key it is valid for (a job's, such as
            ``cron:nightly-backup``); ``None``: any.
        max_uses: How many runs it allows (``1``: a one-off); ``None``: no limit.
        use_count: How many runs it has allowed.
        revoked_at_ms: When it was revoked, if it was.
        revoked_by: Who revoked it.
        last_used_at_ms: When it last allowed a run.
        label: What it is for, in words (shown in listings).
        approval_id: The approval that minted it, if a human's decision did.
        extra: Keys this library does not know, preserved on round trip.
    """

    id: str = attrs.field(validator=_non_empty, metadata=_NON_BLANK)
    pattern: str = attrs.field(validator=_non_empty, metadata=_NON_BLANK)
    arg_pattern: str | None = None
    source: str | None = None
    created_at_ms: int | None = attrs.field(
        default=None, validator=_non_negative, metadata=_NATURAL
    )
    expires_at_ms: int | None = attrs.field(
        default=None, validator=_non_negative, metadata=_NATURAL
    )
    session_key: str | None = None
    max_uses: int | None = attrs.field(default=None, validator=_positive, metadata=_POSITIVE)
    use_count: int = attrs.field(default=0, validator=_count, metadata=_NATURAL)
    revoked_at_ms: int | None = attrs.field(
        default=None, validator=_non_negative, metadata=_NATURAL
    )
    revoked_by: str | None = None
    last_used_at_ms: int | None = attrs.field(
        default=None, validator=_non_negative, metadata=_NATURAL
    )
    label: str | None = None
    approval_id: str | None = None
    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )

    def state(self, now_ms: int | None) -> GrantState:
        """
        The grant's state at *now_ms*.

        ``None`` is an unknown time: a grant that can expire is then
        :attr:`GrantState.EXPIRED`.
        """
        if self.revoked_at_ms is not None:
            return GrantState.REVOKED
        if self.expires_at_ms is not None and (now_ms is None or self.expires_at_ms <= now_ms):
            return GrantState.EXPIRED
        if self.max_uses is not None and self.use_count >= self.max_uses:
            return GrantState.USED_UP
        return GrantState.ACTIVE

    def in_scope(self, session_key: str | None) -> bool:
        """Whether a command asked for with *session_key* may use this grant."""
        return self.session_key is None or self.session_key == session_key

    def active(self, now_ms: int | None, session_key: str | None) -> bool:
        """Whether this grant matches commands at *now_ms* for *session_key*."""
        return self.state(now_ms) is GrantState.ACTIVE and self.in_scope(session_key)

    def describe_state(self, now_ms: int | None) -> str:
        """The state in words, as ``openclaw approvals grants list`` shows it."""
        state = self.state(now_ms)
        if state is GrantState.REVOKED:
            return "revoked" + (f" by {self.revoked_by}" if self.revoked_by else "")
        if state is not GrantState.ACTIVE:
            return state.value
        parts: list[str] = []
        if self.expires_at_ms is not None and now_ms is not None:
            parts.append(f"expires in {_duration(self.expires_at_ms - now_ms)}")
        if self.max_uses is not None:
            parts.append(f"{self.max_uses - self.use_count} use(s) left")
        return ", ".join(parts) or "until revoked"

    def as_entry(self) -> AllowlistEntry:
        """The allowlist entry this grant acts as while it is active."""
        from openclaw_exec.policy._approvals import AllowlistEntry  # noqa: PLC0415 - a cycle

        return AllowlistEntry(
            pattern=self.pattern,
            arg_pattern=self.arg_pattern,
            source=self.source,
            id=grant_entry_id(self.id),
        )


def _duration(ms: int) -> str:
    """Time left, rounded up: days as OpenClaw shows them, hours or minutes below a day."""
    for unit, size in (("d", DAY_MS), ("h", 3_600_000), ("m", 60_000)):
        if ms >= size or unit == "m":
            return f"{max(1, -(-ms // size))}{unit}"
    return "1m"  # pragma: no cover - the loop always returns


def grant_entry_id(grant_id: str) -> str:
    """The id an active grant's allowlist entry carries (``grant:<id>``)."""
    return _ENTRY_PREFIX + grant_id


@attrs.frozen(kw_only=True)
class ScopedGrant:
    """
    A grant found for a resolution, and where it lives.

    Attributes:
        grant: The grant.
        agent_key: The ``agents`` key holding it (``"*"`` or the agent).
        where: Its JSON path (``agents.main.grants[0]``).
        entry: The allowlist entry it acts as.
    """

    grant: Grant
    agent_key: str
    where: str
    entry: AllowlistEntry


def expiry_from_days(now_ms: int, days: object) -> int | None:
    """
    ``now + days`` for ``grantExpiryDays`` / ``grantExpiresInDays``, as OpenClaw computes it.

    Whole days (a fraction is floored), 1 to :data:`MAX_GRANT_DAYS`; ``None`` for ``None``
    (until revoked).

    Raises:
        PolicyError: *days* is not a number in that range (OpenClaw treats a bad config
            value as "until revoked", which would make the grant permanent).
    """
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days != days:  # noqa: PLR0124 - NaN
        raise PolicyError(f"grant expiry must be a number of days, got {days!r}")
    whole = int(days // 1) if days < float("inf") else MAX_GRANT_DAYS + 1
    if not 1 <= whole <= MAX_GRANT_DAYS:
        raise PolicyError(f"grant expiry must be 1 to {MAX_GRANT_DAYS} days, got {days!r}")
    return now_ms + whole * DAY_MS


def _agent_path(agent_id: str) -> str:
    if re.fullmatch(r"[A-Za-z_*][\w*-]*", agent_id):
        return f"agents.{agent_id}"
    return f"agents[{json.dumps(agent_id)}]"


def scoped_grants(file: ApprovalsFile, agent_keys: Iterable[str]) -> tuple[ScopedGrant, ...]:
    """Every grant of *agent_keys* (in that order), with where it lives."""
    out: list[ScopedGrant] = []
    for key in agent_keys:
        agent = file.agents.get(key)
        if agent is None:
            continue
        where = _agent_path(key)
        out.extend(
            ScopedGrant(grant=g, agent_key=key, where=f"{where}.grants[{i}]", entry=g.as_entry())
            for i, g in enumerate(agent.grants)
        )
    return tuple(out)


# --------------------------------------------------------------------- file changes
# Pure transforms of an ApprovalsFile: the filestore runs them under its lock
# (ApprovalsStore.update), so a read-check-write is atomic across processes.


class GrantUnavailable(PolicyError):  # noqa: N818 - reads as the condition it reports
    """A grant could not be used: it is gone, revoked, expired, used up or out of scope."""


def add_grant(file: ApprovalsFile, agent_id: str, grant: Grant) -> ApprovalsFile:
    """
    Return *file* with *grant* appended to ``agents.<agent_id>.grants``.

    Raises:
        PolicyError: A grant with the same id exists anywhere in the file.
    """
    from openclaw_exec.policy._approvals import AgentPolicy  # noqa: PLC0415 - a cycle

    if find_grant(file, grant.id) is not None:
        raise PolicyError(f"a grant with id {grant.id!r} already exists")
    agent = file.agents.get(agent_id) or AgentPolicy()
    return file.with_agent(agent_id, attrs.evolve(agent, grants=(*agent.grants, grant)))


def find_grant(file: ApprovalsFile, grant_id: str) -> tuple[str, int, Grant] | None:
    """``(agent key, index, grant)`` for the grant called *grant_id*, or ``None``."""
    for key, agent in file.agents.items():
        for index, grant in enumerate(agent.grants):
            if grant.id == grant_id:
                return key, index, grant
    return None


def _replace(file: ApprovalsFile, key: str, index: int, grant: Grant) -> ApprovalsFile:
    agent = file.agents[key]
    grants = list(agent.grants)
    grants[index] = grant
    return file.with_agent(key, attrs.evolve(agent, grants=tuple(grants)))


def revoke_grant(
    file: ApprovalsFile, grant_id: str, *, now_ms: int, revoked_by: str | None = None
) -> tuple[ApprovalsFile, str]:
    """
    Revoke the grant called *grant_id* (it stays listed, as revoked).

    Returns:
        The new file and the outcome, as OpenClaw's ``exec.approval.grants.revoke``:
        ``"revoked"``, ``"already-revoked"`` (the first revocation is kept) or
        ``"not-found"``.
    """
    found = find_grant(file, grant_id)
    if found is None:
        return file, "not-found"
    key, index, grant = found
    if grant.revoked_at_ms is not None:
        return file, "already-revoked"
    revoked = attrs.evolve(grant, revoked_at_ms=now_ms, revoked_by=revoked_by)
    return _replace(file, key, index, revoked), "revoked"


def use_grant(
    file: ApprovalsFile, grant_id: str, *, now_ms: int, session_key: str | None
) -> ApprovalsFile:
    """
    Record one run allowed by the grant: ``useCount + 1`` and ``lastUsedAtMs``.

    Checked again here, against the file as it is now: a one-off grant is spent exactly
    once even when two processes decide at the same moment (the filestore holds its lock
    around the whole read-check-write).

    Raises:
        GrantUnavailable: The grant is gone or no longer active for *session_key*.
    """
    found = find_grant(file, grant_id)
    if found is None:
        raise GrantUnavailable(f"grant {grant_id!r} no longer exists")
    key, index, grant = found
    if not grant.active(now_ms, session_key):
        raise GrantUnavailable(f"grant {grant_id!r} is {grant.describe_state(now_ms)}")
    used = attrs.evolve(grant, use_count=grant.use_count + 1, last_used_at_ms=now_ms)
    return _replace(file, key, index, used)


def drop_inactive_grants(file: ApprovalsFile, *, now_ms: int) -> tuple[ApprovalsFile, int]:
    """Remove every grant that is expired, revoked or used up at *now_ms*; how many."""
    dropped = 0
    for key, agent in file.agents.items():
        kept = tuple(g for g in agent.grants if g.state(now_ms) is GrantState.ACTIVE)
        if len(kept) != len(agent.grants):
            dropped += len(agent.grants) - len(kept)
            file = file.with_agent(key, attrs.evolve(agent, grants=kept))
    return file, dropped
