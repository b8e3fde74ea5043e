"""
Host resolution with provenance: which layer every effective knob came from.

Mirrors OpenClaw's ``resolveExecApprovalsFromFile`` for the host layer: per field,
``agents.<id>`` > ``agents["*"]`` > ``defaults`` > the requested value > the built-in
default; the allowlist is the ``"*"`` entries followed by the agent's own. The
effective policy is then the requested policy combined with the host's by
:func:`~openclaw_exec.policy.stricter`, and each field records where its value came from.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from openclaw_exec.policy._approvals import (
    WILDCARD_AGENT_ID,
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
)
from openclaw_exec.policy._deny import DenyRule, ScopedDenyRule
from openclaw_exec.policy._enums import Ask, SandboxMode, Security
from openclaw_exec.policy._grants import ScopedGrant, scoped_grants
from openclaw_exec.policy._policy import ExecPolicy, Preset, stricter

__all__ = ["POLICY_FIELDS", "FieldOrigin", "Layer", "ResolvedPolicy", "resolve_policy"]

#: The knobs in the order they are shown, with OpenClaw's on-disk names.
POLICY_FIELDS: Final = (
    ("security", "security"),
    ("ask", "ask"),
    ("ask_fallback", "askFallback"),
    ("auto_allow_skills", "autoAllowSkills"),
    ("sandbox", "sandbox"),
)


class Layer(enum.StrEnum):
    """Where a value came from, from the most specific to the least."""

    AGENT = "agent"  # agents.<id> in the approvals file
    WILDCARD = "wildcard"  # agents["*"] in the approvals file
    DEFAULTS = "defaults"  # defaults in the approvals file
    REQUESTED = "requested"  # the requested policy (config, per-call parameters)
    BUILT_IN = "built-in"  # the preset's built-in default


_FILE_LAYERS: Final = frozenset({Layer.AGENT, Layer.WILDCARD, Layer.DEFAULTS})

#: OpenClaw 2026.9.6's agent key when no agent id is given.
_NO_AGENT_KEY: Final = "default"


@attrs.frozen(kw_only=True)
class FieldOrigin:
    """
    How one effective knob was decided.

    Attributes:
        field: The knob's OpenClaw name (``security``, ``askFallback``, ...).
        value: The effective value.
        requested: The requested value, or ``None`` when this knob was not requested.
        host: The host layer's value (the file, or what it inherited).
        host_layer: Where the host value came from.
        layer: The layer the effective value is attributed to: the file layer that
            set it whenever the file enforces it, else ``requested`` (or where the host
            value came from, when this knob was not requested).
        clamped: ``askFallback`` was lowered to the effective security.
    """

    field: str
    value: Security | Ask | SandboxMode | bool
    requested: Security | Ask | SandboxMode | bool | None
    host: Security | Ask | SandboxMode | bool
    host_layer: Layer
    layer: Layer
    clamped: bool = False

    def explain(self) -> str:
        """One line in words, e.g. ``ask = always (from agents["*"]; requested off)``."""
        shown = _show(self.value)
        where = _LAYER_WORDS[self.layer]
        text = f"{self.field} = {shown} (from {where}"
        if (
            self.layer is not Layer.REQUESTED
            and self.requested is not None
            and self.requested != self.value
        ):
            text += f"; requested {_show(self.requested)}"
        if self.clamped:
            text += f"; lowered from {_show(self.host)} to the effective security"
        return text + ")"


def _show(value: Security | Ask | SandboxMode | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.value


_LAYER_WORDS: Final = {
    Layer.AGENT: "the agent's entry in the approvals file",
    Layer.WILDCARD: 'agents["*"] in the approvals file',
    Layer.DEFAULTS: "defaults in the approvals file",
    Layer.REQUESTED: "the requested policy",
    Layer.BUILT_IN: "the built-in default",
}


def _frozen_origins(value: Mapping[str, FieldOrigin]) -> Mapping[str, FieldOrigin]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class ResolvedPolicy:
    """
    The outcome of resolving a policy for one agent.

    Attributes:
        agent_id: The agent resolved for (under the 2026.9.6 preset without an agent id:
            ``default``, OpenClaw's key for "no agent", which no loaded file holds).
        requested: The requested policy (layer A).
        host: The host policy from the approvals file (layer B), unset fields inheriting
            the requested values as OpenClaw does.
        effective: ``stricter(requested, host)``: what is enforced.
        allowlist: The wildcard entries followed by the agent's own, then the entries
            of the active grants (:attr:`grants`).
        origins: Per knob (keyed by OpenClaw name), how the effective value was decided.
        deny: Every deny rule that applies, each with where it was written: the
            requested ones, ``defaults.deny``, ``agents["*"].deny``, then the agent's.
            Layers add rules, never remove them (a deny anywhere wins).
        grants: The grants (``agents["*"]`` then the agent's) active at the time and for
            the session key given, whose entries joined :attr:`allowlist`.
    """

    agent_id: str
    requested: ExecPolicy
    host: ExecPolicy
    effective: ExecPolicy
    allowlist: tuple[AllowlistEntry, ...]
    origins: Mapping[str, FieldOrigin] = attrs.field(converter=_frozen_origins, hash=False)
    preset: Preset = Preset.OPENCLAW_2026_4_1
    deny: tuple[ScopedDenyRule, ...] = ()
    grants: tuple[ScopedGrant, ...] = ()

    def grant_for(self, entry: AllowlistEntry | None) -> ScopedGrant | None:
        """The active grant an allowlist entry stands for (``None``: a plain entry)."""
        if entry is None or entry.id is None:
            return None
        return next((g for g in self.grants if g.entry.id == entry.id and g.entry == entry), None)

    def explain(self) -> str:
        """Several lines in words: each knob and where it came from (see :attr:`preset`)."""
        return "\n".join(origin.explain() for origin in self.origins.values())


def _pick(
    name: str,
    *,
    agent: AgentPolicy | None,
    wildcard: AgentPolicy | None,
    file: ApprovalsFile,
    requested: Any,
    requested_layer: Layer,
) -> tuple[Any, Layer]:
    for layer, source in ((Layer.AGENT, agent), (Layer.WILDCARD, wildcard)):
        value = getattr(source, name) if source is not None else None
        if value is not None:
            return value, layer
    value = getattr(file.defaults, name)
    if value is not None:
        return value, Layer.DEFAULTS
    return requested, requested_layer


def resolve_policy(
    file: ApprovalsFile | None,
    *,
    agent_id: str | None = None,
    requested: ExecPolicy | None = None,
    requested_fields: Collection[str] | None = None,
    preset: Preset | str = Preset.OPENCLAW_2026_4_1,
    deny: Iterable[DenyRule] = (),
    now_ms: int | None = None,
    session_key: str | None = None,
) -> ResolvedPolicy:
    """
    Resolve the effective policy for *agent_id* from an approvals file and a request.

    Args:
        file: The host's approvals file, or ``None`` when the host has none (then
            the host layer inherits the request entirely, as in OpenClaw).
        agent_id: The agent; ``None`` means ``main`` under the 2026.4.1 preset and no
            agent (only ``agents["*"]`` and ``defaults``) under the 2026.9.6 one.
        requested: The requested policy (layer A). ``None`` means "nothing requested":
            the file decides alone, and knobs it leaves unset take the preset's built-in
            defaults.
        requested_fields: Which knobs (Python names) of *requested* were really
            requested; the others are reported as built-in defaults. ``None``: all of
            them when *requested* is given.
        preset: Whose built-in behaviour fills what nobody set (:class:`Preset`; its
            value or bare version also work): ``openclaw-2026.4.1`` (``deny`` /
            ``on-miss``, the default) or ``openclaw-2026.9.6`` (``full`` / ``off``).
        deny: Deny rules the embedder adds (named ``requested.deny[<n>]``); they join
            the file's, whatever the layers say.
        now_ms: The time grants are judged at (milliseconds since the epoch); ``None``:
            unknown, so grants that can expire are left out. The core reads no clock.
        session_key: The session (or scheduled job) asking; grants bound to another
            session key are left out.

    Returns:
        The host and effective policies, the allowlist and each knob's provenance.
    """
    chosen = Preset.parse(preset)
    no_agent = not agent_id
    agent_key = agent_id or chosen.no_agent_key or _NO_AGENT_KEY
    document = file if file is not None else ApprovalsFile()
    # 2026.9.6 without an agent id looks up "default", which its loader (like ours) has
    # already merged into "main": no agent entry applies.
    agent = None if no_agent and chosen.no_agent_key is None else document.agents.get(agent_key)
    # For agent "*" itself OpenClaw lists the wildcard entries twice; matching is unaffected.
    wildcard = document.agents.get(WILDCARD_AGENT_ID)
    asked = {
        name
        for name, _ in POLICY_FIELDS
        if requested is not None and (requested_fields is None or name in requested_fields)
    }
    picked: dict[str, tuple[Any, Layer]] = {}
    for name, _ in POLICY_FIELDS:
        if name in asked:
            fallback, fallback_layer = getattr(requested, name), Layer.REQUESTED
        else:
            fallback, fallback_layer = getattr(chosen.defaults, name), Layer.BUILT_IN
        picked[name] = _pick(
            name,
            agent=agent,
            wildcard=wildcard,
            file=document,
            requested=fallback,
            requested_layer=fallback_layer,
        )
    host = ExecPolicy(**{name: value for name, (value, _) in picked.items()})
    # A knob nobody requested inherits the host's value: OpenClaw's requested chain
    # ends at the file's defaults, so "not requested" never tightens or loosens.
    request = ExecPolicy(
        **{
            name: getattr(requested, name) if name in asked else picked[name][0]
            for name, _ in POLICY_FIELDS
        }
    )
    effective = stricter(request, host)
    origins: dict[str, FieldOrigin] = {}
    for name, wire in POLICY_FIELDS:
        value = getattr(effective, name)
        host_value, host_layer = picked[name]
        req_value = getattr(request, name)
        clamped = name == "ask_fallback" and value not in (host_value, req_value)
        # The file is named whenever it enforces the value (it tightened the request, or
        # holds the same value); the request only when it is the stricter layer.
        if name not in asked or (host_value == value and host_layer in _FILE_LAYERS):
            layer = host_layer
        else:
            layer = Layer.REQUESTED
        origins[wire] = FieldOrigin(
            field=wire,
            value=value,
            requested=req_value if name in asked else None,
            host=host_value,
            host_layer=host_layer,
            layer=layer,
            clamped=clamped,
        )
    allowlist = tuple(wildcard.allowlist if wildcard is not None else ()) + tuple(
        agent.allowlist if agent is not None else ()
    )
    keys = [WILDCARD_AGENT_ID] + ([agent_key] if agent_key != WILDCARD_AGENT_ID else [])
    grants = tuple(g for g in scoped_grants(document, keys) if g.grant.active(now_ms, session_key))
    allowlist += tuple(g.entry for g in grants)
    return ResolvedPolicy(
        agent_id=agent_key,
        requested=request,
        host=host,
        effective=effective,
        allowlist=allowlist,
        origins=origins,
        preset=chosen,
        deny=_deny_rules(document, agent_key, deny),
        grants=grants,
    )


def _agent_path(agent_id: str) -> str:
    if re.fullmatch(r"[A-Za-z_*][\w*-]*", agent_id):
        return f"agents.{agent_id}"
    return f"agents[{json.dumps(agent_id)}]"


def _deny_rules(
    file: ApprovalsFile, agent_key: str, requested: Iterable[DenyRule]
) -> tuple[ScopedDenyRule, ...]:
    """Every rule that applies to *agent_key*, in the order they are checked."""
    out = [ScopedDenyRule(rule=r, where=f"requested.deny[{i}]") for i, r in enumerate(requested)]
    out += [
        ScopedDenyRule(rule=r, where=f"defaults.deny[{i}]")
        for i, r in enumerate(file.defaults.deny)
    ]
    keys = [WILDCARD_AGENT_ID] + ([agent_key] if agent_key != WILDCARD_AGENT_ID else [])
    for key in keys:
        agent = file.agents.get(key)
        if agent is None:
            continue
        where = _agent_path(key)
        out += [
            ScopedDenyRule(rule=r, where=f"{where}.deny[{i}]") for i, r in enumerate(agent.deny)
        ]
    return tuple(out)
