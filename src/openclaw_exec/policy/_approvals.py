"""
The approvals file (``exec-approvals.json``) as frozen values.

The model mirrors OpenClaw's on-disk schema (``version: 1``, ``socket``, ``defaults``,
``agents``). Every object keeps the keys it did not recognise in ``extra`` so that a
read-modify-write round trip loses nothing a newer OpenClaw wrote. Conversion from and
to JSON lives in :mod:`openclaw_exec.policy._codec`; no class here knows about JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from openclaw_exec.policy._deny import DenyRule
from openclaw_exec.policy._enums import Ask, SandboxMode, Security
from openclaw_exec.policy._grants import Grant

__all__ = [
    "DEFAULT_AGENT_ID",
    "WILDCARD_AGENT_ID",
    "AgentPolicy",
    "AllowlistEntry",
    "ApprovalsFile",
    "PolicyDefaults",
    "SocketConfig",
]

#: The agent OpenClaw uses when none is named; the legacy key ``default`` is read as it.
DEFAULT_AGENT_ID: Final = "main"
#: The agents key whose settings apply to every agent.
WILDCARD_AGENT_ID: Final = "*"


_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
#: Field metadata: the JSON Schema limits of a field whose validator refuses a blank string.
NON_BLANK_FIELD: Final[Mapping[str, Any]] = MappingProxyType(
    {"schema": {"minLength": 1, "pattern": r"\S"}}
)


def _opt_security(value: object) -> Security | None:
    return None if value is None else Security.coerce(value, what="security")


def _opt_ask(value: object) -> Ask | None:
    return None if value is None else Ask.coerce(value, what="ask")


def _opt_ask_fallback(value: object) -> Security | None:
    return None if value is None else Security.coerce(value, what="askFallback")


def _opt_sandbox(value: object) -> SandboxMode | None:
    return None if value is None else SandboxMode.coerce(value, what="sandbox")


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not value:
        return _EMPTY
    return MappingProxyType(dict(value))


def _non_empty_pattern(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValueError("pattern must be a non-empty string")


@attrs.frozen(kw_only=True)
class AllowlistEntry:
    """
    One allowlist entry.

    Attributes:
        pattern: A glob over the resolved executable path (``/usr/bin/*``, ``~/bin/rg``),
            a bare name matched against PATH lookups, or an exact-command grant
            ``=command:<16 hex>``.
        id: A stable id (OpenClaw fills a UUID on load).
        source: ``"allow-always"`` for grants a human made durable; ``None`` when hand-added.
        arg_pattern: Optional regex over the arguments (OpenClaw 2026.4.2+).
        command_text: Legacy exact command text (OpenClaw strips it on load).
        last_used_at: Milliseconds since the epoch of the last use.
        last_used_command: The command text of the last use.
        last_resolved_path: The resolved executable of the last use.
        extra: Keys this library does not know, preserved on round trip.
    """

    pattern: str = attrs.field(validator=_non_empty_pattern, metadata=NON_BLANK_FIELD)
    id: str | None = None
    source: str | None = None
    arg_pattern: str | None = None
    command_text: str | None = None
    last_used_at: int | None = None
    last_used_command: str | None = None
    last_resolved_path: str | None = None
    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )

    @property
    def is_durable(self) -> bool:
        """Whether this entry is an allow-always grant (hand-added entries never are)."""
        return self.source == "allow-always"


def _to_entries(value: Iterable[AllowlistEntry]) -> tuple[AllowlistEntry, ...]:
    return tuple(value)


def _to_deny(value: Iterable[DenyRule]) -> tuple[DenyRule, ...]:
    return tuple(value)


def _to_grants(value: Iterable[Grant]) -> tuple[Grant, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class PolicyDefaults:
    """
    The file's ``defaults``: each knob is optional (``None`` = not set, inherit).

    Attributes:
        security: ``defaults.security``.
        ask: ``defaults.ask``.
        ask_fallback: ``defaults.askFallback``.
        auto_allow_skills: ``defaults.autoAllowSkills``.
        sandbox: ``defaults.sandbox`` (this library's knob).
        deny: ``defaults.deny``: deny rules for every agent (this library's; OpenClaw
            drops ``defaults`` keys it does not know when it rewrites the file, so rules
            that must survive that belong in ``agents["*"].deny``).
        extra: Unknown keys, preserved.
    """

    # A member or its exact spelling; anything else raises PolicyError (a plain string
    # stored as is would never compare equal to a member and silently mean "not set").
    security: Security | None = attrs.field(default=None, converter=_opt_security)
    ask: Ask | None = attrs.field(default=None, converter=_opt_ask)
    ask_fallback: Security | None = attrs.field(default=None, converter=_opt_ask_fallback)
    auto_allow_skills: bool | None = None
    sandbox: SandboxMode | None = attrs.field(default=None, converter=_opt_sandbox)
    deny: tuple[DenyRule, ...] = attrs.field(default=(), converter=_to_deny)
    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )


@attrs.frozen(kw_only=True)
class AgentPolicy:
    """
    One ``agents.<id>`` object: optional knobs plus an allowlist.

    Attributes:
        security: ``agents.<id>.security``.
        ask: ``agents.<id>.ask``.
        ask_fallback: ``agents.<id>.askFallback``.
        auto_allow_skills: ``agents.<id>.autoAllowSkills``.
        sandbox: ``agents.<id>.sandbox`` (this library's knob).
        allowlist: The agent's own allowlist entries, in file order.
        deny: The agent's deny rules (``agents["*"].deny`` apply to every agent).
        grants: Grants with a lifetime or a scope (``agents["*"].grants`` serve every
            agent); see :class:`~openclaw_exec.policy.Grant`.
        extra: Unknown keys, preserved.
    """

    # A member or its exact spelling; anything else raises PolicyError (a plain string
    # stored as is would never compare equal to a member and silently mean "not set").
    security: Security | None = attrs.field(default=None, converter=_opt_security)
    ask: Ask | None = attrs.field(default=None, converter=_opt_ask)
    ask_fallback: Security | None = attrs.field(default=None, converter=_opt_ask_fallback)
    auto_allow_skills: bool | None = None
    sandbox: SandboxMode | None = attrs.field(default=None, converter=_opt_sandbox)
    allowlist: tuple[AllowlistEntry, ...] = attrs.field(default=(), converter=_to_entries)
    deny: tuple[DenyRule, ...] = attrs.field(default=(), converter=_to_deny)
    grants: tuple[Grant, ...] = attrs.field(default=(), converter=_to_grants)
    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )


@attrs.frozen(kw_only=True)
class SocketConfig:
    """
    The file's ``socket`` object: where the approvals socket listens and its token.

    Attributes:
        path: The socket path.
        token: The shared token (24 random bytes, base64url, in OpenClaw).
        extra: Unknown keys, preserved.
    """

    path: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )


@attrs.frozen(kw_only=True)
class ApprovalsFile:
    """
    A whole ``exec-approvals.json`` document.

    Attributes:
        version: Always ``1`` (any other version is rejected on load).
        socket: The ``socket`` object, if present.
        defaults: The ``defaults`` object (all knobs unset when absent).
        agents: ``agents`` by id, in file order (``"*"`` is the wildcard).
        extra: Unknown top-level keys, preserved.
    """

    version: int = 1
    socket: SocketConfig | None = None
    defaults: PolicyDefaults = attrs.field(factory=PolicyDefaults)
    agents: Mapping[str, AgentPolicy] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False
    )
    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )

    def agent(self, agent_id: str) -> AgentPolicy | None:
        """Return ``agents[agent_id]``, or ``None``."""
        return self.agents.get(agent_id)

    def with_agent(self, agent_id: str, agent: AgentPolicy) -> ApprovalsFile:
        """Return a copy with ``agents[agent_id]`` replaced (or added at the end)."""
        agents = dict(self.agents)
        agents[agent_id] = agent
        return attrs.evolve(self, agents=agents)
