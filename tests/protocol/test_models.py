from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import (
    ApprovalBroker,
    ApprovalOutcome,
    ApprovalRequest,
    Decision,
    ExecBinding,
    IdentifiedApprovers,
    NamedApprovers,
    Principal,
    ScopedApprovers,
    env_hash,
    mentions_approve_command,
    parse_approve_command,
    sanitize_display_text,
)


@pytest.mark.parametrize(
    ("alias", "decision"),
    [
        ("allow", Decision.ALLOW_ONCE),
        ("once", Decision.ALLOW_ONCE),
        ("ALLOW-ONCE", Decision.ALLOW_ONCE),
        ("allowonce", Decision.ALLOW_ONCE),
        ("always", Decision.ALLOW_ALWAYS),
        ("allow-always", Decision.ALLOW_ALWAYS),
        ("AllowAlways", Decision.ALLOW_ALWAYS),
        ("deny", Decision.DENY),
        ("reject", Decision.DENY),
        ("Block", Decision.DENY),
    ],
)
def test_approve_aliases(alias: str, decision: Decision) -> None:
    assert Decision.parse_alias(alias) is decision
    assert parse_approve_command(f"/approve abc123 {alias}") == parse_approve_command(
        f"approve {alias} abc123"
    )
    parsed = parse_approve_command(f"/APPROVE abc123 {alias}")
    assert parsed is not None
    assert (parsed.approval_id, parsed.decision) == ("abc123", decision)


def test_approve_bot_suffix_and_non_commands() -> None:
    parsed = parse_approve_command("/approve@mybot 3f0c2a9e allow")
    assert parsed is not None
    assert parsed.bot == "mybot"
    assert parse_approve_command("hello there") is None
    assert parse_approve_command("") is None


@pytest.mark.parametrize(
    "text",
    [
        "/approve",
        "/approve abc",
        "/approve abc maybe",
        "/approve abc allow extra",
        "/approve -x deny",
    ],
)
def test_malformed_approve_gives_usage(text: str) -> None:
    with pytest.raises(
        LocalProtocolError, match=r"Usage: /approve <id> allow-once\|allow-always\|deny"
    ):
        parse_approve_command(text)


def test_wire_decision_is_strict() -> None:
    assert Decision.parse("deny") is Decision.DENY
    for bad in ("allow", "DENY", "", None, 3):
        with pytest.raises(LocalProtocolError, match="invalid decision"):
            Decision.parse(bad)


def test_sanitizer_makes_invisible_characters_visible() -> None:
    assert sanitize_display_text("ls\u202e-la\u200b") == "ls\\u{202E}-la\\u{200B}"
    assert sanitize_display_text("a\u3164b") == "a\\u{3164}b"
    assert sanitize_display_text("café ✓") == "café ✓"


@given(st.text())
def test_sanitizer_is_idempotent_and_leaves_no_format_characters(text: str) -> None:
    once = sanitize_display_text(text)
    assert sanitize_display_text(once) == once
    assert not any(c in once for c in "\u200b\u200e\u202e\u2066\ufeff")


def test_request_sanitizes_command_and_validates() -> None:
    request = ApprovalRequest(id="x", command="rm\u200b -rf", created_at_ms=5, expires_at_ms=6)
    assert request.command == "rm\\u{200B} -rf"
    for bad in ({"id": ""}, {"id": " x"}, {"id": ".."}, {"id": "a\nb"}, {"command": "  "}):
        fields: dict[str, Any] = {
            "id": "x",
            "command": "ls",
            "created_at_ms": 5,
            "expires_at_ms": 6,
            **bad,
        }
        with pytest.raises((ValueError, TypeError)):
            ApprovalRequest(**fields)
    with pytest.raises(ValueError, match="before"):
        ApprovalRequest(id="x", command="ls", created_at_ms=6, expires_at_ms=5)
    with pytest.raises(TypeError):
        ApprovalRequest(id="x", command="ls", created_at_ms=True, expires_at_ms=5)


def test_env_hash_matches_openclaw_definition() -> None:
    env = {"B": "2", "A": "1", "not-portable": "x"}
    expected = hashlib.sha256(
        json.dumps([["A", "1"], ["B", "2"]], separators=(",", ":")).encode()
    ).hexdigest()
    assert env_hash(env) == expected
    assert env_hash({}) is None
    assert env_hash({"a-b": "1"}) is None
    assert ExecBinding.of(["ls"], env={"A": "1"}).env_hash == env_hash({"A": "1"})


