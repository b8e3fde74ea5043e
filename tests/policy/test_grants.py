"""
Grants with a lifetime: the claims of docs/policy.md ("Grant lifetimes"), with hypothesis.

* at any clock, a grant whose ``expiresAtMs`` is at or before *now* never matches (and
  cannot be used), and one that is later does, everything else equal;
* a revoked or used-up grant never matches; a session-bound grant matches only its key;
* without a clock, a grant that can expire never matches;
* ``use_grant`` spends a one-off grant exactly once; ``revoke_grant`` is idempotent.
"""

from __future__ import annotations

import json
import shutil

import pytest
from _deny_helpers import judge
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import ApprovalsFileError, PolicyError
from openclaw_exec.policy import (
    DAY_MS,
    AgentPolicy,
    ApprovalsFile,
    Ask,
    DenyRule,
    ExecPolicy,
    Grant,
    GrantState,
    GrantUnavailable,
    Security,
    Verdict,
    add_grant,
    approvals_from_json,
    approvals_to_json,
    drop_inactive_grants,
    expiry_from_days,
    loads_approvals,
    resolve_policy,
    revoke_grant,
    use_grant,
)

LS = shutil.which("ls", path="/usr/bin:/bin")
assert LS is not None
ON_MISS = ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS, ask_fallback=Security.DENY)
TIMES = st.integers(min_value=0, max_value=2**53)
KEYS = st.none() | st.sampled_from(["cron:nightly", "s-1", "s-2"])


@st.composite
def grants(draw: st.DrawFn) -> Grant:
    max_uses = draw(st.none() | st.integers(min_value=1, max_value=3))
    return Grant(
        id=draw(st.uuids().map(str)),
        pattern=LS,  # type: ignore[arg-type]
        created_at_ms=draw(st.none() | TIMES),
        expires_at_ms=draw(st.none() | TIMES),
        session_key=draw(KEYS),
        max_uses=max_uses,
        use_count=draw(st.integers(min_value=0, max_value=(max_uses or 2) + 1)),
        revoked_at_ms=draw(st.none() | TIMES),
    )


def _file(grant: Grant, agent: str = "main") -> ApprovalsFile:
    return ApprovalsFile(agents={agent: AgentPolicy(grants=(grant,))})


def _matches(grant: Grant, now: int | None, key: str | None, agent: str = "main") -> bool:
    verdict = judge(_file(grant, agent), "ls /tmp", requested=ON_MISS, now_ms=now, session_key=key)
    return verdict.verdict is Verdict.ALLOW


@given(grants(), TIMES, KEYS, st.sampled_from(["main", "*"]))
def test_at_any_clock_a_grant_matches_exactly_while_active(
    grant: Grant, now: int, key: str | None, agent: str
) -> None:
    expired = grant.expires_at_ms is not None and grant.expires_at_ms <= now
    used_up = grant.max_uses is not None and grant.use_count >= grant.max_uses
    in_scope = grant.session_key is None or grant.session_key == key
    should = not expired and grant.revoked_at_ms is None and not used_up and in_scope
    resolved = resolve_policy(_file(grant, agent), now_ms=now, session_key=key)
    assert bool(resolved.grants) is should
    assert _matches(grant, now, key, agent) is should
    if expired:
        assert grant.state(now) in (GrantState.EXPIRED, GrantState.REVOKED)
        with pytest.raises(GrantUnavailable):
            use_grant(_file(grant), grant.id, now_ms=now, session_key=key)


@given(grants(), st.integers(min_value=0, max_value=2**40), KEYS)
def test_an_expired_grant_never_matches_at_any_later_time(
    grant: Grant, later: int, key: str | None
) -> None:
    expiring = Grant(id=grant.id, pattern=grant.pattern, expires_at_ms=grant.expires_at_ms or 0)
    expiry = expiring.expires_at_ms
    assert expiry is not None
    for now in (expiry, expiry + later):
        assert not _matches(expiring, now, key)
        assert expiring.state(now) is GrantState.EXPIRED
    if expiry > 0:
        assert _matches(expiring, expiry - 1, key)


@given(grants(), KEYS)
def test_without_a_clock_a_grant_that_can_expire_never_matches(
    grant: Grant, key: str | None
) -> None:
    if grant.expires_at_ms is not None:
        assert not _matches(grant, None, key)


def test_a_session_bound_grant_serves_only_its_session() -> None:
    grant = Grant(id="g", pattern=LS, session_key="cron:nightly")  # type: ignore[arg-type]
    assert _matches(grant, 0, "cron:nightly")
    assert not _matches(grant, 0, "cron:other")
    assert not _matches(grant, 0, None)


def test_deny_rules_win_over_grants() -> None:
    grant = Grant(id="g", pattern=LS)  # type: ignore[arg-type]
    file = ApprovalsFile(
        agents={"main": AgentPolicy(grants=(grant,), deny=(DenyRule(pattern="ls"),))}
    )
    verdict = judge(file, "ls /tmp", requested=ON_MISS, now_ms=0)
    assert verdict.verdict is Verdict.DENY


