"""Hypothesis strategies for policies and approvals files, for users' own property tests."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    DenyRule,
    ExecPolicy,
    Grant,
    PolicyDefaults,
    SandboxMode,
    Security,
    SocketConfig,
    approvals_to_json,
    deny_rule_problem,
)

__all__ = [
    "agent_ids",
    "allowlist_entries",
    "approvals_documents",
    "approvals_files",
    "asks",
    "deny_rules",
    "exec_policies",
    "grants",
    "securities",
]

_PATH_CHARS = string.ascii_letters + string.digits + "-_."


def securities() -> st.SearchStrategy[Security]:
    """Any :class:`~openclaw_exec.policy.Security`."""
    return st.sampled_from(Security)


def asks() -> st.SearchStrategy[Ask]:
    """Any :class:`~openclaw_exec.policy.Ask`."""
    return st.sampled_from(Ask)


def exec_policies(*, normalized: bool = False) -> st.SearchStrategy[ExecPolicy]:
    """
    Any :class:`~openclaw_exec.policy.ExecPolicy`.

    Args:
        normalized: Only policies whose ``ask_fallback`` is not above ``security``.
    """
    policies = st.builds(
        ExecPolicy,
        security=securities(),
        ask=asks(),
        ask_fallback=securities(),
        auto_allow_skills=st.booleans(),
        sandbox=st.sampled_from(SandboxMode),
    )
    return policies.map(ExecPolicy.normalized) if normalized else policies


def agent_ids() -> st.SearchStrategy[str]:
    """Agent ids, weighted toward the special ones (``main``, ``*``, legacy ``default``)."""
    return st.one_of(
        st.sampled_from(["main", "*", "default", "ops", "builder"]),
        st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=8),
    )


def _patterns() -> st.SearchStrategy[str]:
    segment = st.text(alphabet=_PATH_CHARS, min_size=1, max_size=6)
    path = st.lists(segment, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
    return st.one_of(
        path,
        path.map(lambda p: p.rsplit("/", 1)[0] + "/*"),
        path.map(lambda p: "~" + p),
        st.sampled_from(["*", "/usr/bin/*", "/opt/**", "rg"]),
    )


def allowlist_entries() -> st.SearchStrategy[AllowlistEntry]:
    """Allowlist entries with optional metadata."""
    return st.builds(
        AllowlistEntry,
        pattern=_patterns(),
        id=st.none() | st.uuids().map(str),
        source=st.none() | st.just("allow-always"),
        last_used_at=st.none() | st.integers(min_value=0, max_value=2**42),
        last_used_command=st.none() | st.text(max_size=12),
        last_resolved_path=st.none() | _patterns(),
    )


_ARG_PATTERNS = st.sampled_from(["^push\\b", "^-rf", "^(status|log)$", "--force"])
_MS = st.integers(min_value=0, max_value=2**45)


def deny_rules() -> st.SearchStrategy[DenyRule]:
    """Deny rules that can be enforced (valid pattern and argPattern)."""
    return st.builds(
        DenyRule,
        pattern=_patterns() | st.sampled_from(["rm", "curl", "git"]),
        arg_pattern=st.none() | _ARG_PATTERNS,
        id=st.none() | st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=8),
        reason=st.none() | st.text(max_size=16),
    ).filter(lambda rule: deny_rule_problem(rule) is None)


def grants() -> st.SearchStrategy[Grant]:
    """Grants with every lifetime and scope field (ids are UUIDs, so unique in a file)."""
    max_uses = st.none() | st.integers(min_value=1, max_value=5)
    return st.builds(
        Grant,
        id=st.uuids().map(str),
        pattern=_patterns(),
        arg_pattern=st.none() | _ARG_PATTERNS,
        source=st.none() | st.just("allow-always"),
        created_at_ms=st.none() | _MS,
        expires_at_ms=st.none() | _MS,
        session_key=st.none() | st.sampled_from(["cron:nightly", "chat:42"]),
        max_uses=max_uses,
        use_count=st.integers(min_value=0, max_value=6),
        revoked_at_ms=st.none() | _MS,
        revoked_by=st.none() | st.text(max_size=8),
        last_used_at_ms=st.none() | _MS,
        label=st.none() | st.text(max_size=12),
        approval_id=st.none() | st.uuids().map(str),
    )


def _knobs() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "security": st.none() | securities(),
        "ask": st.none() | asks(),
        "ask_fallback": st.none() | securities(),
        "auto_allow_skills": st.none() | st.booleans(),
        "sandbox": st.none() | st.sampled_from(SandboxMode),
    }


def approvals_files(
    *, legacy_default: bool = False, extensions: bool = False
) -> st.SearchStrategy[ApprovalsFile]:
    """
    Valid :class:`~openclaw_exec.policy.ApprovalsFile` values.

    Args:
        legacy_default: Also generate the legacy ``agents.default`` key (which loading
            merges into ``main``, so such files do not round-trip unchanged).
        extensions: Also generate this library's keys OpenClaw does not have: deny
            rules (``defaults.deny``, ``agents.<id>.deny``) and grants with a lifetime.
    """
    ids = agent_ids()
    if not legacy_default:
        ids = ids.filter(lambda a: a != "default")
    more: dict[str, st.SearchStrategy[Any]] = {}
    if extensions:
        more = {
            "deny": st.lists(deny_rules(), max_size=3),
            "grants": st.lists(grants(), max_size=3),
        }
    agents = st.dictionaries(
        ids,
        st.builds(
            AgentPolicy,
            allowlist=st.lists(allowlist_entries(), max_size=4),
            **_knobs(),
            **more,
        ),
        max_size=4,
    )
    sockets = st.none() | st.builds(
        SocketConfig,
        path=st.none() | _patterns(),
        token=st.none() | st.text(alphabet=string.ascii_letters, min_size=8, max_size=32),
    )
    defaults_more = {"deny": more["deny"]} if extensions else {}
    return st.builds(
        ApprovalsFile,
        socket=sockets,
        defaults=st.builds(PolicyDefaults, **_knobs(), **defaults_more),
        agents=agents,
    )


def approvals_documents(*, extensions: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Valid approvals files as JSON documents (dicts with OpenClaw's camelCase keys)."""
    return approvals_files(extensions=extensions).map(approvals_to_json)