@given(
    st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,5}", fullmatch=True), st.text(), min_size=1)
)
def test_env_hash_depends_on_every_value(env: dict[str, str]) -> None:
    key = next(iter(env))
    changed = {**env, key: env[key] + "x"}
    assert env_hash(env) != env_hash(changed)


def test_approver_policies() -> None:
    request = ApprovalRequest(id="x", command="ls", created_at_ms=0, expires_at_ms=10)
    broker = ApprovalBroker()
    record = broker.register(request, now_ms=0).record
    assert record is not None
    ops = Principal(id="op", scopes=frozenset({"operator.approvals"}))
    reader = Principal(id="reader", scopes=frozenset({"operator.read"}))
    assert IdentifiedApprovers()(None, record) is not None
    assert IdentifiedApprovers()(Principal(id=""), record) is not None
    assert IdentifiedApprovers()(reader, record) is None
    assert ScopedApprovers()(ops, record) is None
    assert ScopedApprovers()(reader, record) is not None
    assert NamedApprovers(["op"])(ops, record) is None
    assert NamedApprovers(["op"])(reader, record) is not None
    named = ApprovalBroker(approver_policy=NamedApprovers(["op"]))
    named.register(request, now_ms=0)
    refused = named.resolve("x", Decision.DENY, approver=reader, now_ms=1)
    assert refused.outcome is ApprovalOutcome.APPROVER_REFUSED
    assert "not an authorised approver" in refused.message
    assert (
        named.resolve("x", Decision.DENY, approver=ops, now_ms=1).outcome
        is ApprovalOutcome.RESOLVED
    )


def test_prefix_ambiguity_message_lists_three_and_counts_the_rest() -> None:
    broker = ApprovalBroker()
    for n in range(5):
        broker.register(
            ApprovalRequest(id=f"dead{n}", command="ls", created_at_ms=0, expires_at_ms=100),
            now_ms=0,
        )
    result = broker.resolve("DEAD", Decision.DENY, approver=Principal(id="op"), now_ms=1)
    assert result.message == (
        "ambiguous approval id prefix; matches: dead0, dead1, dead2 (+2 more). Use the full id."
    )
    slug = ApprovalRequest(
        id="0123456789abcdef", command="ls", created_at_ms=0, expires_at_ms=1
    ).slug
    assert slug == "01234567"


def test_prefix_ignores_settled_and_expired_approvals() -> None:
    broker = ApprovalBroker()
    op = Principal(id="op")
    broker.register(
        ApprovalRequest(id="feed1", command="a", created_at_ms=0, expires_at_ms=50), now_ms=0
    )
    broker.register(
        ApprovalRequest(id="feed2", command="b", created_at_ms=0, expires_at_ms=500), now_ms=0
    )
    assert broker.resolve("feed", Decision.DENY, approver=op, now_ms=100).record.id == "feed2"  # type: ignore[union-attr]
    assert (
        broker.resolve("feed", Decision.DENY, approver=op, now_ms=101).outcome
        is ApprovalOutcome.NOT_FOUND
    )
    assert (
        broker.resolve("feed2", Decision.DENY, approver=op, now_ms=102).outcome
        is ApprovalOutcome.RESOLVED_AGAIN
    )


def test_broker_rejects_misuse() -> None:
    broker = ApprovalBroker()
    with pytest.raises(ValueError, match="grace_ms"):
        ApprovalBroker(grace_ms=-1)
    with pytest.raises(LocalProtocolError, match="id is required"):
        broker.resolve("  ", Decision.DENY, approver=Principal(id="op"), now_ms=0)
    with pytest.raises(LocalProtocolError, match="invalid decision"):
        broker.resolve("x", "yes", approver=Principal(id="op"), now_ms=0)
    broker.register(
        ApprovalRequest(id="x", command="a", created_at_ms=0, expires_at_ms=50), now_ms=0
    )
    broker.wait("x", waiter=1, now_ms=0)
    with pytest.raises(LocalProtocolError, match="already waiting"):
        broker.wait("x", waiter=1, now_ms=0)
    assert broker.next_deadline_ms() == 50
    assert len(broker) == 1


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("/approve abc allow-once", True),
        ("env -S '/approve x deny'", True),
        ('sudo sh -c "/APPROVE@bot 1 allow"', True),
        ("x;/approve", True),
        ("echo hi", False),
        ("cat /approvers.txt", False),
        ("git log --grep=approve", False),
    ],
)
def test_mentions_approve_command(text: str, found: bool) -> None:
    assert mentions_approve_command(text) is found