@given(st.integers(min_value=1, max_value=4), st.integers(min_value=1, max_value=8))
def test_a_limited_grant_is_spent_exactly_max_uses_times(max_uses: int, attempts: int) -> None:
    file = _file(Grant(id="g", pattern=LS, max_uses=max_uses))  # type: ignore[arg-type]
    spent = 0
    for _ in range(attempts):
        try:
            file = use_grant(file, "g", now_ms=5, session_key=None)
        except GrantUnavailable:
            continue
        spent += 1
    assert spent == min(max_uses, attempts)
    assert file.agents["main"].grants[0].use_count == spent
    assert file.agents["main"].grants[0].last_used_at_ms == 5


def test_revoke_is_idempotent_and_keeps_the_first_revocation() -> None:
    file = _file(Grant(id="g", pattern=LS))  # type: ignore[arg-type]
    file, outcome = revoke_grant(file, "g", now_ms=10, revoked_by="alice")
    assert outcome == "revoked"
    again, outcome = revoke_grant(file, "g", now_ms=20, revoked_by="bob")
    assert outcome == "already-revoked"
    assert again.agents["main"].grants[0].revoked_by == "alice"
    assert revoke_grant(file, "nope", now_ms=1)[1] == "not-found"
    assert not _matches(file.agents["main"].grants[0], 11, None)


def test_add_refuses_a_duplicate_id_and_drop_removes_inactive_ones() -> None:
    file = add_grant(ApprovalsFile(), "main", Grant(id="a", pattern=LS, expires_at_ms=10))  # type: ignore[arg-type]
    file = add_grant(file, "*", Grant(id="b", pattern=LS))  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="already exists"):
        add_grant(file, "ops", Grant(id="a", pattern="x"))
    pruned, dropped = drop_inactive_grants(file, now_ms=10)
    assert dropped == 1
    assert [g.id for g in pruned.agents["*"].grants] == ["b"]
    assert pruned.agents["main"].grants == ()


@pytest.mark.parametrize(
    ("days", "expected"), [(1, DAY_MS), (2.9, 2 * DAY_MS), (3650, 3650 * DAY_MS), (None, None)]
)
def test_expiry_from_days_is_openclaws(days: float | None, expected: int | None) -> None:
    assert expiry_from_days(1000, days) == (None if expected is None else 1000 + expected)


@pytest.mark.parametrize("days", [0, 0.5, -1, 3651, float("nan"), float("inf"), True, "7"])
def test_expiry_from_days_refuses_what_openclaw_would_read_as_forever(days: object) -> None:
    with pytest.raises(PolicyError):
        expiry_from_days(0, days)


# --------------------------------------------------------------------------- the file


def test_grants_round_trip_with_camel_case_keys() -> None:
    document = {
        "version": 1,
        "agents": {
            "main": {
                "grants": [
                    {
                        "id": "g1",
                        "pattern": LS,
                        "argPattern": "^-l$",
                        "createdAtMs": 1,
                        "expiresAtMs": 2,
                        "sessionKey": "cron:nightly",
                        "maxUses": 1,
                        "useCount": 1,
                        "revokedAtMs": 3,
                        "revokedBy": "me",
                        "lastUsedAtMs": 2,
                        "label": "nightly",
                        "approvalId": "a-1",
                        "future": True,
                    }
                ]
            }
        },
    }
    file = approvals_from_json(document)
    assert approvals_to_json(file) == document


@pytest.mark.parametrize(
    ("grant", "json_path", "words"),
    [
        ({"pattern": "x"}, "agents.main.grants[0].id", "required"),
        (
            {"id": "g", "pattern": "x", "expiresAtMs": "soon"},
            "agents.main.grants[0].expiresAtMs",
            "an integer",
        ),
        ({"id": "g", "pattern": "x", "maxUses": 0}, "agents.main.grants[0].maxUses", "at least 1"),
        (
            {"id": "g", "pattern": "x", "useCount": -1},
            "agents.main.grants[0].useCount",
            "not be negative",
        ),
    ],
)
def test_a_malformed_grant_is_an_error_naming_its_path(
    grant: dict[str, object], json_path: str, words: str
) -> None:
    text = json.dumps({"version": 1, "agents": {"main": {"grants": [grant]}}})
    with pytest.raises(ApprovalsFileError) as caught:
        loads_approvals(text, source="f.json")
    assert caught.value.json_path == json_path
    assert words in str(caught.value)


def test_duplicate_grant_ids_are_refused() -> None:
    text = json.dumps(
        {
            "version": 1,
            "agents": {
                "main": {"grants": [{"id": "g", "pattern": "a"}]},
                "*": {"grants": [{"id": "g", "pattern": "b"}]},
            },
        }
    )
    with pytest.raises(ApprovalsFileError, match="duplicate grant id") as caught:
        loads_approvals(text)
    assert caught.value.json_path == "agents.*.grants[0].id"
